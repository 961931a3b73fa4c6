//go:build unix

package media

import (
	"context"
	"math"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/media/rtp"
	"github.com/handset-dev/handset/media/sdp"
)

// PERFORMANCE.md §6 B7 in benchmark form: concurrent calls per core. Each
// op is one 20 ms tick for benchLegs call legs (Session pairs on loopback,
// every leg sending one G.711 packet and receiving one), measured in
// process CPU time (user+sys), so the figure is per core whatever the
// machine's load. The floor is the same number of UDP socket pairs, one
// sender goroutine per socket on the same fake ticker and one reader each,
// sending 172-byte datagrams (RTP header + 160 B) with no RTP, SRTP or
// statistics: the cost of the kernel and the Go runtime alone.

const benchLegs = 100 // 50 Session pairs

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// report turns CPU per op into per-leg figures: CPU per leg per 20 ms and
// legs one core sustains in real time.
func report(b *testing.B, cpu time.Duration) {
	perLegTick := float64(cpu.Nanoseconds()) / float64(b.N) / benchLegs
	b.ReportMetric(perLegTick, "cpu-ns/leg-tick")
	b.ReportMetric(float64(rtp.Ptime.Nanoseconds())/perLegTick, "legs/core")
}

func benchSessions(b *testing.B, encrypted bool) {
	clock := newFakeClock()
	c := testConfig()
	c.KeyLifetime = 0
	if !encrypted {
		c.Policy = sdp.PolicyFromConfig(true, false, false)
	}
	var all []*Session
	ctx, cancel := context.WithCancel(context.Background())
	defer func() {
		cancel()
		for _, s := range all {
			_ = s.Close()
		}
	}()
	for i := range benchLegs / 2 {
		a, err := NewSession(c, WithRand(testutil.NewReader(uint64(2*i+10))), WithClock(clock))
		if err != nil {
			b.Fatal(err)
		}
		bb, err := NewSession(c, WithRand(testutil.NewReader(uint64(2*i+11))), WithClock(clock))
		if err != nil {
			b.Fatal(err)
		}
		all = append(all, a, bb)
		off, err := a.Offer(sdp.SendRecv)
		if err != nil {
			b.Fatal(err)
		}
		ans, err := bb.Answer(off)
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Accept(ans); err != nil {
			b.Fatal(err)
		}
		for _, s := range []*Session{a, bb} {
			if err := s.Start(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	for len(clock.live()) < benchLegs {
		time.Sleep(time.Millisecond) // setup, outside the timed part
	}
	received := func() (n uint64) {
		for _, s := range all {
			n += s.Stats().PacketsReceived
		}
		return n
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	clock.Tick(b.N)
	want := uint64(b.N) * benchLegs
	for deadline := time.Now().Add(30 * time.Second); received() < want && time.Now().Before(deadline); {
		time.Sleep(100 * time.Microsecond)
	}
	cpu := cpuTime() - cpu0
	b.StopTimer()
	var st rtp.Stats
	for _, s := range all {
		st = st.Add(s.Stats().Stats)
	}
	if st.SRTPAuthFailures+st.MKIMismatches+st.ReplayDrops != 0 {
		b.Errorf("srtp errors: %+v", st)
	}
	report(b, cpu)
	b.ReportMetric(float64(want-min(want, received())), "lost")
}

func benchFloor(b *testing.B) {
	clock := newFakeClock()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var conns []*net.UDPConn
	var recv atomic.Uint64
	defer func() {
		cancel()
		for _, c := range conns {
			_ = c.Close()
		}
		wg.Wait()
	}()
	listen := func() *net.UDPConn {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
		return c
	}
	run := func(c *net.UDPConn, peer net.Addr) {
		t := clock.NewTicker(rtp.Ptime)
		wg.Add(2)
		go func() {
			defer wg.Done()
			defer t.Stop()
			pkt := make([]byte, 172)
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C():
					_, _ = c.WriteTo(pkt, peer)
				}
			}
		}()
		go func() {
			defer wg.Done()
			buf := make([]byte, 1500)
			for {
				if _, _, err := c.ReadFrom(buf); err != nil {
					return
				}
				recv.Add(1)
			}
		}()
	}
	for range benchLegs / 2 {
		x, y := listen(), listen()
		run(x, y.LocalAddr())
		run(y, x.LocalAddr())
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	clock.Tick(b.N)
	want := uint64(b.N) * benchLegs
	for deadline := time.Now().Add(30 * time.Second); recv.Load() < want && time.Now().Before(deadline); {
		time.Sleep(100 * time.Microsecond)
	}
	cpu := cpuTime() - cpu0
	b.StopTimer()
	report(b, cpu)
	b.ReportMetric(float64(want-min(want, recv.Load())), "lost")
}

func BenchmarkCallsPerCore(b *testing.B) {
	b.Run("udp-floor", benchFloor)
	b.Run("rtp", func(b *testing.B) { benchSessions(b, false) })
	b.Run("srtp", func(b *testing.B) { benchSessions(b, true) })
}

// TestPrintCallsRatio prints calls per core for SRTP sessions, plain RTP
// sessions and the UDP floor measured in the same run (best of 5
// interleaved rounds each), and the ratios. A
// measurement, not a check (benchmarks never gate on time):
//
//	HANDSET_BENCH_MEDIA=1 go test -run TestPrintCallsRatio -v ./media
func TestPrintCallsRatio(t *testing.T) {
	if os.Getenv("HANDSET_BENCH_MEDIA") == "" {
		t.Skip("set HANDSET_BENCH_MEDIA=1 to run the calls-per-core comparison")
	}
	perLeg := func(f func(*testing.B)) float64 {
		r := testing.Benchmark(f)
		return r.Extra["cpu-ns/leg-tick"]
	}
	// The machine is shared: run the three interleaved, 5 rounds, and keep
	// each one's minimum (the least disturbed run).
	floor, plain, enc := math.Inf(1), math.Inf(1), math.Inf(1)
	for range 5 {
		floor = min(floor, perLeg(benchFloor))
		plain = min(plain, perLeg(func(b *testing.B) { benchSessions(b, false) }))
		enc = min(enc, perLeg(func(b *testing.B) { benchSessions(b, true) }))
	}
	legs := func(ns float64) float64 { return float64(rtp.Ptime.Nanoseconds()) / ns }
	t.Logf("CPU per call leg per 20 ms (1 packet out, 1 in; %d legs): udp floor %.1f µs, rtp %.1f µs, srtp %.1f µs", benchLegs, floor/1e3, plain/1e3, enc/1e3)
	t.Logf("call legs per core: floor %.0f, rtp %.0f, srtp %.0f; core per 1,000 SRTP legs %.2f (floor %.2f)", legs(floor), legs(plain), legs(enc), 1000/legs(enc), 1000/legs(floor))
	t.Logf("ours/floor CPU: srtp %.2f, rtp %.2f (PERFORMANCE.md B7 goal: srtp ≤ 1.15)", enc/floor, plain/floor)
}

// realtime runs legs call legs (Session pairs, or the UDP floor's socket
// pairs) on the system clock for d and returns CPU per leg per 20 ms, the
// packets lost and the largest receive jitter. PERFORMANCE.md B7's shape:
// a goroutine and a ticker per stream.
func realtime(t *testing.T, legs int, d time.Duration, mode string) (perLeg float64, lost uint64, jitter time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var recv atomic.Uint64
	var sent func() uint64
	var received func() uint64
	var stop func()
	switch mode {
	case "floor":
		var wg sync.WaitGroup
		var conns []*net.UDPConn
		var nsent atomic.Uint64
		for range legs {
			c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		for i, c := range conns {
			peer := conns[i^1].LocalAddr()
			wg.Add(2)
			go func() {
				defer wg.Done()
				tk := time.NewTicker(rtp.Ptime)
				defer tk.Stop()
				pkt := make([]byte, 172)
				for {
					select {
					case <-ctx.Done():
						return
					case <-tk.C:
						if _, err := c.WriteTo(pkt, peer); err == nil {
							nsent.Add(1)
						}
					}
				}
			}()
			go func() {
				defer wg.Done()
				buf := make([]byte, 1500)
				for {
					if _, _, err := c.ReadFrom(buf); err != nil {
						return
					}
					recv.Add(1)
				}
			}()
		}
		sent, received = nsent.Load, recv.Load
		stop = func() {
			cancel()
			time.Sleep(50 * time.Millisecond) // in-flight datagrams land before the sockets close
			for _, c := range conns {
				_ = c.Close()
			}
			wg.Wait()
		}
	default:
		c := testConfig()
		c.KeyLifetime = 0
		if mode == "rtp" {
			c.Policy = sdp.PolicyFromConfig(true, false, false)
		}
		var all []*Session
		for i := range legs / 2 {
			a, err := NewSession(c, WithRand(testutil.NewReader(uint64(2*i+100))))
			if err != nil {
				t.Fatal(err)
			}
			b, err := NewSession(c, WithRand(testutil.NewReader(uint64(2*i+101))))
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, a, b)
			off, _ := a.Offer(sdp.SendRecv)
			ans, err := b.Answer(off)
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Accept(ans); err != nil {
				t.Fatal(err)
			}
		}
		for _, s := range all {
			if err := s.Start(ctx); err != nil {
				t.Fatal(err)
			}
		}
		sum := func(f func(Stats) uint64) func() uint64 {
			return func() (n uint64) {
				for _, s := range all {
					n += f(s.Stats())
				}
				return n
			}
		}
		sent = sum(func(s Stats) uint64 { return s.PacketsSent })
		received = sum(func(s Stats) uint64 { return s.PacketsReceived })
		stop = func() {
			for _, s := range all {
				s.mu.Lock()
				st := s.stream
				s.mu.Unlock()
				st.SetSending(false)
			}
			time.Sleep(50 * time.Millisecond) // in-flight packets land before Close
			for _, s := range all {
				_ = s.Close()
				jitter = max(jitter, s.Stats().Jitter)
			}
		}
	}
	time.Sleep(time.Second) // warm-up: every stream started
	cpu0, n0 := cpuTime(), sent()
	time.Sleep(d)
	cpu, n := cpuTime()-cpu0, sent()-n0
	stop()
	lost = sent() - min(sent(), received())
	ticks := float64(n) / float64(legs)
	return float64(cpu.Nanoseconds()) / ticks / float64(legs), lost, jitter
}

// TestPrintRealtimeCalls prints B7 in real time: CPU per 1,000 call legs
// for SRTP sessions and for the UDP floor with a goroutine and ticker per
// stream, at HANDSET_BENCH_MEDIA_RT legs (e.g. 500) for 5 s each.
func TestPrintRealtimeCalls(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("HANDSET_BENCH_MEDIA_RT"))
	if n < 2 {
		t.Skip("set HANDSET_BENCH_MEDIA_RT=<legs> to run the real-time calls measurement")
	}
	n &^= 1
	for _, mode := range []string{"floor", "srtp", "floor", "srtp"} {
		perLeg, lost, jitter := realtime(t, n, 5*time.Second, mode)
		t.Logf("%s, %d legs, 5 s: %.1f µs CPU per leg per 20 ms = %.2f core per 1,000 legs; lost %d; max jitter %v",
			mode, n, perLeg/1e3, perLeg*1000/float64(rtp.Ptime.Nanoseconds()), lost, jitter)
	}
}
