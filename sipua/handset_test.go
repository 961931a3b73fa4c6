package sipua

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/handset-dev/handset/internal/testutil"
)

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

type recorder struct {
	mu      sync.Mutex
	events  []Event
	ch      chan Event
	illegal []string
}

func newRecorder() *recorder { return &recorder{ch: make(chan Event, 1024)} }

func (r *recorder) Observe(ev Event) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	if ev.Kind == EventState && !Legal(ev.Prev, ev.State) {
		r.illegal = append(r.illegal, ev.Prev.String()+"->"+ev.State.String())
	}
	r.mu.Unlock()
	select {
	case r.ch <- ev:
	default:
	}
}

func (r *recorder) kinds(k EventKind) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Event
	for _, e := range r.events {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

func testConfig() Config {
	return Config{Handset: "0004f2000001", AOR: "alice@contoso.test", AuthUser: "alice", AuthDomain: "CONTOSO",
		Password: "Passw0rd!", Server: "pool.contoso.test", Epid: "8248ca9ebb", TransactionTimeout: 5 * time.Second}
}

func newTestHandset(t *testing.T, fe *fakeFE, cfg Config, password string, rec *recorder, extra ...Option) *Handset {
	t.Helper()
	opts := []Option{
		WithTLSConfig(&tls.Config{RootCAs: fe.ca.pool}),
		WithDialAddr(fe.addr),
		withAuthenticator(fakeAuth(password)),
		WithRand(testutil.NewReader(1)),
		WithLogger(slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))),
	}
	if rec != nil {
		opts = append(opts, WithObserver(rec))
		t.Cleanup(func() {
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if len(rec.illegal) > 0 {
				t.Errorf("illegal state transitions: %v", rec.illegal)
			}
		})
	}
	h, err := New(cfg, append(opts, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

func TestRegisterUnregister(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := startFakeFE(t, "pool.contoso.test")
	rec := newRecorder()
	h := newTestHandset(t, fe, testConfig(), "Passw0rd!", rec)
	ctx := context.Background()
	if err := h.Register(ctx); err != nil {
		for _, ev := range rec.kinds(EventMessage) {
			t.Log(ev.Message)
		}
		t.Fatalf("Register: %v", err)
	}
	if got := h.State(); got != StateRegistered {
		t.Fatalf("state = %v", got)
	}
	if want := "sip:alice@contoso.test;opaque=user:epid:8248ca9ebb;gruu"; h.GRUU() != want {
		t.Errorf("GRUU = %q, want %q (must pick our own Contact by +sip.instance)", h.GRUU(), want)
	}
	if err := h.Unregister(ctx); err != nil {
		t.Fatalf("Unregister: %v", err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	regs, fails, unregs, _, _ := fe.counts()
	if regs != 4 || fails != 0 || unregs != 1 {
		t.Errorf("server saw %d REGISTERs, %d auth failures, %d un-REGISTERs; want 4, 0, 1", regs, fails, unregs)
	}
	if n := len(rec.kinds(EventAuthStep)); n < 5 {
		t.Errorf("auth steps = %d, want >= 5", n)
	}
	if len(rec.kinds(EventRegistered)) != 1 || len(rec.kinds(EventUnregistered)) != 1 {
		t.Errorf("registered/unregistered events missing")
	}
	for _, ev := range rec.kinds(EventMessage) {
		if strings.Contains(ev.Message, "Authorization") && strings.Contains(ev.Message, "gssapi-data=\"") &&
			!strings.Contains(ev.Message, `gssapi-data=""`) && !strings.Contains(ev.Message, "[redacted]") {
			t.Errorf("AUTHENTICATE token not redacted in trace:\n%s", ev.Message)
		}
	}
	// The Contact of every REGISTER carries +sip.instance derived from the epid (§1.3).
	out := rec.kinds(EventMessage)[0].Message
	if !strings.Contains(out, `+sip.instance="<urn:uuid:4233FD41-093B-5FD6-B5D2-651ED55969E6>"`) || !strings.Contains(out, ";epid=8248ca9ebb") {
		t.Errorf("first REGISTER lacks epid/instance:\n%s", out)
	}
}

func TestWrongPasswordIsFinalAfterOneAttempt(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := startFakeFE(t, "pool.contoso.test")
	rec := newRecorder()
	cfg := testConfig()
	cfg.RetryBase = time.Millisecond
	h := newTestHandset(t, fe, cfg, "wrong", rec)
	err := h.Run(context.Background())
	if err == nil || !IsFinal(err) {
		t.Fatalf("Run = %v, want final error", err)
	}
	o, why := Classify(err)
	if o != OutcomeAuthRejected || why != "401 after AUTHENTICATE" {
		t.Errorf("Classify = %v/%q", o, why)
	}
	if !strings.Contains(err.Error(), "1000") {
		t.Errorf("error lacks the ms-diagnostics reason: %v", err)
	}
	if _, fails, _, _, _ := fe.counts(); fails != 1 {
		t.Errorf("server saw %d AUTHENTICATE failures, want exactly 1", fails)
	}
	if h.State() != StateFailed {
		t.Errorf("state = %v", h.State())
	}
}

func TestTamperedServerSignature(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := startFakeFE(t, "pool.contoso.test")
	fe.tamper = true
	h := newTestHandset(t, fe, testConfig(), "Passw0rd!", nil)
	err := h.Register(context.Background())
	if o, why := Classify(err); o != OutcomeAuthRejected || why != "bad server signature" {
		t.Fatalf("Register = %v (%v/%q), want bad server signature", err, o, why)
	}
}

// tamperSigner corrupts our own signatures: the server must refuse.
type tamperSigner struct{ signer }

func (s tamperSigner) Sign(buf []byte) (string, error) {
	sig, err := s.signer.Sign(buf)
	return strings.Repeat("f", len(sig)), err
}

func TestTamperedClientSignature(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := startFakeFE(t, "pool.contoso.test")
	auth := authenticatorFunc(func(c []byte) ([]byte, signer, error) {
		m, s, err := fakeAuth("Passw0rd!").Authenticate(c)
		return m, tamperSigner{s}, err
	})
	h := newTestHandset(t, fe, testConfig(), "Passw0rd!", nil, withAuthenticator(auth))
	err := h.Register(context.Background())
	if o, _ := Classify(err); o != OutcomeAuthRejected || !IsFinal(err) {
		t.Fatalf("Register = %v, want final auth rejection", err)
	}
}

func TestServerCertificateChecks(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := startFakeFE(t, "pool.contoso.test")
	other := newTestCA(t, "pool.contoso.test")
	for _, tc := range []struct {
		name   string
		server string
		roots  *tls.Config
	}{
		{"untrusted CA", "pool.contoso.test", &tls.Config{RootCAs: other.pool}},
		{"wrong host name", "evil.contoso.test", &tls.Config{RootCAs: fe.ca.pool}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Server = tc.server
			h := newTestHandset(t, fe, cfg, "Passw0rd!", nil, WithTLSConfig(tc.roots))
			err := h.Register(context.Background())
			if o, why := Classify(err); o != OutcomeTransport || why != "tls handshake" {
				t.Fatalf("Register = %v (%v/%q), want tls handshake failure", err, o, why)
			}
			if regs, _, _, _, _ := fe.counts(); regs != 0 {
				t.Fatalf("server saw %d REGISTERs over an unverified connection", regs)
			}
		})
	}
	t.Run("insecure accepts", func(t *testing.T) {
		cfg := testConfig()
		cfg.Insecure = true
		h := newTestHandset(t, fe, cfg, "Passw0rd!", nil, WithTLSConfig(&tls.Config{}))
		if err := h.Register(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

// TestRunStaysRegistered: shortened expiry → 3 re-REGISTERs, keep-alives, an
// SA refresh, a 401 to a re-REGISTER (full re-auth), then un-REGISTER.
func TestRunStaysRegistered(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := startFakeFE(t, "pool.contoso.test")
	fe.expires, fe.kaSecs = 2, 1
	fe.reject401 = 1
	rec := newRecorder()
	cfg := testConfig()
	cfg.SALifetime, cfg.SAMargin = 4*time.Second, time.Second
	h := newTestHandset(t, fe, cfg, "Passw0rd!", rec)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	// Stop only once the SA refresh has completed (a registration after
	// it): a stop in the middle of a re-authentication has no SA left to
	// sign the un-REGISTER with.
	registered, refreshing, refreshed := 0, false, false
	timeout := time.After(20 * time.Second)
	for registered < 5 || !refreshed {
		select {
		case ev := <-rec.ch:
			if ev.Kind == EventRegistered {
				registered++
				refreshed = refreshed || refreshing
			}
			if ev.Kind == EventAuthStep && strings.Contains(ev.Step, "security association is") {
				refreshing = true
			}
		case err := <-done:
			t.Fatalf("Run returned early: %v", err)
		case <-timeout:
			t.Fatalf("timeout: %d registrations, refreshed=%v", registered, refreshed)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	regs, fails, unregs, reAuths, kas := fe.counts()
	t.Logf("REGISTERs=%d reAuths=%d keepalives=%d", regs, reAuths, kas)
	if fails != 0 || unregs != 1 || reAuths < 3 || kas < 1 {
		t.Errorf("fails=%d unregs=%d reAuths=%d keepalives=%d; want 0, 1, >=3 (first, 401, SA refresh), >=1", fails, unregs, reAuths, kas)
	}
	if h.State() != StateStopped {
		t.Errorf("state = %v", h.State())
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{}, {AOR: "alice", Password: "x"}, {AOR: "a@b"}, {AOR: "a@b", Password: "x", Epid: "xyz"}} {
		var ce *ConfigError
		if err := c.Validate(); !errors.As(err, &ce) {
			t.Errorf("Validate(%+v) = %v, want ConfigError", c, err)
		}
	}
	if got := Password("s3cret").String(); got != "[redacted]" {
		t.Errorf("Password.String = %q", got)
	}
}

func TestRunRetriesAfter503(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := startFakeFE(t, "pool.contoso.test")
	fe.fail503 = 2
	rec := newRecorder()
	cfg := testConfig()
	cfg.TimeScale = 1000
	h := newTestHandset(t, fe, cfg, "Passw0rd!", rec)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	var failures []Event
	for registered := false; !registered; {
		select {
		case ev := <-rec.ch:
			switch ev.Kind {
			case EventRegistered:
				registered = true
			case EventFailure:
				failures = append(failures, ev)
			}
		case err := <-done:
			t.Fatalf("Run returned early: %v", err)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(failures) != 2 || failures[0].Outcome != OutcomeServerError || failures[0].Reason != "503 ms-diagnostics 1008" || failures[0].Status != 503 {
		t.Errorf("failures = %+v", failures)
	}
}

type fakeResolver struct {
	srv   map[string][]*net.SRV
	hosts map[string][]string
}

func (r fakeResolver) LookupSRV(_ context.Context, service, proto, name string) (string, []*net.SRV, error) {
	key := "_" + service + "._" + proto + "." + name
	if recs, ok := r.srv[key]; ok {
		return key, recs, nil
	}
	return "", nil, &net.DNSError{Err: "no such host", Name: key, IsNotFound: true}
}

func (r fakeResolver) LookupHost(_ context.Context, host string) ([]string, error) {
	if a, ok := r.hosts[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// TestDiscoverySRV: without a configured server the registrar comes from
// _sipinternaltls._tcp (protocols.md §1.1); the TLS name is the SRV target.
func TestDiscoverySRV(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := startFakeFE(t, "pool.contoso.test")
	host, port, _ := net.SplitHostPort(fe.addr)
	p, _ := strconv.Atoi(port)
	res := fakeResolver{
		srv: map[string][]*net.SRV{"_sipinternaltls._tcp.contoso.test": {
			{Target: "pool.contoso.test.", Port: uint16(p), Priority: 0},
			{Target: "backup.contoso.test.", Port: 5061, Priority: 10},
		}},
		hosts: map[string][]string{"pool.contoso.test": {host}},
	}
	cfg := testConfig()
	cfg.Server = ""
	h, err := New(cfg, WithTLSConfig(&tls.Config{RootCAs: fe.ca.pool}), WithResolver(res), withAuthenticator(fakeAuth("Passw0rd!")))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = h.Close() }()
	if err = h.Register(context.Background()); err != nil {
		t.Fatal(err)
	}

	// No SRV records at all: a config-class failure naming the lookups.
	h2, _ := New(cfg, WithResolver(fakeResolver{}), withAuthenticator(fakeAuth("x")))
	defer h2.Close()
	err = h2.Register(context.Background())
	if o, why := Classify(err); o != OutcomeConfig || why != "dns srv" || !strings.Contains(err.Error(), "_sipinternaltls._tcp.contoso.test") {
		t.Errorf("Register without SRV = %v (%v/%q)", err, o, why)
	}
}

// TestRunRecoversLostConnection: the keep-alive finds the dead connection;
// Run backs off, reconnects and signs in again from scratch.
func TestRunRecoversLostConnection(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := startFakeFE(t, "pool.contoso.test")
	rec := newRecorder()
	cfg := testConfig()
	cfg.TimeScale = 1000
	h := newTestHandset(t, fe, cfg, "Passw0rd!", rec)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	var lost Event
	for registered := 0; registered < 2; {
		select {
		case ev := <-rec.ch:
			switch ev.Kind {
			case EventRegistered:
				registered++
				if registered == 1 {
					h.mu.Lock()
					_ = h.conn.tc.Close()
					h.mu.Unlock()
				}
			case EventFailure:
				lost = ev
			}
		case err := <-done:
			t.Fatalf("Run returned early: %v", err)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if lost.Outcome != OutcomeTransport || lost.Reason != "connection lost" {
		t.Errorf("failure event = %v/%q", lost.Outcome, lost.Reason)
	}
}

// TestRedirect301: a Director answers 301 with the home pool; the handset
// drops the connection and signs in there, verifying the new host name.
func TestRedirect301(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	ca := newTestCA(t, "pool.contoso.test", "pool2.contoso.test")
	home := startFakeFEWithCA(t, ca)
	_, port, _ := net.SplitHostPort(home.addr)
	director := startFakeFEWithCA(t, ca)
	director.redirectTo = "pool2.contoso.test:" + port
	rec := newRecorder()
	res := fakeResolver{hosts: map[string][]string{"pool2.contoso.test": {"127.0.0.1"}}}
	h := newTestHandset(t, director, testConfig(), "Passw0rd!", rec, WithResolver(res))
	if err := h.Register(context.Background()); err != nil {
		t.Fatal(err)
	}
	if regs, _, _, reAuths, _ := home.counts(); regs != 3 || reAuths != 1 {
		t.Errorf("home pool saw %d REGISTERs, %d sign-ins; want 3, 1", regs, reAuths)
	}
	if regs, _, _, _, _ := director.counts(); regs != 1 {
		t.Errorf("director saw %d REGISTERs, want 1", regs)
	}
}

func TestCloseIdempotentAndFinal(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := startFakeFE(t, "pool.contoso.test")
	h := newTestHandset(t, fe, testConfig(), "Passw0rd!", nil)
	if err := h.Register(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h.Register(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Register after Close = %v", err)
	}
	if err := h.Run(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close = %v", err)
	}
	if h.State() != StateStopped {
		t.Errorf("state = %v", h.State())
	}
}

// TestCloseStopsRun: Close from another goroutine ends Run promptly.
func TestCloseStopsRun(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := startFakeFE(t, "pool.contoso.test")
	rec := newRecorder()
	h := newTestHandset(t, fe, testConfig(), "Passw0rd!", rec)
	done := make(chan error, 1)
	go func() { done <- h.Run(context.Background()) }()
	for ev := range rec.ch {
		if ev.Kind == EventRegistered {
			break
		}
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

func TestMessageTextOff(t *testing.T) {
	fe := startFakeFE(t, "pool.contoso.test")
	rec := newRecorder()
	h := newTestHandset(t, fe, testConfig(), "Passw0rd!", rec, WithMessageText(false))
	if err := h.Register(context.Background()); err != nil {
		t.Fatal(err)
	}
	msgs := rec.kinds(EventMessage)
	if len(msgs) != 6 {
		t.Errorf("%d message events, want 6", len(msgs))
	}
	for _, m := range msgs {
		if m.Message != "" {
			t.Fatalf("message text present")
		}
	}
}
