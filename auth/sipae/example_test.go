package sipae_test

import (
	"encoding/base64"
	"fmt"
	"time"

	"github.com/handset-dev/handset/auth/ntlm"
	"github.com/handset-dev/handset/auth/sipae"
	"github.com/handset-dev/handset/internal/testutil"
)

// The client side of an NTLM sign-in (protocols.md §3): parse the second
// 401's challenge, answer with AUTHENTICATE, sign the REGISTER with the new
// SA, then verify the 200 OK's Authentication-Info.
func Example() {
	now := func() time.Time { return time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC) }
	// Stand-in for the front end: a CHALLENGE and the server side of the SA.
	fe, challenge, _ := ntlm.NewChallenge(ntlm.AcceptorConfig{NbDomain: "CONTOSO", Rand: testutil.NewReader(1), Now: now}, true)
	second401 := fmt.Sprintf(`NTLM opaque="1E3A4F2C", gssapi-data="%s", targetname="pool.contoso.test", realm="SIP Communications Service", version=4`,
		base64.StdEncoding.EncodeToString(challenge))

	// Handset.
	ch, err := sipae.Parse(second401)
	if err != nil {
		fmt.Println(err)
		return
	}
	token, _ := base64.StdEncoding.DecodeString(ch.GssapiData)
	authMsg, session, err := ntlm.Authenticate(ntlm.ClientConfig{
		Credentials: ntlm.Credentials{Domain: "CONTOSO", User: "alice", Password: "secret"},
		Rand:        testutil.NewReader(2), Now: now,
	}, token)
	if err != nil {
		fmt.Println(err)
		return
	}
	sa := sipae.NewClientSA(sipae.SAConfig{Rand: testutil.NewReader(3)})
	_ = sa.Begin(ch)
	_ = sa.Establish(sipae.NTLMMechanism(session), ch.Opaque)
	register := sipae.SignedFields{
		CallID: "4037df9284354df39065195bd57a4b14", CSeqNum: "3", CSeqMethod: "REGISTER",
		FromURI: sipae.URIOf("<sip:alice@contoso.test>;tag=3e49177a52;epid=8248ca9ebb"), FromTag: "3e49177a52",
		ToURI: sipae.URIOf("<sip:alice@contoso.test>"),
	}
	authz, _ := sa.Sign(register)
	authz.GssapiData, authz.HasGssapi = base64.StdEncoding.EncodeToString(authMsg), true
	fmt.Println("cnum:", authz.Cnum, "crand:", authz.Crand)

	// Front end: accept, verify the REGISTER, sign the 200 OK.
	feSession, _, _ := fe.Accept(authMsg, func(string, string) (string, bool) { return "secret", true })
	srv := sipae.NewServerSA(sipae.SAConfig{Scheme: sipae.NTLM, Realm: ch.Realm, TargetName: ch.TargetName, Version: 4, Rand: testutil.NewReader(4)})
	_ = srv.Begin(sipae.Params{})
	_ = srv.Establish(sipae.NTLMMechanism(feSession), ch.Opaque)
	wire, _ := sipae.Parse(authz.String())
	fmt.Println("front end verifies REGISTER:", srv.Verify(register, wire) == nil)
	ok := register
	ok.ToTag, ok.Expires, ok.StatusCode = "5E61CCD925D17E043D9A74835A88F664", "7200", 200
	info, _ := srv.Sign(ok)

	// Handset: verify the 200 OK.
	fmt.Println("handset verifies 200 OK:", sa.Verify(ok, info) == nil, sa.State())
	// Output:
	// cnum: 1 crand: b214bc04
	// front end verifies REGISTER: true
	// handset verifies 200 OK: true established
}
