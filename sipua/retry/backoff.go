package retry

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Backoff tracks consecutive registration failures for one server (RFC 5626
// §4.5 counts "consecutive registration failures for that URI") and yields
// the delay before each retry. It is not safe for concurrent use: the
// registration loop that owns it is its only user.
type Backoff struct {
	base, max time.Duration
	failures  int
	r         *rand.Rand
}

// NewBackoff returns a Backoff with the given base and max times (zero means
// the Lync base-profile default) drawing its jitter from r.
func NewBackoff(base, max time.Duration, r *rand.Rand) (*Backoff, error) {
	if base == 0 {
		base = DefaultBase
	}
	if max == 0 {
		max = DefaultMax
	}
	switch {
	case base < 0:
		return nil, fmt.Errorf("%w: base %v is negative", errConfig, base)
	case max < base:
		return nil, fmt.Errorf("%w: max %v is below base %v", errConfig, max, base)
	case r == nil:
		return nil, fmt.Errorf("%w: no random source", errConfig)
	}
	return &Backoff{base: base, max: max, r: r}, nil
}

// Failure records a failed attempt and returns how long to wait before the
// next one. The first call uses consecutive-failures = 1 (see package doc).
func (b *Backoff) Failure() time.Duration {
	if b.failures < 1<<30 { // no overflow after years of failures
		b.failures++
	}
	return Delay(b.base, b.max, b.failures, b.r)
}

// Success resets the failure count: the next failure starts again at 1.
func (b *Backoff) Success() { b.failures = 0 }

// Failures returns the current count of consecutive failures.
func (b *Backoff) Failures() int { return b.failures }

// Bounds returns the interval the next Failure's delay will be drawn from.
func (b *Backoff) Bounds() (lo, hi time.Duration) {
	return Bounds(b.base, b.max, b.failures+1)
}
