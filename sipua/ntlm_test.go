package sipua

import (
	"context"
	"crypto/tls"
	"path/filepath"
	"testing"

	"github.com/handset-dev/handset/internal/testutil"
)

func newNTLMHandset(t *testing.T, fe *fakeFE, password string, rec *recorder) *Handset {
	t.Helper()
	cfg := testConfig()
	cfg.Password = Password(password)
	opts := []Option{WithTLSConfig(&tls.Config{RootCAs: fe.ca.pool}), WithDialAddr(fe.addr),
		WithRand(testutil.NewReader(1)), WithClock(fixedNow)}
	if rec != nil {
		opts = append(opts, WithObserver(rec))
	}
	h, err := New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// TestNTLMSignIn runs the real auth/ntlm client against the auth/ntlm
// acceptor: AUTHENTICATE accepted, every signature (SeqNum 100) verified both
// ways, and a golden transcript of the exchange.
func TestNTLMSignIn(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := startFakeFE(t, "pool.contoso.test")
	fe.realNTLM = true
	rec := newRecorder()
	h := newNTLMHandset(t, fe, "Passw0rd!", rec)
	if err := h.Register(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := h.Unregister(context.Background()); err != nil {
		t.Fatal(err)
	}
	_ = h.Close()
	if regs, fails, unregs, _, _ := fe.counts(); regs != 4 || fails != 0 || unregs != 1 {
		t.Errorf("server: %d REGISTERs, %d failures, %d un-REGISTERs", regs, fails, unregs)
	}
	testutil.Golden(t, filepath.Join("testdata", "golden", "signin_ntlm_fakefe.txt"), []byte(transcript(rec)))
}

func TestNTLMWrongPassword(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := startFakeFE(t, "pool.contoso.test")
	fe.realNTLM = true
	h := newNTLMHandset(t, fe, "wrong", nil)
	err := h.Run(context.Background())
	if !IsFinal(err) {
		t.Fatalf("Run = %v, want final", err)
	}
	if _, fails, _, _, _ := fe.counts(); fails != 1 {
		t.Errorf("AUTHENTICATE failures = %d, want 1", fails)
	}
}
