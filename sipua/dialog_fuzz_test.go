package sipua

import (
	"testing"

	"github.com/emiago/sipgo/sip"
)

// FuzzParseTarget: whatever the user dials, a target that parses is a SIP
// URI with a host whose written form parses back to the same URI (the
// Request-URI and To of the INVITE are built from it).
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"bob", "bob@contoso.test", "sip:bob@contoso.test", "<sip:echo@contoso.test>", "+14255550100",
		"4002", "sips:bob@contoso.test;transport=tls", "sip:bob@[::1]:5061", "", " ", "@", "sip:", "bob@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := parseTarget(s, "contoso.test")
		if err != nil {
			return
		}
		if u.Host == "" {
			t.Fatalf("%q: no host", s)
		}
		var back sip.Uri
		if err := sip.ParseUri(u.String(), &back); err != nil {
			t.Fatalf("%q -> %q does not parse: %v", s, u.String(), err)
		}
		if back.String() != u.String() {
			t.Fatalf("%q: %q -> %q", s, u.String(), back.String())
		}
	})
}
