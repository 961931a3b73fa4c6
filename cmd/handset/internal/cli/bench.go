package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/handset-dev/handset/cmd/handset/internal/bench"
)

func init() {
	register(&Command{Name: "bench", Summary: "run the system benchmarks of PERFORMANCE.md §6 (B4b, B5, B6, B7), each as a ratio to a peer or floor measured in the same run", Run: runBench})
}

type benchOptions struct {
	only    []string
	logons  int
	workers int
	held    int
	hold    time.Duration
	calls   int
	media   time.Duration
	pairs   int
}

var benchNames = []string{"B4b", "B5", "B6", "B7"}

func runBench(ctx context.Context, env *Env, args []string) int {
	o := benchOptions{}
	fs := newFlagSet(env, "bench")
	only := fs.String("only", strings.Join(benchNames, ","), "comma-separated benchmarks to run: "+strings.Join(benchNames, ", "))
	fs.IntVar(&o.logons, "logons", 500, "B4b: sign-ins (logons) per side")
	fs.IntVar(&o.workers, "workers", 8, "B4b/B5: concurrent sign-ins")
	fs.IntVar(&o.held, "held", 1000, "B5: handsets held")
	fs.DurationVar(&o.hold, "hold", 20*time.Second, "B5: how long they are held (time-scaled 180x: one re-REGISTER and subscription refresh)")
	fs.IntVar(&o.pairs, "pairs", 20, "B6: caller/callee handset pairs calling back to back")
	fs.IntVar(&o.calls, "calls", 500, "B7: concurrent SRTP calls (two streams each)")
	fs.DurationVar(&o.media, "media", 10*time.Second, "B7: measured window per side (after 2 s warm-up)")
	if err := fs.Parse(args); err != nil {
		return fail(env, &UsageError{err})
	}
	if fs.NArg() > 0 {
		return fail(env, &UsageError{fmt.Errorf("bench: unexpected argument %q", fs.Arg(0))})
	}
	for _, n := range strings.Split(*only, ",") {
		n = strings.TrimSpace(n)
		i := slices.IndexFunc(benchNames, func(b string) bool { return strings.EqualFold(b, n) })
		if i < 0 {
			return fail(env, &UsageError{fmt.Errorf("bench: unknown benchmark %q (want %s)", n, strings.Join(benchNames, ", "))})
		}
		o.only = append(o.only, benchNames[i])
	}
	if o.logons <= 0 || o.held <= 0 || o.calls <= 0 || o.workers <= 0 || o.pairs <= 0 {
		return fail(env, &UsageError{errors.New("bench: sizes must be positive")})
	}
	quietSipgo()
	fmt.Fprintf(env.Stdout, "handset bench: %s, %d CPUs (%s), GOMAXPROCS %d\n", runtime.Version(), runtime.NumCPU(), cpuModel(), runtime.GOMAXPROCS(0))
	fmt.Fprintln(env.Stdout, "labfe runs in this process: CPU and memory include its share for subject and peer alike. Ratios are the figures; absolute numbers are for trends.")
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BENCH\tOURS\tPEER/FLOOR\tRATIO\tGOAL")
	failed := false
	// The table is aligned once at the end; progress goes to stderr.
	row := func(cols ...string) { fmt.Fprintln(tw, strings.Join(cols, "\t")) }
	for _, name := range o.only {
		fmt.Fprintf(env.Stderr, "running %s…\n", name)
		if err := runOneBench(ctx, name, o, row); err != nil {
			failed = true
			row(name, "error: "+err.Error(), "", "", "")
		}
	}
	_ = tw.Flush()
	fmt.Fprintln(env.Stdout, "B1 (SRTP) and B2 (NTLM/MS-SIPAE) are micro-benchmarks: make bench, or go test -bench 'B1|B2' ./media/srtp ./auth/sipae")
	if failed {
		return ExitRunFailed
	}
	return ExitOK
}

func runOneBench(ctx context.Context, name string, o benchOptions, row func(...string)) error {
	switch name {
	case "B4b":
		ours, bare, err := bench.SignInStorm(ctx, o.logons, o.workers)
		if err != nil {
			return err
		}
		row("B4b sign-ins/s (TLS, 3 REGISTER NTLM, 3 SUBSCRIBE)", fmt.Sprintf("%.0f/s", ours.PerSecond()), fmt.Sprintf("%.0f/s bare client", bare.PerSecond()),
			fmt.Sprintf("%.2f", ours.PerSecond()/bare.PerSecond()), "≥ 0.8")
		row("B4b CPU per sign-in (client + labfe)", ours.CPUPerSignIn().Round(time.Microsecond).String(), bare.CPUPerSignIn().Round(time.Microsecond).String(),
			fmt.Sprintf("%.2f", float64(ours.CPUPerSignIn())/float64(bare.CPUPerSignIn())), "≤ 1.5")
	case "B5":
		floor, err := bench.HoldFloor(ctx, o.held, o.hold)
		if err != nil {
			return err
		}
		ours, err := bench.HoldOurs(ctx, o.held, o.workers, o.hold, 180)
		if err != nil {
			return err
		}
		if ours.SignInFailures > 0 {
			return fmt.Errorf("%d sign-in failures: %w", ours.SignInFailures, ours.FirstSignInError)
		}
		row(fmt.Sprintf("B5 memory per held handset (N=%d, client + labfe)", o.held), fmt.Sprintf("%.1f KiB", ours.BytesPerConn()/1024),
			fmt.Sprintf("%.1f KiB bare TLS conn", floor.BytesPerConn()/1024), fmt.Sprintf("+%.1f KiB", (ours.BytesPerConn()-floor.BytesPerConn())/1024), "≤ +25 KiB")
		row("B5 goroutines per held handset (client + labfe)", fmt.Sprintf("%.2f", ours.GoroutinesPerConn()), fmt.Sprintf("%.2f", floor.GoroutinesPerConn()),
			fmt.Sprintf("%.2f", ours.GoroutinesPerConn()/max(floor.GoroutinesPerConn(), 1e-9)), "≤ 1.1 per handset")
		row(fmt.Sprintf("B5 idle CPU over %s (%d re-REGISTERs, %d refreshes, %d dropped)", ours.Held.Round(time.Second), ours.Registrations, ours.Subscriptions, ours.Dropped),
			fmt.Sprintf("%.1f%% of a core", ours.IdleCPUFraction()*100), fmt.Sprintf("%.1f%%", floor.IdleCPUFraction()*100), "", "≤ 5% at 10,000")
		if ours.Dropped > 0 {
			row("B5 first drop", ours.FirstDrop, "", "", "0 dropped")
		}
	case "B6":
		rate, err := bench.SippCallRate(ctx, 5*time.Second)
		if err != nil {
			return err
		}
		ours, err := bench.CallRate(ctx, o.pairs, 5*time.Second)
		if err != nil {
			return err
		}
		row(fmt.Sprintf("B6 call setups/s (%d pairs, TLS, signed, SRTP, no hold; %d failed)", o.pairs, ours.Failures),
			fmt.Sprintf("%.0f/s", ours.PerSecond()), fmt.Sprintf("%.0f/s sipp UDP", rate), fmt.Sprintf("%.2f", ours.PerSecond()/rate), "≥ 0.25")
	case "B7":
		floor, err := bench.MediaFloor(ctx, o.calls, 2*time.Second, o.media)
		if err != nil {
			return err
		}
		ours, err := bench.MediaOurs(ctx, o.calls, 2*time.Second, o.media)
		if err != nil {
			return err
		}
		row(fmt.Sprintf("B7 cores per 1,000 SRTP calls (N=%d)", o.calls), fmt.Sprintf("%.2f", ours.CoresPer1000()), fmt.Sprintf("%.2f raw UDP", floor.CoresPer1000()),
			fmt.Sprintf("%.2f", ours.CoresPer1000()/floor.CoresPer1000()), "≤ 1.15")
		row("B7 receive jitter p99 (RFC 3550), SRTP failures", fmt.Sprintf("%.1f ms, %d", float64(ours.JitterP99.Microseconds())/1000, ours.SRTPFailures), "", "", "≤ 2 ms, 0")
	}
	return nil
}

// cpuModel reads the CPU model name (Linux); "" elsewhere.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }()
	return modelName(f)
}

func modelName(r io.Reader) string {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
