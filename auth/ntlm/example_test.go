package ntlm_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/handset-dev/handset/auth/ntlm"
	"github.com/handset-dev/handset/internal/testutil"
)

// The SIP (connectionless) flow: the front end's second 401 carries a
// CHALLENGE in gssapi-data, the client answers with an AUTHENTICATE and from
// then on signs every message with SeqNum 100.
func Example() {
	now := func() time.Time { return time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC) }

	// Front end (labfe): issue a datagram CHALLENGE.
	fe, challenge, err := ntlm.NewChallenge(ntlm.AcceptorConfig{
		NbDomain: "CONTOSO", NbComputer: "POOL", DNSDomain: "contoso.test", DNSComputer: "pool.contoso.test",
		Rand: testutil.NewReader(1), Now: now, MaxSkew: 15 * time.Minute,
	}, true)
	if err != nil {
		fmt.Println(err)
		return
	}

	// Handset: answer it.
	authenticate, client, err := ntlm.Authenticate(ntlm.ClientConfig{
		Credentials: ntlm.Credentials{Domain: "CONTOSO", User: "alice", Workstation: "HANDSET", Password: "secret"},
		Rand:        testutil.NewReader(2),
		Now:         now,
	}, challenge)
	if err != nil {
		fmt.Println(err)
		return
	}

	// Front end: verify it.
	server, id, err := fe.Accept(authenticate, func(domain, user string) (string, bool) {
		return "secret", domain == "CONTOSO" && user == "alice"
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("authenticated %s\\%s\n", id.Domain, id.User)
	fmt.Println("session keys agree:", bytes.Equal(client.ExportedSessionKey(), server.ExportedSessionKey()))

	buf := []byte("<NTLM><0a1b2c3d><1><SIP Communications Service><pool.contoso.test>...")
	fmt.Println("client signature verifies:", server.VerifyMAC(buf, client.MAC(buf, 100), 100) == nil)
	fmt.Println(client)
	// Output:
	// authenticated CONTOSO\alice
	// session keys agree: true
	// client signature verifies: true
	// ntlm.Session{client, datagram, flags=UNICODE|REQUEST_TARGET|SIGN|DATAGRAM|NTLM|ALWAYS_SIGN|EXTENDED_SESSIONSECURITY|IDENTIFY|TARGET_INFO|VERSION|128|KEY_EXCH, keys=[redacted]}
}
