package fleet

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/handset-dev/handset/cmd/handset/internal/metrics"
	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/media"
	"github.com/handset-dev/handset/media/rtp"
	"github.com/handset-dev/handset/sipua"
)

// classified is a test error that buckets itself like sipua's errors.
type classified struct {
	o      sipua.Outcome
	reason string
}

func (e *classified) Error() string          { return "fake: " + e.reason }
func (e *classified) Outcome() sipua.Outcome { return e.o }
func (e *classified) Reason() string         { return e.reason }

// fake is a handset that signs in after a delay, optionally fails, loses
// its registration once, and places calls; it reports through the observer
// exactly as sipua does.
type fake struct {
	obs       sipua.Observer
	id        string
	signIn    time.Duration
	reject    bool // sign-in rejected (401), Run returns the error
	dropAt    time.Duration
	closeOnce sync.Once
	closed    chan struct{}
	started   chan time.Time
}

func (f *fake) emit(ev sipua.Event) {
	ev.Handset = f.id
	ev.Time = time.Now()
	f.obs.Observe(ev)
}

func (f *fake) state(prev, next sipua.State) {
	f.emit(sipua.Event{Kind: sipua.EventState, Prev: prev, State: next})
}

func (f *fake) Run(ctx context.Context) error {
	if f.started != nil {
		f.started <- time.Now()
	}
	f.state(sipua.StateIdle, sipua.StateConnecting)
	f.state(sipua.StateConnecting, sipua.StateAuthenticating)
	if !sleep(ctx, f.signIn) {
		return ctx.Err()
	}
	if f.reject {
		err := &classified{sipua.OutcomeAuthRejected, "401 after AUTHENTICATE"}
		f.emit(sipua.Event{Kind: sipua.EventFailure, Outcome: err.o, Reason: err.reason, Status: 401, Err: err})
		f.state(sipua.StateAuthenticating, sipua.StateFailed)
		return err
	}
	f.state(sipua.StateAuthenticating, sipua.StateRegistered)
	f.emit(sipua.Event{Kind: sipua.EventRegistered, Latency: f.signIn})
	if f.dropAt > 0 {
		if !sleep(ctx, f.dropAt) {
			return f.unregister()
		}
		err := &classified{sipua.OutcomeTransport, "connection reset"}
		f.emit(sipua.Event{Kind: sipua.EventFailure, Outcome: err.o, Reason: err.reason, Err: err})
		f.state(sipua.StateRegistered, sipua.StateBackoff)
		if !sleep(ctx, time.Second) {
			return ctx.Err()
		}
		f.state(sipua.StateBackoff, sipua.StateConnecting)
		f.state(sipua.StateConnecting, sipua.StateAuthenticating)
		f.state(sipua.StateAuthenticating, sipua.StateRegistered)
		f.emit(sipua.Event{Kind: sipua.EventRegistered, Latency: f.signIn})
	}
	for {
		select {
		case <-ctx.Done():
			return f.unregister()
		case <-time.After(30 * time.Second):
			f.emit(sipua.Event{Kind: sipua.EventKeepAlive})
			f.emit(sipua.Event{Kind: sipua.EventRegistered, Latency: f.signIn}) // refresh
		}
	}
}

func (f *fake) unregister() error {
	f.state(sipua.StateRegistered, sipua.StateUnregistering)
	f.emit(sipua.Event{Kind: sipua.EventUnregistered})
	f.state(sipua.StateUnregistering, sipua.StateStopped)
	return nil
}

func (f *fake) Close() error {
	f.closeOnce.Do(func() { close(f.closed) })
	return nil
}

type callingFake struct{ *fake }

func (f callingFake) PlaceCall(ctx context.Context, callee string, hold time.Duration) (CallResult, error) {
	if !sleep(ctx, 50*time.Millisecond) {
		return CallResult{}, ctx.Err()
	}
	if strings.HasSuffix(callee, "7") { // every tenth callee is busy
		return CallResult{Status: 486, Outcome: sipua.OutcomeServerError, Reason: "486 Busy Here"}, nil
	}
	start := time.Now()
	sleep(ctx, hold)
	held := time.Since(start)
	pkts := uint64(held / (20 * time.Millisecond)) // G.711, 20 ms, both ways
	return CallResult{Established: true, Setup: 50 * time.Millisecond, Held: held,
		Stats: media.Stats{Stats: rtp.Stats{PacketsSent: pkts, PacketsReceived: pkts}, Encrypted: true}}, nil
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func specs(n int) []Spec {
	macs, _ := ParseMACRange(fmt.Sprintf("0004f2000000+%d", n))
	out := make([]Spec, n)
	for i := range out {
		out[i] = Spec{Index: i, MAC: macs[i]}
	}
	return out
}

// TestSmallRun is issue #7's consistency test: 200 handsets for 20 s with
// calls, some rejected, some dropping their flow midway. The report must add
// up (periodic rows sum to the totals), every failure must have a reason,
// and every goroutine must be gone afterwards.
func TestSmallRun(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		const n = 200
		col, err := metrics.New(metrics.Config{Handsets: n})
		if err != nil {
			t.Fatal(err)
		}
		factory := func(s Spec, obs sipua.Observer) (Handset, error) {
			if s.Index%50 == 49 {
				return nil, errors.New("reg.1.address missing")
			}
			f := &fake{obs: obs, id: s.MAC, signIn: time.Duration(5+s.Index%20) * time.Millisecond,
				reject: s.Index%40 == 3, closed: make(chan struct{})}
			if s.Index%10 == 5 {
				f.dropAt = 8 * time.Second
			}
			return callingFake{f}, nil
		}
		cfg := Config{Rate: 25, Duration: 20 * time.Second, CallsPerHour: 360, CallDuration: 2 * time.Second,
			Callee: func(from int, r *rand.Rand) string { return "sip:" + strconv.Itoa(r.IntN(n)) + "@lab" }, Seed: 1}
		r, err := New(cfg, specs(n), factory, col)
		if err != nil {
			t.Fatal(err)
		}
		var stats bytes.Buffer
		start := time.Now()
		rec, err := metrics.NewRecorder(col, metrics.RecorderConfig{Start: start, Period: time.Second, Stats: &stats})
		if err != nil {
			t.Fatal(err)
		}
		recCtx, stopRec := context.WithCancel(t.Context())
		recDone := make(chan error)
		go func() { recDone <- rec.Run(recCtx) }()
		res, err := r.Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		stopRec()
		if err = <-recDone; err != nil {
			t.Fatal(err)
		}
		final, err := rec.Finish()
		if err != nil {
			t.Fatal(err)
		}
		crit, _ := metrics.ParseCriteria("registered>=90%,voip_pass_rate>=80%")
		sum := metrics.NewSummary(final, metrics.RunInfo{Start: start, End: res.End, Handsets: n, Target: "fake"}, crit)

		if res.Started != n || res.Forced != 0 {
			t.Errorf("started %d forced %d, want %d 0", res.Started, res.Forced, n)
		}
		// 4 factory errors, 5 rejected (i%40==3), 20 dropping once.
		want := map[string]int64{"logon_attempts": 191 + 20 + 4 + 5, "logons": 191 + 20, "failed_logons": 9,
			"endpoints_disconnected": 20, "handsets_registered": 191}
		for k, v := range want {
			if sum.Totals[k] != v {
				t.Errorf("total %s = %d, want %d", k, sum.Totals[k], v)
			}
		}
		if res.ActiveAtStop != 191 {
			t.Errorf("active at stop %d, want 191", res.ActiveAtStop)
		}
		if sum.Totals["calls_attempted"] == 0 || sum.Totals["calls_established"] == 0 {
			t.Errorf("no calls: %v", sum.Totals)
		}
		if got := sum.Totals["calls_attempted"]; got != sum.Totals["calls_established"]+sum.Totals["calls_failed"]+sum.Totals["calls_aborted"] {
			t.Errorf("calls attempted %d != established+failed+aborted %v", got, sum.Totals)
		}
		// Every failure has a reason, and the failure table adds up.
		var nf int64
		for _, f := range sum.Failures {
			if f.Reason == "" || f.Outcome == "" {
				t.Errorf("failure without reason: %+v", f)
			}
			nf += f.Count
		}
		if nf != sum.Totals["failed_logons"]+sum.Totals["endpoints_disconnected"]+sum.Totals["calls_failed"]+sum.Totals["calls_media_failed"] {
			t.Errorf("failures %d do not add up: %v", nf, sum.Totals)
		}
		checkStatsSum(t, stats.Bytes(), sum)
		if final.ActiveEndpoints() != 0 || final.CallsActive != 0 {
			t.Errorf("after drain: active %d calls %d", final.ActiveEndpoints(), final.CallsActive)
		}
		var js bytes.Buffer
		if err := sum.WriteJSON(&js); err != nil {
			t.Fatal(err)
		}
		var back metrics.Summary
		if err := json.Unmarshal(js.Bytes(), &back); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(sum.Totals, back.Totals); diff != "" {
			t.Error(diff)
		}
		if !sum.Pass {
			t.Errorf("criteria failed: %+v", sum.Criteria)
		}
	})
}

// checkStatsSum asserts that the (P) columns of stats.csv add up to the
// summary's totals (USERS.md B.3).
func checkStatsSum(t *testing.T, data []byte, sum metrics.Summary) {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) < 3 {
		t.Fatalf("stats.csv has %d lines", len(recs))
	}
	if diff := cmp.Diff(metrics.StatsHeader(), recs[0]); diff != "" {
		t.Fatal(diff)
	}
	sums := map[string]int64{}
	last := map[string]int64{}
	for _, row := range recs[1:] {
		if _, err := time.Parse(time.RFC3339, row[0]); err != nil {
			t.Errorf("timestamp %q: %v", row[0], err)
		}
		for j, h := range recs[0] {
			if name, ok := strings.CutSuffix(h, "(P)"); ok && !strings.HasSuffix(name, "_ms") {
				v, _ := strconv.ParseInt(row[j], 10, 64)
				sums[name] += v
			}
			if name, ok := strings.CutSuffix(h, "(C)"); ok && !strings.HasSuffix(name, "_ms") {
				last[name], _ = strconv.ParseInt(row[j], 10, 64)
			}
		}
	}
	if diff := cmp.Diff(sum.Totals, sums); diff != "" {
		t.Errorf("sum of periodic rows != summary totals (-summary +rows):\n%s", diff)
	}
	if diff := cmp.Diff(sum.Totals, last); diff != "" {
		t.Errorf("last cumulative row != summary totals (-summary +row):\n%s", diff)
	}
}

// TestPacing checks exact pacing: at 2/s handset i starts at i*500ms, with
// no drift, and the run ends at Duration.
func TestPacing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 10
		col, _ := metrics.New(metrics.Config{Handsets: n})
		starts := make(chan time.Time, n)
		factory := func(s Spec, obs sipua.Observer) (Handset, error) {
			return &fake{obs: obs, id: s.MAC, closed: make(chan struct{}), started: starts}, nil
		}
		r, err := New(Config{Rate: 2, Duration: 10 * time.Second}, specs(n), factory, col)
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		res, err := r.Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		close(starts)
		i := 0
		for at := range starts {
			if got, want := at.Sub(t0), time.Duration(i)*500*time.Millisecond; got != want {
				t.Errorf("handset %d started at %v, want %v", i, got, want)
			}
			i++
		}
		if i != n || res.Stop.Sub(t0) != 10*time.Second {
			t.Errorf("started %d, stopped at %v", i, res.Stop.Sub(t0))
		}
	})
}

// TestRampAndCancel checks --ramp (rate = N/ramp) and that cancelling the
// run (the first signal) stops the pacing and drains what started.
func TestRampAndCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 100
		col, _ := metrics.New(metrics.Config{Handsets: n})
		factory := func(s Spec, obs sipua.Observer) (Handset, error) {
			return &fake{obs: obs, id: s.MAC, closed: make(chan struct{})}, nil
		}
		r, err := New(Config{Ramp: 10 * time.Second}, specs(n), factory, col)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(5*time.Second+time.Millisecond, cancel)
		res, err := r.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.Started != 51 {
			t.Errorf("started %d after 5 s of a 10 s ramp over 100, want 51", res.Started)
		}
		s := col.Snapshot()
		if s.Counters[metrics.Unregistrations] != 51 || s.ActiveEndpoints() != 0 {
			t.Errorf("unregistrations %d active %d", s.Counters[metrics.Unregistrations], s.ActiveEndpoints())
		}
	})
}

// stuck ignores ctx; only Close ends it.
type stuck struct{ closed chan struct{} }

func (s *stuck) Run(context.Context) error { <-s.closed; return nil }
func (s *stuck) Close() error {
	select {
	case <-s.closed:
	default:
		close(s.closed)
	}
	return nil
}

func TestStopTimeoutForcesClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		col, _ := metrics.New(metrics.Config{Handsets: 3})
		factory := func(Spec, sipua.Observer) (Handset, error) { return &stuck{closed: make(chan struct{})}, nil }
		r, _ := New(Config{Duration: time.Second, StopTimeout: 2 * time.Second}, specs(3), factory, col)
		t0 := time.Now()
		res, err := r.Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if res.Forced != 3 || res.End.Sub(t0) != 3*time.Second {
			t.Errorf("forced %d, ended after %v", res.Forced, res.End.Sub(t0))
		}
	})
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{Rate: -1}, {Duration: -1}, {CallsPerHour: 3}} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}

// stoppingCaller's calls are still in setup when the run stops, and fail
// the way sipua's do when the handset is signing out or closed: with an
// error that is not context.Canceled.
type stoppingCaller struct{ *fake }

func (f stoppingCaller) PlaceCall(ctx context.Context, _ string, _ time.Duration) (CallResult, error) {
	<-ctx.Done()
	return CallResult{Outcome: sipua.OutcomeTransport, Reason: "not registered"}, errors.New("sipua: not registered")
}

// TestCallsOvertakenByStop: calls whose setup the graceful stop overtook
// are aborted, not failures (VoIP Pass Rate and the failure table ignore
// them).
func TestCallsOvertakenByStop(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		const n = 10
		col, err := metrics.New(metrics.Config{Handsets: n})
		if err != nil {
			t.Fatal(err)
		}
		factory := func(s Spec, obs sipua.Observer) (Handset, error) {
			return stoppingCaller{&fake{obs: obs, id: s.MAC, signIn: 5 * time.Millisecond, closed: make(chan struct{})}}, nil
		}
		cfg := Config{Rate: 100, Duration: 10 * time.Second, CallsPerHour: 3600, CallDuration: time.Second,
			Callee: func(int, *rand.Rand) string { return "sip:echo@lab" }, Seed: 1}
		r, err := New(cfg, specs(n), factory, col)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Run(t.Context()); err != nil {
			t.Fatal(err)
		}
		s := col.Snapshot()
		if s.Counters[metrics.CallsAttempted] == 0 || s.Counters[metrics.CallsAborted] != s.Counters[metrics.CallsAttempted] ||
			s.Counters[metrics.CallsFailed] != 0 || len(s.Failures) != 0 || s.VoIPPassRate() != 100 {
			t.Errorf("counters %v failures %v pass rate %v", s.Counters, s.Failures, s.VoIPPassRate())
		}
	})
}
