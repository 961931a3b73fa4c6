package kamailio_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/handset-dev/handset/internal/peers/kamailio"
)

var regexpREQ = regexp.MustCompile(`REQ REGISTER from 127.0.0.1:\d+ proto=tls`)

// TestStart: the server answers a REGISTER without credentials over UDP
// and over TLS (certificate checked against the test CA) with a digest
// challenge.
func TestStart(t *testing.T) {
	s := kamailio.Start(t, kamailio.Options{Algorithm: "SHA-256"})
	reg := func(proto, local string) string {
		return fmt.Sprintf("REGISTER sip:%s SIP/2.0\r\nVia: SIP/2.0/%s %s;branch=z9hG4bK%s1\r\nMax-Forwards: 70\r\n"+
			"From: <sip:alice@%s>;tag=1\r\nTo: <sip:alice@%s>\r\nCall-ID: smoke-%s\r\nCSeq: 1 REGISTER\r\n"+
			"Contact: <sip:alice@%s>\r\nContent-Length: 0\r\n\r\n", kamailio.Domain, proto, local, proto, kamailio.Domain, kamailio.Domain, proto, local)
	}
	check := func(proto string, c net.Conn) {
		t.Helper()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write([]byte(reg(proto, c.LocalAddr().String()))); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4096)
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("%s: %v", proto, err)
		}
		res := string(buf[:n])
		if !strings.HasPrefix(res, "SIP/2.0 401") || !strings.Contains(res, `WWW-Authenticate: Digest realm="contoso.test"`) ||
			!strings.Contains(res, "algorithm=SHA-256") || !strings.Contains(res, `qop="auth"`) {
			t.Errorf("%s: response:\n%s", proto, res)
		}
	}
	u, err := net.Dial("udp", s.UDPAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	check("UDP", u)
	tc, err := tls.Dial("tcp", s.TLSAddr, &tls.Config{RootCAs: s.PKI.CAPool, ServerName: kamailio.Host, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	check("TLS", tc)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.WaitFor(ctx, regexpREQ); err != nil {
		t.Error(err)
	}
}
