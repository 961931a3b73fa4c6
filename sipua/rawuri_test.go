package sipua

import "testing"

// Pitfall 2 (protocols.md §14): the signed From/To URIs are the received
// text, including an upper-case scheme.
func TestSignedFieldsKeepWireURIs(t *testing.T) {
	raw := "SIP/2.0 200 OK\r\nVia: SIP/2.0/TLS 192.0.2.1:5061;branch=z9hG4bKx\r\n" +
		"From: \"SIP:Al <x>\" <SIP:Alice@Example.COM;transport=TLS;x=%41>;tag=1\r\n" +
		"To: Sip:bob@example.com;tag=2\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n" +
		"P-Asserted-Identity: <SIP:alice@example.com>, <TEL:+123>\r\nContent-Length: 0\r\n\r\n"
	m, err := NewParser().ParseSIP([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	f := messageFields(m)
	if f.FromURI != "SIP:Alice@Example.COM;transport=TLS;x=%41" || f.FromTag != "1" {
		t.Errorf("from: %q tag %q", f.FromURI, f.FromTag)
	}
	if f.ToURI != "Sip:bob@example.com" || f.ToTag != "2" {
		t.Errorf("to: %q tag %q", f.ToURI, f.ToTag)
	}
	if f.PAISip != "SIP:alice@example.com" || f.PAITel != "TEL:+123" {
		t.Errorf("pai: %q %q", f.PAISip, f.PAITel)
	}
}

func TestRawScheme(t *testing.T) {
	for _, tc := range []struct{ text, parsed, want string }{
		{"<SIP:a@b>", "sip", "SIP"},
		{"sip:a@b", "sip", ""},
		{`"x <y" <SIPS:a@b>`, "sips", "SIPS"},
		{"", "sip", ""},
		{"<tel:1>", "sip", ""},
	} {
		if got := rawScheme(tc.text, tc.parsed); got != tc.want {
			t.Errorf("rawScheme(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}
