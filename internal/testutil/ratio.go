package testutil

import (
	"testing"
	"time"
)

// Peer is the comparison side of a ratio benchmark: a peer library or a
// floor written inside the benchmark (PERFORMANCE.md §6).
type Peer struct {
	Name string    // metric suffix, e.g. "pion" → "ours/pion"
	Fn   func(int) // one operation; i is the iteration number
}

// BenchRatio times subject under b.Loop, then each peer for the same number
// of iterations in the same run, and reports the peer's ns/op and the ratio
// ours/peer (b.ReportMetric). Ratios, not absolute times, are what the
// suite compares: the machine is shared and noisy (PERFORMANCE.md §6).
func BenchRatio(b *testing.B, subject func(int), peers ...Peer) {
	b.Helper()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		subject(i)
		i++
	}
	if i == 0 {
		return
	}
	ours := float64(b.Elapsed().Nanoseconds()) / float64(i)
	for _, p := range peers {
		for j := range min(i, 1000) { // warm caches and lazy state
			p.Fn(j)
		}
		start := time.Now()
		for j := range i {
			p.Fn(j)
		}
		peer := float64(time.Since(start).Nanoseconds()) / float64(i)
		b.ReportMetric(peer, p.Name+"-ns/op")
		if peer > 0 {
			b.ReportMetric(ours/peer, "ours/"+p.Name)
		}
	}
}
