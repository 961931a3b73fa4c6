package certrenew

import (
	"crypto/x509"
	"time"
)

// Defaults from the seed, "User Certificate Renewal Process".
const (
	// DefaultMaxLead caps how long before expiry the first attempt is made:
	// "30 days before certificate expiry".
	DefaultMaxLead = 30 * 24 * time.Hour
	// DefaultStep is the back-off increment: "10 minutes later … then 20,
	// 30, et cetera".
	DefaultStep = 10 * time.Minute
	// DefaultMaxBackoff is "a maximum backoff of 60 minutes", after which
	// the handset keeps trying "every 60 minutes until the certificate
	// expires".
	DefaultMaxBackoff = 60 * time.Minute
)

// Validity is a certificate's validity period [NotBefore, NotAfter].
type Validity struct {
	NotBefore, NotAfter time.Time
}

// ValidityOf returns the validity period of c.
func ValidityOf(c *x509.Certificate) Validity {
	return Validity{NotBefore: c.NotBefore, NotAfter: c.NotAfter}
}

// Lifetime is the total certificate duration.
func (v Validity) Lifetime() time.Duration { return v.NotAfter.Sub(v.NotBefore) }

// Policy is the renewal schedule. The zero value is the seed's schedule;
// the fields exist so that a time-compressed load run can shrink it (see
// [Policy.Scaled]).
type Policy struct {
	MaxLead    time.Duration // first attempt at most this long before expiry; 0 = 30 days
	Step       time.Duration // back-off after the k-th failure is k×Step; 0 = 10 minutes
	MaxBackoff time.Duration // back-off cap, then retry at this period; 0 = 60 minutes
}

func (p Policy) withDefaults() Policy {
	if p.MaxLead <= 0 {
		p.MaxLead = DefaultMaxLead
	}
	if p.Step <= 0 {
		p.Step = DefaultStep
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = DefaultMaxBackoff
	}
	return p
}

// Scaled returns the policy with every duration divided by factor, for runs
// whose time is compressed (factor 60: an hour of schedule per minute). The
// ¼-of-lifetime rule is a ratio and needs no scaling. factor ≤ 0 or 1 returns
// the policy unchanged.
func (p Policy) Scaled(factor float64) Policy {
	p = p.withDefaults()
	if factor <= 0 || factor == 1 {
		return p
	}
	p.MaxLead = scale(p.MaxLead, factor)
	p.Step = scale(p.Step, factor)
	p.MaxBackoff = scale(p.MaxBackoff, factor)
	return p
}

func scale(d time.Duration, factor float64) time.Duration {
	s := time.Duration(float64(d) / factor)
	if s < 1 {
		s = 1
	}
	return s
}

// Lead is how long before expiry the first attempt is planned: the lower of
// ¼ of the total certificate duration and MaxLead (30 days). The seed's "the
// lower of ¼ of the total certificate duration remaining, or 30 days before
// certificate expiry" is read as the lower of the two remaining times, so a
// one-year certificate starts 30 days before expiry and an 8-hour one 2 hours
// before (protocols.md §0).
func (p Policy) Lead(v Validity) time.Duration {
	p = p.withDefaults()
	lead := v.Lifetime() / 4
	if lead > p.MaxLead {
		lead = p.MaxLead
	}
	if lead < 0 {
		lead = 0
	}
	return lead
}

// Start is the planned instant of the first attempt: NotAfter − Lead.
func (p Policy) Start(v Validity) time.Time { return v.NotAfter.Add(-p.Lead(v)) }

// Backoff is the wait after the failures-th consecutive failed attempt:
// 10, 20, 30 … minutes, capped at 60 (seed, step 2). It is 0 for no failures.
func (p Policy) Backoff(failures int) time.Duration {
	p = p.withDefaults()
	if failures <= 0 {
		return 0
	}
	if int64(failures) >= int64(p.MaxBackoff/p.Step) {
		return p.MaxBackoff
	}
	return min(time.Duration(failures)*p.Step, p.MaxBackoff)
}

// Next returns the instant of the next renewal attempt for a certificate
// valid over v, at now, after the failed attempts made so far for this
// certificate (failed holds the instants each failure was seen; order does
// not matter). ok is false when no attempt remains before the certificate
// expires, or v is empty.
//
// Rules, in order:
//   - no failure yet: the planned start ([Policy.Start]);
//   - after k failures: the latest failure + Backoff(k); if the clock has
//     jumped back before that failure, now + Backoff(k), so that a backward
//     jump never stalls renewal for longer than one back-off;
//   - an instant already past (late login, forward clock jump) becomes now;
//   - never before NotBefore, and never at or after NotAfter.
func (p Policy) Next(v Validity, now time.Time, failed []time.Time) (at time.Time, ok bool) {
	if !v.NotAfter.After(v.NotBefore) {
		return time.Time{}, false
	}
	if len(failed) == 0 {
		at = p.Start(v)
	} else {
		last := failed[0]
		for _, f := range failed[1:] {
			if f.After(last) {
				last = f
			}
		}
		wait := p.Backoff(len(failed))
		at = last.Add(wait)
		if now.Before(last) {
			at = now.Add(wait)
		}
	}
	if at.Before(now) {
		at = now
	}
	if at.Before(v.NotBefore) {
		at = v.NotBefore
	}
	if !at.Before(v.NotAfter) {
		return time.Time{}, false
	}
	return at, true
}

// Planned is one attempt of a [Policy.Plan].
type Planned struct {
	At     time.Time
	Failed bool          // the plan assumed this attempt fails
	Wait   time.Duration // after a failure: the back-off to the next attempt
}

// Plan lists the attempts made for a certificate valid over v, starting at
// now, when the first fail attempts fail (fail < 0: every attempt fails) and
// the next one succeeds. Each failure is taken to happen at the instant of
// its attempt. The list ends with the successful attempt, or with the last
// failure before expiry. It is what `handset cert schedule` prints and what
// the worked example in the package comment shows.
func (p Policy) Plan(v Validity, now time.Time, fail int) []Planned {
	var out []Planned
	var failed []time.Time
	for {
		at, ok := p.Next(v, now, failed)
		if !ok {
			if n := len(out); n > 0 {
				out[n-1].Wait = 0 // no next attempt
			}
			return out
		}
		if fail >= 0 && len(failed) >= fail {
			return append(out, Planned{At: at})
		}
		failed = append(failed, at)
		out = append(out, Planned{At: at, Failed: true, Wait: p.Backoff(len(failed))})
		now = at
	}
}
