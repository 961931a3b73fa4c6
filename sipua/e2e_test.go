package sipua_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/labfe"
	"github.com/handset-dev/handset/labfe/labfetest"
	"github.com/handset-dev/handset/sipua"
)

// End-to-end: the handset against the strict lab front end over TLS.

type events struct {
	mu  sync.Mutex
	all []sipua.Event
	ch  chan sipua.Event
}

func newEvents() *events { return &events{ch: make(chan sipua.Event, 4096)} }

func (e *events) Observe(ev sipua.Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
	select {
	case e.ch <- ev:
	default:
	}
}

func fixedNow() time.Time { return time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC) }

func aliceConfig() sipua.Config {
	return sipua.Config{Handset: "0004f2000001", AOR: "alice@contoso.test", AuthUser: "alice", AuthDomain: "CONTOSO",
		Password: "Passw0rd!", Server: "pool.contoso.test", Epid: "8248ca9ebb", TransactionTimeout: 5 * time.Second}
}

func newHandset(t *testing.T, fe *labfe.Server, cfg sipua.Config, ev *events, opts ...sipua.Option) *sipua.Handset {
	t.Helper()
	base := []sipua.Option{
		sipua.WithTLSConfig(&tls.Config{RootCAs: fe.CAPool()}),
		sipua.WithDialAddr(fe.Addr()),
		sipua.WithRand(testutil.NewReader(1)),
	}
	if ev != nil {
		base = append(base, sipua.WithObserver(ev))
	}
	h, err := sipua.New(cfg, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

var portRE = regexp.MustCompile(`127\.0\.0\.1:\d+`)

func transcript(e *events) string {
	var b strings.Builder
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ev := range e.all {
		switch ev.Kind {
		case sipua.EventMessage:
			dir := "<<< received"
			if ev.Outgoing {
				dir = ">>> sent"
			}
			fmt.Fprintf(&b, "%s\n%s", dir, strings.ReplaceAll(ev.Message, "\r\n", "\n"))
		case sipua.EventAuthStep:
			fmt.Fprintf(&b, "# %s\n", ev.Step)
		case sipua.EventState:
			fmt.Fprintf(&b, "# state %s -> %s\n", ev.Prev, ev.State)
		case sipua.EventRegistered:
			b.WriteString("# registered\n")
		case sipua.EventUnregistered:
			b.WriteString("# unregistered\n")
		}
	}
	return portRE.ReplaceAllString(b.String(), "127.0.0.1:PORT")
}

// TestLabfeSignInGolden: sign-in and un-REGISTER with seeded randomness and
// fixed clocks on both ends; the transcript is golden (go test -update).
func TestLabfeSignInGolden(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := labfetest.Start(t, labfetest.WithServerOptions(labfe.WithRand(testutil.NewReader(2)), labfe.WithClock(fixedNow)))
	ev := newEvents()
	h := newHandset(t, fe, aliceConfig(), ev, sipua.WithClock(fixedNow))
	ctx := context.Background()
	if err := h.Register(ctx); err != nil {
		t.Fatal(err)
	}
	if fe.Bindings("alice@contoso.test") != 1 {
		t.Errorf("labfe has %d bindings, want 1", fe.Bindings("alice@contoso.test"))
	}
	if !strings.Contains(h.GRUU(), "opaque=user:epid:") {
		t.Errorf("GRUU = %q", h.GRUU())
	}
	if err := h.Unregister(ctx); err != nil {
		t.Fatal(err)
	}
	_ = h.Close()
	st := fe.Stats().Users["alice@contoso.test"]
	if st.Registrations != 1 || st.Unregistrations != 1 || st.AuthFailures+st.BadSignatures+st.Replays+st.InstanceMismatches+st.Malformed != 0 {
		t.Errorf("labfe stats = %+v", st)
	}
	testutil.Golden(t, filepath.Join("testdata", "golden", "signin_labfe.txt"), []byte(transcript(ev)))
}

// TestLabfeStaysRegistered: shortened expiry (2 s), keep-alive timeout 1 s
// (labfe closes flows idle for 2 s), SA refresh before labfe forgets the SA;
// at least 3 re-registrations, then un-REGISTER on cancel.
func TestLabfeStaysRegistered(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := labfetest.Start(t, labfetest.WithConfig(func(c *labfe.Config) {
		c.RegisterExpiry, c.KeepAliveTimeout, c.SALifetime = 2*time.Second, time.Second, 4*time.Second
	}))
	ev := newEvents()
	cfg := aliceConfig()
	cfg.SALifetime, cfg.SAMargin = 3*time.Second, 500*time.Millisecond
	h := newHandset(t, fe, cfg, ev)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	registered, refreshed, keepalives := 0, false, 0
	deadline := time.After(30 * time.Second)
	for registered < 5 || !refreshed || keepalives < 2 {
		select {
		case e := <-ev.ch:
			switch {
			case e.Kind == sipua.EventRegistered:
				registered++
			case e.Kind == sipua.EventKeepAlive:
				keepalives++
			case e.Kind == sipua.EventAuthStep && strings.Contains(e.Step, "security association is"):
				refreshed = true
			case e.Kind == sipua.EventFailure:
				t.Errorf("failure: %v", e.Err)
			}
		case err := <-done:
			t.Fatalf("Run returned early: %v", err)
		case <-deadline:
			t.Fatalf("timeout: registered=%d refreshed=%v keepalives=%d", registered, refreshed, keepalives)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st := fe.Stats().Users["alice@contoso.test"]
	if st.Registrations < 5 || st.Unregistrations != 1 || st.AuthFailures+st.BadSignatures+st.Replays+st.InstanceMismatches+st.Malformed != 0 {
		t.Errorf("labfe stats = %+v", st)
	}
	if h.State() != sipua.StateStopped {
		t.Errorf("state = %v", h.State())
	}
}

// TestLabfeSAExpiry401: labfe forgets the SA first; the signed re-REGISTER
// gets a 401 and the handset re-authenticates from an unsigned REGISTER.
func TestLabfeSAExpiry401(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := labfetest.Start(t, labfetest.WithConfig(func(c *labfe.Config) {
		c.RegisterExpiry, c.SALifetime = 2*time.Second, 1500*time.Millisecond
	}))
	ev := newEvents()
	h := newHandset(t, fe, aliceConfig(), ev)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	reauth := false
	for registered := 0; registered < 3 || !reauth; {
		select {
		case e := <-ev.ch:
			if e.Kind == sipua.EventRegistered {
				registered++
			}
			if e.Kind == sipua.EventAuthStep && strings.Contains(e.Step, "security association expired") {
				reauth = true
			}
		case err := <-done:
			t.Fatalf("Run returned early: %v", err)
		case <-time.After(20 * time.Second):
			t.Fatal("timeout")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestLabfeWrongPassword: exactly one AUTHENTICATE, a final classified error.
func TestLabfeWrongPassword(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := labfetest.Start(t)
	cfg := aliceConfig()
	cfg.Password = "wrong"
	cfg.RetryBase = time.Millisecond
	h := newHandset(t, fe, cfg, nil)
	err := h.Run(context.Background())
	if !sipua.IsFinal(err) {
		t.Fatalf("Run = %v, want a final error", err)
	}
	if o, _ := sipua.Classify(err); o != sipua.OutcomeAuthRejected {
		t.Errorf("outcome = %v (%v)", o, err)
	}
	if st := fe.Stats().Users["alice@contoso.test"]; st.AuthFailures != 1 || st.Registrations != 0 {
		t.Errorf("labfe stats = %+v, want exactly one auth failure", st)
	}
	t.Logf("error: %v", err)
}

// TestLabfeTamperedClientSignature: labfe refuses our corrupted signature.
func TestLabfeTamperedClientSignature(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := labfetest.Start(t)
	h := newHandset(t, fe, aliceConfig(), nil, sipua.WithTamperedSignatures())
	err := h.Register(context.Background())
	if err == nil {
		t.Fatal("registered with a tampered signature")
	}
	if st := fe.Stats().Users["alice@contoso.test"]; st.BadSignatures+st.AuthFailures == 0 || st.Registrations != 0 {
		t.Errorf("labfe stats = %+v", st)
	}
	t.Logf("error: %v", err)
}

// TestLabfeTamperedServerSignature: a TLS man in the middle (trusted by the
// handset for this test) flips the server's rspauth; the handset refuses.
func TestLabfeTamperedServerSignature(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := labfetest.Start(t)
	mitm := startTamperProxy(t, fe)
	h := newHandset(t, fe, aliceConfig(), nil, sipua.WithDialAddr(mitm.addr), sipua.WithTLSConfig(&tls.Config{RootCAs: mitm.pool}))
	err := h.Register(context.Background())
	if o, why := sipua.Classify(err); o != sipua.OutcomeAuthRejected || why != "bad server signature" {
		t.Fatalf("Register = %v (%v/%q)", err, o, why)
	}
}

// TestLabfeCertificateChecks: untrusted CA and wrong host name fail the TLS
// handshake before any REGISTER.
func TestLabfeCertificateChecks(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := labfetest.Start(t)
	other := labfetest.Start(t)
	for name, tc := range map[string]struct {
		server string
		roots  *tls.Config
	}{
		"untrusted CA":    {"pool.contoso.test", &tls.Config{RootCAs: other.CAPool()}},
		"wrong host name": {"evil.contoso.test", &tls.Config{RootCAs: fe.CAPool()}},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := aliceConfig()
			cfg.Server = tc.server
			h := newHandset(t, fe, cfg, nil, sipua.WithTLSConfig(tc.roots))
			err := h.Register(context.Background())
			if o, why := sipua.Classify(err); o != sipua.OutcomeTransport || why != "tls handshake" {
				t.Fatalf("Register = %v (%v/%q)", err, o, why)
			}
		})
	}
	if st := fe.Stats().Total; st.Registrations != 0 {
		t.Errorf("labfe registered someone: %+v", st)
	}
}

// tamperProxy terminates TLS with its own CA (pool.contoso.test) and
// relays to labfe, changing every server rspauth="01… into rspauth="02….
type tamperProxy struct {
	addr string
	pool *x509.CertPool
}

func startTamperProxy(t *testing.T, fe *labfe.Server) *tamperProxy {
	t.Helper()
	srvConf, pool := sipua.ServerTLSForTest(t, "pool.contoso.test")
	ln, err := tls.Listen("tcp", "127.0.0.1:0", srvConf)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	track := func(c net.Conn) {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := tls.Dial("tcp", fe.Addr(), &tls.Config{RootCAs: fe.CAPool(), ServerName: "pool.contoso.test"})
			if err != nil {
				_ = c.Close()
				continue
			}
			track(c)
			track(up)
			wg.Add(2)
			go func() { defer wg.Done(); _, _ = io.Copy(up, c); _ = up.Close() }()
			go func() {
				defer wg.Done()
				defer func() { _ = c.Close() }()
				buf := make([]byte, 64<<10)
				for {
					n, err := up.Read(buf)
					if n > 0 {
						out := bytes.ReplaceAll(buf[:n], []byte(`rspauth="01`), []byte(`rspauth="02`))
						if _, werr := c.Write(out); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return &tamperProxy{addr: ln.Addr().String(), pool: pool}
}

// TestLabfeProxyAuthFamily: an OCS 2007-style front end challenges with
// 407/Proxy-Authenticate and signs with Proxy-Authentication-Info (pitfall 4).
func TestLabfeProxyAuthFamily(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := labfetest.Start(t, labfetest.WithConfig(func(c *labfe.Config) { c.ProxyAuth = true }))
	ev := newEvents()
	h := newHandset(t, fe, aliceConfig(), ev)
	if err := h.Register(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := h.Unregister(context.Background()); err != nil {
		t.Fatal(err)
	}
	tr := transcript(ev)
	for _, want := range []string{"SIP/2.0 407", "Proxy-Authorization: NTLM", "Proxy-Authentication-Info: NTLM"} {
		if !strings.Contains(tr, want) {
			t.Errorf("transcript lacks %q", want)
		}
	}
}

// TestLabfeFaultsAndFailover: two 503s (Retry-After) are retried with
// RFC 5626 backoff; a front-end restart (flows closed) is noticed by the
// keep-alive and the handset signs in again.
func TestLabfeFaultsAndFailover(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := labfetest.Start(t)
	fe.InjectFault(503, 2)
	ev := newEvents()
	cfg := aliceConfig()
	cfg.TimeScale = 1000 // backoff 10 s → 10 ms; keep-alive 300 s → 300 ms
	h := newHandset(t, fe, cfg, ev)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	var failures []sipua.Event
	for registered := 0; registered < 2; {
		select {
		case e := <-ev.ch:
			switch e.Kind {
			case sipua.EventRegistered:
				registered++
				if registered == 1 {
					if n := fe.CloseFlows("alice@contoso.test"); n != 1 {
						t.Errorf("CloseFlows = %d", n)
					}
				}
			case sipua.EventFailure:
				failures = append(failures, e)
			}
		case err := <-done:
			t.Fatalf("Run returned early: %v", err)
		case <-time.After(20 * time.Second):
			t.Fatal("timeout")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(failures) != 3 || failures[0].Status != 503 || failures[0].Outcome != sipua.OutcomeServerError ||
		failures[2].Outcome != sipua.OutcomeTransport {
		for _, f := range failures {
			t.Logf("failure: %v %q %d %v", f.Outcome, f.Reason, f.Status, f.Err)
		}
		t.Errorf("want two 503 server errors then one transport failure")
	}
}
