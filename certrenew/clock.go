package certrenew

import "time"

// Clock is the renewer's source of time. The system clock is the default;
// tests use testing/synctest (which fakes the time package) or their own
// Clock to jump the wall clock; a load run uses NewScaledClock.
type Clock interface {
	Now() time.Time
	// NewTimer returns a channel that receives once d has passed, and a
	// function that stops the timer.
	NewTimer(d time.Duration) (<-chan time.Time, func() bool)
}

// SystemClock returns the Clock of the time package.
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// NewScaledClock returns a Clock whose time starts at origin and runs factor
// times faster than the system clock (factor 3600: an hour per second), so a
// load run sees several renewals of hour-long certificates in a few
// seconds. Whoever issues and checks the certificates must use the same
// clock. factor ≤ 0 is taken as 1.
func NewScaledClock(origin time.Time, factor float64) Clock {
	if factor <= 0 {
		factor = 1
	}
	return &scaledClock{origin: origin, start: time.Now(), factor: factor}
}

type scaledClock struct {
	origin, start time.Time
	factor        float64
}

func (c *scaledClock) Now() time.Time {
	return c.origin.Add(time.Duration(float64(time.Since(c.start)) * c.factor))
}

func (c *scaledClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(time.Duration(float64(d) / c.factor))
	return t.C, t.Stop
}
