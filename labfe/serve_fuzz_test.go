package labfe

import (
	"io"
	"net"
	"strings"
	"testing"

	"github.com/handset-dev/handset/internal/testutil"
)

// FuzzServeFlow feeds arbitrary bytes to one flow of a live server (over a
// pipe instead of TLS). Property: the server never panics or hangs, and
// nothing is ever registered without authentication.
func FuzzServeFlow(f *testing.F) {
	s, err := New(Config{TLSDSK: true}, WithRand(testutil.NewReader(1))) // TLS-DSK too: no certificate, no SA
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = s.Close() })
	const hdr = "Via: SIP/2.0/TLS 1.2.3.4;branch=z9hG4bK1\r\nFrom: <sip:alice@contoso.test>;tag=a;epid=8248ca9ebb\r\nTo: <sip:alice@contoso.test>\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\n"
	f.Add([]byte("REGISTER sip:contoso.test SIP/2.0\r\n" + hdr + "\r\n"))
	f.Add([]byte("REGISTER sip:contoso.test SIP/2.0\r\n" + hdr + "Authorization: NTLM qop=\"auth\", realm=\"SIP Communications Service\", targetname=\"pool.contoso.test\", gssapi-data=\"\", version=4\r\n\r\n"))
	f.Add([]byte("REGISTER sip:contoso.test SIP/2.0\r\n" + hdr + "Authorization: NTLM opaque=\"00000000\", realm=\"SIP Communications Service\", targetname=\"pool.contoso.test\", gssapi-data=\"TlRMTVNTUAADAAAA\", crand=\"1\", cnum=\"1\", response=\"00\"\r\nContact: <sip:x>\r\n\r\n"))
	f.Add([]byte("MESSAGE sip:bob@contoso.test SIP/2.0\r\n" + hdr + "Authorization: NTLM opaque=\"1\", crand=\"1\", cnum=\"1\", response=\"00\"\r\nContent-Length: 2\r\n\r\nhi"))
	f.Add([]byte("SIP/2.0 200 OK\r\nVia: a;branch=b\r\nVia: c\r\nFrom: x\r\nTo: y\r\nCall-ID: z\r\nCSeq: 1 INVITE\r\n\r\n"))
	f.Add([]byte("\r\n\r\n\r\n"))
	f.Add([]byte("REGISTER sip:contoso.test SIP/2.0\r\n" + hdr + "Authorization: TLS-DSK qop=\"auth\", realm=\"SIP Communications Service\", targetname=\"pool.contoso.test\", gssapi-data=\"FgMBAAQBAAAA\", version=4\r\n\r\n"))
	f.Add([]byte("REGISTER sip:contoso.test SIP/2.0\r\n" + hdr + "Authorization: TLS-DSK qop=\"auth\", opaque=\"0A0B0C0D\", realm=\"SIP Communications Service\", targetname=\"pool.contoso.test\", crand=\"1\", cnum=\"1\", response=\"00\", version=4\r\n\r\n"))
	inv := "INVITE sip:bob@contoso.test SIP/2.0\r\nVia: SIP/2.0/TLS 1.2.3.4;branch=z9hG4bK2\r\nFrom: <sip:alice@contoso.test>;tag=a\r\nTo: <sip:bob@contoso.test>\r\nCall-ID: call\r\nCSeq: 1 INVITE\r\n"
	f.Add([]byte(inv + "Authorization: NTLM opaque=\"1\", crand=\"1\", cnum=\"1\", response=\"00\"\r\nContent-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n"))
	f.Add([]byte(strings.Replace(inv, "INVITE sip:bob", "CANCEL sip:bob", 1) + "\r\n"))
	f.Add([]byte(strings.Replace(strings.Replace(inv, "INVITE sip:bob", "BYE sip:echo", 1), "bob@contoso.test>", "bob@contoso.test>;tag=b", 1) + "Route: <sip:pool.contoso.test:5061;lr>\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c1, c2 := net.Pipe()
		fl := newFlow(c1)
		s.mu.Lock()
		s.flows[fl] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		done := make(chan struct{})
		go func() { s.serveFlow(fl); close(done) }()
		drained := make(chan struct{})
		go func() { _, _ = io.Copy(io.Discard, c2); close(drained) }()
		_, _ = c2.Write(b)
		_ = c2.Close()
		<-done
		<-drained
		if st := s.Stats(); st.Total.Registrations != 0 || st.Total.ActiveBindings != 0 || st.SAs != 0 {
			t.Fatalf("state after unauthenticated input: %+v", st)
		}
	})
}
