package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/handset-dev/handset/cmd/handset/internal/metrics"
	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/labfe"
)

// loadReport is what a load run left in --out.
type loadReport struct {
	sum      metrics.Summary
	stats    [][]string
	handsets [][]string
	calls    [][]string
}

func readReport(t *testing.T, dir string) loadReport {
	t.Helper()
	var r loadReport
	data, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &r.sum); err != nil {
		t.Fatal(err)
	}
	r.stats = readCSV(t, filepath.Join(dir, "stats.csv"))
	r.handsets = readCSV(t, filepath.Join(dir, "handsets.csv"))
	r.calls = readCSV(t, filepath.Join(dir, "calls.csv"))
	return r
}

// column returns stats.csv's column name as int64s, one per row.
func (r loadReport) column(t *testing.T, name string) []int64 {
	t.Helper()
	j := -1
	for i, h := range r.stats[0] {
		if h == name {
			j = i
		}
	}
	if j < 0 {
		t.Fatalf("stats.csv has no column %q", name)
	}
	out := make([]int64, 0, len(r.stats)-1)
	for _, row := range r.stats[1:] {
		v, err := strconv.ParseInt(row[j], 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", name, row[j], err)
		}
		out = append(out, v)
	}
	return out
}

// checkConsistent asserts the invariants of every report: the periodic rows
// add up to the totals, every failure has an outcome and a reason, attempts
// are logons plus failed logons, one handsets.csv row per handset.
func (r loadReport) checkConsistent(t *testing.T) {
	t.Helper()
	sums := map[string]int64{}
	for _, h := range r.stats[0] {
		if name, ok := strings.CutSuffix(h, "(P)"); ok && !strings.HasSuffix(name, "_ms") {
			for _, v := range r.column(t, h) {
				sums[name] += v
			}
		}
	}
	if diff := cmp.Diff(r.sum.Totals, sums); diff != "" {
		t.Errorf("periodic rows vs summary.json totals (-summary +rows):\n%s", diff)
	}
	tot := r.sum.Totals
	if tot["logon_attempts"] != tot["logons"]+tot["failed_logons"] {
		t.Errorf("attempts %d != logons %d + failed %d", tot["logon_attempts"], tot["logons"], tot["failed_logons"])
	}
	var nf int64
	for _, f := range r.sum.Failures {
		if f.Outcome == "" || f.Reason == "" || f.Reason == "unspecified" || f.Reason == "unknown" {
			t.Errorf("failure bucket without a reason: %+v", f)
		}
		nf += f.Count
	}
	if nf != tot["failures"] {
		t.Errorf("failure buckets sum to %d, totals say %d", nf, tot["failures"])
	}
	if tot["calls_attempted"] != tot["calls_established"]+tot["calls_failed"]+tot["calls_aborted"] {
		t.Errorf("calls attempted %d != established %d + failed %d + aborted %d", tot["calls_attempted"],
			tot["calls_established"], tot["calls_failed"], tot["calls_aborted"])
	}
	if rows := int64(len(r.calls) - 1); rows != tot["calls_attempted"] {
		t.Errorf("calls.csv has %d rows for %d calls attempted", rows, tot["calls_attempted"])
	}
	if len(r.handsets)-1 != r.sum.Handsets {
		t.Errorf("handsets.csv has %d rows for %d handsets", len(r.handsets)-1, r.sum.Handsets)
	}
}

// loadStep is one stage of a condition-driven load run: when cond holds on
// the collector's snapshot, a stats.csv row is written at once if tick is
// set (so the report holds the state waited for), act runs (e.g. a fault
// is injected) and the next stage begins.
type loadStep struct {
	name string
	cond func(metrics.Snapshot) bool
	tick bool
	act  func()
}

// runLoadUntil runs `handset load` (o without --duration runs until
// stopped) and stops it gracefully, as the first SIGINT does, once every
// step's condition held in turn. The run is judged on its end state, not on
// how fast a busy machine got there: deadline is a generous bound on the
// whole run, and missing it fails the test naming the stage and the
// counters it stalled at.
func runLoadUntil(t *testing.T, env *Env, o *loadOptions, deadline time.Duration, steps ...loadStep) int {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	type run struct {
		col  *metrics.Collector
		tick func() error
	}
	runs := make(chan run, 1)
	o.onCollector = func(c *metrics.Collector, tick func() error) { runs <- run{c, tick} }
	done := make(chan struct{})
	var stalled string
	var wg sync.WaitGroup
	wg.Go(func() {
		defer cancel()
		var rn run
		select {
		case rn = <-runs:
		case <-done:
			return
		}
		col := rn.col
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		limit := time.NewTimer(deadline)
		defer limit.Stop()
		for _, st := range steps {
			for s := col.Snapshot(); !st.cond(s); s = col.Snapshot() {
				select {
				case <-done:
					return
				case <-limit.C:
					stalled = fmt.Sprintf("%s: not reached within %s (active %d, calls active %d, counters %v)",
						st.name, deadline, s.Active, s.CallsActive, s.Counters)
					return
				case <-tick.C:
				}
			}
			if st.tick {
				if err := rn.tick(); err != nil {
					stalled = fmt.Sprintf("%s: stats row: %v", st.name, err)
					return
				}
			}
			if st.act != nil {
				st.act()
			}
		}
	})
	code, err := load(ctx, env, o)
	close(done)
	wg.Wait()
	if stalled != "" {
		t.Fatalf("%s\n%s", stalled, env.Stdout)
	}
	if err != nil {
		t.Fatalf("exit %d, %v\n%s", code, err, env.Stdout)
	}
	return code
}

// TestLoadEmbeddedSmallRun is issue #7's small run with the real handsets
// (sipua, one TLS flow and sipgo UA each) against the embedded labfe, calls
// on: everyone signs in, refreshes under --time-scale while calls to the
// echo bot run, un-REGISTERs on the graceful stop; the report is consistent
// and goroutines and open files return to baseline. The run stops when
// every handset refreshed and a few calls completed, however long a busy
// machine takes (deadline 3 min).
func TestLoadEmbeddedSmallRun(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	checkFDs(t)
	n := 60
	if testing.Short() {
		n = 20
	}
	out := t.TempDir()
	env := &Env{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Log: discardLogger()}
	// --time-scale 600: register expiry 12 s, re-REGISTER 2 s before it.
	o, err := parseLoadFlags(env, []string{"--handsets", strconv.Itoa(n), "--rate", "50/s", "--duration", "0",
		"--time-scale", "600", "--calls-per-hour", "120", "--call-duration", "1500ms", "--stats-period", "250ms",
		"--out", out, "--pass", "registered>=100%,failed_logons<=0"})
	if err != nil {
		t.Fatal(err)
	}
	code := runLoadUntil(t, env, o, 3*time.Minute,
		loadStep{name: "all signed in", cond: func(s metrics.Snapshot) bool { return s.Counters[metrics.HandsetsRegistered] == int64(n) }},
		loadStep{name: "all refreshed, calls done", cond: func(s metrics.Snapshot) bool {
			return s.Counters[metrics.Reregistrations] >= int64(n) && s.Counters[metrics.CallsEstablished] >= 3
		}})
	stdout := env.Stdout.(*bytes.Buffer).String()
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stdout)
	}
	r := readReport(t, out)
	r.checkConsistent(t)
	tot := r.sum.Totals
	if tot["handsets_registered"] != int64(n) || tot["unregistrations"] != int64(n) || r.sum.Active.AtStop != int64(n) {
		t.Errorf("registered %d unregistered %d active at stop %d, want %d", tot["handsets_registered"], tot["unregistrations"], r.sum.Active.AtStop, n)
	}
	if tot["reregistrations"] < int64(n) {
		t.Errorf("%d re-registrations with expiry %s, want at least %d", tot["reregistrations"], labfe.DefaultRegisterExpiry/600, n)
	}
	if r.sum.Equivalents["register expiry"] == "" || !strings.Contains(stdout, "real 2h0m0s") {
		t.Errorf("real equivalents missing:\n%s", stdout)
	}
	if tot["calls_established"] < 3 || !strings.Contains(stdout, "note: calls are not time-scaled") {
		t.Errorf("calls: %v\n%s", tot, stdout)
	}
	if !strings.HasSuffix(stdout, "PASS\n") {
		t.Errorf("verdict:\n%s", stdout)
	}
}

// TestLoadEmbeddedFault is the fault run: labfe drops every flow once all
// handsets are signed in. The report shows the dip in Active Endpoints, the
// recovery, and the reason of every disconnect. The fault and the stop are
// triggered by the counters (all signed in; all signed in again), so a busy
// machine only makes the run longer.
func TestLoadEmbeddedFault(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	const n = 40
	out := t.TempDir()
	env := &Env{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Log: discardLogger()}
	o, err := parseLoadFlags(env, []string{"--handsets", strconv.Itoa(n), "--rate", "100/s", "--duration", "0",
		"--time-scale", "100", "--stats-period", "250ms", "--calls-per-hour", "0", "--out", out})
	if err != nil {
		t.Fatal(err)
	}
	var fe *labfe.Server
	o.onEmbedded = func(s *labfe.Server) { fe = s }
	dropped := -1
	// Each stage writes its row, so stats.csv holds the full state, the dip
	// (a handset noticed the drop; every handset then waits at least
	// 0.1 s before signing in again) and the recovery.
	code := runLoadUntil(t, env, o, 3*time.Minute,
		loadStep{name: "all signed in", cond: func(s metrics.Snapshot) bool { return s.Active == n }, tick: true,
			// The handsets notice the lost flow at once (sipua's dead-flow
			// watch; the keep-alive is the fallback) and back off before
			// signing in again.
			act: func() { dropped = fe.CloseFlows("") }},
		loadStep{name: "a flow loss noticed", cond: func(s metrics.Snapshot) bool { return s.Counters[metrics.EndpointsDisconnected] > 0 }, tick: true},
		loadStep{name: "all signed in again", cond: func(s metrics.Snapshot) bool {
			return s.Counters[metrics.Logons] >= 2*n && s.Active == n
		}, tick: true})
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, env.Stdout)
	}
	if dropped != n {
		t.Fatalf("labfe closed %d flows, want %d", dropped, n)
	}
	r := readReport(t, out)
	r.checkConsistent(t)
	tot := r.sum.Totals
	if tot["retry_backoffs"] != n {
		t.Errorf("retry_backoffs %d, want one RFC 5626 wait per handset (%d)", tot["retry_backoffs"], n)
	}
	if tot["endpoints_disconnected"] != n || tot["logons"] != 2*n || r.sum.Active.AtStop != n {
		t.Errorf("disconnected %d logons %d active at stop %d, want %d %d %d\n%s",
			tot["endpoints_disconnected"], tot["logons"], r.sum.Active.AtStop, n, 2*n, n, env.Stdout)
	}
	// The dip and the recovery, row by row.
	active := r.column(t, "active_endpoints")
	full, dip, back := -1, -1, -1
	for i, a := range active {
		switch {
		case full < 0 && a == n:
			full = i
		case full >= 0 && dip < 0 && a < n:
			dip = i
		case dip >= 0 && back < 0 && a == n:
			back = i
		}
	}
	if full < 0 || dip < 0 || back < 0 {
		t.Errorf("no full → dip → recovery in active_endpoints %v", active)
	}
	var lost int64
	for _, f := range r.sum.Failures {
		if f.Kind == "registered" {
			lost += f.Count
		}
	}
	if lost != n {
		t.Errorf("failure table has %d lost registrations, want %d: %+v", lost, n, r.sum.Failures)
	}
}

// TestLoadEmbeddedCalls is the end-to-end load run with calls: a few
// handsets call the echo bot, then each other (auto-answer after the ring),
// SRTP both ways through labfe; the run passes voip_pass_rate>=99%; every
// judged call in calls.csv is SRTP with packets both ways and no SRTP
// failure; on the graceful stop the calls still up get their BYE before the
// un-REGISTER, so labfe holds no dialog or echo call afterwards. The stop
// comes when enough calls were established (deadline 3 min).
func TestLoadEmbeddedCalls(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	for _, callee := range []string{"echo", "peer"} {
		t.Run(callee, func(t *testing.T) {
			const n, calls = 4, 6
			out := t.TempDir()
			env := &Env{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Log: discardLogger()}
			o, err := parseLoadFlags(env, []string{"--handsets", strconv.Itoa(n), "--rate", "20/s", "--duration", "0",
				"--calls-per-hour", "3600", "--call-duration", "1500ms", "--callee", callee, "--stats-period", "250ms",
				"--out", out, "--pass", "registered>=100%,voip_pass_rate>=99%"})
			if err != nil {
				t.Fatal(err)
			}
			var fe *labfe.Server
			o.onEmbedded = func(s *labfe.Server) { fe = s }
			// labfe ends a dialog when it has answered the BYE, which may be
			// a moment after the handset had its response: wait for that
			// (a leaked dialog never ends: labfe has no session timer).
			var after labfe.Stats
			o.onDrained = func() {
				deadline := time.Now().Add(10 * time.Second)
				tick := time.NewTicker(20 * time.Millisecond)
				defer tick.Stop()
				waited := 0
				for after = fe.Stats(); (after.Dialogs != 0 || after.Echo.Active != 0) && time.Now().Before(deadline); after = fe.Stats() {
					<-tick.C
					waited++
				}
				if waited > 0 {
					t.Logf("labfe ended its last dialog %d polls after the handsets stopped", waited)
				}
			}
			code := runLoadUntil(t, env, o, 3*time.Minute, loadStep{name: "calls established",
				cond: func(s metrics.Snapshot) bool { return s.Counters[metrics.CallsEstablished] >= calls }})
			if code != ExitOK {
				t.Fatalf("exit %d\n%s", code, env.Stdout)
			}
			r := readReport(t, out)
			r.checkConsistent(t)
			tot := r.sum.Totals
			if tot["calls_established"] < calls || r.sum.VoIPPassRate < 99 {
				t.Errorf("calls %v, pass rate %.2f", tot, r.sum.VoIPPassRate)
			}
			if tot["unregistrations"] != n {
				t.Errorf("unregistrations %d, want %d", tot["unregistrations"], n)
			}
			judged := 0
			for _, c := range r.callRows(t) {
				if c["established"] != "true" {
					if c["reason"] != "aborted by stop" {
						t.Errorf("call not established: %v", c)
					}
					continue
				}
				switch want := "sip:echo@" + labfe.DefaultDomain; {
				case callee == "echo" && c["callee"] != want:
					t.Errorf("callee %s, want %s", c["callee"], want)
				case callee == "peer" && !strings.HasPrefix(c["callee"], "sip:user"):
					t.Errorf("callee %s, want another handset", c["callee"])
				}
				if c["srtp"] != "true" {
					t.Errorf("call without SRTP: %v", c)
				}
				if d, _ := strconv.ParseFloat(c["duration_ms"], 64); d >= float64(metrics.MinMediaHold/time.Millisecond) {
					judged++
					if c["packets_sent"] == "0" || c["packets_received"] == "0" || c["srtp_failures"] != "0" {
						t.Errorf("media: %v", c)
					}
				}
			}
			if judged < calls/2 {
				t.Errorf("only %d calls held long enough to judge their media", judged)
			}
			if after.Dialogs != 0 || after.Echo.Active != 0 || after.Echo.AuthFailures != 0 {
				t.Errorf("labfe after the stop: %d dialogs, %d echo calls, %d SRTP failures at the bot; calls:\n%v",
					after.Dialogs, after.Echo.Active, after.Echo.AuthFailures, r.callRows(t))
			}
		})
	}
}

// callRows returns calls.csv as maps of column → value.
func (r loadReport) callRows(t *testing.T) []map[string]string {
	t.Helper()
	var out []map[string]string
	for _, row := range r.calls[1:] {
		m := map[string]string{}
		for i, h := range r.calls[0] {
			m[h] = row[i]
		}
		out = append(out, m)
	}
	return out
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestLoadProvAndUsers signs in the template handsets against a separate
// labfe (--target with its CA), once from the provisioning directory and
// once from the users CSV whose header names .cfg parameters.
func TestLoadProvAndUsers(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	addr, ca, _ := startLabfeForCLI(t)
	for name, args := range map[string][]string{
		"prov":  {"--prov", "../../../../configs/templates/flat", "--mac-range", "0004f2000001+2"},
		"users": {"--users", "../../../../configs/templates/users.csv", "--server-name", "pool.contoso.test", "--handsets", "2"},
	} {
		t.Run(name, func(t *testing.T) {
			out := t.TempDir()
			var stdout, stderr bytes.Buffer
			args = append([]string{"load", "--target", addr, "--ca", ca, "--rate", "20/s", "--duration", "1s", "--out", out,
				"--pass", "registered>=100%"}, args...)
			if code := Main(t.Context(), args, &stdout, &stderr); code != ExitOK {
				t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
			}
			r := readReport(t, out)
			r.checkConsistent(t)
			if r.sum.Totals["logons"] != 2 || r.sum.Totals["unregistrations"] != 2 {
				t.Errorf("totals %v", r.sum.Totals)
			}
		})
	}
}

// TestLoadMetricsEndpoint scrapes --metrics during a run.
func TestLoadMetricsEndpoint(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	env := &Env{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Log: discardLogger()}
	o, err := parseLoadFlags(env, []string{"--handsets", "3", "--rate", "30/s", "--duration", "500ms", "--metrics", "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	var body string
	o.onMetrics = func(addr string) {
		res, gerr := http.Get("http://" + addr + "/metrics")
		if gerr != nil {
			t.Error(gerr)
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		body = string(b)
	}
	if code, err := load(t.Context(), env, o); err != nil || code != ExitOK {
		t.Fatalf("exit %d %v\n%s", code, err, env.Stdout)
	}
	for _, want := range []string{"handset_logon_attempts_total 0", `handset_handsets{state="idle"} 3`,
		"# TYPE handset_signin_duration_seconds histogram", `handset_signin_duration_seconds_bucket{le="0.005"} 0`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
}
