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

// ratioChunk is how many operations run between switches from the subject
// to the peers. Interleaving makes both sides see the same machine load (the
// box is shared); a chunk is long enough that StopTimer's bookkeeping does
// not matter.
const ratioChunk = 1024

// BenchRatio times subject under b.Loop and, interleaved in chunks with it,
// each peer for as many iterations, and reports each peer's ns/op and the
// ratio ours/peer (b.ReportMetric). Ratios, not absolute times, are what the
// suite compares: the machine is shared and noisy (PERFORMANCE.md §6).
func BenchRatio(b *testing.B, subject func(int), peers ...Peer) {
	b.Helper()
	b.ReportAllocs()
	peerTime := make([]time.Duration, len(peers))
	runPeers := func(from, n int) {
		for k, p := range peers {
			start := time.Now()
			for j := range n {
				p.Fn(from + j)
			}
			peerTime[k] += time.Since(start)
		}
	}
	i, peerN := 0, 0
	for b.Loop() {
		subject(i)
		i++
		if i%ratioChunk == 0 {
			b.StopTimer()
			runPeers(peerN, ratioChunk)
			peerN += ratioChunk
			b.StartTimer()
		}
	}
	if i == 0 {
		return
	}
	if peerN == 0 { // a short run: the peers after the subject
		runPeers(0, i)
		peerN = i
	}
	ours := float64(b.Elapsed().Nanoseconds()) / float64(i)
	for k, p := range peers {
		peer := float64(peerTime[k].Nanoseconds()) / float64(peerN)
		b.ReportMetric(peer, p.Name+"-ns/op")
		if peer > 0 {
			b.ReportMetric(ours/peer, "ours/"+p.Name)
		}
	}
}
