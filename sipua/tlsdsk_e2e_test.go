package sipua_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/handset-dev/handset/certrenew"
	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/labfe"
	"github.com/handset-dev/handset/labfe/labfetest"
	"github.com/handset-dev/handset/sipua"
)

// PIN and credential sign-in with TLS-DSK, end to end against labfe with its
// web services (issue #5). One fake clock drives labfe, its web services and
// the handset: certificates live 90 minutes and "expire" by advancing it,
// nothing sleeps.

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var (
	userKeyOnce sync.Once
	userKey     *rsa.PrivateKey
)

// certKey is one RSA-2048 user key for the whole test binary.
func certKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	userKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		userKey = k
	})
	return userKey
}

const certLife = 90 * time.Minute

func startDSKFrontEnd(t *testing.T, clk *fakeClock, mod func(*labfe.Config)) *labfe.Server {
	t.Helper()
	return labfetest.Start(t, labfetest.WithConfig(func(c *labfe.Config) {
		c.TLSDSK, c.CertLifetime, c.MaxPINFailures = true, certLife, 3
		if mod != nil {
			mod(c)
		}
	}), labfetest.WithServerOptions(labfe.WithClock(clk.Now)))
}

func pinConfig(ext, pin string) sipua.Config {
	c := aliceConfig()
	c.Password, c.AuthUser, c.AuthDomain = "", "", ""
	c.PINSignIn, c.Extension, c.PIN = true, ext, sipua.Password(pin)
	return c
}

func dskHandset(t *testing.T, fe *labfe.Server, clk *fakeClock, cfg sipua.Config, store *certrenew.Store, ev *events, opts ...sipua.Option) *sipua.Handset {
	t.Helper()
	base := []sipua.Option{sipua.WithClock(clk.Now), sipua.WithCertStore(store), sipua.WithCertKeyForTest(certKey(t))}
	return newHandset(t, fe, cfg, ev, append(base, opts...)...)
}

func steps(ev *events) string {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	var b strings.Builder
	for _, e := range ev.all {
		switch e.Kind {
		case sipua.EventAuthStep:
			b.WriteString(e.Step + "\n")
		case sipua.EventMessage:
			b.WriteString(e.Message)
		}
	}
	return b.String()
}

func wantFailure(t *testing.T, err error, o sipua.Outcome, why string) {
	t.Helper()
	got, reason := sipua.Classify(err)
	if err == nil || got != o || reason != why {
		t.Fatalf("error = %v (%v/%q), want %v/%q", err, got, reason, o, why)
	}
	if !sipua.IsFinal(err) {
		t.Errorf("error %v is not final", err)
	}
}

// TestLabfePINSignInTLSDSK: extension + PIN → web ticket → certificate →
// TLS-DSK REGISTER → signed 200 OK; the PIN is dropped, the certificate
// kept; a restart signs in with the certificate alone; once it has expired
// the PIN handset stops with "PIN and extension required".
func TestLabfePINSignInTLSDSK(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	clk := newFakeClock()
	fe := startDSKFrontEnd(t, clk, nil)
	var store certrenew.Store
	ev := newEvents()
	h := dskHandset(t, fe, clk, pinConfig("4001", "123456"), &store, ev)
	ctx := context.Background()
	if err := h.Register(ctx); err != nil {
		t.Fatalf("PIN sign-in: %v\n%s", err, steps(ev))
	}
	tr := steps(ev)
	for _, want := range []string{"server offers TLS-DSK", "web ticket issued for sip:alice@contoso.test",
		"user certificate issued", "TLS handshake complete", "Authorization: TLS-DSK", "Authentication-Info: TLS-DSK",
		"verified the server's TLS-DSK signature"} {
		if !strings.Contains(tr, want) {
			t.Errorf("trace lacks %q", want)
		}
	}
	if strings.Contains(tr, "123456") {
		t.Error("the PIN appears in the trace")
	}
	if strings.Contains(tr, "Authorization: NTLM") {
		t.Error("a PIN handset used NTLM")
	}
	if fe.Bindings("alice@contoso.test") != 1 || fe.WebServices().Issued() != 1 {
		t.Fatalf("bindings %d, issued %d", fe.Bindings("alice@contoso.test"), fe.WebServices().Issued())
	}
	leaf := store.Leaf()
	if leaf == nil || leaf.Subject.CommonName != "alice@contoso.test" {
		t.Fatal("no certificate for alice stored")
	}
	if life := leaf.NotAfter.Sub(clk.Now()); life <= certLife-time.Second || life > certLife {
		t.Errorf("certificate valid for %v more, want %v", life, certLife)
	}
	if err := h.Unregister(ctx); err != nil { // signed with the TLS-DSK keys
		t.Fatal(err)
	}
	_ = h.Close()

	// Restart with the certificate in flash and no PIN: TLS-DSK, no new
	// certificate (still valid for more than the one hour required).
	clk.Advance(20 * time.Minute)
	ev2 := newEvents()
	h2 := dskHandset(t, fe, clk, pinConfig("", ""), &store, ev2)
	if err := h2.Register(ctx); err != nil {
		t.Fatalf("sign-in with the held certificate: %v\n%s", err, steps(ev2))
	}
	if !strings.Contains(steps(ev2), "signing in with TLS-DSK") || fe.WebServices().Issued() != 1 {
		t.Errorf("second sign-in did not reuse the certificate (issued %d)", fe.WebServices().Issued())
	}
	_ = h2.Close()

	// The certificate expires: the PIN is not cached.
	clk.Advance(certLife)
	h3 := dskHandset(t, fe, clk, pinConfig("", ""), &store, nil)
	err := h3.Register(ctx)
	wantFailure(t, err, sipua.OutcomeAuthRejected, "PIN and extension required")
	if !errors.Is(err, sipua.ErrPINRequired) {
		t.Errorf("%v does not match ErrPINRequired", err)
	}
	if st := fe.Stats().Users["alice@contoso.test"]; st.Registrations != 2 || st.BadSignatures+st.Replays+st.Malformed != 0 {
		t.Errorf("labfe stats %+v", st)
	}
}

// TestLabfePINHandsetDropsPIN: after the certificate is obtained the same
// Handset holds no PIN: when its certificate expires mid-life, its next
// sign-in stops.
func TestLabfePINHandsetDropsPIN(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	clk := newFakeClock()
	fe := startDSKFrontEnd(t, clk, nil)
	var store certrenew.Store
	h := dskHandset(t, fe, clk, pinConfig("4001", "123456"), &store, nil)
	ctx := context.Background()
	if err := h.Register(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * certLife)
	wantFailure(t, h.Register(ctx), sipua.OutcomeAuthRejected, "PIN and extension required")
	if fe.WebServices().Issued() != 1 {
		t.Errorf("issued %d", fe.WebServices().Issued())
	}
}

// TestLabfeCredentialSignInGetsCertificate: a credential handset signs in
// with NTLM and obtains a certificate via NTLM; its next sign-in uses
// TLS-DSK; with the certificate expired it signs in with NTLM again and
// obtains a new one (seed, renewal process step 3).
func TestLabfeCredentialSignInGetsCertificate(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	clk := newFakeClock()
	fe := startDSKFrontEnd(t, clk, nil)
	var store certrenew.Store
	ctx := context.Background()
	signIn := func(wantScheme string, wantIssued int) {
		t.Helper()
		ev := newEvents()
		h := dskHandset(t, fe, clk, aliceConfig(), &store, ev)
		if err := h.Register(ctx); err != nil {
			t.Fatalf("sign-in: %v\n%s", err, steps(ev))
		}
		tr := steps(ev)
		if !strings.Contains(tr, "Authorization: "+wantScheme+" qop") {
			t.Errorf("sign-in did not use %s:\n%s", wantScheme, tr)
		}
		if got := fe.WebServices().Issued(); got != wantIssued {
			t.Errorf("issued %d certificates, want %d", got, wantIssued)
		}
		if err := h.Unregister(ctx); err != nil {
			t.Fatal(err)
		}
		_ = h.Close()
	}
	signIn("NTLM", 1)
	if store.Leaf() == nil {
		t.Fatal("no certificate after the NTLM sign-in")
	}
	signIn("TLS-DSK", 1)
	clk.Advance(2 * certLife)
	signIn("NTLM", 2)
	signIn("TLS-DSK", 2)
}

// TestLabfeTLSDSKOnly: a front end offering only TLS-DSK; a credential
// handset obtains its certificate with NTLM first (protocols.md §3 step 2).
func TestLabfeTLSDSKOnly(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	clk := newFakeClock()
	fe := startDSKFrontEnd(t, clk, func(c *labfe.Config) { c.TLSDSKOnly = true })
	var store certrenew.Store
	ev := newEvents()
	h := dskHandset(t, fe, clk, aliceConfig(), &store, ev)
	if err := h.Register(context.Background()); err != nil {
		t.Fatalf("%v\n%s", err, steps(ev))
	}
	if tr := steps(ev); !strings.Contains(tr, "only TLS-DSK is offered") || strings.Contains(tr, "Authorization: NTLM") {
		t.Errorf("unexpected flow:\n%s", tr)
	}

	// A wrong password is refused by the web ticket service: final.
	bad := aliceConfig()
	bad.Password = "wrong"
	h2 := dskHandset(t, fe, clk, bad, &certrenew.Store{}, nil)
	wantFailure(t, h2.Register(context.Background()), sipua.OutcomeAuthRejected, "web ticket refused")
}

// TestLabfeWrongPINLockout: wrong PINs are refused (final, nothing
// retried); after MaxPINFailures the extension is locked, even for the right
// PIN, until the administrator unlocks it.
func TestLabfeWrongPINLockout(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	clk := newFakeClock()
	fe := startDSKFrontEnd(t, clk, nil)
	ctx := context.Background()
	for i := range 3 {
		h := dskHandset(t, fe, clk, pinConfig("4001", "999999"), &certrenew.Store{}, nil)
		err := h.Register(ctx)
		wantFailure(t, err, sipua.OutcomeAuthRejected, "PIN refused")
		if i == 0 && !strings.Contains(err.Error(), "1000") && !strings.Contains(err.Error(), "x-ms-diagnostics") {
			t.Logf("error: %v", err)
		}
	}
	h := dskHandset(t, fe, clk, pinConfig("4001", "123456"), &certrenew.Store{}, nil)
	wantFailure(t, h.Register(ctx), sipua.OutcomeAuthRejected, "PIN locked")
	fe.WebServices().UnlockPIN("4001")
	h = dskHandset(t, fe, clk, pinConfig("4001", "123456"), &certrenew.Store{}, nil)
	if err := h.Register(ctx); err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	if fe.WebServices().Issued() != 1 {
		t.Errorf("issued %d", fe.WebServices().Issued())
	}
}

// TestLabfeTLSDSKWrongCertificate: a certificate from another CA is refused
// by the front end's handshake: a clear final error, no registration.
func TestLabfeTLSDSKWrongCertificate(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	clk := newFakeClock()
	fe := startDSKFrontEnd(t, clk, nil)
	var store certrenew.Store
	if _, err := store.Swap(selfSigned(t, "alice@contoso.test", clk.Now())); err != nil {
		t.Fatal(err)
	}
	h := dskHandset(t, fe, clk, pinConfig("", ""), &store, nil)
	err := h.Register(context.Background())
	wantFailure(t, err, sipua.OutcomeAuthRejected, "tls-dsk handshake refused")
	if !strings.Contains(err.Error(), "TLS-DSK handshake failed") {
		t.Errorf("error lacks the server's diagnostics: %v", err)
	}
	if st := fe.Stats(); st.Total.Registrations != 0 || st.Unattributed.AuthFailures != 1 {
		t.Errorf("labfe stats %+v", st.Total)
	}
}

// TestLabfeTLSDSKTampered: a flipped byte in either direction's handshake
// records ends the sign-in with a clear final error.
func TestLabfeTLSDSKTampered(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	clk := newFakeClock()
	fe := startDSKFrontEnd(t, clk, nil)
	for name, tc := range map[string]struct {
		out   bool
		round int
		why   string
	}{
		"client Finished flight": {true, 2, "tls-dsk handshake refused"},
		"server hello flight":    {false, 1, "tls-dsk handshake"},
		"server Finished flight": {false, 2, "tls-dsk handshake"},
	} {
		t.Run(name, func(t *testing.T) {
			var store certrenew.Store
			h := dskHandset(t, fe, clk, pinConfig("4001", "123456"), &store, nil,
				sipua.WithDSKTamperForTest(func(out bool, round int, flight []byte) []byte {
					if out != tc.out || round != tc.round {
						return flight
					}
					f := append([]byte(nil), flight...)
					f[len(f)-3] ^= 0x40 // inside the last record's payload
					return f
				}))
			err := h.Register(context.Background())
			wantFailure(t, err, sipua.OutcomeAuthRejected, tc.why)
			t.Logf("error: %v", err)
		})
	}
	if st := fe.Stats().Total; st.Registrations != 0 {
		t.Errorf("registered with tampered records: %+v", st)
	}
}

// TestLabfeWebServicesDown: sts-uri naming a port nobody listens on: a clear
// server error that Run would retry, quickly.
func TestLabfeWebServicesDown(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	clk := newFakeClock()
	fe := startDSKFrontEnd(t, clk, func(c *labfe.Config) { c.WebBaseURL = "https://127.0.0.1:1" })
	h := dskHandset(t, fe, clk, pinConfig("4001", "123456"), &certrenew.Store{}, nil)
	err := h.Register(context.Background())
	o, why := sipua.Classify(err)
	if o != sipua.OutcomeServerError || why != "web services metadata" || sipua.IsFinal(err) {
		t.Fatalf("error = %v (%v/%q)", err, o, why)
	}
}

// TestLabfePINWithoutTLSDSK: a front end that does not offer TLS-DSK
// cannot sign in a PIN handset.
func TestLabfePINWithoutTLSDSK(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := labfetest.Start(t)
	h := newHandset(t, fe, pinConfig("4001", "123456"), nil)
	wantFailure(t, h.Register(context.Background()), sipua.OutcomeConfig, "tls-dsk not offered")
}

func selfSigned(t *testing.T, cn string, now time.Time) *tls.Certificate {
	t.Helper()
	key := certKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: cn},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestLabfeCertificateRenewalOwnedByHandset: the certificate (2 h) is
// renewed by the Renewer the Handset owns, 30 minutes (¼ of its life)
// before expiry (seed schedule), through labfe's web services: a credential
// handset gets its web ticket with NTLM, a PIN handset (no PIN any more)
// with its current certificate (webticket.Cert). Close stops the Renewer
// (leak check). Handset, renewer and labfe share a clock running 2000× real
// time (NTLM's 15-minute skew allowance is then 0.45 s of real time).
func TestLabfeCertificateRenewalOwnedByHandset(t *testing.T) {
	for name, cfg := range map[string]sipua.Config{"credentials": aliceConfig(), "PIN": pinConfig("4001", "123456")} {
		t.Run(name, func(t *testing.T) {
			testutil.VerifyNoLeaks(t)
			clk := certrenew.NewScaledClock(time.Now(), 2000)
			fe := labfetest.Start(t, labfetest.WithConfig(func(c *labfe.Config) { c.TLSDSK, c.CertLifetime = true, 2*time.Hour }),
				labfetest.WithServerOptions(labfe.WithClock(clk.Now)))
			var store certrenew.Store
			ev := newEvents()
			opts := []sipua.Option{sipua.WithClock(clk.Now), sipua.WithRenewalClock(clk),
				sipua.WithCertStore(&store), sipua.WithCertKeyForTest(certKey(t))}
			h := newHandset(t, fe, cfg, ev, opts...)
			if err := h.Register(context.Background()); err != nil {
				t.Fatalf("%v\n%s", err, steps(ev))
			}
			first := store.Leaf()
			if first == nil {
				t.Fatalf("no certificate after sign-in:\n%s", steps(ev))
			}
			deadline := time.After(30 * time.Second)
			for renewed := false; !renewed; {
				select {
				case e := <-ev.ch:
					renewed = e.Kind == sipua.EventAuthStep && strings.HasPrefix(e.Step, "user certificate renewed")
				case <-deadline:
					t.Fatalf("no renewal:\n%s", steps(ev))
				}
			}
			if cur := store.Leaf(); cur == nil || cur.SerialNumber.Cmp(first.SerialNumber) == 0 || !cur.NotAfter.After(first.NotAfter) {
				t.Errorf("store still holds the first certificate")
			}
			if n := fe.WebServices().Issued(); n != 2 {
				t.Errorf("issued %d certificates, want 2", n)
			}
			if err := h.Close(); err != nil {
				t.Fatal(err)
			}
			// The renewed certificate is one the front end's TLS-DSK accepts
			// (signing in with a held certificate is tested above).
			if _, err := store.Leaf().Verify(x509.VerifyOptions{Roots: fe.UserCAPool(), CurrentTime: clk.Now(),
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
				t.Errorf("renewed certificate: %v", err)
			}
		})
	}
}

// TestLabfeWebServicesBlackHole: web services that accept connections and
// never answer: the sign-in ends with a timeout, bounded by the handset's
// HTTP timeout (2 × TransactionTimeout), and leaves no goroutine behind.
func TestLabfeWebServicesBlackHole(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	accepted := make(chan struct{})
	go func() {
		defer close(accepted)
		for {
			c, aerr := ln.Accept()
			if aerr != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-accepted
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
	})
	clk := newFakeClock()
	fe := startDSKFrontEnd(t, clk, func(c *labfe.Config) { c.WebBaseURL = "https://" + ln.Addr().String() })
	cfg := pinConfig("4001", "123456")
	cfg.TransactionTimeout = time.Second
	h := dskHandset(t, fe, clk, cfg, &certrenew.Store{}, nil)
	start := time.Now()
	err = h.Register(context.Background())
	if o, _ := sipua.Classify(err); err == nil || o == sipua.OutcomeSuccess {
		t.Fatalf("Register = %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
	t.Logf("error: %v", err)
}

// TestLabfeTLSDSKStaysRegistered: a PIN handset stays registered on its
// TLS-DSK security association: signed re-REGISTERs, and at the SA refresh a
// new TLS-DSK handshake with the held certificate (no PIN, no new
// certificate); on cancel a signed un-REGISTER.
func TestLabfeTLSDSKStaysRegistered(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	clk := newFakeClock()
	fe := startDSKFrontEnd(t, clk, func(c *labfe.Config) {
		c.RegisterExpiry, c.KeepAliveTimeout, c.SALifetime = 2*time.Second, time.Second, 4*time.Second
	})
	ev := newEvents()
	cfg := pinConfig("4001", "123456")
	cfg.SALifetime, cfg.SAMargin = 3*time.Second, 500*time.Millisecond
	h := dskHandset(t, fe, clk, cfg, &certrenew.Store{}, ev)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	registered, handshakes, refreshed := 0, 0, false
	deadline := time.After(30 * time.Second)
	for registered < 4 || handshakes < 2 || !refreshed {
		select {
		case e := <-ev.ch:
			switch {
			case e.Kind == sipua.EventRegistered:
				registered++
			case e.Kind == sipua.EventAuthStep && strings.HasPrefix(e.Step, "TLS handshake complete"):
				handshakes++
			case e.Kind == sipua.EventAuthStep && strings.Contains(e.Step, "security association is"):
				refreshed = true
			case e.Kind == sipua.EventFailure:
				t.Errorf("failure: %v", e.Err)
			}
		case err := <-done:
			t.Fatalf("Run returned early: %v", err)
		case <-deadline:
			t.Fatalf("timeout: registered=%d handshakes=%d refreshed=%v\n%s", registered, handshakes, refreshed, steps(ev))
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st := fe.Stats().Users["alice@contoso.test"]
	if st.Registrations < 4 || st.Unregistrations != 1 || st.AuthFailures+st.BadSignatures+st.Replays+st.InstanceMismatches+st.Malformed != 0 {
		t.Errorf("labfe stats = %+v", st)
	}
	if n := fe.WebServices().Issued(); n != 1 {
		t.Errorf("issued %d certificates, want 1", n)
	}
}
