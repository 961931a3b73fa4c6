package cli

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/labfe"
	"github.com/handset-dev/handset/labfe/labfetest"
)

// pinProv is the flat template with alice's auto sign-in replaced by the
// PIN & Ext. menu (no credentials in any file).
func pinProv(t *testing.T) string {
	t.Helper()
	src, dir := "../../../../configs/templates/flat", t.TempDir()
	for _, f := range []string{"0004f2000001.cfg", "site.cfg"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ext := `<?xml version="1.0" encoding="utf-8" standalone="yes"?>
<LyncTelephony><LyncSignIn reg.1.auth.useLoginCredentials="0" reg.1.auth.usePinCredentials="1" reg.1.address="alice@contoso.test"/></LyncTelephony>
`
	if err := os.WriteFile(filepath.Join(dir, "0004f2000001-ext.cfg"), []byte(ext), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestRegisterPIN: `handset register --extension --pin` signs in with
// TLS-DSK and keeps the certificate (not the PIN) in --cert-file; the next
// run signs in with the certificate alone; an expired certificate without a
// PIN exits 1 with "PIN and extension required".
func TestRegisterPIN(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := labfetest.Start(t, labfetest.WithConfig(func(c *labfe.Config) { c.TLSDSK = true }))
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, fe.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	prov, store := pinProv(t), t.TempDir()
	certFile, keyFile := filepath.Join(store, "cert.pem"), filepath.Join(store, "key.pem")
	base := []string{"register", "--prov", prov, "--mac", "0004f2000001", "--target", fe.Addr(), "--ca", ca,
		"--cert-file", certFile, "--key-file", keyFile, "--once", "--trace"}
	run := func(extra ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := Main(t.Context(), append(append([]string(nil), base...), extra...), &out, &errb)
		return code, out.String(), errb.String()
	}

	code, out, errs := run("--extension", "4001", "--pin", "123456")
	if code != ExitOK {
		t.Fatalf("PIN sign-in: exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"auth: web ticket issued for sip:alice@contoso.test", "auth: TLS handshake complete", "ok: alice@contoso.test signed in"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out+errs, "123456") {
		t.Error("PIN printed")
	}
	st, err := os.Stat(keyFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	for _, f := range []string{certFile, keyFile} {
		if b, _ := os.ReadFile(f); bytes.Contains(b, []byte("123456")) {
			t.Errorf("%s holds the PIN", f)
		}
	}

	code, out, errs = run()
	if code != ExitOK || !strings.Contains(out, "signing in with TLS-DSK") {
		t.Fatalf("sign-in with the stored certificate: exit %d\n%s\n%s", code, out, errs)
	}
	if n := fe.WebServices().Issued(); n != 1 {
		t.Errorf("issued %d certificates, want 1", n)
	}

	writeExpired(t, certFile, keyFile)
	code, _, errs = run()
	if code != ExitRunFailed || !strings.Contains(errs, "PIN and extension required") {
		t.Errorf("expired certificate: exit %d, stderr %q", code, errs)
	}
}

func TestRegisterPINUsage(t *testing.T) {
	for _, args := range [][]string{
		{"register", "--prov", "/tmp", "--mac", "0004f2000001", "--pin", "1234"},
		{"register", "--prov", "/tmp", "--mac", "0004f2000001", "--cert-file", "c.pem"},
	} {
		var out, errb bytes.Buffer
		if code := Main(t.Context(), args, &out, &errb); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, ExitUsage, errb.String())
		}
	}
}

func writeExpired(t *testing.T, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "alice@contoso.test"},
		NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		t.Fatal(err)
	}
}
