package bench

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/sipua"
)

// clientGoroutines counts the process's goroutines that are not labfe's
// (no labfe frame and not created by it), by their "created by" function.
func clientGoroutines() (total int, byCreator map[string]int) {
	buf := make([]byte, 16<<20)
	buf = buf[:runtime.Stack(buf, true)]
	byCreator = map[string]int{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "handset/labfe.") {
			continue
		}
		creator := "main"
		if i := strings.Index(g, "created by "); i >= 0 {
			creator = strings.Fields(g[i+len("created by "):])[0]
		}
		total++
		byCreator[creator]++
	}
	return total, byCreator
}

// TestIdleHandsetGoroutines measures issue #7 part 3 (PERFORMANCE.md §5:
// about one goroutine per idle handset, timers on the runtime's timer heap
// rather than a goroutine each): signed-in, idle handsets against an
// in-process labfe, with calls configured, the self-subscriptions and a
// backup server (the failover watch), cost the goroutine that runs each
// handset (Run, the load runner's) plus sipgo's TLS connection reader, and
// nothing else. labfe's own goroutines are told apart by their stacks.
func TestIdleHandsetGoroutines(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	for _, v := range []string{"plain", "calls+subscriptions+backup server"} {
		t.Run(v, func(t *testing.T) {
			const n = 20
			lab, err := StartLab(n, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = lab.Close() }()
			base, baseBy := clientGoroutines()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			exited := make(chan struct{}, n)
			var hs []*sipua.Handset
			defer func() {
				cancel()
				for range hs {
					<-exited
				}
				for _, h := range hs {
					_ = h.Close()
				}
			}()
			for i := range n {
				cfg := lab.handsetConfig(i)
				ready := newWaiter() // registered and subscribed
				reg := make(chan struct{}, 1)
				opts := []sipua.Option{sipua.WithTLSConfig(lab.TLS), sipua.WithDialAddr(lab.FE.Addr()), sipua.WithMessageText(false)}
				if v != "plain" {
					opts = append(opts, sipua.WithCalls(sipua.CallConfig{}), sipua.WithMediaConfig(benchMedia()), sipua.WithSelfSubscriptions(true))
					cfg.Servers = []sipua.ServerConfig{{Address: "pool.contoso.test"}, {Address: "backup.contoso.test"}}
					cfg.FailBack, cfg.FailBackTimeout = sipua.FailBackDuration, time.Hour
				}
				opts = append(opts, sipua.WithObserver(sipua.ObserverFunc(func(ev sipua.Event) {
					ready.Observe(ev)
					if ev.Kind == sipua.EventRegistered {
						select {
						case reg <- struct{}{}:
						default:
						}
					}
				})))
				h, err := sipua.New(cfg, opts...)
				if err != nil {
					t.Fatal(err)
				}
				hs = append(hs, h)
				go func() { _ = h.Run(ctx); exited <- struct{}{} }()
				wait := reg
				if v != "plain" {
					wait = ready.done
				}
				select {
				case <-wait:
				case <-time.After(time.Minute):
					t.Fatalf("handset %d not signed in within a minute", i)
				}
			}
			// Idle: the sign-in's transient goroutines (transactions,
			// subscription handling) are gone once the count settles.
			deadline := time.Now().Add(30 * time.Second)
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			var per float64
			var by map[string]int
			for {
				var total int
				total, by = clientGoroutines()
				if per = float64(total-base) / n; per <= 2 || time.Now().After(deadline) {
					break
				}
				<-tick.C
			}
			var lines []string
			for k, c := range by {
				if d := c - baseBy[k]; d != 0 {
					lines = append(lines, fmt.Sprintf("  %5.2f per handset, created by %s", float64(d)/n, k))
				}
			}
			sort.Strings(lines)
			t.Logf("%.2f client goroutines per idle handset:\n%s", per, strings.Join(lines, "\n"))
			if per > 2 {
				t.Errorf("%.2f goroutines per idle handset, want at most 2 (Run + the connection reader)", per)
			}
		})
	}
}
