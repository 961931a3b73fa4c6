package sipae

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const realm = "SIP Communications Service"

// The shapes of protocols.md §2.2 and §3 (and MS-OCPSTN 4.7.2.1 for TLS-DSK).
var headerCases = []struct {
	name  string
	value string
	want  Params
	out   string // String(); "" = same as value
}{
	{
		name:  "first challenge",
		value: `NTLM realm="SIP Communications Service", targetname="pool.contoso.test", version=4`,
		want:  Params{Scheme: NTLM, Realm: realm, TargetName: "pool.contoso.test", Version: 4},
	},
	{
		name:  "first NTLM request, empty gssapi-data",
		value: `NTLM qop="auth", realm="SIP Communications Service", targetname="pool.contoso.test", gssapi-data="", version=4`,
		want:  Params{Scheme: NTLM, Qop: "auth", Realm: realm, TargetName: "pool.contoso.test", HasGssapi: true, Version: 4},
	},
	{
		name:  "second challenge",
		value: `NTLM opaque="1E3A4F2C", gssapi-data="TlRMTVNTUAACAAAA", targetname="pool.contoso.test", realm="SIP Communications Service", version=4`,
		want:  Params{Scheme: NTLM, Opaque: "1E3A4F2C", GssapiData: "TlRMTVNTUAACAAAA", HasGssapi: true, TargetName: "pool.contoso.test", Realm: realm, Version: 4},
		out:   `NTLM opaque="1E3A4F2C", gssapi-data="TlRMTVNTUAACAAAA", realm="SIP Communications Service", targetname="pool.contoso.test", version=4`,
	},
	{
		name:  "AUTHENTICATE request, signed",
		value: `NTLM qop="auth", opaque="1E3A4F2C", realm="SIP Communications Service", targetname="pool.contoso.test", gssapi-data="TlRMTVNTUAADAAAA", version=4, crand="13317733", cnum="1", response="0100000035ba1e6fbb3f853364000000"`,
		want: Params{Scheme: NTLM, Qop: "auth", Opaque: "1E3A4F2C", Realm: realm, TargetName: "pool.contoso.test",
			GssapiData: "TlRMTVNTUAADAAAA", HasGssapi: true, Version: 4, Crand: "13317733", Cnum: "1", Response: "0100000035ba1e6fbb3f853364000000"},
	},
	{
		name:  "Authentication-Info",
		value: `NTLM rspauth="01000000E2F3C0A1B2C3D4E564000000", srand="9616454F", snum="1", opaque="1E3A4F2C", qop="auth", targetname="pool.contoso.test", realm="SIP Communications Service"`,
		want: Params{Scheme: NTLM, Rspauth: "01000000E2F3C0A1B2C3D4E564000000", Srand: "9616454F", Snum: "1",
			Opaque: "1E3A4F2C", Qop: "auth", TargetName: "pool.contoso.test", Realm: realm},
	},
	{
		name:  "TLS-DSK Authentication-Info (MS-OCPSTN 4.7.2.1)",
		value: `TLS-DSK qop="auth", opaque="F755045D", srand="1D9666D9", snum="17", rspauth="0123456789abcdef0123456789abcdef01234567", targetname="PROXY.company1", realm="SIP Communications Service", version=4`,
		want: Params{Scheme: TLSDSK, Qop: "auth", Opaque: "F755045D", Srand: "1D9666D9", Snum: "17",
			Rspauth: "0123456789abcdef0123456789abcdef01234567", TargetName: "PROXY.company1", Realm: realm, Version: 4},
		out: `TLS-DSK rspauth="0123456789abcdef0123456789abcdef01234567", srand="1D9666D9", snum="17", opaque="F755045D", qop="auth", targetname="PROXY.company1", realm="SIP Communications Service", version=4`,
	},
	{
		name:  "TLS-DSK challenge with sts-uri",
		value: `TLS-DSK realm="SIP Communications Service", targetname="pool.contoso.test", sts-uri="https://pool.contoso.test/CertProv/CertProvisioningService.svc", version=4`,
		want: Params{Scheme: TLSDSK, Realm: realm, TargetName: "pool.contoso.test",
			StsURI: "https://pool.contoso.test/CertProv/CertProvisioningService.svc", Version: 4},
	},
	{
		name:  "Kerberos challenge",
		value: `Kerberos realm="SIP Communications Service", targetname="sip/pool.contoso.test", version=4`,
		want:  Params{Scheme: Kerberos, Realm: realm, TargetName: "sip/pool.contoso.test", Version: 4},
	},
	{
		name:  "lenient: case, spacing, tokens, quoted version, unknown parameter",
		value: `ntlm   Realm = "SIP Communications Service" ,TARGETNAME=pool.contoso.test,version="3", x-unknown=1`,
		want:  Params{Scheme: NTLM, Realm: realm, TargetName: "pool.contoso.test", Version: 3},
		out:   `NTLM realm="SIP Communications Service", targetname="pool.contoso.test", version=3`,
	},
	{
		name:  "scheme only",
		value: `NTLM`,
		want:  Params{Scheme: NTLM},
	},
}

func TestParseAndString(t *testing.T) {
	for _, tc := range headerCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.value)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("Parse (-want +got):\n%s", diff)
			}
			out := tc.out
			if out == "" {
				out = tc.value
			}
			if s := got.String(); s != out {
				t.Errorf("String\n got %s\nwant %s", s, out)
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	for name, v := range map[string]string{
		"empty":            "",
		"no scheme":        `realm="x"`[5:],
		"bad scheme":       `"NTLM" realm="x"`,
		"missing equals":   `NTLM realm "x"`,
		"unterminated":     `NTLM realm="SIP Communications Service`,
		"missing value":    `NTLM realm=, targetname="x"`,
		"missing comma":    `NTLM realm="a" targetname="b"`,
		"trailing comma":   `NTLM realm="a",`,
		"duplicate":        `NTLM realm="a", REALM="b"`,
		"bad version":      `NTLM version=four`,
		"zero version":     `NTLM version=0`,
		"header injection": "NTLM realm=\"a\"\r\nVia: evil",
		"too long":         "NTLM gssapi-data=\"" + strings.Repeat("A", maxHeader) + "\"",
	} {
		_, err := Parse(v)
		var pe *ParseError
		if !errors.As(err, &pe) || !errors.Is(err, ErrMalformed) || !strings.HasPrefix(err.Error(), "sipae: ") {
			t.Errorf("%s: Parse(%.40q) err = %v", name, v, err)
		}
	}
}

func TestFamily(t *testing.T) {
	for _, tc := range []struct {
		status                      int
		fam                         Family
		challenge, authz, info, str string
	}{
		{401, WWW, "WWW-Authenticate", "Authorization", "Authentication-Info", "WWW"},
		{407, Proxy, "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Authentication-Info", "Proxy"},
	} {
		f, ok := FamilyForStatus(tc.status)
		if !ok || f != tc.fam || f.Challenge() != tc.challenge || f.Authorization() != tc.authz ||
			f.Info() != tc.info || f.String() != tc.str || f.Status() != tc.status {
			t.Errorf("family for %d: %v %v", tc.status, f, ok)
		}
	}
	if _, ok := FamilyForStatus(403); ok {
		t.Error("403 has a family")
	}
}

// FuzzParse: Parse → String → Parse gives the same Params, and errors are
// typed.
func FuzzParse(f *testing.F) {
	for _, tc := range headerCases {
		f.Add(tc.value)
	}
	f.Add(`NTLM realm="a,b=c", targetname=x`)
	f.Fuzz(func(t *testing.T, v string) {
		p, err := Parse(v)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		s := p.String()
		p2, err := Parse(s)
		if err != nil {
			t.Fatalf("re-parse of %q: %v", s, err)
		}
		if diff := cmp.Diff(p, p2); diff != "" {
			t.Fatalf("round trip of %q via %q (-first +second):\n%s", v, s, diff)
		}
	})
}

// FuzzURIOf: the URI is always a piece of the header value, and never
// carries the angle brackets or (without brackets) the parameters.
func FuzzURIOf(f *testing.F) {
	f.Add(`"Alice" <sip:alice@contoso.test>;tag=1`)
	f.Add(`sip:user@host;tag=abc`)
	f.Add(`<tel:+1555>, <sip:a@b>`)
	f.Fuzz(func(t *testing.T, v string) {
		u := URIOf(v)
		if !strings.Contains(v, u) {
			t.Fatalf("URIOf(%q) = %q is not part of the value", v, u)
		}
		if strings.Contains(v, "<") && strings.Contains(u, ">") ||
			!strings.Contains(v, "<") && strings.Contains(u, ";") {
			t.Fatalf("URIOf(%q) = %q", v, u)
		}
		sip, tel := PAIURIs(v)
		if !strings.Contains(v, sip) || !strings.Contains(v, tel) {
			t.Fatalf("PAIURIs(%q) = %q, %q", v, sip, tel)
		}
	})
}
