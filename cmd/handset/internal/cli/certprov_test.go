package cli

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/handset-dev/handset/configs"
	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/labfe/websvc"
)

// `handset certprov` against labfe's web services: PIN sign-in writes a
// certificate and key that load as a TLS key pair; a wrong PIN exits 1;
// missing flags exit 2.
func TestCertprovCommand(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), testutil.NewReader(2))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caDER, err := x509.CreateCertificate(testutil.NewReader(1), &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cli test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}, &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cli test CA"}}, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(caDER)
	svc, err := websvc.New(websvc.Config{
		CA:    &tls.Certificate{Certificate: [][]byte{caDER}, PrivateKey: caKey, Leaf: leaf},
		Users: []websvc.User{{Address: "sip:alice@lab.test", Extension: "4001", PIN: configs.NewSecret("2468")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(svc)
	defer srv.Close()
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ws-ca.pem")
	_ = os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600)
	args := []string{"--sts-uri", srv.URL + websvc.PathCertProv, "--extension", "4001", "--ca", caFile,
		"--out-cert", filepath.Join(dir, "u.crt"), "--out-key", filepath.Join(dir, "u.key")}

	run := func(pin string, args []string) (int, string) {
		var out, errb bytes.Buffer
		env := &Env{Stdout: &out, Stderr: &errb, Log: slog.New(slog.DiscardHandler)}
		o, err := parseCertprovFlags(env, args, func(k string) string {
			if k == "HANDSET_PIN" {
				return pin
			}
			return ""
		})
		if err != nil {
			return fail(env, err), errb.String()
		}
		hc, err := certprovHTTPClient(o)
		if err != nil {
			return fail(env, err), errb.String()
		}
		defer hc.CloseIdleConnections()
		return fail0(env, provisionCert(context.Background(), env, o, hc)), out.String() + errb.String()
	}
	code, out := run("2468", args)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, out)
	}
	// labfe backdates NotBefore by a minute.
	if !strings.Contains(out, "CN=alice@lab.test") || !strings.Contains(out, "(8h1m0s)") {
		t.Errorf("output: %s", out)
	}
	if _, err := tls.LoadX509KeyPair(filepath.Join(dir, "u.crt"), filepath.Join(dir, "u.key")); err != nil {
		t.Errorf("written pair: %v", err)
	}
	if st, _ := os.Stat(filepath.Join(dir, "u.key")); st.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v", st.Mode())
	}
	if code, out := run("0000", args); code != ExitRunFailed || !strings.Contains(out, "invalid extension or PIN") {
		t.Errorf("wrong PIN: exit %d: %s", code, out)
	}
	if code, _ := run("", args); code != ExitUsage {
		t.Errorf("no PIN: exit %d", code)
	}
	if code, _ := run("1", []string{"--extension", "1"}); code != ExitUsage {
		t.Errorf("no sts-uri: exit %d", code)
	}
}
