// Package retry implements the registration retry timing of RFC 5626 §4.5
// ("Flow Recovery"), which the Spectralink 84-Series applies to REGISTER
// through reg.x.server.y.registerRetry.baseTimeOut and maxTimeOut (seed
// Appendix A; Polycom UCS admin guides: "algorithm defined in RFC 5626").
//
// RFC 5626 §4.5 computes an upper-bound wait time
//
//	W = min (max-time, (base-time * (2 ^ consecutive-failures)))
//
// and the UA waits "a uniform random time between 50 and 100% of the
// upper-bound wait time" (the retry delay time) before the next attempt. The
// RFC's own example fixes where the count starts: with a base-time of 30 s
// and three failures, W = min(1800, 30*(2^3)) = 240 s. So consecutive-failures
// is the number of failed attempts so far, and the first retry (after one
// failure) already uses 2^1: with the Lync base profile (base 10 s, max 180 s)
// the waits are drawn from [10,20], [20,40], [40,80], [80,160], [90,180],
// [90,180] … seconds. TestBoundsRFC5626Example pins this.
//
// The RFC also lets a 503 with Retry-After make the UA wait longer (never
// shorter): see [NotBefore] and [ParseRetryAfter].
//
// Everything here is pure: randomness comes from an injected *rand.Rand and
// no function reads the clock, so a seeded run repeats exactly.
package retry

import (
	"math/rand/v2"
	"time"
)

// Lync base-profile values of reg.x.server.y.registerRetry.baseTimeOut and
// maxTimeOut (seed Appendix A: 10 and 180 seconds).
const (
	DefaultBase = 10 * time.Second
	DefaultMax  = 180 * time.Second
)

// Bounds returns the interval [lo, hi] the retry delay is drawn from after
// consecutiveFailures failed attempts: hi is RFC 5626's upper-bound wait time
// W = min(max, base × 2^consecutiveFailures) and lo is W/2. A negative count
// is treated as zero (W = base); max below base is treated as base. Large
// counts saturate at max without overflowing.
func Bounds(base, max time.Duration, consecutiveFailures int) (lo, hi time.Duration) {
	if base <= 0 {
		return 0, 0
	}
	if max < base {
		max = base
	}
	n := consecutiveFailures
	if n < 0 {
		n = 0
	}
	hi = base
	for i := 0; i < n && hi < max; i++ {
		if hi > max/2 { // doubling would pass max (or overflow)
			hi = max
			break
		}
		hi *= 2
	}
	return hi / 2, hi
}

// Delay draws the retry delay time: uniform in [lo, hi] of [Bounds], with
// nanosecond resolution, from r. It is a pure function of its arguments and
// the state of r.
func Delay(base, max time.Duration, consecutiveFailures int, r *rand.Rand) time.Duration {
	lo, hi := Bounds(base, max, consecutiveFailures)
	if hi <= lo {
		return hi
	}
	return lo + time.Duration(r.Int64N(int64(hi-lo)+1))
}

// NotBefore returns the earliest instant the next REGISTER to a server may be
// sent after an attempt that failed at failedAt: the retry delay, or the
// server's Retry-After when that is longer. RFC 5626 §4.5 says a 503 with
// Retry-After "may cause the UA to wait longer"; RFC 3261 §21.5.4 says the
// server is unavailable for that period. retryAfter ≤ 0 means none was given.
func NotBefore(failedAt time.Time, delay, retryAfter time.Duration) time.Time {
	if retryAfter > delay {
		return failedAt.Add(retryAfter)
	}
	return failedAt.Add(delay)
}
