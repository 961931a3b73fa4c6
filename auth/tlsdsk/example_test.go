package tlsdsk_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"time"

	"github.com/handset-dev/handset/auth/tlsdsk"
	"github.com/handset-dev/handset/certrenew"
)

// A TLS-DSK sign-in: the handset's client pump and the front end's server
// pump exchange flights as the gssapi-data of REGISTER/401 round trips, then
// sign and verify MS-SIPAE signature buffers.
func Example() {
	user, _ := tls.LoadX509KeyPair("testdata/user.crt", "testdata/user.key")
	fe, _ := tls.LoadX509KeyPair("testdata/server.crt", "testdata/server.key")
	caPEM, _ := os.ReadFile("testdata/ca.crt")
	ca := x509.NewCertPool()
	ca.AppendCertsFromPEM(caPEM)
	leaf, _ := x509.ParseCertificate(fe.Certificate[0])
	now := func() time.Time { return leaf.NotBefore.Add(time.Hour) }

	var store certrenew.Store // filled by auth/certprov in real use
	if _, err := store.Swap(&user); err != nil {
		fmt.Println(err)
		return
	}
	client, _ := tlsdsk.NewClient(tlsdsk.ClientConfig{ServerName: "fe.lab.test", RootCAs: ca, Store: &store}, tlsdsk.WithClock(now))
	defer client.Close()
	server, _ := tlsdsk.NewServer(tlsdsk.ServerConfig{Certificate: &fe, ClientCAs: ca}, tlsdsk.WithClock(now))
	defer server.Close()

	flight, _, _ := client.Step(nil) // REGISTER gssapi-data
	for round := 1; ; round++ {
		gssapi := tlsdsk.EncodeGSSAPIData(flight) // on the wire
		in, _ := tlsdsk.DecodeGSSAPIData(gssapi)
		reply, _, err := server.Step(in) // 401 gssapi-data
		if err != nil {
			fmt.Println(err)
			return
		}
		var done bool
		if flight, done, err = client.Step(reply); err != nil {
			fmt.Println(err)
			return
		}
		if done {
			fmt.Println("round trips:", round)
			break
		}
	}
	cm, _ := client.Mechanism()
	sm, _ := server.Mechanism()
	buf := []byte("<TLS-DSK><0a1b2c3d><1><SIP Communications Service><fe.lab.test><callid><2><REGISTER><sip:alice@lab.test><tag><sip:alice@lab.test><><><><>")
	sig, _ := cm.Sign(buf)
	fmt.Println("signature length:", len(sig))
	fmt.Println("server verifies:", sm.Verify(buf, sig) == nil)
	fmt.Println(cm)
	// Output:
	// round trips: 2
	// signature length: 40
	// server verifies: true
	// tlsdsk.Mechanism{HMAC-SHA1 [redacted]}
}
