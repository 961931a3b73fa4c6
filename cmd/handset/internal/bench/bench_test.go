package bench

import (
	"context"
	"errors"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/handset-dev/handset/internal/testutil"
)

// Sizes for a 2-core machine in a few minutes (make bench); the env
// variables scale them up on bigger boxes.
func size(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkB4b: sign-in storm (TLS, 3 REGISTERs with NTLM, 3 self-SUBSCRIBEs)
// by sipua vs the bare client against the same in-process labfe.
func BenchmarkB4b(b *testing.B) {
	n, workers := size("HANDSET_BENCH_LOGONS", 500), 8
	for b.Loop() {
		ours, bare, err := SignInStorm(b.Context(), n, workers)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(ours.PerSecond(), "logons/s")
		b.ReportMetric(bare.PerSecond(), "bare-logons/s")
		b.ReportMetric(ours.PerSecond()/bare.PerSecond(), "ours/bare-rate")
		b.ReportMetric(float64(ours.CPUPerSignIn().Microseconds()), "cpu-us/signin")
		b.ReportMetric(float64(ours.CPUPerSignIn())/float64(bare.CPUPerSignIn()), "ours/bare-cpu")
	}
}

// BenchmarkB5: handsets held (keep-alive, re-REGISTER, subscription
// refresh, time-scaled) vs bare TLS connections with reader goroutines.
func BenchmarkB5(b *testing.B) {
	n := size("HANDSET_BENCH_HELD", 1000)
	hold := time.Duration(size("HANDSET_BENCH_HOLD_S", 20)) * time.Second
	for b.Loop() {
		floor, err := HoldFloor(b.Context(), n, hold)
		if err != nil {
			b.Fatal(err)
		}
		// TimeScale 180: a 20 s hold sees a keep-alive every 1.7 s and one
		// re-REGISTER and subscription refresh per handset.
		ours, err := HoldOurs(b.Context(), n, 8, hold, 180)
		if err != nil {
			b.Fatal(err)
		}
		if ours.SignInFailures > 0 {
			b.Fatalf("%d sign-in failures: %v", ours.SignInFailures, ours.FirstSignInError)
		}
		b.ReportMetric(ours.BytesPerConn()/1024, "KiB/handset")
		b.ReportMetric(floor.BytesPerConn()/1024, "floor-KiB/conn")
		b.ReportMetric((ours.BytesPerConn()-floor.BytesPerConn())/1024, "excess-KiB/handset")
		b.ReportMetric(ours.BytesPerConn()/floor.BytesPerConn(), "ours/floor-mem")
		b.ReportMetric(ours.GoroutinesPerConn(), "goroutines/handset")
		b.ReportMetric(ours.IdleCPUFraction()*100, "idle-cpu-%")
		if ours.Dropped > 0 {
			b.Logf("first drop while held: %s", ours.FirstDrop)
		}
		b.ReportMetric(float64(ours.Dropped), "dropped")
		b.ReportMetric(float64(ours.Registrations), "re-registers")
		b.ReportMetric(float64(ours.Subscriptions), "sub-refreshes")
	}
}

// BenchmarkB6: call setups per second, handset pairs through labfe over
// TLS with signing (sipua's call API, SDES-SRTP media started and stopped),
// vs sipp's uac → uas over UDP on the same box.
func BenchmarkB6(b *testing.B) {
	pairs := size("HANDSET_BENCH_CALL_PAIRS", 20)
	window := 5 * time.Second
	for b.Loop() {
		peer, err := SippCallRate(b.Context(), window)
		if errors.Is(err, ErrNoPeer) {
			b.Skip(err)
		}
		if err != nil {
			b.Fatal(err)
		}
		ours, err := CallRate(b.Context(), pairs, window)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(ours.PerSecond(), "calls/s")
		b.ReportMetric(peer, "sipp-udp-calls/s")
		b.ReportMetric(ours.PerSecond()/peer, "ours/sipp")
		b.ReportMetric(float64(ours.Failures), "failed-calls")
	}
}

// BenchmarkB7: CPU per 1,000 concurrent SRTP calls (media/rtp + media/srtp)
// vs the raw-UDP floor of the same calls.
func BenchmarkB7(b *testing.B) {
	n := size("HANDSET_BENCH_CALLS", 500)
	window := time.Duration(size("HANDSET_BENCH_MEDIA_S", 10)) * time.Second
	for b.Loop() {
		floor, err := MediaFloor(b.Context(), n, 2*time.Second, window)
		if err != nil {
			b.Fatal(err)
		}
		ours, err := MediaOurs(b.Context(), n, 2*time.Second, window)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(ours.CoresPer1000(), "cores/1000calls")
		b.ReportMetric(floor.CoresPer1000(), "floor-cores/1000calls")
		b.ReportMetric(ours.CoresPer1000()/floor.CoresPer1000(), "ours/floor-cpu")
		b.ReportMetric(float64(ours.JitterP99.Microseconds())/1000, "jitter-p99-ms")
		b.ReportMetric(float64(ours.SRTPFailures), "srtp-failures")
	}
}

// The scenarios at toy size, as tests: they complete without failures and
// leave no goroutines behind (figures are not checked: benchmarks are never
// timed assertions).
func TestScenariosSmall(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ours, bare, err := SignInStorm(ctx, 6, 3)
	if err != nil || ours.Failures+bare.Failures != 0 {
		t.Fatalf("storm: %v ours %+v bare %+v", err, ours, bare)
	}
	h, err := HoldOurs(ctx, 4, 2, 3*time.Second, 1800)
	if err != nil || h.SignInFailures != 0 || h.Dropped != 0 {
		t.Fatalf("hold: %v %+v", err, h)
	}
	if h.Registrations == 0 || h.Subscriptions == 0 {
		t.Errorf("no refreshes while held (time-scaled 2 s expiry): %+v", h)
	}
	if _, err = HoldFloor(ctx, 4, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	m, err := MediaOurs(ctx, 2, 200*time.Millisecond, 500*time.Millisecond)
	if err != nil || m.PacketsRecv == 0 || m.SRTPFailures != 0 {
		t.Fatalf("media: %v %+v", err, m)
	}
	if _, err := MediaFloor(ctx, 2, 100*time.Millisecond, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
}

func TestCallRateSmall(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r, err := CallRate(ctx, 2, 2*time.Second)
	if err != nil || r.Calls == 0 || r.Failures != 0 {
		t.Fatalf("%v %+v", err, r)
	}
}
