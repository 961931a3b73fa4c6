package metrics

import (
	"sync/atomic"
	"time"
)

// DefaultBuckets are the explicit latency bucket bounds in seconds, shared by
// the CSV percentiles and the Prometheus histograms (livekit/sip style:
// explicit buckets, never the client library's defaults). They span a
// loopback sign-in (a few ms) to a pool that is shedding load (tens of s).
var DefaultBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// histogram is a lock-free fixed-bucket latency histogram.
type histogram struct {
	bounds []float64       // upper bounds in seconds, ascending
	counts []atomic.Uint64 // len(bounds)+1; the last is +Inf
	sum    atomic.Int64    // nanoseconds
}

func newHistogram(bounds []float64) *histogram {
	return &histogram{bounds: bounds, counts: make([]atomic.Uint64, len(bounds)+1)}
}

func (h *histogram) observe(d time.Duration) {
	s := d.Seconds()
	i := 0
	for i < len(h.bounds) && s > h.bounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
}

func (h *histogram) snapshot() Histogram {
	out := Histogram{Bounds: h.bounds, Counts: make([]uint64, len(h.counts)), Sum: time.Duration(h.sum.Load())}
	for i := range h.counts {
		out.Counts[i] = h.counts[i].Load()
	}
	return out
}

// Histogram is a point-in-time copy of a latency histogram.
type Histogram struct {
	Bounds []float64 // upper bounds in seconds; shared, never modified
	Counts []uint64  // per bucket (not cumulative); the last is +Inf
	Sum    time.Duration
}

// Count is the number of observations.
func (h Histogram) Count() uint64 {
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	return n
}

// Sub returns h minus an earlier snapshot of the same histogram.
func (h Histogram) Sub(prev Histogram) Histogram {
	out := Histogram{Bounds: h.Bounds, Counts: make([]uint64, len(h.Counts)), Sum: h.Sum - prev.Sum}
	for i := range h.Counts {
		out.Counts[i] = h.Counts[i]
		if i < len(prev.Counts) {
			out.Counts[i] -= prev.Counts[i]
		}
	}
	return out
}

// Quantile estimates the q-quantile (0 < q ≤ 1) by linear interpolation
// inside the bucket that holds it, as Prometheus' histogram_quantile does.
// It returns 0 with no observations; a quantile in the +Inf bucket returns
// the highest finite bound.
func (h Histogram) Quantile(q float64) time.Duration {
	total := h.Count()
	if total == 0 {
		return 0
	}
	rank := q * float64(total)
	var cum float64
	for i, c := range h.Counts {
		next := cum + float64(c)
		if next >= rank && c > 0 {
			if i == len(h.Bounds) {
				return seconds(h.Bounds[len(h.Bounds)-1])
			}
			lo := 0.0
			if i > 0 {
				lo = h.Bounds[i-1]
			}
			hi := h.Bounds[i]
			return seconds(lo + (hi-lo)*(rank-cum)/float64(c))
		}
		cum = next
	}
	return seconds(h.Bounds[len(h.Bounds)-1])
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
