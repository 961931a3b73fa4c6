package sipua

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/handset-dev/handset/auth/sipae"
)

func parseMsg(t testing.TB, raw string) sip.Message {
	t.Helper()
	m, err := NewParser().ParseSIP([]byte(strings.ReplaceAll(raw, "\n", "\r\n")))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return m
}

// Worked signature buffers of protocols.md §2.3 (real OC 2007 R2 capture,
// version 4; MS-SIPAE 3.2.5.2 field list).
func TestSignatureBufferCapture(t *testing.T) {
	req := parseMsg(t, `REGISTER sip:cosmo.local SIP/2.0
Via: SIP/2.0/TLS 192.168.1.10:51234;branch=z9hG4bKabc
From: <sip:user@cosmo.local>;tag=3e49177a52;epid=01010101
To: <sip:user@cosmo.local>
Call-ID: 4037df9284354df39065195bd57a4b14
CSeq: 3 REGISTER
Content-Length: 0

`)
	f := messageFields(req)
	f.Scheme, f.Rand, f.Num, f.Realm, f.TargetName = "NTLM", "13317733", "1", "SIP Communications Service", "cosmo-ocs-r2.cosmo.local"
	want := `<NTLM><13317733><1><SIP Communications Service><cosmo-ocs-r2.cosmo.local><4037df9284354df39065195bd57a4b14><3><REGISTER><sip:user@cosmo.local><3e49177a52><sip:user@cosmo.local><><><><>`
	if got := string(sipae.Buffer(4, f)); got != want {
		t.Errorf("client buffer\n got %s\nwant %s", got, want)
	}

	res := parseMsg(t, `SIP/2.0 200 OK
Via: SIP/2.0/TLS 192.168.1.10:51234;branch=z9hG4bKabc
From: <sip:user@cosmo.local>;tag=3e49177a52;epid=01010101
To: <sip:user@cosmo.local>;tag=5E61CCD925D17E043D9A74835A88F664
Call-ID: 4037df9284354df39065195bd57a4b14
CSeq: 3 REGISTER
Expires: 7200
Content-Length: 0

`)
	f = messageFields(res)
	f.Scheme, f.Rand, f.Num, f.Realm, f.TargetName = "NTLM", "9616454F", "1", "SIP Communications Service", "cosmo-ocs-r2.cosmo.local"
	want = `<NTLM><9616454F><1><SIP Communications Service><cosmo-ocs-r2.cosmo.local><4037df9284354df39065195bd57a4b14><3><REGISTER><sip:user@cosmo.local><3e49177a52><sip:user@cosmo.local><5E61CCD925D17E043D9A74835A88F664><><><7200><200>`
	if got := string(sipae.Buffer(4, f)); got != want {
		t.Errorf("server buffer\n got %s\nwant %s", got, want)
	}
	// Version 2 (MS-SIP 3.1.4.2) drops To URI and the PAI fields.
	want2 := `<NTLM><9616454F><1><SIP Communications Service><cosmo-ocs-r2.cosmo.local><4037df9284354df39065195bd57a4b14><3><REGISTER><sip:user@cosmo.local><3e49177a52><5E61CCD925D17E043D9A74835A88F664><7200><200>`
	if got := string(sipae.Buffer(2, f)); got != want2 {
		t.Errorf("v2 buffer\n got %s\nwant %s", got, want2)
	}
}

// Pitfall 2: PAI values as they appear (case kept), and From without <>.
func TestSignatureFieldsPAIAndBareFrom(t *testing.T) {
	m := parseMsg(t, `NOTIFY sip:alice@contoso.test SIP/2.0
Via: SIP/2.0/TLS 10.0.0.1:5061;branch=z9hG4bKx
From: sip:pool.contoso.test;tag=abc
To: <sip:alice@contoso.test>;tag=def
Call-ID: c1
CSeq: 7 NOTIFY
P-Asserted-Identity: "Bob" <SIP:bob@contoso.test>, <tel:+15551234>
Content-Length: 0

`)
	f := messageFields(m)
	if f.FromURI != "sip:pool.contoso.test" || f.FromTag != "abc" || f.PAISip != "SIP:bob@contoso.test" || f.PAITel != "tel:+15551234" {
		t.Errorf("fields = %+v", f)
	}
}

// FuzzContactParams: with balanced quotes a parameter name never swallows a
// ';' separator; nothing panics.
func FuzzContactParams(f *testing.F) {
	f.Add(`<sip:127.0.0.1:5061;transport=tls;ms-opaque=1dd452f5f6>;methods="INVITE, MESSAGE";proxy=replace;+sip.instance="<urn:uuid:4233FD41-093B-5FD6-B5D2-651ED55969E6>";expires=3600;gruu="sip:alice@contoso.test;opaque=user:epid:x;gruu"`)
	f.Add(`<sip:a@b>;expires=1, <sip:c@d>;expires=2`)
	f.Add(`sip:a@b;x="`)
	f.Fuzz(func(t *testing.T, s string) {
		for _, ct := range splitList(s) {
			params := contactParams(ct)
			for k := range params {
				if strings.Count(s, `"`)%2 == 0 && strings.ContainsAny(unquoted(k), ";") {
					t.Fatalf("param name %q contains ';'", k)
				}
			}
		}
	})
}

func TestRedact(t *testing.T) {
	in := "REGISTER sip:a SIP/2.0\r\nAuthorization: NTLM qop=\"auth\", gssapi-data=\"TlRMTVNTUAADAAAA\", version=4\r\nWWW-Authenticate: NTLM gssapi-data=\"abc\"\r\n\r\n"
	out := Redact(in)
	if strings.Contains(out, "TlRMTVNTUAADAAAA") || !strings.Contains(out, `gssapi-data="[redacted]", version=4`) || !strings.Contains(out, `gssapi-data="abc"`) {
		t.Errorf("Redact:\n%s", out)
	}
}

// unquoted drops the "…" sections of s.
func unquoted(s string) string {
	var b strings.Builder
	in := false
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			in = !in
			continue
		}
		if !in {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// FuzzRegistered200: whatever Expires, Contact and ms-keep-alive a
// registrar sends, 200 OK processing never panics and never schedules a
// non-positive expiry or keep-alive (that would loop against the pool).
func FuzzRegistered200(f *testing.F) {
	f.Add("3600", `<sip:127.0.0.1:5061;transport=tls>;expires=3600;+sip.instance="<urn:uuid:4233FD41-093B-5FD6-B5D2-651ED55969E6>";gruu="sip:alice@contoso.test;opaque=user:epid:x;gruu"`, "UAS; tcp=no; hop-hop=yes; end-end=no; timeout=300")
	f.Add("-1", `<sip:a@b>;+sip.instance="<urn:uuid:4233FD41-093B-5FD6-B5D2-651ED55969E6>";expires=0`, "timeout=0")
	f.Add("99999999999", `x`, "timeout=-5")
	f.Fuzz(func(t *testing.T, expires, contact, keepAlive string) {
		for _, s := range []string{expires, contact, keepAlive} {
			if strings.ContainsAny(s, "\r\n") {
				return
			}
		}
		h, err := New(Config{AOR: "alice@contoso.test", Password: "x", Epid: "8248ca9ebb"})
		if err != nil {
			t.Fatal(err)
		}
		res := sip.NewResponse(200, "OK")
		res.AppendHeader(sip.NewHeader("Expires", expires))
		res.AppendHeader(sip.NewHeader("Contact", contact))
		res.AppendHeader(sip.NewHeader("ms-keep-alive", keepAlive))
		if err := h.registered(res, time.Now()); err != nil {
			return
		}
		if h.reg.expires <= 0 || h.reg.keepAlive <= 0 {
			t.Fatalf("expires %v keep-alive %v", h.reg.expires, h.reg.keepAlive)
		}
	})
}
