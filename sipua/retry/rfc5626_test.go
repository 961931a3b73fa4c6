package retry

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const s = time.Second

// TestBoundsRFC5626Example pins where consecutive-failures starts, using the
// example in RFC 5626 §4.5: base-time 30 s, max-time 1800 s, three failures
// give an upper-bound wait time of min(1800, 30*(2^3)) = 240 s.
func TestBoundsRFC5626Example(t *testing.T) {
	lo, hi := Bounds(30*s, 1800*s, 3)
	if hi != 240*s || lo != 120*s {
		t.Fatalf("Bounds(30s, 1800s, 3) = [%v, %v], want [2m0s, 4m0s]", lo, hi)
	}
}

// TestBoundsTable is the retry-time table: the interval each retry delay is
// drawn from, for failures 1..10, with the Lync base profile (10/180 s) and
// other values in the seed's permitted ranges (base 10–120, max 60–1800).
func TestBoundsTable(t *testing.T) {
	tests := []struct {
		name      string
		base, max time.Duration
		want      [10][2]time.Duration // [lo, hi] for failures 1..10
	}{
		{"lync base profile 10/180", 10 * s, 180 * s, [10][2]time.Duration{
			{10 * s, 20 * s}, {20 * s, 40 * s}, {40 * s, 80 * s}, {80 * s, 160 * s}, {90 * s, 180 * s},
			{90 * s, 180 * s}, {90 * s, 180 * s}, {90 * s, 180 * s}, {90 * s, 180 * s}, {90 * s, 180 * s},
		}},
		{"RFC 5626 defaults, all flows failed 30/1800", 30 * s, 1800 * s, [10][2]time.Duration{
			{30 * s, 60 * s}, {60 * s, 120 * s}, {120 * s, 240 * s}, {240 * s, 480 * s}, {480 * s, 960 * s},
			{900 * s, 1800 * s}, {900 * s, 1800 * s}, {900 * s, 1800 * s}, {900 * s, 1800 * s}, {900 * s, 1800 * s},
		}},
		{"RFC 5626 defaults, some flows up 90/1800", 90 * s, 1800 * s, [10][2]time.Duration{
			{90 * s, 180 * s}, {180 * s, 360 * s}, {360 * s, 720 * s}, {720 * s, 1440 * s}, {900 * s, 1800 * s},
			{900 * s, 1800 * s}, {900 * s, 1800 * s}, {900 * s, 1800 * s}, {900 * s, 1800 * s}, {900 * s, 1800 * s},
		}},
		{"seed minimum max 10/60", 10 * s, 60 * s, [10][2]time.Duration{
			{10 * s, 20 * s}, {20 * s, 40 * s}, {30 * s, 60 * s}, {30 * s, 60 * s}, {30 * s, 60 * s},
			{30 * s, 60 * s}, {30 * s, 60 * s}, {30 * s, 60 * s}, {30 * s, 60 * s}, {30 * s, 60 * s},
		}},
		{"seed maximum base 120/1800", 120 * s, 1800 * s, [10][2]time.Duration{
			{120 * s, 240 * s}, {240 * s, 480 * s}, {480 * s, 960 * s}, {900 * s, 1800 * s}, {900 * s, 1800 * s},
			{900 * s, 1800 * s}, {900 * s, 1800 * s}, {900 * s, 1800 * s}, {900 * s, 1800 * s}, {900 * s, 1800 * s},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got [10][2]time.Duration
			for n := 1; n <= 10; n++ {
				lo, hi := Bounds(tc.base, tc.max, n)
				got[n-1] = [2]time.Duration{lo, hi}
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("bounds for failures 1..10 (-want +got):\n%s", d)
			}
		})
	}
}

func TestBoundsEdges(t *testing.T) {
	tests := []struct {
		name      string
		base, max time.Duration
		n         int
		lo, hi    time.Duration
	}{
		{"zero failures is base", 10 * s, 180 * s, 0, 5 * s, 10 * s},
		{"negative failures is base", 10 * s, 180 * s, -3, 5 * s, 10 * s},
		{"max below base", 10 * s, 5 * s, 4, 5 * s, 10 * s},
		{"zero base", 0, 180 * s, 4, 0, 0},
		{"negative base", -s, 180 * s, 4, 0, 0},
		{"huge count saturates", 10 * s, 180 * s, math.MaxInt, 90 * s, 180 * s},
		{"huge max does not overflow", 10 * s, time.Duration(math.MaxInt64), 200, time.Duration(math.MaxInt64) / 2, time.Duration(math.MaxInt64)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lo, hi := Bounds(tc.base, tc.max, tc.n)
			if lo != tc.lo || hi != tc.hi {
				t.Errorf("Bounds(%v, %v, %d) = [%v, %v], want [%v, %v]", tc.base, tc.max, tc.n, lo, hi, tc.lo, tc.hi)
			}
		})
	}
}

// TestFirstRetryRFC5626Text pins the count's start a second way: RFC 5626
// §4.5 says that with the default base-time of 30 s "the first retry
// happens somewhere between 30 and 60 seconds after the failure of the
// first registration request", i.e. one failure already doubles base-time.
func TestFirstRetryRFC5626Text(t *testing.T) {
	if lo, hi := Bounds(30*s, 1800*s, 1); lo != 30*s || hi != 60*s {
		t.Fatalf("after the first failure: [%v, %v], want [30s, 1m0s]", lo, hi)
	}
}
