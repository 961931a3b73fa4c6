package labfe_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/labfe"
	"github.com/handset-dev/handset/labfe/labfetest"
)

// The handset's side of TLS-DSK is tested end to end in sipua
// (tlsdsk_e2e_test.go); these are labfe's own checks of the challenge and
// of handshakes it must refuse.

func dskAuth(opaque, gssapi string) string {
	h := `TLS-DSK qop="auth", realm="SIP Communications Service", targetname="pool.contoso.test", gssapi-data="` + gssapi + `", version=4`
	if opaque != "" {
		h = `TLS-DSK qop="auth", opaque="` + opaque + `", realm="SIP Communications Service", targetname="pool.contoso.test", gssapi-data="` + gssapi + `", version=4`
	}
	return h
}

func TestTLSDSKChallenge(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	for name, only := range map[string]bool{"with NTLM": false, "alone": true} {
		t.Run(name, func(t *testing.T) {
			fe := labfetest.Start(t, labfetest.WithConfig(func(c *labfe.Config) { c.TLSDSK, c.TLSDSKOnly = true, only }))
			c := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
			res := c.roundTrip(c.newRegister(-1))
			chals := res.All("WWW-Authenticate")
			want := `TLS-DSK realm="SIP Communications Service", targetname="pool.contoso.test", sts-uri="` + fe.STSURI() + `", version=4`
			if res.StatusCode != 401 || chals[len(chals)-1] != want {
				t.Fatalf("%d %q, want last %q", res.StatusCode, chals, want)
			}
			if hasNTLM := strings.HasPrefix(chals[0], "NTLM "); hasNTLM == only {
				t.Errorf("challenges %q (TLS-DSK only: %v)", chals, only)
			}
			if !strings.HasPrefix(fe.STSURI(), "https://127.0.0.1:") || !strings.HasSuffix(fe.STSURI(), "/CertProv/CertProvisioningService.svc") {
				t.Errorf("sts-uri %q", fe.STSURI())
			}
		})
	}
}

// Garbage in gssapi-data is a 400; a record that is not a ClientHello fails
// the handshake (401, ms-diagnostics 1005) and the flow stays usable; a
// continuation under an unknown opaque starts over (401, 1001).
func TestTLSDSKRefusedHandshakes(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := labfetest.Start(t, labfetest.WithConfig(func(c *labfe.Config) { c.TLSDSK = true }))
	c := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	for _, tc := range []struct {
		name, opaque, gssapi string
		code                 int
		diag                 string
	}{
		{"not records", "", base64.StdEncoding.EncodeToString([]byte("hello")), 400, "1002"},
		{"not a ClientHello", "", base64.StdEncoding.EncodeToString([]byte{22, 3, 1, 0, 4, 1, 0, 0, 0}), 401, "1005"},
		{"unknown opaque", "DEADBEEF", base64.StdEncoding.EncodeToString([]byte{22, 3, 3, 0, 4, 16, 0, 0, 0}), 401, "1001"},
	} {
		req := c.newRegister(-1)
		req.Add("Authorization", dskAuth(tc.opaque, tc.gssapi))
		res := c.roundTrip(req)
		if res.StatusCode != tc.code || !strings.HasPrefix(res.Value("ms-diagnostics"), tc.diag+";") {
			t.Errorf("%s: %d %q, want %d %s", tc.name, res.StatusCode, res.Value("ms-diagnostics"), tc.code, tc.diag)
		}
	}
	if st := fe.Stats().Total; st.Registrations != 0 || st.AuthFailures != 1 || st.Malformed != 1 {
		t.Errorf("stats %+v", st)
	}
}
