package certprov

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/handset-dev/handset/certrenew"
	"github.com/handset-dev/handset/internal/testutil"
)

// Certificates and CSRs checked by OpenSSL, an independent X.509 stack: the
// fake service hands our CSR to `openssl req -verify` and has `openssl ca`
// issue the certificate with an exact validity window, so short-lived and
// expired certificates are made by openssl, not by the code under test.

func run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// opensslCA issues certificates for CSRs with `openssl ca` in a temp dir.
type opensslCA struct {
	bin, dir string
}

func newOpenSSLCA(t *testing.T, bin string) *opensslCA {
	dir := t.TempDir()
	for _, f := range []string{"index.txt"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_ = os.WriteFile(filepath.Join(dir, "serial"), []byte("1000\n"), 0o600)
	abs, _ := filepath.Abs("testdata")
	conf := `[ca]
default_ca = c
[c]
dir = ` + dir + `
database = $dir/index.txt
serial = $dir/serial
new_certs_dir = $dir
certificate = ` + abs + `/ca.crt
private_key = ` + abs + `/ca.key
default_md = sha256
policy = p
unique_subject = no
copy_extensions = none
x509_extensions = e
[p]
commonName = supplied
[e]
extendedKeyUsage = clientAuth
`
	if err := os.WriteFile(filepath.Join(dir, "ca.cnf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return &opensslCA{bin, dir}
}

// issue signs csrDER valid [from, to) and returns the DER certificate.
func (c *opensslCA) issue(t *testing.T, csrDER []byte, from, to time.Time) []byte {
	csr := filepath.Join(c.dir, "req.pem")
	if err := os.WriteFile(csr, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	out := run(t, c.bin, "req", "-verify", "-noout", "-in", csr)
	if !strings.Contains(out, "verify OK") && !strings.Contains(out, "Certificate request self-signature verify OK") {
		t.Errorf("openssl req -verify: %s", out)
	}
	crt := filepath.Join(c.dir, "out.pem")
	run(t, c.bin, "ca", "-batch", "-config", filepath.Join(c.dir, "ca.cnf"), "-in", csr, "-out", crt, "-notext",
		"-startdate", from.UTC().Format("20060102150405Z"), "-enddate", to.UTC().Format("20060102150405Z"))
	b, err := os.ReadFile(crt)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatal("openssl ca wrote no certificate")
	}
	return blk.Bytes
}

func TestOpenSSLIssuedCertificates(t *testing.T) {
	bin := testutil.RequirePeer(t, "openssl")
	now := time.Now().Truncate(time.Second) // openssl ca works in wall-clock time
	for _, tc := range []struct {
		name     string
		from, to time.Duration
		ok       bool
	}{
		{"eight hours", -time.Minute, 8 * time.Hour, true},
		{"fifty minutes", -time.Minute, 50 * time.Minute, false},
		{"expired", -3 * time.Hour, -time.Hour, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ca := newOpenSSLCA(t, bin)
			c, _ := newClient(t, func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				_, _, der := parseCSR(t, body)
				if der == nil {
					w.WriteHeader(400)
					return
				}
				_, _ = w.Write(MarshalResponse(ca.issue(t, der, now.Add(tc.from), now.Add(tc.to))))
			}, WithClock(func() time.Time { return now }))
			var store certrenew.Store
			cert, err := c.Provision(context.Background(), &store)
			if !tc.ok {
				var short *certrenew.ShortCertificateError
				if !errors.As(err, &short) {
					t.Fatalf("err = %v, want ShortCertificateError", err)
				}
				if store.Current() != nil {
					t.Error("refused certificate reached the store")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			pemFile := filepath.Join(t.TempDir(), "user.pem")
			_ = os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600)
			if out := run(t, bin, "verify", "-CAfile", "testdata/ca.crt", "-purpose", "sslclient", pemFile); !strings.Contains(out, ": OK") {
				t.Errorf("openssl verify: %s", out)
			}
			if cert.Leaf.Subject.CommonName != "alice@lab.test" {
				t.Errorf("CN %q", cert.Leaf.Subject.CommonName)
			}
			if _, err := x509.ParseCertificate(cert.Certificate[0]); err != nil {
				t.Error(err)
			}
		})
	}
}
