package mras_test

import (
	"fmt"

	"github.com/handset-dev/handset/sipua/mras"
)

// The body of the SERVICE request to the mrasUri (protocols.md §8.1).
func ExampleRequest_Marshal() {
	body := mras.Request{RequestID: 1, CredentialsRequestID: 1, From: "sip:alice@contoso.test",
		To: "sip:mras@contoso.test;gruu;opaque=srvr:MRAS:lab", Identity: "sip:alice@contoso.test"}.Marshal()
	fmt.Println(string(body))
	// Output:
	// <request xmlns="http://schemas.microsoft.com/2006/09/sip/mrasp" requestID="1" from="sip:alice@contoso.test" version="1.0" to="sip:mras@contoso.test;gruu;opaque=srvr:MRAS:lab"><credentialsRequest credentialsRequestID="1"><identity>sip:alice@contoso.test</identity><location>intranet</location><duration>480</duration></credentialsRequest></request>
}
