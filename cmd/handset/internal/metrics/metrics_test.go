package metrics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/handset-dev/handset/sipua"
)

type testError struct{ why string }

func (e *testError) Error() string          { return "test: " + e.why }
func (e *testError) Outcome() sipua.Outcome { return sipua.OutcomeServerError }
func (e *testError) Reason() string         { return e.why }

func newCollector(t *testing.T, n int) *Collector {
	t.Helper()
	c, err := New(Config{Handsets: n}, WithClock(func() time.Time { return time.Unix(1e9, 0) }))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func st(prev, next sipua.State) sipua.Event {
	return sipua.Event{Kind: sipua.EventState, Prev: prev, State: next}
}

// TestHandsetLifecycle walks one handset through sign-in, refresh, a lost
// registration, a failed retry, a second sign-in and a graceful stop, and
// checks every LyncPerfTool counter.
func TestHandsetLifecycle(t *testing.T) {
	c := newCollector(t, 2)
	h := c.Handset(0)
	reset := &testError{"connection reset"}
	for _, ev := range []sipua.Event{
		st(sipua.StateIdle, sipua.StateConnecting),
		st(sipua.StateConnecting, sipua.StateAuthenticating),
		st(sipua.StateAuthenticating, sipua.StateRegistered),
		{Kind: sipua.EventRegistered, Latency: 20 * time.Millisecond},
		{Kind: sipua.EventKeepAlive},
		st(sipua.StateRegistered, sipua.StateAuthenticating), // SA refresh: not a disconnect
		st(sipua.StateAuthenticating, sipua.StateRegistered),
		{Kind: sipua.EventRegistered, Latency: 10 * time.Millisecond},
		{Kind: sipua.EventFailure, Outcome: sipua.OutcomeTransport, Reason: "connection reset", Err: reset},
		st(sipua.StateRegistered, sipua.StateFailed),
		st(sipua.StateFailed, sipua.StateBackoff),
		{Kind: sipua.EventFailure, Outcome: sipua.OutcomeServerError, Status: 503, Reason: "503"},
		st(sipua.StateBackoff, sipua.StateAuthenticating),
		st(sipua.StateAuthenticating, sipua.StateRegistered),
		{Kind: sipua.EventRegistered, Latency: 30 * time.Millisecond},
		{Kind: sipua.EventMessage, Outgoing: true},
		{Kind: sipua.EventMessage},
		st(sipua.StateRegistered, sipua.StateUnregistering),
		{Kind: sipua.EventUnregistered},
		st(sipua.StateUnregistering, sipua.StateStopped),
	} {
		ev.Handset = "0004f2000000"
		h.Observe(ev)
	}
	h.Exited(nil)
	s := c.Snapshot()
	want := Counters{LogonAttempts: 3, Logons: 2, FailedLogons: 1, EndpointsDisconnected: 1, HandsetsRegistered: 1,
		Reregistrations: 1, Unregistrations: 1, KeepAlives: 1, MessagesSent: 1, MessagesReceived: 1}
	if diff := cmp.Diff(want, s.Counters); diff != "" {
		t.Errorf("counters (-want +got):\n%s", diff)
	}
	wantF := map[FailureKey]int64{
		{Kind: "registered", Outcome: sipua.OutcomeTransport, Reason: "connection reset"}: 1,
		{Kind: "logon", Outcome: sipua.OutcomeServerError, Status: 503, Reason: "503"}:    1,
	}
	if diff := cmp.Diff(wantF, s.Failures); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}
	if s.States[sipua.StateStopped] != 1 || s.States[sipua.StateIdle] != 1 || s.PeakActive != 1 || s.ActiveEndpoints() != 0 {
		t.Errorf("states %v peak %d", s.States, s.PeakActive)
	}
	r := h.Row()
	if r.ID != "0004f2000000" || r.Logons != 2 || r.Refreshes != 1 || r.Disconnects != 1 || r.Last.Reason != "503" || r.LastError != "test: connection reset" {
		t.Errorf("row %+v", r)
	}
	// Exited with the error already reported is not counted twice; a new
	// unreported one is, with its own reason.
	h2 := c.Handset(1)
	h2.Exited(errors.New("boom"))
	if got := c.Snapshot().Counters[FailedLogons]; got != 2 {
		t.Errorf("failed logons %d after unreported exit error", got)
	}
	if got := c.Snapshot().Failures[FailureKey{Kind: "logon", Outcome: sipua.OutcomeTransport, Reason: "unknown"}]; got != 1 {
		t.Errorf("unclassified exit not bucketed: %v", c.Snapshot().Failures)
	}
}

// TestAbortedByStop: a sign-in cut short by the graceful stop (context
// cancelled) is not a failed logon.
func TestAbortedByStop(t *testing.T) {
	c := newCollector(t, 1)
	err := fmt.Errorf("sipua: register: canceled: %w", context.Canceled)
	c.Handset(0).Observe(sipua.Event{Kind: sipua.EventFailure, Outcome: sipua.OutcomeTimeout, Reason: "canceled", Err: err})
	s := c.Snapshot()
	if s.Counters[LogonsAborted] != 1 || s.Counters[FailedLogons] != 0 || s.Counters[LogonAttempts] != 0 || len(s.Failures) != 0 {
		t.Errorf("counters %v failures %v", s.Counters, s.Failures)
	}
}

func TestCalls(t *testing.T) {
	c := newCollector(t, 1)
	h := c.Handset(0)
	h.SetID("alice")
	h.CallStarted()
	h.CallStarted()
	if c.Snapshot().CallsActive != 2 {
		t.Fatal("calls active")
	}
	h.CallEnded(CallRecord{Callee: "sip:bob@lab", Established: true, Setup: 40 * time.Millisecond, Duration: time.Second,
		PacketsSent: 50, PacketsReceived: 49, Lost: 1, Jitter: 2 * time.Millisecond}, nil)
	h.CallEnded(CallRecord{Callee: "sip:carol@lab", Status: 486, Outcome: sipua.OutcomeServerError, Reason: "486 Busy Here"}, nil)
	s := c.Snapshot()
	if s.VoIPPassRate() != 50 || s.CallsActive != 0 || s.PeakCalls != 2 || s.CallSetup.Count() != 1 {
		t.Errorf("pass rate %v active %d peak %d", s.VoIPPassRate(), s.CallsActive, s.PeakCalls)
	}
	var buf bytes.Buffer
	if err := c.WriteCallsCSV(&buf); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "\n"); n != 3 || !strings.Contains(buf.String(), ",alice,sip:carol@lab,false,0.0,0.0,server_error,486,486 Busy Here,0,0,0,0.0,0,false\n") ||
		!strings.Contains(buf.String(), ",alice,sip:bob@lab,true,40.0,1000.0,success,0,,50,49,1,2.0,0,false\n") {
		t.Errorf("calls.csv:\n%s", buf.String())
	}
}

// TestCallMediaAndAbort: an established call whose media failed is not a
// pass and lands in the failure table under media; a call cancelled by the
// run's stop during setup is aborted (neither pass nor failure); a call too
// short to judge passes.
func TestCallMediaAndAbort(t *testing.T) {
	c := newCollector(t, 1)
	h := c.Handset(0)
	for range 4 {
		h.CallStarted()
	}
	h.CallEnded(CallRecord{Established: true, Duration: 2 * time.Second, PacketsSent: 100, PacketsReceived: 100}, nil)
	h.CallEnded(CallRecord{Established: true, Duration: 2 * time.Second, PacketsSent: 100, PacketsReceived: 90, SRTPFailures: 10}, nil)
	h.CallEnded(CallRecord{Established: true, Duration: 100 * time.Millisecond}, nil) // too short to judge
	h.CallEnded(CallRecord{}, fmt.Errorf("sipua: call: canceled: %w", context.Canceled))
	s := c.Snapshot()
	if s.Counters[CallsAttempted] != 4 || s.Counters[CallsEstablished] != 3 || s.Counters[CallsMediaFailed] != 1 ||
		s.Counters[CallsAborted] != 1 || s.Counters[CallsFailed] != 0 {
		t.Errorf("counters %v", s.Counters)
	}
	if got, want := s.VoIPPassRate(), 100*2.0/3; got != want {
		t.Errorf("pass rate %v, want %v", got, want)
	}
	want := map[FailureKey]int64{{Kind: "call", Outcome: sipua.OutcomeMedia, Reason: "srtp failures"}: 1}
	if diff := cmp.Diff(want, s.Failures); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}
	if r := h.Row(); r.Calls != 4 || r.CallsOK != 2 {
		t.Errorf("row %+v", r)
	}
}

func TestHistogramQuantile(t *testing.T) {
	h := newHistogram([]float64{0.01, 0.1, 1})
	for range 90 {
		h.observe(5 * time.Millisecond)
	}
	for range 10 {
		h.observe(500 * time.Millisecond)
	}
	s := h.snapshot()
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 5555555}, {0.9, 10 * time.Millisecond}, {0.95, 550 * time.Millisecond}, {1, time.Second}} {
		if got := s.Quantile(tc.q); (got - tc.want).Abs() > time.Microsecond {
			t.Errorf("q%v = %v, want %v", tc.q, got, tc.want)
		}
	}
	h.observe(time.Minute) // +Inf bucket reports the top bound
	if got := h.snapshot().Quantile(1); got != time.Second {
		t.Errorf("+Inf quantile %v", got)
	}
	if got := (Histogram{Bounds: []float64{1}, Counts: []uint64{0, 0}}).Quantile(0.5); got != 0 {
		t.Errorf("empty quantile %v", got)
	}
	d := h.snapshot().Sub(s)
	if d.Count() != 1 || d.Sum != time.Minute {
		t.Errorf("sub %+v", d)
	}
}

func TestCriteria(t *testing.T) {
	cs, err := ParseCriteria("registered>=99.9%, voip_pass_rate>=99%,failed_logons<=0,signin_p95<2s")
	if err != nil {
		t.Fatal(err)
	}
	c := newCollector(t, 1000)
	for i := range 999 {
		h := c.Handset(i)
		h.Observe(sipua.Event{Kind: sipua.EventRegistered, Latency: 40 * time.Millisecond})
	}
	res, pass := cs.Evaluate(c.Snapshot(), 1000)
	if !pass {
		t.Errorf("want pass: %+v", res)
	}
	c.Handset(999).Observe(sipua.Event{Kind: sipua.EventFailure, Outcome: sipua.OutcomeAuthRejected, Reason: "401 after AUTHENTICATE", Status: 401})
	res, pass = cs.Evaluate(c.Snapshot(), 1000)
	want := []Result{
		{Expr: "registered>=99.9%", Got: "99.90%", Pass: true},
		{Expr: "voip_pass_rate>=99%", Got: "100.00%", Pass: true},
		{Expr: "failed_logons<=0", Got: "1", Pass: false},
		{Expr: "signin_p95<2s", Got: "48.8ms", Pass: true},
	}
	if diff := cmp.Diff(want, res); diff != "" || pass {
		t.Errorf("pass %v (-want +got):\n%s", pass, diff)
	}
	for _, bad := range []string{"registered", "nope>=1", "registered=>1", "signin_p95<=fast", ">=1"} {
		if _, err := ParseCriteria(bad); !errors.Is(err, ErrCriterion) {
			t.Errorf("%q: err %v", bad, err)
		}
	}
}

// TestSummaryText checks the human summary ends with the verdict and the
// failed criterion, and that the failure table is grouped by reason.
func TestSummaryText(t *testing.T) {
	c := newCollector(t, 2)
	c.Handset(0).Observe(sipua.Event{Kind: sipua.EventRegistered, Latency: 30 * time.Millisecond})
	c.Handset(1).Observe(sipua.Event{Kind: sipua.EventFailure, Outcome: sipua.OutcomeServerError, Status: 503, Reason: "503 ms-diagnostics 1008"})
	cs, _ := ParseCriteria(DefaultCriteria)
	s := NewSummary(c.Snapshot(), RunInfo{Handsets: 2, Target: "lab", TimeScale: 60,
		Equivalents: map[string]string{"register expiry": "1m0s (real 1h0m0s)"}, ActiveAtStop: 1}, cs)
	var buf bytes.Buffer
	if err := s.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"Active Endpoints", "Failed Logons", "VoIP Pass Rate %", "real 1h0m0s",
		"server_error  503  503 ms-diagnostics 1008", "FAIL: registered>=99.9% (got 50.00%)\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if !strings.HasSuffix(out, "FAIL: registered>=99.9% (got 50.00%)\n") {
		t.Errorf("verdict not last:\n%s", out)
	}
}

func TestPrometheus(t *testing.T) {
	c := newCollector(t, 3)
	c.Handset(0).Observe(st(sipua.StateIdle, sipua.StateRegistered))
	c.Handset(0).Observe(sipua.Event{Kind: sipua.EventRegistered, Latency: 30 * time.Millisecond})
	c.Handset(1).Observe(sipua.Event{Kind: sipua.EventFailure, Outcome: sipua.OutcomeTimeout, Reason: "REGISTER timeout"})
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c.PrometheusCollector()); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case m.GetCounter() != nil:
				got[key] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				got[key] = m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				got[key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	for k, v := range map[string]float64{
		"handset_logons_total":                1,
		"handset_failed_logons_total":         1,
		"handset_active_endpoints":            1,
		"handset_handsets,state=idle":         2,
		"handset_handsets,state=registered":   1,
		"handset_signin_duration_seconds":     1,
		"handset_call_setup_duration_seconds": 0,
		"handset_failures_total,code=0,kind=logon,outcome=timeout,reason=REGISTER timeout": 1,
	} {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
}

// TestRecorderStatusLine: on a TTY each period redraws one line in place.
func TestRecorderStatusLine(t *testing.T) {
	c := newCollector(t, 1)
	var status, stats bytes.Buffer
	r, err := NewRecorder(c, RecorderConfig{Start: time.Unix(1e9-5, 0), Stats: &stats, Status: &status})
	if err != nil {
		t.Fatal(err)
	}
	c.Handset(0).Observe(sipua.Event{Kind: sipua.EventRegistered, Latency: 30 * time.Millisecond})
	if err := r.Tick(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Finish(); err != nil {
		t.Fatal(err)
	}
	want := "\r\x1b[K     5s  active 1  logons 1/1  failed 0  disconnected 0  calls 0/0 active 0  signin p95 49ms"
	if got := status.String(); got != want+want+"\n" {
		t.Errorf("status %q", got)
	}
	if err := r.Tick(); !errors.Is(err, errRecorderDone) {
		t.Errorf("tick after finish: %v", err)
	}
	if n := strings.Count(stats.String(), "\n"); n != 3 {
		t.Errorf("stats.csv has %d lines:\n%s", n, stats.String())
	}
}
