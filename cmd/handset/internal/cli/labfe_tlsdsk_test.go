package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/labfe"
)

// TestLabfeTLSDSKFlags: --tls-dsk serves the web services, the flags reach
// labfe.Config, and the PIN sign-in command is printed.
func TestLabfeTLSDSKFlags(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	o, err := parseLabfeFlags(&Env{Stderr: &bytes.Buffer{}}, []string{"--ca-out", filepath.Join(t.TempDir(), "ca.pem"),
		"--tls-dsk-only", "--cert-lifetime", "2h", "--max-pin-failures", "3"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan *labfe.Server, 1)
	var out bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &out, Log: slog.New(slog.DiscardHandler)}
	done := make(chan int, 1)
	go func() { done <- runLabfeWith(ctx, env, o, ready) }()
	srv := <-ready
	if c := srv.Config(); !c.TLSDSK || !c.TLSDSKOnly || c.CertLifetime != 2*time.Hour || c.MaxPINFailures != 3 {
		t.Errorf("config %+v", c)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: srv.CAPool(), MinVersion: tls.VersionTLS12}}
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(srv.STSURI() + "/mex")
	if err != nil {
		t.Fatalf("web services: %v", err)
	}
	_ = resp.Body.Close()
	tr.CloseIdleConnections()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET mex: %s", resp.Status)
	}
	cancel()
	if code := <-done; code != ExitOK {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	for _, want := range []string{"web services (sts-uri) " + srv.STSURI(), "--extension EXT --cert-file cert.pem --key-file key.pem --once"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
