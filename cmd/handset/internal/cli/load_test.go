package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/handset-dev/handset/cmd/handset/internal/metrics"
	"github.com/handset-dev/handset/internal/testutil"
)

func TestParseRate(t *testing.T) {
	for in, want := range map[string]float64{"25/s": 25, "12": 12, "0.5/s": 0.5, "90/min": 1.5, "3600/h": 1} {
		got, err := parseRate(in)
		if err != nil || got != want {
			t.Errorf("parseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0/s", "-1", "fast", "3/day"} {
		if _, err := parseRate(bad); err == nil {
			t.Errorf("parseRate(%q): no error", bad)
		}
	}
}

func TestLoadUsage(t *testing.T) {
	for _, args := range [][]string{
		{"load", "--rate", "0"},
		{"load", "--pass", "registered>>1"},
		{"load", "--shard", "3/3"},
		{"load", "--handsets", "0"},
		{"load", "--time-scale", "0.5"},
		{"load", "--users", "/nonexistent/users.csv", "--target", "127.0.0.1:1"},
		{"load", "--target", "nohostport"},
		{"load", "extra"},
	} {
		var out, errb bytes.Buffer
		if code := Main(t.Context(), args, &out, &errb); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, ExitUsage, errb.String())
		}
	}
}

func TestConfigFromRow(t *testing.T) {
	o := &loadOptions{serverName: "pool.lab.test"}
	c, err := configFromRow("0004f2000001", map[string]string{
		"reg.1.address": "alice@lab.test", "reg.1.auth.userId": `LAB\alice`, "reg.1.auth.password": "pw",
		"reg.1.server.1.port": "5062", "reg.1.server.1.expires": "600",
	}, o)
	if err != nil {
		t.Fatal(err)
	}
	if c.AOR != "alice@lab.test" || c.AuthUser != "alice" || c.AuthDomain != "LAB" || c.Server != "pool.lab.test" ||
		c.Port != 5062 || c.Handset != "0004f2000001" || c.Expires != 10*time.Minute || c.Password.Reveal() != "pw" {
		t.Errorf("config %+v", c)
	}
	if _, err := configFromRow("0004f2000001", map[string]string{"reg.1.address": "alice"}, o); err == nil {
		t.Error("bad AOR accepted")
	}
}

// TestLoadUnreachableTarget runs the real sipua handsets against a port
// nobody listens on: every sign-in fails, the run exits 1, and the report
// files are consistent (periodic rows add up to summary.json, every failure
// has an outcome and a reason, one handsets.csv row per handset).
func TestLoadUnreachableTarget(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	checkFDs(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // now refused

	dir := t.TempDir()
	users := filepath.Join(dir, "users.csv")
	var rows strings.Builder
	rows.WriteString("SEQUENTIAL\nreg.1.address,reg.1.auth.userId,reg.1.auth.password\n")
	for i := range 6 {
		rows.WriteString("user" + strconv.Itoa(i) + "@lab.test,LAB\\user" + strconv.Itoa(i) + ",secret\n")
	}
	if err = os.WriteFile(users, []byte(rows.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	code := Main(ctx, []string{"load", "--target", addr, "--server-name", "pool.lab.test", "--users", users,
		"--handsets", "6", "--rate", "20/s", "--duration", "1500ms", "--time-scale", "20", "--stats-period", "200ms",
		"--out", out, "--pass", "registered>=100%"}, &stdout, &stderr)
	if code != ExitRunFailed {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, ExitRunFailed, stdout.String(), stderr.String())
	}
	if !strings.HasSuffix(stdout.String(), "FAIL: registered>=100% (got 0.00%)\n") {
		t.Errorf("verdict:\n%s", stdout.String())
	}
	var sum metrics.Summary
	data, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Totals["failed_logons"] < 6 || sum.Totals["logons"] != 0 || sum.Pass {
		t.Errorf("totals %v pass %v", sum.Totals, sum.Pass)
	}
	for _, f := range sum.Failures {
		if f.Outcome == "" || f.Reason == "" || f.Reason == "unspecified" {
			t.Errorf("failure without reason: %+v", f)
		}
	}
	stats := readCSV(t, filepath.Join(out, "stats.csv"))
	sums := map[string]int64{}
	for _, row := range stats[1:] {
		for j, h := range stats[0] {
			if name, ok := strings.CutSuffix(h, "(P)"); ok && !strings.HasSuffix(name, "_ms") {
				v, _ := strconv.ParseInt(row[j], 10, 64)
				sums[name] += v
			}
		}
	}
	if diff := cmp.Diff(sum.Totals, sums); diff != "" {
		t.Errorf("periodic rows vs summary (-summary +rows):\n%s", diff)
	}
	hs := readCSV(t, filepath.Join(out, "handsets.csv"))
	if len(hs) != 7 {
		t.Errorf("handsets.csv has %d lines, want 7", len(hs))
	}
	for _, r := range hs[1:] {
		if r[1] == "" || r[12] == "" {
			t.Errorf("handset row without id or reason: %v", r)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "calls.csv")); err != nil {
		t.Error(err)
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// checkFDs fails the test if it ends with more open files than it started
// with (Linux; elsewhere it does nothing).
func checkFDs(t *testing.T) {
	t.Helper()
	count := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			return -1
		}
		return len(ents)
	}
	before := count()
	if before < 0 {
		return
	}
	t.Cleanup(func() {
		if after := count(); after > before {
			t.Errorf("open files: %d before, %d after", before, after)
		}
	})
}

func TestLoadFlagsRamp(t *testing.T) {
	env := &Env{Stdout: io.Discard, Stderr: io.Discard}
	o, err := parseLoadFlags(env, []string{"--ramp", "10s", "--handsets", "100"})
	if err != nil || o.rate != 0 || o.ramp != 10*time.Second {
		t.Errorf("--ramp alone: rate %v ramp %v err %v", o.rate, o.ramp, err)
	}
	o, err = parseLoadFlags(env, []string{"--ramp", "10s", "--rate", "1/s"})
	if err != nil || o.rate != 1 {
		t.Errorf("--ramp with --rate: rate %v err %v", o.rate, err)
	}
	if o.pass == nil || o.shard.Count != 1 {
		t.Errorf("defaults: pass %v shard %v", o.pass, o.shard)
	}
}
