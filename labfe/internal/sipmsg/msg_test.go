package sipmsg

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const register = "REGISTER sip:contoso.test SIP/2.0\r\n" +
	"Via: SIP/2.0/TLS 10.0.0.1:5061;branch=z9hG4bK1\r\n" +
	"From: <sip:alice@contoso.test>;tag=abc;epid=8248ca9ebb\r\n" +
	"To: <sip:alice@contoso.test>\r\n" +
	"i: cid\r\n" +
	"CSeq: 1 REGISTER\r\n" +
	"Contact: <sip:10.0.0.1:5061;transport=tls;ms-opaque=d3470f2e1d>;methods=\"INVITE, MESSAGE\";+sip.instance=\"<urn:uuid:4233FD41-093B-5FD6-B5D2-651ED55969E6>\"\r\n" +
	"Content-Length: 5\r\n\r\nhello"

func TestReadStream(t *testing.T) {
	r := bufio.NewReader(strings.NewReader("\r\n\r\n" + register + register))
	m, ka, err := Read(r)
	if err != nil || ka != 1 || m.Method != "REGISTER" || string(m.Body) != "hello" || m.Value("Call-ID") != "cid" {
		t.Fatalf("%+v %d %v", m, ka, err)
	}
	uri, p := NameAddr(m.Value("m"))
	if uri != "sip:10.0.0.1:5061;transport=tls;ms-opaque=d3470f2e1d" || p["+sip.instance"] != `"<urn:uuid:4233FD41-093B-5FD6-B5D2-651ED55969E6>"` {
		t.Errorf("contact %q %v", uri, p)
	}
	if _, _, err := Read(r); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Read(r); !errors.Is(err, io.EOF) {
		t.Errorf("end: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{
		"", "garbage\r\n\r\n", "SIP/2.0 99 x\r\n\r\n", "INVITE sip:x SIP/2.0\r\nVia: v\r\n\r\n",
		strings.Replace(register, "Content-Length: 5", "Content-Length: -1", 1),
		strings.Replace(register, "CSeq: 1 REGISTER", "CSeq: x", 1),
		strings.Replace(register, "To: <sip", "To <sip", 1),
		register[:len(register)-2],
	} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("accepted %q", in)
		}
	}
}

func strip(m *Message) *Message {
	c := *m
	c.Headers = nil
	for _, h := range m.Headers {
		if canon(h.Name) != "content-length" {
			c.Headers = append(c.Headers, h)
		}
	}
	if len(c.Body) == 0 {
		c.Body = nil
	}
	return &c
}

// FuzzParse: anything Parse accepts survives Marshal → Parse unchanged.
func FuzzParse(f *testing.F) {
	f.Add([]byte(register))
	f.Add([]byte("SIP/2.0 200 OK\r\nVia: a\r\nFrom: b\r\nTo: c\r\nCall-ID: d\r\nCSeq: 1 X\r\n folded\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		m2, err := Parse(m.Marshal())
		if err != nil {
			t.Fatalf("re-parse of %q: %v", m.Marshal(), err)
		}
		if diff := cmp.Diff(strip(m), strip(m2)); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

// TestReadKeepAliveOnly: pings alone are reported without waiting for a
// message that may never come.
func TestReadKeepAliveOnly(t *testing.T) {
	pr, pw := io.Pipe()
	go func() { _, _ = pw.Write([]byte("\r\n\r\n\r\n\r\n")) }()
	m, ka, err := Read(bufio.NewReader(pr))
	if m != nil || ka != 2 || err != nil {
		t.Fatalf("got %v %d %v", m, ka, err)
	}
	_ = pw.Close()
}

// TestHeaderNames: lookups match any case and the compact forms (RFC 3261
// §7.3.3), both ways, and a one-letter header that is not a compact form
// only matches itself.
func TestHeaderNames(t *testing.T) {
	m := &Message{Method: "INVITE", RequestURI: "sip:a@b"}
	m.Add("i", "cid")
	m.Add("VIA", "v1")
	m.Add("v", "v2")
	m.Add("X", "x")
	m.Add("Content-Length", "99")
	for name, want := range map[string]string{"Call-ID": "cid", "call-id": "cid", "I": "cid", "x": "x", "X": "x"} {
		if got := m.Value(name); got != want {
			t.Errorf("Value(%q) = %q, want %q", name, got, want)
		}
	}
	if got := m.All("Via"); len(got) != 2 || got[0] != "v1" || got[1] != "v2" {
		t.Errorf("All(Via) = %q", got)
	}
	if m.Value("y") != "" || m.Value("f") != "" {
		t.Error("absent headers found")
	}
	m.Del("via")
	if _, ok := m.Get("v"); ok {
		t.Error("Del(via) left the compact form")
	}
	if strings.Count(string(m.Marshal()), "Content-Length") != 1 {
		t.Errorf("Marshal: %s", m.Marshal())
	}
}
