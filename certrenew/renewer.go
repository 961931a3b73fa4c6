package certrenew

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// Defaults of [Config].
const (
	// DefaultMinValidity: an issued certificate valid for less than an hour
	// is refused (issue #5); renewing it would start over almost at once.
	DefaultMinValidity = time.Hour
	// DefaultAttemptTimeout bounds one Issuer call. The seed says renewal
	// "generally takes less than a minute"; allow twice that.
	DefaultAttemptTimeout = 2 * time.Minute
)

// Issuer obtains a new user certificate for the handset: the
// certificate-provisioning web service (GetAndPublishCert with a fresh web
// ticket, protocols.md §6.5), implemented by auth/certprov. ctx bounds the
// whole request. The returned certificate carries its private key.
type Issuer interface {
	Issue(ctx context.Context) (*tls.Certificate, error)
}

// RekeyFunc tells the handset to start a new TLS-DSK security association
// with the certificate now in the Store (SIPE clears its auth state and sends
// an unsigned REGISTER, protocols.md §6.5) and returns once it is
// established. Registration keeps working meanwhile; the time it takes is
// reported as the renewal's gap without service.
type RekeyFunc func(ctx context.Context) error

// Config holds the renewal settings. The zero value is the seed's schedule.
type Config struct {
	Policy         Policy        // schedule; zero = seed values
	MinValidity    time.Duration // refuse issued certificates valid for less; 0 = 1 hour
	AttemptTimeout time.Duration // bound on one Issuer call; 0 = 2 minutes
}

func (c Config) withDefaults() Config {
	c.Policy = c.Policy.withDefaults()
	if c.MinValidity == 0 {
		c.MinValidity = DefaultMinValidity
	}
	if c.AttemptTimeout == 0 {
		c.AttemptTimeout = DefaultAttemptTimeout
	}
	return c
}

// Validate reports a negative duration.
func (c Config) Validate() error {
	for _, f := range []struct {
		name string
		d    time.Duration
	}{
		{"policy max lead", c.Policy.MaxLead}, {"policy step", c.Policy.Step},
		{"policy max backoff", c.Policy.MaxBackoff}, {"min validity", c.MinValidity},
		{"attempt timeout", c.AttemptTimeout},
	} {
		if f.d < 0 {
			return fmt.Errorf("%w: %s %v is negative", errConfig, f.name, f.d)
		}
	}
	return nil
}

// Scaled compresses the schedule by factor for a time-scaled load run: the
// policy durations and MinValidity are divided by factor (so a 10-minute
// certificate is acceptable at factor 6). AttemptTimeout is network time and
// stays as it is.
func (c Config) Scaled(factor float64) Config {
	c = c.withDefaults()
	if factor <= 0 || factor == 1 {
		return c
	}
	c.Policy = c.Policy.Scaled(factor)
	c.MinValidity = scale(c.MinValidity, factor)
	return c
}

// Option configures a Renewer's collaborators.
type Option func(*Renewer) error

// WithClock sets the clock (default: the system clock).
func WithClock(c Clock) Option {
	return func(r *Renewer) error { r.clock = c; return nil }
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(r *Renewer) error { r.log = l; return nil }
}

// WithObserver sets the function told about every transition and attempt.
func WithObserver(f func(Event)) Option {
	return func(r *Renewer) error { r.observe = f; return nil }
}

// WithRekey sets how the handset starts a new TLS-DSK SA after a renewal
// (default: nothing to do, e.g. a handset registered with NTLM).
func WithRekey(f RekeyFunc) Option {
	return func(r *Renewer) error { r.rekeyFn = f; return nil }
}

// Renewer owns the renewal schedule of one handset. Create it with New and
// call Run once from the goroutine of the owner's choice.
type Renewer struct {
	cfg     Config
	store   *Store
	issuer  Issuer
	clock   Clock
	log     *slog.Logger
	observe func(Event)
	rekeyFn RekeyFunc

	state   atomic.Uint32 // State; written only by Run's goroutine
	running atomic.Bool
}

// New returns a Renewer that keeps the certificate in store fresh by calling
// issuer. store and issuer are required collaborators, so they are
// arguments rather than options.
func New(cfg Config, store *Store, issuer Issuer, opts ...Option) (*Renewer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if store == nil {
		return nil, errNoStore
	}
	if issuer == nil {
		return nil, errNoIssuer
	}
	r := &Renewer{
		cfg:    cfg.withDefaults(),
		store:  store,
		issuer: issuer,
		clock:  SystemClock(),
		log:    slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		if err := o(r); err != nil {
			return nil, err
		}
	}
	if r.clock == nil {
		r.clock = SystemClock()
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

// State returns the renewer's current state; safe from any goroutine.
func (r *Renewer) State() State { return State(r.state.Load()) }

// Run keeps renewing the Store's certificate until ctx is cancelled or the
// certificate expires. It returns:
//   - an [*ExpiredError] at once if the certificate had already expired;
//   - a [*RenewalFailedError] at NotAfter if every attempt failed until then
//     (registration with the old certificate keeps working until that moment);
//   - context.Cause(ctx) when ctx is cancelled (this also aborts an Issuer
//     call or rekey in progress);
//   - ErrNoCertificate if the Store is empty.
//
// Run may be called only once per Renewer.
func (r *Renewer) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return errRunning
	}
	cur := r.store.Current()
	if cur == nil {
		return fmt.Errorf("certrenew: run: %w", ErrNoCertificate)
	}
	p := r.cfg.Policy
	recheck := p.MaxBackoff // wake at least this often so clock jumps are noticed
	v := ValidityOf(cur.Leaf)
	now := r.clock.Now()
	if !now.Before(v.NotAfter) {
		err := &ExpiredError{NotAfter: v.NotAfter, Now: now}
		if serr := r.step(TriggerStartExpired, Event{Kind: EventExpired, At: now, NotAfter: v.NotAfter, Err: err}); serr != nil {
			return serr
		}
		return err
	}
	if ctx.Err() != nil {
		return r.stop(ctx)
	}
	planned, _ := p.Next(v, now, nil)
	if err := r.step(TriggerStart, Event{Kind: EventStarted, At: now, Next: planned, NotAfter: v.NotAfter}); err != nil {
		return err
	}

	var failed []time.Time // failure instants for the current certificate
	var lastErr error
	for {
		now = r.clock.Now()
		// After a backward clock jump, failures "in the future" are moved to
		// now, so the retry stays one back-off away instead of receding at
		// every wake-up.
		for i := range failed {
			if failed[i].After(now) {
				failed[i] = now
			}
		}
		at, ok := p.Next(v, now, failed)
		if !ok {
			if now.Before(v.NotAfter) {
				// No attempt left: keep the old certificate in use until it
				// expires, then report.
				if err := r.sleep(ctx, min(v.NotAfter.Sub(now), recheck)); err != nil {
					return r.stop(ctx)
				}
				continue
			}
			var err error = &ExpiredError{NotAfter: v.NotAfter, Now: now}
			if len(failed) > 0 {
				err = &RenewalFailedError{NotAfter: v.NotAfter, FailingSince: failed[0], Attempts: len(failed), Last: lastErr}
			}
			if serr := r.step(TriggerExpire, Event{Kind: EventExpired, At: now, NotAfter: v.NotAfter, Err: err}); serr != nil {
				return serr
			}
			return err
		}
		if !at.Equal(planned) && at.After(now) { // a due attempt is reported as EventAttempt
			planned = at
			st := r.State()
			r.emit(Event{Kind: EventScheduled, At: now, From: st, To: st, Next: at, NotAfter: v.NotAfter, Attempt: len(failed)})
		}
		if at.After(now) {
			if err := r.sleep(ctx, min(at.Sub(now), recheck)); err != nil {
				return r.stop(ctx)
			}
			continue
		}

		attempt := len(failed) + 1
		if err := r.step(TriggerDue, Event{Kind: EventAttempt, At: now, Attempt: attempt, NotAfter: v.NotAfter}); err != nil {
			return err
		}
		issued, err := r.attempt(ctx)
		if ctx.Err() != nil {
			return r.stop(ctx)
		}
		now = r.clock.Now()
		if err != nil {
			failed = append(failed, now)
			lastErr = err
			planned, _ = p.Next(v, now, failed)
			r.log.Info("certrenew: renewal attempt failed", "attempt", attempt, "next", planned, "err", err)
			if serr := r.step(TriggerFailed, Event{Kind: EventFailed, At: now, Attempt: attempt, Next: planned, NotAfter: v.NotAfter, Err: err}); serr != nil {
				return serr
			}
			continue
		}

		v = ValidityOf(issued.Leaf)
		failed, lastErr = nil, nil
		r.log.Info("certrenew: certificate renewed", "attempt", attempt, "not_after", v.NotAfter)
		if err := r.step(TriggerIssued, Event{Kind: EventRenewed, At: now, Attempt: attempt, NotAfter: v.NotAfter}); err != nil {
			return err
		}
		gap, rerr := r.rekey(ctx)
		if ctx.Err() != nil {
			return r.stop(ctx)
		}
		now = r.clock.Now()
		planned, _ = p.Next(v, now, nil)
		if err := r.step(TriggerRekeyed, Event{Kind: EventRekeyed, At: now, Gap: gap, Err: rerr, Next: planned, NotAfter: v.NotAfter}); err != nil {
			return err
		}
	}
}

// attempt calls the Issuer once and swaps an acceptable certificate in.
func (r *Renewer) attempt(ctx context.Context) (*tls.Certificate, error) {
	actx, cancel := context.WithTimeout(ctx, r.cfg.AttemptTimeout)
	defer cancel()
	c, err := r.issuer.Issue(actx)
	if err != nil {
		return nil, fmt.Errorf("certrenew: issue: %w", err)
	}
	if c == nil || len(c.Certificate) == 0 {
		return nil, errNilIssued
	}
	leaf := c.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return nil, fmt.Errorf("certrenew: issued certificate: %w", err)
		}
	}
	if left := leaf.NotAfter.Sub(r.clock.Now()); left < r.cfg.MinValidity {
		return nil, &ShortCertificateError{NotAfter: leaf.NotAfter, Remaining: left, Min: r.cfg.MinValidity}
	}
	cp := *c
	cp.Leaf = leaf
	if _, err := r.store.Swap(&cp); err != nil {
		return nil, err
	}
	return r.store.Current(), nil
}

// rekey starts the new security association and measures the gap.
func (r *Renewer) rekey(ctx context.Context) (time.Duration, error) {
	if r.rekeyFn == nil {
		return 0, nil
	}
	start := r.clock.Now()
	err := r.rekeyFn(ctx)
	gap := r.clock.Now().Sub(start)
	if err != nil {
		err = fmt.Errorf("%w: %w", errRekeyFailed, err)
	}
	if gap >= time.Second {
		// The seed promises "less than 1 second" without service.
		r.log.Warn("certrenew: renewal gap without service exceeds 1 s", "gap", gap)
	}
	return gap, err
}

func (r *Renewer) sleep(ctx context.Context, d time.Duration) error {
	c, stop := r.clock.NewTimer(d)
	defer stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-c:
		return nil
	}
}

// stop moves to Stopped and returns the cancellation cause.
func (r *Renewer) stop(ctx context.Context) error {
	if err := r.step(TriggerCancel, Event{Kind: EventStopped, At: r.clock.Now(), Err: context.Cause(ctx)}); err != nil {
		return err
	}
	return context.Cause(ctx)
}

// step applies one transition of the table on State, logs it at Debug and
// reports it. An illegal transition is returned, never ignored.
func (r *Renewer) step(t Trigger, ev Event) error {
	from := r.State()
	to, err := from.On(t)
	if err != nil {
		return err
	}
	r.state.Store(uint32(to))
	ev.From, ev.To = from, to
	r.log.Debug("certrenew: transition", "from", from, "trigger", t, "to", to, "event", ev)
	r.emit(ev)
	return nil
}

// emit calls the observer. Run holds no lock, so observers may call back
// into the Renewer or the Store.
func (r *Renewer) emit(ev Event) {
	if r.observe != nil {
		r.observe(ev)
	}
}
