package sipua_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/labfe"
	"github.com/handset-dev/handset/labfe/labfetest"
	"github.com/handset-dev/handset/sipua"
	"github.com/handset-dev/handset/sipua/retry"
)

// Registration that survives faults (issue #3; RELIABILITY.md F1, F3, F4,
// F9, F10): the handset against one or two labfe instances. Backoff waits
// run on a FakeRecoveryClock (they return at once and are asserted exactly
// from EventBackoff); only keep-alive, refresh and fail-back timers run on
// the wall clock, compressed by TimeScale where a test needs them.

var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// flowEvents keeps the events a failover test looks at (no SIP messages or
// keep-alives, which would crowd the channel).
type flowEvents struct{ ch chan sipua.Event }

func newFlowEvents() *flowEvents { return &flowEvents{ch: make(chan sipua.Event, 1<<14)} }

func (e *flowEvents) Observe(ev sipua.Event) {
	if ev.Kind == sipua.EventMessage || ev.Kind == sipua.EventKeepAlive || ev.Kind == sipua.EventAuthStep {
		return
	}
	select {
	case e.ch <- ev:
	default:
		panic("flowEvents: channel full")
	}
}

// next returns the first event matching ok, failing on timeout or when Run
// returns first.
func (e *flowEvents) next(t *testing.T, done <-chan error, what string, ok func(sipua.Event) bool) sipua.Event {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case ev := <-e.ch:
			if ok(ev) {
				return ev
			}
		case err := <-done:
			t.Fatalf("waiting for %s: Run returned %v", what, err)
		case <-deadline:
			t.Fatalf("timeout waiting for %s", what)
		}
	}
}

func kind(k sipua.EventKind) func(sipua.Event) bool {
	return func(ev sipua.Event) bool { return ev.Kind == k }
}

// stubDNS is the in-process DNS: every *.contoso.test name is loopback;
// SRV answers come from srv.
type stubDNS struct {
	srv map[string][]*net.SRV
}

func (r stubDNS) LookupSRV(_ context.Context, service, proto, name string) (string, []*net.SRV, error) {
	key := "_" + service + "._" + proto + "." + name
	if recs, ok := r.srv[key]; ok {
		return key, recs, nil
	}
	return "", nil, &net.DNSError{Err: "no such host", Name: key, IsNotFound: true}
}

func (r stubDNS) LookupHost(_ context.Context, host string) ([]string, error) {
	if strings.HasSuffix(host, ".contoso.test") {
		return []string{"127.0.0.1"}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

// trustAll is a TLS config trusting the CAs of every given front end.
func trustAll(fes ...*labfe.Server) *tls.Config {
	pool := x509.NewCertPool()
	for _, fe := range fes {
		pool.AppendCertsFromPEM(fe.CACertPEM())
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// startBackup runs a second pool, backup.contoso.test, with the same users.
func startBackup(t *testing.T, opts ...labfetest.Option) *labfe.Server {
	return labfetest.Start(t, append([]labfetest.Option{labfetest.WithConfig(func(c *labfe.Config) { c.FQDN = "backup.contoso.test" })}, opts...)...)
}

// newPoolHandset builds a handset that finds its servers through cfg and
// the stub DNS (no WithDialAddr).
func newPoolHandset(t *testing.T, cfg sipua.Config, tc *tls.Config, dns stubDNS, obs sipua.Observer, opts ...sipua.Option) *sipua.Handset {
	t.Helper()
	base := []sipua.Option{sipua.WithTLSConfig(tc), sipua.WithResolver(dns), sipua.WithRand(testutil.NewReader(1)), sipua.WithObserver(obs)}
	h, err := sipua.New(cfg, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

func run(h *sipua.Handset) (context.CancelFunc, <-chan error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	return cancel, done
}

func stop(t *testing.T, h *sipua.Handset, cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if s := h.State(); s != sipua.StateStopped {
		t.Errorf("state after stop = %v, want stopped", s)
	}
}

// TestLabfe503RetryAfterThenRecovery (F3): a 503 with Retry-After: 30 holds
// the server off for 30 s, longer than the first RFC 5626 delay (10–20 s);
// then the sign-in succeeds.
func TestLabfe503RetryAfterThenRecovery(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := labfetest.Start(t)
	fe.SetFault(labfe.Fault{Status: 503, RetryAfter: 30 * time.Second, Count: 1})
	ev := newFlowEvents()
	h := newHandset(t, fe, aliceConfig(), nil, sipua.WithObserver(ev), sipua.WithRecoveryClock(sipua.NewFakeRecoveryClock(t0)))
	cancel, done := run(h)
	f := ev.next(t, done, "failure", kind(sipua.EventFailure))
	if f.Status != 503 || f.Outcome != sipua.OutcomeServerError || f.Reason != "503 ms-diagnostics 1008" {
		t.Errorf("failure = %d %v %q", f.Status, f.Outcome, f.Reason)
	}
	st := ev.next(t, done, "backoff state", func(e sipua.Event) bool { return e.Kind == sipua.EventState && e.State == sipua.StateBackoff })
	if !strings.Contains(st.Reason, "Retry-After") {
		t.Errorf("backoff state reason %q does not name Retry-After", st.Reason)
	}
	bo := ev.next(t, done, "backoff", kind(sipua.EventBackoff))
	if bo.Delay != 30*time.Second {
		t.Errorf("waited %v after 503 Retry-After: 30, want exactly 30s", bo.Delay)
	}
	ev.next(t, done, "registered", kind(sipua.EventRegistered))
	stop(t, h, cancel, done)
}

// TestLabfe503WithoutRetryAfter (F3): each 503 without Retry-After waits
// the RFC 5626 delay for the number of consecutive failures, counted from 1.
func TestLabfe503WithoutRetryAfter(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := labfetest.Start(t)
	fe.SetFault(labfe.Fault{Status: 503, Count: 4})
	ev := newFlowEvents()
	h := newHandset(t, fe, aliceConfig(), nil, sipua.WithObserver(ev), sipua.WithRecoveryClock(sipua.NewFakeRecoveryClock(t0)))
	cancel, done := run(h)
	for n := 1; n <= 4; n++ {
		bo := ev.next(t, done, "backoff", kind(sipua.EventBackoff))
		lo, hi := retry.Bounds(retry.DefaultBase, retry.DefaultMax, n)
		if bo.Delay < lo || bo.Delay > hi {
			t.Errorf("failure %d: waited %v, want within [%v, %v]", n, bo.Delay, lo, hi)
		}
	}
	ev.next(t, done, "registered", kind(sipua.EventRegistered))
	stop(t, h, cancel, done)
}

// TestLabfeSilentServer (F4): a black-holed front end: each REGISTER times
// out after the server's retryTimeOut and is counted as a timeout.
func TestLabfeSilentServer(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := labfetest.Start(t)
	fe.BlackHole(0)
	cfg := aliceConfig()
	cfg.Server = ""
	cfg.Servers = []sipua.ServerConfig{{Address: "pool.contoso.test", Port: portOf(t, fe.Addr()), RetryTimeOut: 300 * time.Millisecond}}
	cfg.MaxFailures = 2
	ev := newFlowEvents()
	h := newPoolHandset(t, cfg, trustAll(fe), stubDNS{}, ev, sipua.WithRecoveryClock(sipua.NewFakeRecoveryClock(t0)))
	err := h.Run(context.Background())
	if o, why := sipua.Classify(err); o != sipua.OutcomeTimeout || why != "timeout" {
		t.Fatalf("Run = %v (%v/%q), want a timeout", err, o, why)
	}
	for range 2 {
		f := ev.next(t, nil, "failure", kind(sipua.EventFailure))
		if f.Outcome != sipua.OutcomeTimeout || f.Reason != "timeout" || !strings.Contains(f.Server, "pool.contoso.test") {
			t.Errorf("failure = %v %q on %q, want timeout on pool.contoso.test", f.Outcome, f.Reason, f.Server)
		}
	}
}

// TestLabfeDeadFlow (F1): the front end closes the flow with FIN or RST;
// the handset notices at once (not at the next keep-alive, 300 s away),
// waits the first RFC 5626 delay and signs in again with the same
// +sip.instance, so labfe holds exactly one binding.
func TestLabfeDeadFlow(t *testing.T) {
	for _, mode := range []labfe.CloseMode{labfe.CloseFIN, labfe.CloseRST} {
		t.Run(mode.String(), func(t *testing.T) {
			testutil.VerifyNoLeaks(t)
			fe := labfetest.Start(t)
			ev := newFlowEvents()
			h := newHandset(t, fe, aliceConfig(), nil, sipua.WithObserver(ev), sipua.WithRecoveryClock(sipua.NewFakeRecoveryClock(t0)))
			cancel, done := run(h)
			ev.next(t, done, "registered", kind(sipua.EventRegistered))
			killed := time.Now()
			if n := fe.CloseFlowsMode("alice@contoso.test", mode); n != 1 {
				t.Fatalf("closed %d flows", n)
			}
			f := ev.next(t, done, "failure", kind(sipua.EventFailure))
			if f.Outcome != sipua.OutcomeTransport || f.Reason != "connection lost" {
				t.Errorf("failure = %v %q", f.Outcome, f.Reason)
			}
			if el := time.Since(killed); el > 5*time.Second {
				t.Errorf("dead flow noticed after %v", el)
			}
			bo := ev.next(t, done, "backoff", kind(sipua.EventBackoff))
			if bo.Delay < 10*time.Second || bo.Delay > 20*time.Second {
				t.Errorf("waited %v after a dead flow, want within [10s, 20s]", bo.Delay)
			}
			ev.next(t, done, "registered again", kind(sipua.EventRegistered))
			st := fe.Stats().Users["alice@contoso.test"]
			if st.ActiveBindings != 1 || st.InstanceMismatches != 0 || st.Registrations != 2 {
				t.Errorf("labfe stats = %+v, want one binding after two registrations", st)
			}
			stop(t, h, cancel, done)
		})
	}
}

// TestLabfeSAExpiryReauthenticatesWithoutBackoff: a 401 to the refresh
// (the server forgot the SA) is answered by a full re-authentication on the
// same flow, not by a failure and a backoff.
func TestLabfeSAExpiryReauthenticatesWithoutBackoff(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := labfetest.Start(t, labfetest.WithConfig(func(c *labfe.Config) {
		c.RegisterExpiry, c.SALifetime = 2*time.Second, 1500*time.Millisecond
	}))
	ev := newFlowEvents()
	h := newHandset(t, fe, aliceConfig(), nil, sipua.WithObserver(ev))
	cancel, done := run(h)
	for range 3 {
		e := ev.next(t, done, "registered", func(e sipua.Event) bool {
			return e.Kind == sipua.EventRegistered || e.Kind == sipua.EventFailure || e.Kind == sipua.EventBackoff
		})
		if e.Kind != sipua.EventRegistered {
			t.Fatalf("got %v (%q), want re-authentication without failure", e.Kind, e.Reason)
		}
	}
	stop(t, h, cancel, done)
	if st := fe.Stats().Users["alice@contoso.test"]; st.Registrations < 3 || st.AuthFailures != 0 {
		t.Errorf("labfe stats = %+v", st)
	}
}

// TestLabfeSRVFirstTargetRefuses (F9): DNS SRV gives two targets; the first
// (priority 0) refuses connections, the handset moves to the second.
func TestLabfeSRVFirstTargetRefuses(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := labfetest.Start(t)
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadPort := portOf(t, dead.Addr().String())
	_ = dead.Close() // nothing listens there any more: connection refused
	dns := stubDNS{srv: map[string][]*net.SRV{"_sipinternaltls._tcp.contoso.test": {
		{Target: "pool.contoso.test.", Port: uint16(portOf(t, fe.Addr())), Priority: 10, Weight: 0},
		{Target: "dead.contoso.test.", Port: uint16(deadPort), Priority: 0, Weight: 100},
	}}}
	cfg := aliceConfig()
	cfg.Server = ""
	ev := newFlowEvents()
	h := newPoolHandset(t, cfg, trustAll(fe), dns, ev)
	if err := h.Register(context.Background()); err != nil {
		t.Fatal(err)
	}
	f := ev.next(t, nil, "failure", kind(sipua.EventFailure))
	if f.Outcome != sipua.OutcomeTransport || f.Reason != "connect" || !strings.HasPrefix(f.Server, "dead.contoso.test") {
		t.Errorf("first failure = %v %q on %q, want connect on dead.contoso.test", f.Outcome, f.Reason, f.Server)
	}
	mv := ev.next(t, nil, "server change", kind(sipua.EventServer))
	if !strings.HasPrefix(mv.Server, "pool.contoso.test") {
		t.Errorf("moved to %q", mv.Server)
	}
	if fe.Bindings("alice@contoso.test") != 1 {
		t.Error("not registered on the second SRV target")
	}
	_ = h.Unregister(context.Background())
}

// TestLabfeFailoverAndFailBack (F10): primary and backup pools. The primary
// restarts and stays down: after retryMaxCount (3) failed attempts the
// handset registers on the backup; when the primary is back it fails back
// per failOver.failBack.mode, un-REGISTERing on the backup, so neither pool
// keeps a stale binding; the +sip.instance is the same on both.
func TestLabfeFailoverAndFailBack(t *testing.T) {
	for _, mode := range []sipua.FailBackMode{sipua.FailBackDuration, sipua.FailBackNewRequests, sipua.FailBackRegistration} {
		t.Run(mode.String(), func(t *testing.T) {
			testutil.VerifyNoLeaks(t)
			primary := labfetest.Start(t)
			backup := startBackup(t)
			cfg := aliceConfig()
			cfg.Server = ""
			cfg.Servers = []sipua.ServerConfig{
				{Address: "pool.contoso.test", Port: portOf(t, primary.Addr())},
				{Address: "backup.contoso.test", Port: portOf(t, backup.Addr())},
			}
			cfg.TimeScale = 1000 // refresh every ~2.7 s, fail-back timeout 60 s → 60 ms
			cfg.FailBack, cfg.FailBackTimeout = mode, 60*time.Second
			ev := newFlowEvents()
			h := newPoolHandset(t, cfg, trustAll(primary, backup), stubDNS{}, ev, sipua.WithRecoveryClock(sipua.NewFakeRecoveryClock(t0)))
			cancel, done := run(h)
			ev.next(t, done, "registered on the primary", kind(sipua.EventRegistered))
			if primary.Bindings("alice@contoso.test") != 1 {
				t.Fatal("not registered on the primary")
			}

			primary.Restart(time.Hour)
			failed := 0
			mv := ev.next(t, done, "failover", func(e sipua.Event) bool {
				if e.Kind == sipua.EventFailure {
					failed++
				}
				return e.Kind == sipua.EventServer
			})
			if !strings.HasPrefix(mv.Server, "backup.contoso.test") || failed != sipua.DefaultRetryMaxCount {
				t.Errorf("moved to %q after %d failures (%q), want backup after %d", mv.Server, failed, mv.Reason, sipua.DefaultRetryMaxCount)
			}
			ev.next(t, done, "registered on the backup", kind(sipua.EventRegistered))
			if backup.Bindings("alice@contoso.test") != 1 || primary.Bindings("alice@contoso.test") != 0 {
				t.Fatalf("bindings primary %d backup %d", primary.Bindings("alice@contoso.test"), backup.Bindings("alice@contoso.test"))
			}

			primary.Resume()
			fb := ev.next(t, done, "fail-back", kind(sipua.EventServer))
			if !strings.HasPrefix(fb.Server, "pool.contoso.test") || !strings.Contains(fb.Reason, "fail-back ("+mode.String()+")") {
				t.Errorf("fail-back event: %q %q", fb.Server, fb.Reason)
			}
			ev.next(t, done, "registered on the primary again", kind(sipua.EventRegistered))
			if primary.Bindings("alice@contoso.test") != 1 || backup.Bindings("alice@contoso.test") != 0 {
				t.Errorf("after fail-back: bindings primary %d backup %d", primary.Bindings("alice@contoso.test"), backup.Bindings("alice@contoso.test"))
			}
			bs, ps := backup.Stats().Users["alice@contoso.test"], primary.Stats().Users["alice@contoso.test"]
			if bs.Unregistrations != 1 || bs.InstanceMismatches+ps.InstanceMismatches != 0 {
				t.Errorf("backup stats %+v, primary stats %+v", bs, ps)
			}
			stop(t, h, cancel, done)
		})
	}
}

// ttlDNS is stubDNS that also reports a TTL for its SRV answers.
type ttlDNS struct {
	stubDNS
	ttl time.Duration
}

func (r ttlDNS) LookupSRVTTL(ctx context.Context, service, proto, name string) ([]*net.SRV, time.Duration, error) {
	_, recs, err := r.LookupSRV(ctx, service, proto, name)
	return recs, r.ttl, err
}

// TestLabfeSRVFailoverDNSTTL (F9, F10): the pools come from DNS SRV
// (priority 0 primary, 10 backup). The primary is down at start: after
// three refused attempts the handset registers on the backup; fail-back
// mode DNSTTL goes back when the SRV answer's TTL (60 s, 60 ms at
// TimeScale 1000) has run out and the primary answers again.
func TestLabfeSRVFailoverDNSTTL(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	primary := labfetest.Start(t)
	backup := startBackup(t)
	primary.Restart(time.Hour)
	dns := ttlDNS{ttl: time.Minute, stubDNS: stubDNS{srv: map[string][]*net.SRV{"_sipinternaltls._tcp.contoso.test": {
		{Target: "backup.contoso.test.", Port: uint16(portOf(t, backup.Addr())), Priority: 10},
		{Target: "pool.contoso.test.", Port: uint16(portOf(t, primary.Addr())), Priority: 0},
	}}}}
	cfg := aliceConfig()
	cfg.Server = ""
	cfg.TimeScale = 1000
	cfg.FailBack = sipua.FailBackDNSTTL
	ev := newFlowEvents()
	h := newPoolHandset(t, cfg, trustAll(primary, backup), stubDNS{}, ev,
		sipua.WithResolver(dns), sipua.WithRecoveryClock(sipua.NewFakeRecoveryClock(t0)))
	cancel, done := run(h)
	mv := ev.next(t, done, "failover", kind(sipua.EventServer))
	if !strings.HasPrefix(mv.Server, "backup.contoso.test") {
		t.Fatalf("moved to %q (%s)", mv.Server, mv.Reason)
	}
	ev.next(t, done, "registered on the backup", kind(sipua.EventRegistered))
	primary.Resume()
	fb := ev.next(t, done, "fail-back", kind(sipua.EventServer))
	if !strings.HasPrefix(fb.Server, "pool.contoso.test") || !strings.Contains(fb.Reason, "fail-back (DNSTTL)") {
		t.Errorf("fail-back event: %q %q", fb.Server, fb.Reason)
	}
	ev.next(t, done, "registered on the primary", kind(sipua.EventRegistered))
	if primary.Bindings("alice@contoso.test") != 1 || backup.Bindings("alice@contoso.test") != 0 {
		t.Errorf("bindings primary %d backup %d", primary.Bindings("alice@contoso.test"), backup.Bindings("alice@contoso.test"))
	}
	stop(t, h, cancel, done)
}

// TestLabfeFailBackFailsReturnsAtOnce: the first server accepts TLS again
// (the fail-back probe passes) but does not answer REGISTER; after one
// timed-out attempt the handset goes back to the backup at once instead of
// spending retryMaxCount attempts unregistered.
func TestLabfeFailBackFailsReturnsAtOnce(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	primary := labfetest.Start(t)
	backup := startBackup(t)
	cfg := aliceConfig()
	cfg.Server = ""
	cfg.Servers = []sipua.ServerConfig{
		{Address: "pool.contoso.test", Port: portOf(t, primary.Addr()), RetryTimeOut: 300 * time.Millisecond},
		{Address: "backup.contoso.test", Port: portOf(t, backup.Addr())},
	}
	cfg.TimeScale = 1000
	cfg.FailBack, cfg.FailBackTimeout = sipua.FailBackDuration, 60*time.Second
	ev := newFlowEvents()
	primary.Restart(time.Hour)
	h := newPoolHandset(t, cfg, trustAll(primary, backup), stubDNS{}, ev, sipua.WithRecoveryClock(sipua.NewFakeRecoveryClock(t0)))
	cancel, done := run(h)
	ev.next(t, done, "failover", kind(sipua.EventServer))
	ev.next(t, done, "registered on the backup", kind(sipua.EventRegistered))
	primary.BlackHole(0)
	primary.Resume()
	ev.next(t, done, "fail-back", kind(sipua.EventServer))
	failed := 0
	back := ev.next(t, done, "return to the backup", func(e sipua.Event) bool {
		if e.Kind == sipua.EventFailure {
			failed++
		}
		return e.Kind == sipua.EventServer
	})
	if failed != 1 || !strings.HasPrefix(back.Server, "backup.contoso.test") {
		t.Errorf("after %d failures moved to %q, want the backup after 1", failed, back.Server)
	}
	ev.next(t, done, "registered on the backup again", kind(sipua.EventRegistered))
	primary.ClearFault()
	stop(t, h, cancel, done)
}
