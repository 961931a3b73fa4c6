package retry

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/handset-dev/handset/internal/testutil"
)

func TestDelayWithinBoundsAndSeeded(t *testing.T) {
	r1, r2 := testutil.Rand(7), testutil.Rand(7)
	for n := 0; n <= 12; n++ {
		lo, hi := Bounds(DefaultBase, DefaultMax, n)
		for range 200 {
			d := Delay(DefaultBase, DefaultMax, n, r1)
			if d < lo || d > hi {
				t.Fatalf("Delay(failures=%d) = %v outside [%v, %v]", n, d, lo, hi)
			}
			if d2 := Delay(DefaultBase, DefaultMax, n, r2); d2 != d {
				t.Fatalf("same seed gave %v then %v", d, d2)
			}
		}
	}
	if d := Delay(0, DefaultMax, 3, r1); d != 0 {
		t.Errorf("Delay with zero base = %v, want 0", d)
	}
}

// TestDelaySpread500Handsets is the distribution test: 500 handsets that
// fail at the same instant (a front end restart) must not come back in the
// same second. With a seeded source, no one-second bucket may hold more than
// the stated share, and every second of the window must be used.
func TestDelaySpread500Handsets(t *testing.T) {
	const handsets = 500
	tests := []struct {
		failures int
		maxShare float64 // largest share of handsets allowed in any one second
	}{
		{1, 0.15},  // window [10 s, 20 s]: 10 seconds, 10 % expected per second
		{2, 0.08},  // [20 s, 40 s]: 5 % expected
		{5, 0.025}, // [90 s, 180 s]: 1.1 % expected
	}
	r := testutil.Rand(2026)
	for _, tc := range tests {
		t.Run(fmt.Sprintf("failures=%d", tc.failures), func(t *testing.T) {
			lo, hi := Bounds(DefaultBase, DefaultMax, tc.failures)
			buckets := map[int64]int{}
			var sum time.Duration
			for range handsets {
				d := Delay(DefaultBase, DefaultMax, tc.failures, r)
				buckets[int64(d/time.Second)]++
				sum += d
			}
			worst, worstSec := 0, int64(0)
			for sec, c := range buckets {
				if c > worst {
					worst, worstSec = c, sec
				}
			}
			share := float64(worst) / handsets
			t.Logf("window [%v, %v]: %d distinct seconds, busiest %ds holds %d (%.1f%%), mean %v",
				lo, hi, len(buckets), worstSec, worst, 100*share, sum/handsets)
			if share > tc.maxShare {
				t.Errorf("second %d holds %.1f%% of %d handsets, want ≤ %.1f%%", worstSec, 100*share, handsets, 100*tc.maxShare)
			}
			if want := int(hi/time.Second - lo/time.Second); len(buckets) < want {
				t.Errorf("only %d distinct seconds used, want ≥ %d", len(buckets), want)
			}
			// Uniform on [W/2, W] has mean 3W/4; allow 5 % of W.
			mean := float64(sum / handsets)
			if want := 0.75 * float64(hi); math.Abs(mean-want) > 0.05*float64(hi) {
				t.Errorf("mean %v, want about %v", time.Duration(mean), time.Duration(want))
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	b, err := NewBackoff(0, 0, testutil.Rand(1))
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]time.Duration{{10 * s, 20 * s}, {20 * s, 40 * s}, {40 * s, 80 * s}, {80 * s, 160 * s}, {90 * s, 180 * s}, {90 * s, 180 * s}}
	for i, w := range want {
		if lo, hi := b.Bounds(); lo != w[0] || hi != w[1] {
			t.Fatalf("before failure %d: Bounds = [%v, %v], want %v", i+1, lo, hi, w)
		}
		d := b.Failure()
		if d < w[0] || d > w[1] {
			t.Fatalf("failure %d: delay %v outside %v", i+1, d, w)
		}
		if b.Failures() != i+1 {
			t.Fatalf("Failures() = %d, want %d", b.Failures(), i+1)
		}
	}
	b.Success()
	if b.Failures() != 0 {
		t.Fatalf("after Success, Failures() = %d", b.Failures())
	}
	if d := b.Failure(); d < 10*s || d > 20*s {
		t.Fatalf("first failure after success: %v, want in [10s, 20s]", d)
	}
}

func TestNewBackoffErrors(t *testing.T) {
	r := testutil.Rand(1)
	for _, tc := range []struct {
		base, max time.Duration
		r         bool
	}{{-s, 0, true}, {60 * s, 30 * s, true}, {10 * s, 180 * s, false}} {
		rr := r
		if !tc.r {
			rr = nil
		}
		if _, err := NewBackoff(tc.base, tc.max, rr); !errors.Is(err, errConfig) {
			t.Errorf("NewBackoff(%v, %v, rand=%v) error = %v, want errConfig", tc.base, tc.max, tc.r, err)
		}
	}
}

func TestNotBefore(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name              string
		delay, retryAfter time.Duration
		want              time.Time
	}{
		{"no Retry-After", 15 * s, 0, t0.Add(15 * s)},
		{"Retry-After longer wins", 15 * s, 120 * s, t0.Add(120 * s)},
		{"Retry-After shorter never shortens", 15 * s, 5 * s, t0.Add(15 * s)},
	}
	for _, tc := range tests {
		if got := NotBefore(t0, tc.delay, tc.retryAfter); !got.Equal(tc.want) {
			t.Errorf("%s: NotBefore = %v, want %v", tc.name, got, tc.want)
		}
	}
}
