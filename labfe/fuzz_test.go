package labfe

import (
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func formatAuth(a authParams) string {
	keys := make([]string, 0, len(a.params))
	for k := range a.params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		if a.quoted[k] {
			parts = append(parts, k+`="`+a.params[k]+`"`)
		} else {
			parts = append(parts, k+"="+a.params[k])
		}
	}
	return strings.TrimSpace(a.scheme + " " + strings.Join(parts, ", "))
}

// FuzzParseAuth: anything parseAuth accepts, re-formatted, parses to the
// same scheme and parameters.
func FuzzParseAuth(f *testing.F) {
	for _, s := range []string{
		`NTLM qop="auth", opaque="F755045D", realm="SIP Communications Service", targetname="pool.contoso.test", gssapi-data="", version=4, crand="13317733", cnum="1", response="0100"`,
		`NTLM rspauth="01000000", srand="9616454F", snum="1", opaque="x", qop="auth", targetname="t", realm="r"`,
		`TLS-DSK realm="SIP Communications Service", targetname="p", sts-uri="https://p/CertProv/CertProvisioningService.svc", version=4`,
		`NTLM a=1,b="x,y"`, `NTLM`, `NTLM a="`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := parseAuth(s)
		if err != nil {
			return
		}
		b, err := parseAuth(formatAuth(a))
		if err != nil {
			t.Fatalf("re-parse of %q: %v", formatAuth(a), err)
		}
		if a.scheme != b.scheme || !cmp.Equal(a.params, b.params) {
			t.Fatalf("round trip %q → %q", s, formatAuth(a))
		}
	})
}
