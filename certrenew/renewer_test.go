package certrenew

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/handset-dev/handset/internal/testutil"
)

var errDown = errors.New("certificate service unavailable")

// stubIssuer stands in for the certificate-provisioning service (labfe's
// comes with a later issue). respond decides each call's outcome: a
// lifetime for the new certificate, or an error.
type stubIssuer struct {
	t       testing.TB
	clock   Clock
	respond func(call int) (time.Duration, error)

	mu    sync.Mutex
	calls []time.Time
}

func (s *stubIssuer) Issue(ctx context.Context) (*tls.Certificate, error) {
	s.mu.Lock()
	now := s.now()
	s.calls = append(s.calls, now)
	n := len(s.calls)
	s.mu.Unlock()
	life, err := s.respond(n)
	if err != nil {
		return nil, err
	}
	return newCert(s.t, now, now.Add(life)), nil
}

func (s *stubIssuer) now() time.Time {
	if s.clock != nil {
		return s.clock.Now()
	}
	return time.Now()
}

func (s *stubIssuer) offsets(from time.Time) []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []time.Duration
	for _, c := range s.calls {
		out = append(out, c.Sub(from))
	}
	return out
}

func always(life time.Duration) func(int) (time.Duration, error) {
	return func(int) (time.Duration, error) { return life, nil }
}

func down(int) (time.Duration, error) { return 0, errDown }

// recorder is an observer that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) observe(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
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

func startStore(t testing.TB, nb, na time.Time) *Store {
	s := &Store{}
	if _, err := s.Swap(newCert(t, nb, na)); err != nil {
		t.Fatal(err)
	}
	return s
}

func durations(ds ...time.Duration) []time.Duration { return ds }

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestRunRenewsAtPlannedInstant: a 10-minute certificate in a time-scaled
// run (factor 6, so the 1-hour minimum becomes 10 minutes) renews at the
// planned instant, ¼ of its lifetime before expiry, again and again; each
// renewal starts a new SA and reports the gap.
func TestRunRenewsAtPlannedInstant(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		store := startStore(t, start, start.Add(10*min_))
		iss := &stubIssuer{t: t, respond: always(10 * min_)}
		rec := &recorder{}
		var rekeys atomic.Int32
		rekey := func(ctx context.Context) error {
			rekeys.Add(1)
			time.Sleep(300 * time.Millisecond) // the new SA's REGISTER round trip
			return nil
		}
		r, err := New(Config{}.Scaled(6), store, iss, WithObserver(rec.observe), WithRekey(rekey))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		time.Sleep(31 * min_)
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v, want context.Canceled", err)
		}

		// Each certificate lives 10 minutes from its issue; renewal is due
		// 2m30s before expiry: 7m30s, 15m, 22m30s, 30m.
		want := durations(450*time.Second, 15*min_, 1350*time.Second, 30*min_)
		if got := iss.offsets(start); !equalDurations(got, want) {
			t.Errorf("issuer called at %v, want %v", got, want)
		}
		renewed := rec.kinds(EventRenewed)
		if len(renewed) != 4 || int(rekeys.Load()) != 4 {
			t.Fatalf("%d renewals, %d rekeys; want 4", len(renewed), rekeys.Load())
		}
		for _, e := range rec.kinds(EventRekeyed) {
			if e.Gap != 300*time.Millisecond || e.Err != nil {
				t.Errorf("rekey event gap %v err %v, want 300ms <nil>", e.Gap, e.Err)
			}
		}
		if got := store.Leaf().NotAfter.Sub(start); got != 40*min_ {
			t.Errorf("store holds a certificate expiring at +%v, want +40m", got)
		}
		if r.State() != StateStopped {
			t.Errorf("state %v after cancel, want Stopped", r.State())
		}
		if ev := rec.kinds(EventScheduled); len(ev) != 0 {
			t.Errorf("schedule moved without a clock jump: %+v", ev)
		}
	})
}

// TestRunServiceDownUntilExpiry: with the certificate service down, an
// 8-hour certificate sees attempts at 6h, +10m, +20m, +30m, +40m; the old
// certificate stays in use (registration continues) until expiry, when Run
// fails with a reason that says since when renewal has been failing.
func TestRunServiceDownUntilExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		store := startStore(t, start, start.Add(8*hour))
		orig := store.Current()
		iss := &stubIssuer{t: t, respond: down}
		rec := &recorder{}
		stillRegistered := true
		r, err := New(Config{}, store, iss, WithObserver(func(e Event) {
			rec.observe(e)
			if e.Kind == EventFailed {
				// What TLS-DSK would offer on a re-REGISTER now.
				c, err := store.GetClientCertificate(nil)
				stillRegistered = stillRegistered && err == nil && c == orig && time.Now().Before(c.Leaf.NotAfter)
			}
		}))
		if err != nil {
			t.Fatal(err)
		}
		err = r.Run(t.Context())
		if got := time.Since(start); got != 8*hour {
			t.Errorf("Run returned after %v, want at expiry (8h)", got)
		}
		var rf *RenewalFailedError
		if !errors.As(err, &rf) || !errors.Is(err, ErrExpired) || !errors.Is(err, errDown) {
			t.Fatalf("Run = %v, want RenewalFailedError wrapping ErrExpired and the service error", err)
		}
		if !rf.FailingSince.Equal(start.Add(6*hour)) || rf.Attempts != 5 {
			t.Errorf("failing since %v (%d attempts), want %v (5)", rf.FailingSince, rf.Attempts, start.Add(6*hour))
		}
		if !strings.Contains(err.Error(), "renewal failing since 2000-01-01T06:00:00Z") || rf.Reason() != ReasonRenewalFailed {
			t.Errorf("error %q (reason %q) does not say since when renewal fails", err, rf.Reason())
		}
		want := durations(6*hour, 6*hour+10*min_, 6*hour+30*min_, 7*hour, 7*hour+40*min_)
		if got := iss.offsets(start); !equalDurations(got, want) {
			t.Errorf("attempts at %v, want %v", got, want)
		}
		if !stillRegistered {
			t.Error("the old certificate was not offered while renewal failed")
		}
		if r.State() != StateExpired || len(rec.kinds(EventExpired)) != 1 {
			t.Errorf("state %v, %d expired events", r.State(), len(rec.kinds(EventExpired)))
		}
		fails := rec.kinds(EventFailed)
		if n := len(fails); n != 5 || !fails[n-1].Next.IsZero() || !fails[0].Next.Equal(start.Add(6*hour+10*min_)) {
			t.Errorf("failed events: %+v", fails)
		}
	})
}

// TestRunYearServiceDown runs a year-long certificate's whole schedule with
// the service down: 10/20/30/40/50 minutes, then hourly until expiry.
func TestRunYearServiceDown(t *testing.T) {
	wall := time.Now()
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		store := startStore(t, start, start.Add(365*day))
		iss := &stubIssuer{t: t, respond: down}
		r, err := New(Config{}, store, iss)
		if err != nil {
			t.Fatal(err)
		}
		err = r.Run(t.Context())
		var rf *RenewalFailedError
		if !errors.As(err, &rf) || rf.Attempts != 723 {
			t.Fatalf("Run = %v, want RenewalFailedError after 723 attempts", err)
		}
		calls := iss.offsets(start)
		if calls[0] != 335*day {
			t.Errorf("first attempt at +%v, want +335 days", calls[0])
		}
		for i := 1; i < len(calls); i++ {
			if gap, want := calls[i]-calls[i-1], min(time.Duration(i)*10*min_, 60*min_); gap != want {
				t.Fatalf("gap before attempt %d = %v, want %v", i+1, gap, want)
			}
		}
	})
	t.Logf("a year of schedule took %v", time.Since(wall))
}

func TestRunExpiredAtStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now()
		store := startStore(t, now.Add(-2*hour), now.Add(-time.Minute))
		iss := &stubIssuer{t: t, respond: always(hour)}
		rec := &recorder{}
		r, _ := New(Config{}, store, iss, WithObserver(rec.observe))
		err := r.Run(t.Context())
		var ee *ExpiredError
		if !errors.As(err, &ee) || !errors.Is(err, ErrExpired) || ee.Reason() != ReasonExpiredAtStart {
			t.Fatalf("Run = %v, want ExpiredError", err)
		}
		if len(iss.offsets(now)) != 0 {
			t.Error("issuer called for an expired certificate; the caller decides (NTLM or PIN)")
		}
		if ev := rec.kinds(EventExpired); len(ev) != 1 || ev[0].From != StateIdle || ev[0].To != StateExpired {
			t.Errorf("events %+v", rec.events)
		}
	})
}

// TestRunRefusesShortCertificate: a renewed certificate valid for under an
// hour is refused (issue #5): the old one stays, the attempt counts as
// failed and the back-off continues.
func TestRunRefusesShortCertificate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		store := startStore(t, start, start.Add(8*hour))
		orig := store.Current()
		iss := &stubIssuer{t: t, respond: func(n int) (time.Duration, error) {
			if n == 1 {
				return 30 * min_, nil
			}
			return 8 * hour, nil
		}}
		rec := &recorder{}
		r, _ := New(Config{}, store, iss, WithObserver(rec.observe))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		time.Sleep(6*hour + 5*min_)
		if store.Current() != orig {
			t.Error("short certificate was swapped in")
		}
		fails := rec.kinds(EventFailed)
		var short *ShortCertificateError
		if len(fails) != 1 || !errors.As(fails[0].Err, &short) || short.Min != hour || short.Reason() != ReasonCertTooShort {
			t.Fatalf("failed events %+v, want one ShortCertificateError", fails)
		}
		time.Sleep(10 * min_)
		cancel()
		<-done
		if got := store.Leaf().NotAfter.Sub(start); got != 6*hour+10*min_+8*hour {
			t.Errorf("store certificate expires at +%v, want the one issued at 6h10m", got)
		}
	})
}

// jumpClock is the system (synctest) clock with a wall-clock offset that a
// test can move, as NTP or a user would.
type jumpClock struct{ off atomic.Int64 }

func (c *jumpClock) Now() time.Time       { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *jumpClock) jump(d time.Duration) { c.off.Add(int64(d)) }
func (c *jumpClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	return SystemClock().NewTimer(d)
}

// TestRunClockJumpForward: a one-year certificate's renewal is 335 days
// away; the wall clock jumps 330 days forward after 10 days. The renewer
// notices within its hourly re-check and attempts at once.
func TestRunClockJumpForward(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		clk := &jumpClock{}
		store := startStore(t, start, start.Add(365*day))
		iss := &stubIssuer{t: t, clock: clk, respond: always(365 * day)}
		r, _ := New(Config{}, store, iss, WithClock(clk))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		time.Sleep(10 * day)
		clk.jump(330 * day)
		time.Sleep(hour)
		cancel()
		<-done
		calls := iss.offsets(start.Add(330 * day)) // in the jumped clock
		if len(calls) != 1 || calls[0] < 10*day || calls[0] > 10*day+hour {
			t.Errorf("attempts at %v (clock time after jump), want one within an hour of 10 days", calls)
		}
	})
}

// TestRunClockJumpBackward: after a failure the clock jumps two hours back;
// the retry still comes one back-off (10 minutes) later, not two hours and
// ten minutes later.
func TestRunClockJumpBackward(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		clk := &jumpClock{}
		store := startStore(t, start, start.Add(8*hour))
		iss := &stubIssuer{t: t, clock: clk, respond: func(n int) (time.Duration, error) {
			if n == 1 {
				return 0, errDown
			}
			return 8 * hour, nil
		}}
		r, _ := New(Config{}, store, iss, WithClock(clk), WithObserver(func(e Event) {
			if e.Kind == EventFailed {
				clk.jump(-2 * hour)
			}
		}))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		time.Sleep(6*hour + 11*min_)
		cancel()
		<-done
		// The issuer saw the first call at clock 6h and, after the jump, the
		// retry at clock 4h10m (real time 6h10m).
		got := iss.offsets(start)
		if want := durations(6*hour, 4*hour+10*min_); !equalDurations(got, want) {
			t.Errorf("calls at clock %v, want %v", got, want)
		}
		if store.Leaf().NotBefore.Sub(start) != 4*hour+10*min_ {
			t.Errorf("renewed certificate not from the retry: %v", store.Leaf().NotBefore)
		}
	})
}

func TestRunRekeyFailureKeepsSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		store := startStore(t, start, start.Add(8*hour))
		iss := &stubIssuer{t: t, respond: always(8 * hour)}
		rec := &recorder{}
		errSA := errors.New("register 500")
		r, _ := New(Config{}, store, iss, WithObserver(rec.observe), WithRekey(func(context.Context) error { return errSA }))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		time.Sleep(6*hour + time.Minute)
		if r.State() != StateWaiting {
			t.Errorf("state %v after a failed rekey, want Waiting", r.State())
		}
		cancel()
		<-done
		ev := rec.kinds(EventRekeyed)
		if len(ev) != 1 || !errors.Is(ev[0].Err, errSA) || !ev[0].Next.Equal(start.Add(12*hour)) {
			t.Errorf("rekeyed events %+v, want the SA error and the next renewal at +12h", ev)
		}
	})
}

func TestRunCancelDuringAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		store := startStore(t, start, start.Add(8*hour))
		started := make(chan struct{})
		iss := issuerFunc(func(ctx context.Context) (*tls.Certificate, error) {
			close(started)
			<-ctx.Done()
			return nil, ctx.Err()
		})
		rec := &recorder{}
		r, _ := New(Config{}, store, iss, WithObserver(rec.observe))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		<-started
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v", err)
		}
		if ev := rec.kinds(EventStopped); len(ev) != 1 || ev[0].From != StateAttempting {
			t.Errorf("stopped events %+v", ev)
		}
	})
}

// TestRunAttemptTimeout: an Issuer that hangs fails the attempt after
// AttemptTimeout and the back-off continues.
func TestRunAttemptTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		store := startStore(t, start, start.Add(8*hour))
		iss := issuerFunc(func(ctx context.Context) (*tls.Certificate, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		})
		rec := &recorder{}
		r, _ := New(Config{}, store, iss, WithObserver(rec.observe))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		time.Sleep(6*hour + 3*min_)
		cancel()
		<-done
		f := rec.kinds(EventFailed)
		if len(f) != 1 || !errors.Is(f[0].Err, context.DeadlineExceeded) || !f[0].At.Equal(start.Add(6*hour+2*min_)) {
			t.Errorf("failed events %+v, want a timeout at 6h02m", f)
		}
	})
}

// TestScaledClock: a load run at 3600× sees an 8-hour certificate renewed
// 6 seconds (6 scaled hours) after it was issued, with the seed's schedule.
func TestScaledClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		real0 := time.Now()
		clk := NewScaledClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 3600)
		now := clk.Now()
		store := startStore(t, now, now.Add(8*hour))
		iss := &stubIssuer{t: t, clock: clk, respond: always(8 * hour)}
		r, _ := New(Config{}, store, iss, WithClock(clk))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		time.Sleep(13 * time.Second)
		cancel()
		<-done
		got := iss.offsets(now)
		if len(got) != 2 || got[0] != 6*hour || got[1] != 12*hour {
			t.Errorf("renewals at %v scaled time, want [6h 12h]", got)
		}
		if el := time.Since(real0); el != 13*time.Second {
			t.Errorf("elapsed %v", el)
		}
	})
}

type issuerFunc func(ctx context.Context) (*tls.Certificate, error)

func (f issuerFunc) Issue(ctx context.Context) (*tls.Certificate, error) { return f(ctx) }

func TestNewAndRunErrors(t *testing.T) {
	iss := issuerFunc(func(context.Context) (*tls.Certificate, error) { return nil, errDown })
	if _, err := New(Config{}, nil, iss); !errors.Is(err, errNoStore) {
		t.Errorf("nil store: %v", err)
	}
	if _, err := New(Config{}, &Store{}, nil); !errors.Is(err, errNoIssuer) {
		t.Errorf("nil issuer: %v", err)
	}
	if _, err := New(Config{MinValidity: -1}, &Store{}, iss); !errors.Is(err, errConfig) {
		t.Errorf("negative config: %v", err)
	}
	r, err := New(Config{}, &Store{}, iss)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(t.Context()); !errors.Is(err, ErrNoCertificate) {
		t.Errorf("empty store: %v", err)
	}
	if err := r.Run(t.Context()); !errors.Is(err, errRunning) {
		t.Errorf("second Run: %v", err)
	}
	c := Config{}.Scaled(6)
	if c.MinValidity != 10*min_ || c.Policy.Step != 100*time.Second || c.AttemptTimeout != DefaultAttemptTimeout {
		t.Errorf("Config.Scaled(6) = %+v", c)
	}
}

func TestRecoveryFor(t *testing.T) {
	if RecoveryFor(false) != RecoverWithCredentials || RecoveryFor(true) != RecoverAskForPIN {
		t.Error("seed step 3: credentials → NTLM, PIN → ask")
	}
	if RecoverAskForPIN.String() == "unknown" || Recovery(0).String() != "unknown" {
		t.Error("Recovery strings")
	}
}

// TestRunSystemClock runs on the real clock and checks that Run's timer
// goroutines are gone after cancellation.
func TestRunSystemClock(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	now := time.Now()
	store := startStore(t, now.Add(-time.Hour), now.Add(365*day))
	r, err := New(Config{}, store, issuerFunc(func(context.Context) (*tls.Certificate, error) { return nil, errDown }))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
}
