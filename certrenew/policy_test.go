package certrenew

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/handset-dev/handset/internal/testutil"
)

const (
	min_ = time.Minute
	hour = time.Hour
	day  = 24 * time.Hour
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func validity(life time.Duration) Validity { return Validity{NotBefore: t0, NotAfter: t0.Add(life)} }

// TestFirstAttempt checks the seed's start rule, min(¼ lifetime, 30 days)
// before expiry, for many certificate lifetimes.
func TestFirstAttempt(t *testing.T) {
	tests := []struct {
		life, lead time.Duration
	}{
		{2 * 365 * day, 30 * day},
		{365 * day, 30 * day},
		{121 * day, 30 * day}, // ¼ = 30.25 d: the 30-day cap wins
		{120 * day, 30 * day}, // both rules agree
		{90 * day, 22*day + 12*hour},
		{30 * day, 7*day + 12*hour},
		{7 * day, 42 * hour},
		{8 * hour, 2 * hour},
		{hour, 15 * min_},
		{10 * min_, 150 * time.Second},
		{4 * time.Nanosecond, time.Nanosecond},
	}
	for _, tc := range tests {
		t.Run(tc.life.String(), func(t *testing.T) {
			v := validity(tc.life)
			if got := (Policy{}).Lead(v); got != tc.lead {
				t.Errorf("Lead = %v, want %v", got, tc.lead)
			}
			at, ok := Policy{}.Next(v, t0, nil)
			if want := v.NotAfter.Add(-tc.lead); !ok || !at.Equal(want) {
				t.Errorf("Next at issue = %v, %v; want %v", at, ok, want)
			}
		})
	}
}

func TestBackoffCappedAt60Minutes(t *testing.T) {
	want := []time.Duration{0, 10 * min_, 20 * min_, 30 * min_, 40 * min_, 50 * min_, 60 * min_, 60 * min_, 60 * min_, 60 * min_}
	var got []time.Duration
	for k := range want {
		got = append(got, Policy{}.Backoff(k))
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Backoff(0..9) (-want +got):\n%s", d)
	}
	if b := (Policy{}).Backoff(1 << 62); b != 60*min_ {
		t.Errorf("Backoff(huge) = %v", b)
	}
	if b := (Policy{}).Backoff(-1); b != 0 {
		t.Errorf("Backoff(-1) = %v", b)
	}
}

// TestNext is the policy table: lifetimes × failure sequences × clocks.
func TestNext(t *testing.T) {
	y := validity(365 * day)
	start := y.NotAfter.Add(-30 * day) // 2026-12-02T00:00Z
	h8 := validity(8 * hour)
	tests := []struct {
		name   string
		v      Validity
		now    time.Time
		failed []time.Time
		want   time.Time // zero: no attempt (ok false)
	}{
		{"1y at issue: planned start", y, t0, nil, start},
		{"1y late login: attempt now", y, start.Add(5 * day), nil, start.Add(5 * day)},
		{"1y one failure: +10m", y, start, []time.Time{start}, start.Add(10 * min_)},
		{"1y two failures: +20m after the last", y, start.Add(10 * min_), []time.Time{start, start.Add(10 * min_)}, start.Add(30 * min_)},
		{"failures in any order", y, start.Add(10 * min_), []time.Time{start.Add(10 * min_), start}, start.Add(30 * min_)},
		{"1y seven failures: +60m", y, start.Add(6 * hour), failures(start, 7), start.Add(7 * hour)},
		{"1y twenty failures: still +60m", y, start.Add(19 * hour), failures(start, 20), start.Add(20 * hour)},
		{"retry due while asleep: now", y, start.Add(3 * hour), []time.Time{start}, start.Add(3 * hour)},
		{"8h one failure", h8, t0.Add(6 * hour), []time.Time{t0.Add(6 * hour)}, t0.Add(6*hour + 10*min_)},
		{"8h retry would land after expiry: none", h8, t0.Add(7*hour + 40*min_), []time.Time{t0.Add(6 * hour), t0.Add(6*hour + 10*min_), t0.Add(6*hour + 30*min_), t0.Add(7 * hour), t0.Add(7*hour + 40*min_)}, time.Time{}},
		{"retry landing exactly at expiry: none", h8, t0.Add(7*hour + 50*min_), []time.Time{t0.Add(7*hour + 50*min_)}, time.Time{}},
		{"never at or after notAfter", y, y.NotAfter, nil, time.Time{}},
		{"long after expiry", y, y.NotAfter.Add(day), []time.Time{start}, time.Time{}},
		{"never before notBefore: clock far behind", h8, t0.Add(-100 * day), nil, t0.Add(6 * hour)},
		{"never before notBefore: failure seen before notBefore", h8, t0.Add(-day), []time.Time{t0.Add(-day)}, t0},
		{"clock jumped back past the last failure", y, start.Add(-10 * day), []time.Time{start}, start.Add(-10*day + 10*min_)},
		{"clock jumped forward within validity", y, start.Add(20 * day), []time.Time{start}, start.Add(20 * day)},
		{"clock jumped forward past expiry", y, y.NotAfter.Add(time.Nanosecond), []time.Time{start}, time.Time{}},
		{"empty validity", Validity{t0, t0}, t0, nil, time.Time{}},
		{"reversed validity", Validity{t0, t0.Add(-hour)}, t0, nil, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at, ok := Policy{}.Next(tc.v, tc.now, tc.failed)
			if ok != !tc.want.IsZero() || !at.Equal(tc.want) {
				t.Errorf("Next = %v, %v; want %v", at, ok, tc.want)
			}
		})
	}
}

// failures returns n failure instants following the seed's back-off from start.
func failures(start time.Time, n int) []time.Time {
	var out []time.Time
	at := start
	for k := 1; k <= n; k++ {
		out = append(out, at)
		at = at.Add(Policy{}.Backoff(k))
	}
	// The table cases above assume the last failure at start+(n-1) hours for
	// n ≥ 7; keep the schedule but anchor the last one there.
	if n >= 7 {
		out[len(out)-1] = start.Add(time.Duration(n-1) * hour)
	}
	return out
}

// TestNextInvariants checks, for random lifetimes, clocks and failure
// histories, that an attempt is never before now or NotBefore and never at
// or after NotAfter.
func TestNextInvariants(t *testing.T) {
	r := testutil.Rand(5)
	for i := range 20000 {
		life := time.Duration(r.Int64N(int64(2*365*day))) + 1
		v := validity(life)
		now := t0.Add(time.Duration(r.Int64N(int64(3*life))) - life)
		var failed []time.Time
		for range r.IntN(12) {
			failed = append(failed, t0.Add(time.Duration(r.Int64N(int64(3*life)))-life))
		}
		at, ok := Policy{}.Next(v, now, failed)
		if !ok {
			continue
		}
		if at.Before(now) || at.Before(v.NotBefore) || !at.Before(v.NotAfter) {
			t.Fatalf("case %d: life %v now %v failed %v: attempt %v outside [max(now, notBefore), notAfter)", i, life, now, failed, at)
		}
		if from := maxTime(now, v.NotBefore); len(failed) > 0 && at.Sub(from) > 60*min_ {
			t.Fatalf("case %d: retry %v is more than one back-off after now %v", i, at, now)
		}
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// TestPlanHourlyUntilExpiry: with the service down, a one-year certificate
// sees 10, 20, 30, 40, 50 minutes, then every 60 minutes until expiry.
func TestPlanHourlyUntilExpiry(t *testing.T) {
	v := validity(365 * day)
	plan := Policy{}.Plan(v, t0, -1)
	if len(plan) != 723 {
		t.Fatalf("%d attempts, want 723", len(plan))
	}
	for i := 1; i < len(plan); i++ {
		gap := plan[i].At.Sub(plan[i-1].At)
		want := min(time.Duration(i)*10*min_, 60*min_)
		if gap != want {
			t.Fatalf("gap before attempt %d = %v, want %v", i+1, gap, want)
		}
		if plan[i-1].Wait != gap {
			t.Fatalf("attempt %d Wait = %v, want %v", i, plan[i-1].Wait, gap)
		}
	}
	last := plan[len(plan)-1]
	if !last.At.Before(v.NotAfter) || last.At.Add(60*min_).Before(v.NotAfter) || last.Wait != 0 {
		t.Errorf("last attempt %v (wait %v): want the last hourly slot before %v", last.At, last.Wait, v.NotAfter)
	}
}

func TestPlanFailures(t *testing.T) {
	v := validity(8 * hour)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	tests := []struct {
		fail int
		want []Planned
	}{
		{0, []Planned{{At: at(6 * hour)}}},
		{2, []Planned{
			{At: at(6 * hour), Failed: true, Wait: 10 * min_},
			{At: at(6*hour + 10*min_), Failed: true, Wait: 20 * min_},
			{At: at(6*hour + 30*min_)},
		}},
		{-1, []Planned{
			{At: at(6 * hour), Failed: true, Wait: 10 * min_},
			{At: at(6*hour + 10*min_), Failed: true, Wait: 20 * min_},
			{At: at(6*hour + 30*min_), Failed: true, Wait: 30 * min_},
			{At: at(7 * hour), Failed: true, Wait: 40 * min_},
			{At: at(7*hour + 40*min_), Failed: true},
		}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.fail), func(t *testing.T) {
			if d := cmp.Diff(tc.want, Policy{}.Plan(v, t0, tc.fail)); d != "" {
				t.Errorf("Plan (-want +got):\n%s", d)
			}
		})
	}
	// More failures than attempts fit: the same as -1.
	if d := cmp.Diff(Policy{}.Plan(v, t0, -1), Policy{}.Plan(v, t0, 99)); d != "" {
		t.Errorf("fail=99 differs from fail=-1:\n%s", d)
	}
}

func TestPolicyScaled(t *testing.T) {
	got := Policy{}.Scaled(60)
	want := Policy{MaxLead: 12 * hour, Step: 10 * time.Second, MaxBackoff: time.Minute}
	if got != want {
		t.Errorf("Scaled(60) = %+v, want %+v", got, want)
	}
	if got := (Policy{}).Scaled(1); got != (Policy{}).withDefaults() {
		t.Errorf("Scaled(1) = %+v", got)
	}
}
