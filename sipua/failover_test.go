package sipua

import (
	"net"
	"testing"
	"time"

	"github.com/handset-dev/handset/internal/testutil"
)

// TestPlannerTable walks the failover decisions step by step.
func TestPlannerTable(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	const s = time.Second
	d := func(n int) time.Duration { return time.Duration(10<<n) * s / 2 } // W/2 of base 10
	type fail struct {
		server     int
		at         time.Duration // since t0
		retryAfter time.Duration
		moveOn     bool
		want       step
	}
	tests := []struct {
		name   string
		counts []int
		fails  []fail
	}{
		{"one server: RFC 5626 waits grow, count from 1", []int{3}, []fail{
			{0, 0, 0, false, step{server: 0, wait: 10 * s}},
			{0, 10 * s, 0, false, step{server: 0, wait: 20 * s}},
			{0, 30 * s, 0, false, step{server: 0, wait: 40 * s}}, // third failure: list over, still the only server
			{0, 70 * s, 0, false, step{server: 0, wait: 80 * s}},
		}},
		{"one server: 503 Retry-After 30 s outlasts the first delay", []int{3}, []fail{
			{0, 0, 30 * s, true, step{server: 0, wait: 30 * s}},
			{0, 30 * s, 0, false, step{server: 0, wait: 20 * s}},
		}},
		{"two servers: retryMaxCount 2 on the first, then move on at once", []int{2, 3}, []fail{
			{0, 0, 0, false, step{server: 0, wait: 10 * s}},
			{0, 10 * s, 0, false, step{server: 1, wait: 0}},
			{1, 10 * s, 0, false, step{server: 1, wait: 40 * s}},
		}},
		{"two servers: 503 moves on at once, Retry-After holds the first off", []int{3, 3}, []fail{
			{0, 0, 120 * s, true, step{server: 1, wait: 0}},
			{1, 0, 0, true, step{server: 1, wait: 20 * s}}, // both failed: restart; server 1 is held off until 120 s
		}},
		{"all held off: wait for the first that frees", []int{3, 3}, []fail{
			{0, 0, 300 * s, true, step{server: 1, wait: 0}},
			{1, 0, 200 * s, true, step{server: 1, wait: 200 * s}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &planner{}
			p.reset(tc.counts)
			for i, f := range tc.fails {
				got := p.failed(f.server, t0.Add(f.at), f.retryAfter, f.moveOn, d)
				if got.server != f.want.server || got.wait != f.want.wait {
					t.Fatalf("failure %d on server %d: got server %d wait %v (%s), want server %d wait %v",
						i+1, f.server+1, got.server+1, got.wait, got.why, f.want.server+1, f.want.wait)
				}
				if got.why == "" {
					t.Errorf("failure %d: no reason", i+1)
				}
			}
			p.succeeded()
			if p.failures != 0 {
				t.Error("success did not reset the failure count")
			}
		})
	}
}

// TestOrderSRV: priority first; within a priority the RFC 2782 weighted
// order, repeatable with a seed and proportional to weight.
func TestOrderSRV(t *testing.T) {
	recs := []*net.SRV{
		{Target: "c.", Priority: 20, Weight: 0},
		{Target: "a.", Priority: 10, Weight: 90},
		{Target: "b.", Priority: 10, Weight: 10},
	}
	first := map[string]int{}
	r := testutil.Rand(5)
	for range 1000 {
		out := orderSRV(recs, r)
		if len(out) != 3 || out[2].Target != "c." {
			t.Fatalf("priority 20 not last: %v", out)
		}
		first[out[0].Target]++
	}
	// a has weight 90 of 100: about 90 % of first places.
	if first["a."] < 850 || first["a."] > 950 {
		t.Errorf("a first %d of 1000 times, want about 900", first["a."])
	}
	o1 := orderSRV(recs, testutil.Rand(9))
	o2 := orderSRV(recs, testutil.Rand(9))
	for i := range o1 {
		if o1[i] != o2[i] {
			t.Fatal("same seed, different order")
		}
	}
}

func TestParseFailBackMode(t *testing.T) {
	for _, m := range []FailBackMode{FailBackNewRequests, FailBackDNSTTL, FailBackRegistration, FailBackDuration} {
		if got, ok := ParseFailBackMode(m.String()); !ok || got != m {
			t.Errorf("ParseFailBackMode(%q) = %v, %v", m, got, ok)
		}
	}
	if _, ok := ParseFailBackMode("sometimes"); ok {
		t.Error("accepted an unknown mode")
	}
}
