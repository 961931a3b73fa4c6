package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
	if len(r.handsets)-1 != r.sum.Handsets {
		t.Errorf("handsets.csv has %d rows for %d handsets", len(r.handsets)-1, r.sum.Handsets)
	}
}

// TestLoadEmbeddedSmallRun is issue #7's small run with the real handsets
// (sipua, one TLS flow and sipgo UA each) against the embedded labfe:
// everyone signs in, refreshes under --time-scale, un-REGISTERs on stop; the
// report is consistent and goroutines and open files return to baseline.
func TestLoadEmbeddedSmallRun(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	checkFDs(t)
	n, dur := 200, "12s"
	if testing.Short() {
		n, dur = 40, "4s"
	}
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	code := Main(ctx, []string{"load", "--handsets", strconv.Itoa(n), "--rate", "50/s", "--duration", dur,
		"--time-scale", "1200", "--calls-per-hour", "60", "--out", out, "--pass", "registered>=100%,failed_logons<=0"}, &stdout, &stderr)
	if code != ExitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	r := readReport(t, out)
	r.checkConsistent(t)
	tot := r.sum.Totals
	if tot["handsets_registered"] != int64(n) || tot["unregistrations"] != int64(n) || r.sum.Active.AtStop != int64(n) {
		t.Errorf("registered %d unregistered %d active at stop %d, want %d", tot["handsets_registered"], tot["unregistrations"], r.sum.Active.AtStop, n)
	}
	if !testing.Short() && tot["reregistrations"] == 0 {
		t.Errorf("no re-registration with expiry %s: %v", labfe.DefaultRegisterExpiry/1200, tot)
	}
	if r.sum.Equivalents["register expiry"] == "" || !strings.Contains(stdout.String(), "real 2h0m0s") {
		t.Errorf("real equivalents missing:\n%s", stdout.String())
	}
	// 200 handsets at 60 calls/hour for 12 s: about 40 calls (seeded).
	if !testing.Short() && tot["calls_attempted"] == 0 {
		t.Errorf("no call placed: %v\n%s", tot, stdout.String())
	}
	t.Logf("calls attempted %d, established %d", tot["calls_attempted"], tot["calls_established"])
	if !strings.HasSuffix(stdout.String(), "PASS\n") {
		t.Errorf("verdict:\n%s", stdout.String())
	}
}

// TestLoadEmbeddedFault is the fault run: labfe drops every flow midway.
// The report shows the dip in Active Endpoints, the recovery, and the
// reason of every disconnect.
func TestLoadEmbeddedFault(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	const n = 40
	out := t.TempDir()
	env := &Env{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Log: discardLogger()}
	o, err := parseLoadFlags(env, []string{"--handsets", strconv.Itoa(n), "--rate", "100/s", "--duration", "9s",
		"--time-scale", "100", "--stats-period", "250ms", "--out", out})
	if err != nil {
		t.Fatal(err)
	}
	dropped := make(chan int, 1)
	var drop *time.Timer
	o.onEmbedded = func(fe *labfe.Server) {
		// Midway: every handset signed in within 0.4 s (a few more under
		// -race). The handsets notice the lost flow at once (sipua's
		// dead-flow watch; the keep-alive, every 3 s at --time-scale 100,
		// is the fallback) and back off 0.1–0.2 s before signing in again.
		drop = time.AfterFunc(2500*time.Millisecond, func() { dropped <- fe.CloseFlows("") })
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	code, err := load(ctx, env, o)
	drop.Stop()
	if err != nil || code != ExitOK {
		t.Fatalf("exit %d, %v\n%s", code, err, env.Stdout)
	}
	if got := <-dropped; got != n {
		t.Fatalf("labfe closed %d flows, want %d", got, n)
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
