package sipua

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/handset-dev/handset/auth/sipae"
	"github.com/handset-dev/handset/internal/testutil"
)

// TestDigestVectors: the worked examples of RFC 2617 §3.5 (MD5, qop=auth)
// and RFC 7616 §3.9.1 (SHA-256 and MD5).
func TestDigestVectors(t *testing.T) {
	for _, tc := range []struct {
		name, chal, method, uri, user, pass, cnonce, want string
	}{
		{"RFC 2617 3.5", `Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"`,
			"GET", "/dir/index.html", "Mufasa", "Circle Of Life", "0a4f113b", "6629fae49393a05397450978507c4ef1"},
		{"RFC 7616 3.9.1 SHA-256", `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`,
			"GET", "/dir/index.html", "Mufasa", "Circle of Life", "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"},
		{"RFC 7616 3.9.1 MD5", `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`,
			"GET", "/dir/index.html", "Mufasa", "Circle of Life", "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", "8ca523f5e9506fed4657c9700eebdbec"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chal, err := parseDigestChallenge(tc.chal)
			if err != nil {
				t.Fatal(err)
			}
			v, err := digestCredentials(chal, tc.method, tc.uri, tc.user, Password(tc.pass), 1, tc.cnonce)
			if err != nil {
				t.Fatal(err)
			}
			cred, err := digest.ParseCredentials(v)
			if err != nil {
				t.Fatalf("%s: %v", v, err)
			}
			if cred.Response != tc.want || cred.QOP != "auth" || cred.Nc != 1 || cred.Cnonce != tc.cnonce || cred.Opaque != chal.Opaque {
				t.Errorf("credentials %s\nwant response %s", v, tc.want)
			}
		})
	}
}

// TestPickDigestChallenge: the strongest supported algorithm wins (RFC 7616
// §3.7), NTLM and unknown algorithms are skipped, none left is an error.
func TestPickDigestChallenge(t *testing.T) {
	md5 := `Digest realm="r", nonce="n1", qop="auth"`
	sha := `Digest realm="r", nonce="n2", algorithm=SHA-256, qop="auth"`
	sess := `Digest realm="r", nonce="n3", algorithm=MD5-sess, qop="auth"`
	ntlm := `NTLM realm="SIP Communications Service", targetname="x", version=4`
	for _, tc := range []struct {
		vals  []string
		nonce string
	}{
		{[]string{md5}, "n1"},
		{[]string{md5, sha}, "n2"},
		{[]string{ntlm, sha, md5}, "n2"},
		{[]string{sess, md5}, "n1"},
		{[]string{ntlm}, ""},
		{[]string{sess}, ""},
		{[]string{`Digest realm="r", qop="auth"`}, ""}, // no nonce
		{nil, ""},
	} {
		c, schemes, err := pickDigestChallenge(tc.vals)
		switch {
		case tc.nonce == "" && err == nil:
			t.Errorf("%q: picked %+v, want error", tc.vals, c)
		case tc.nonce != "" && (err != nil || c.Nonce != tc.nonce):
			t.Errorf("%q: %+v %v, want nonce %s", tc.vals, c, err, tc.nonce)
		}
		if len(schemes) != len(tc.vals) {
			t.Errorf("%q: schemes %q", tc.vals, schemes)
		}
	}
}

// TestDigestAuthorize: REGISTER answers the registrar's family with an
// increasing nc; other requests carry Proxy-Authorization; ACK, CANCEL and
// responses carry nothing; before a challenge nothing is added.
func TestDigestAuthorize(t *testing.T) {
	d := &digestAuth{user: "alice", pass: "secret", rand: testutil.NewReader(1)}
	reg := func() *sip.Request { return sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: "contoso.test"}) }
	r := reg()
	if err := d.authorize(r); err != nil || r.GetHeader("Authorization") != nil {
		t.Fatalf("before a challenge: %v %v", err, r.GetHeader("Authorization"))
	}
	c, err := parseDigestChallenge(`Digest realm="contoso.test", nonce="abc", qop="auth"`)
	if err != nil {
		t.Fatal(err)
	}
	d.setChallenge(c, sipae.WWW)
	for nc := 1; nc <= 2; nc++ {
		r := reg()
		if err := d.authorize(r); err != nil {
			t.Fatal(err)
		}
		h := r.GetHeader("Authorization")
		if h == nil {
			t.Fatal("no Authorization")
		}
		cred, err := digest.ParseCredentials(h.Value())
		if err != nil || cred.Nc != nc || cred.URI != "sip:contoso.test" || cred.Username != "alice" {
			t.Errorf("REGISTER %d: %s %v", nc, h.Value(), err)
		}
	}
	inv := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "bob", Host: "contoso.test"})
	if err := d.authorize(inv); err != nil || inv.GetHeader("Proxy-Authorization") == nil || inv.GetHeader("Authorization") != nil {
		t.Errorf("INVITE: %v\n%s", err, inv)
	}
	if !strings.Contains(inv.GetHeader("Proxy-Authorization").Value(), `uri="sip:bob@contoso.test"`) {
		t.Errorf("INVITE uri: %s", inv.GetHeader("Proxy-Authorization").Value())
	}
	for _, m := range []sip.RequestMethod{sip.ACK, sip.CANCEL} {
		r := sip.NewRequest(m, sip.Uri{Scheme: "sip", User: "bob", Host: "contoso.test"})
		if err := d.authorize(r); err != nil || r.GetHeader("Proxy-Authorization") != nil {
			t.Errorf("%s carries credentials", m)
		}
	}
	res := sip.NewResponseFromRequest(inv, 200, "OK", nil)
	res.RemoveHeader("Proxy-Authorization")
	if err := d.authorize(res); err != nil || res.GetHeader("Proxy-Authorization") != nil || res.GetHeader("Authorization") != nil {
		t.Errorf("response carries credentials")
	}
}

// TestRedactDigest: the digest response (an offline password guess) is
// redacted; an MS-SIPAE signature's response= is not a secret and stays.
func TestRedactDigest(t *testing.T) {
	in := "REGISTER sip:contoso.test SIP/2.0\r\n" +
		`Authorization: Digest username="alice", realm="contoso.test", nonce="n", uri="sip:contoso.test", qop=auth, nc=00000001, response="0123456789abcdef"` + "\r\n" +
		`Proxy-Authorization: NTLM qop="auth", realm="SIP Communications Service", opaque="ABCD", crand="1", cnum="2", response="5a5a5a"` + "\r\n\r\n"
	out := Redact(in)
	if strings.Contains(out, "0123456789abcdef") || !strings.Contains(out, `response="[redacted]"`) || !strings.Contains(out, `response="5a5a5a"`) {
		t.Errorf("Redact:\n%s", out)
	}
}

// TestRedactSDES: SRTP master keys in a=crypto lines never reach a trace;
// lifetime and MKI stay visible.
func TestRedactSDES(t *testing.T) {
	in := "v=0\r\nm=audio 5004 RTP/SAVP 0\r\n" +
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^31|1:1\r\n" +
		"a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNk\r\n" +
		"a=cryptoscale:1 client AES_CM_128_HMAC_SHA1_80 inline:S2V5S2V5S2V5S2V5S2V5S2V5S2V5S2V5S2V5S2V5|2^31|1:1;inline:T3RoZXJLZXlPdGhlcktleU90aGVyS2V5T3RoZXJL\r\n"
	out := Redact(in)
	for _, k := range []string{"WVNfX19z", "QUJDREVG", "S2V5S2V5", "T3RoZXJL"} {
		if strings.Contains(out, k) {
			t.Errorf("key %s… not redacted:\n%s", k, out)
		}
	}
	for _, want := range []string{"inline:[redacted]|2^31|1:1\r\n", "inline:[redacted]\r\n", "inline:[redacted]|2^31|1:1;inline:[redacted]\r\n", "m=audio 5004 RTP/SAVP 0"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// FuzzDigestCredentials: for any challenge header we accept, the
// credentials we send are one header line (no CR/LF from the server's
// values) that parses back to the challenge's realm, nonce and opaque and
// to a response that recomputes from them.
func FuzzDigestCredentials(f *testing.F) {
	for _, s := range []string{
		`Digest realm="contoso.test", nonce="Z1e0Y2c5ZTM4ZGQ5", qop="auth"`,
		`Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`,
		`Digest realm="a\"b\\c", nonce="x"`,
		`Digest realm="réalm", nonce="n", algorithm=SHA-512-256, qop="auth-int"`,
		`Digest realm="r", nonce="n", stale=true, qop="auth", userhash=true`,
		`NTLM realm="SIP Communications Service"`,
	} {
		f.Add(s, "alice")
	}
	f.Fuzz(func(t *testing.T, hdr, user string) {
		chal, _, err := pickDigestChallenge([]string{hdr})
		if err != nil {
			return
		}
		v, err := digestCredentials(chal, "REGISTER", "sip:contoso.test", user, "pw", 3, "0011223344556677")
		if err != nil {
			return
		}
		if strings.ContainsAny(v, "\r\n") {
			t.Fatalf("credentials break the header line: %q", v)
		}
		cred, err := digest.ParseCredentials(v)
		if err != nil {
			t.Fatalf("own credentials do not parse: %q: %v", v, err)
		}
		if cred.Realm != chal.Realm || cred.Nonce != chal.Nonce || cred.Opaque != chal.Opaque || cred.Nc != 3 && cred.QOP != "" {
			t.Fatalf("round trip: challenge %+v\ncredentials %q\nparsed %+v", chal, v, cred)
		}
		again, err := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: cred.URI, Count: cred.Nc, Username: user, Password: "pw", Cnonce: cred.Cnonce})
		if err != nil || again.Response != cred.Response {
			t.Fatalf("response does not recompute from the parsed fields: %v", err)
		}
	})
}

// TestConfigSpecialInterop: reg.1.server.1.specialInterop selects the
// sign-in; unset keeps Lync's; an unknown value is a config error.
func TestConfigSpecialInterop(t *testing.T) {
	base := map[string]string{"reg.1.address": "alice@contoso.test", "reg.1.auth.password": "secret"}
	for _, tc := range []struct {
		val      string
		set      bool
		standard bool
		err      bool
	}{
		{"", false, false, false},
		{"standard", true, true, false},
		{"Standard", true, true, false},
		{"lync2013", true, false, false},
		{"lync2010", true, false, false},
		{"ocs2007r2", true, false, false},
		{"lync2016", true, false, true},
	} {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		if tc.set {
			m["reg.1.server.1.specialInterop"] = tc.val
		}
		c, err := ConfigFromValues("m", mapLookup(m))
		if (err != nil) != tc.err {
			t.Errorf("%q: err = %v", tc.val, err)
			continue
		}
		if err == nil && c.standard() != tc.standard {
			t.Errorf("%q: standard() = %v", tc.val, c.standard())
		}
	}
}
