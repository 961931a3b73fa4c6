// Package fleet is the load-test runner of `handset load`: it starts N
// handsets at an exact sign-in rate, keeps them registered for the run,
// places calls on a shared scheduler, and drains them gracefully (BYE,
// un-REGISTER) when the run ends or the first signal arrives. It owns every
// handset's goroutine (STYLE.md rule 7) and talks to handsets through the
// small Handset interface, so it can be tested with fakes.
package fleet

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/handset-dev/handset/cmd/handset/internal/metrics"
	"github.com/handset-dev/handset/sipua"
)

// Handset is one emulated handset as the runner sees it. Run signs in and
// stays registered until ctx is done, then un-REGISTERs and returns; Close
// releases everything and may be called while Run is blocked (it forces Run
// to return). sipua.Handset satisfies it.
type Handset interface {
	Run(ctx context.Context) error
	Close() error
}

// Caller is implemented by handsets that can place calls (sipua.Handset).
// PlaceCall places one call to callee, holds it for hold once established,
// hangs up (BYE) and returns; ctx cancellation ends the call early.
type Caller interface {
	PlaceCall(ctx context.Context, callee string, hold time.Duration) (CallResult, error)
}

// CallResult is what a Caller reports about one call: setup time, time
// held, final status, outcome and media statistics.
type CallResult = sipua.CallResult

// Spec is what a Factory gets to build handset Index.
type Spec struct {
	Index int               // position in the whole run (not the shard)
	MAC   string            // identity, lowercase hex
	User  map[string]string // the handset's --users row (parameter → value), or nil
}

// Factory builds one handset; obs must be passed to the handset as its
// observer (sipua.WithObserver).
type Factory func(spec Spec, obs sipua.Observer) (Handset, error)

// Config is a load plan.
type Config struct {
	// Rate is sign-ins started per second, paced exactly (handset i starts
	// at i/Rate). Zero with Ramp set means Handsets/Ramp; zero without Ramp
	// starts every handset at once.
	Rate float64
	Ramp time.Duration
	// Duration is the run's length from the first sign-in; zero runs until
	// ctx is done.
	Duration time.Duration
	// CallsPerHour is each registered handset's mean call rate (Poisson
	// arrivals); zero disables calls.
	CallsPerHour float64
	CallDuration time.Duration
	// Callee picks the number or URI handset from calls, given a seeded
	// source of randomness. Required when CallsPerHour > 0.
	Callee func(from int, r *rand.Rand) string
	// StopTimeout bounds the graceful drain; handsets still running after it
	// are closed. Zero means 10 s.
	StopTimeout time.Duration
	// Seed seeds call arrivals and callee choice, so runs repeat.
	Seed uint64
}

// Validate checks cfg.
func (cfg Config) Validate() error {
	switch {
	case cfg.Rate < 0 || math.IsNaN(cfg.Rate) || math.IsInf(cfg.Rate, 0):
		return fmt.Errorf("fleet: rate %v: want a positive number of sign-ins per second", cfg.Rate)
	case cfg.Ramp < 0, cfg.Duration < 0, cfg.CallDuration < 0, cfg.StopTimeout < 0:
		return fmt.Errorf("fleet: negative duration")
	case cfg.CallsPerHour < 0:
		return fmt.Errorf("fleet: calls per hour %v < 0", cfg.CallsPerHour)
	case cfg.CallsPerHour > 0 && cfg.Callee == nil:
		return fmt.Errorf("fleet: calls per hour set without a callee")
	}
	return nil
}

// Option configures a Runner.
type Option func(*Runner) error

// WithLogger sets the runner's logger.
func WithLogger(l *slog.Logger) Option { return func(r *Runner) error { r.log = l; return nil } }

// Runner runs one load plan. Create it with New and call Run once.
type Runner struct {
	cfg     Config
	specs   []Spec
	factory Factory
	col     *metrics.Collector
	log     *slog.Logger

	mu       sync.Mutex
	handsets []Handset // nil until started; guarded by mu
	inCall   []bool    // guarded by mu
	callers  int       // handsets that implement Caller
	wg       sync.WaitGroup
}

// Result describes how a run went, beyond the metrics.
type Result struct {
	Start        time.Time // first sign-in scheduled
	Stop         time.Time // drain began
	End          time.Time // every handset gone
	Started      int       // handsets started
	ActiveAtStop int64     // Active Endpoints when the drain began
	// Goroutines is the process's goroutine count when the drain began
	// (PERFORMANCE.md §5: about one per idle handset, plus its
	// connection reader; an embedded labfe adds one per flow).
	Goroutines int
	Forced     int // handsets closed after StopTimeout
	Notes      []string
}

// New returns a runner for specs; col must have len(specs) handsets, and
// handset i of the run reports to col.Handset(i).
func New(cfg Config, specs []Spec, factory Factory, col *metrics.Collector, opts ...Option) (*Runner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(specs) == 0 {
		return nil, errNoHandsets
	}
	if col.Len() != len(specs) {
		return nil, fmt.Errorf("fleet: collector has %d handsets, plan has %d", col.Len(), len(specs))
	}
	if cfg.Rate == 0 && cfg.Ramp > 0 {
		cfg.Rate = float64(len(specs)) / cfg.Ramp.Seconds()
	}
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = 10 * time.Second
	}
	r := &Runner{cfg: cfg, specs: specs, factory: factory, col: col, log: slog.New(slog.DiscardHandler),
		handsets: make([]Handset, len(specs)), inCall: make([]bool, len(specs))}
	for _, o := range opts {
		if err := o(r); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Run executes the plan: it starts handsets at the configured rate, runs
// for Duration (or until ctx is done), then cancels every handset (graceful
// stop: BYE, un-REGISTER) and waits for them up to StopTimeout before
// closing the rest. It returns when every goroutine it started has exited.
func (r *Runner) Run(ctx context.Context) (Result, error) {
	res := Result{Start: time.Now()}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if r.cfg.Duration > 0 {
		var stop context.CancelFunc
		runCtx, stop = context.WithDeadline(runCtx, res.Start.Add(r.cfg.Duration))
		defer stop()
	}
	// Handsets and calls live in hsCtx, which ends when the run does.
	hsCtx, hsCancel := context.WithCancel(context.WithoutCancel(ctx))
	defer hsCancel()

	var sched *callScheduler
	if r.cfg.CallsPerHour > 0 {
		sched = newCallScheduler(r, hsCtx)
		r.wg.Go(func() { sched.run(runCtx) })
	}

	interval := time.Duration(0)
	if r.cfg.Rate > 0 {
		interval = time.Duration(float64(time.Second) / r.cfg.Rate)
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
pacing:
	for i := range r.specs {
		// Exact pacing: handset i is due at start + i*interval; a late
		// start does not shift the ones after it.
		if d := time.Until(res.Start.Add(time.Duration(i) * interval)); d > 0 && interval > 0 {
			timer.Reset(d)
			select {
			case <-runCtx.Done():
				break pacing
			case <-timer.C:
			}
		} else if runCtx.Err() != nil {
			break
		}
		r.start(hsCtx, i, sched)
		res.Started++
	}
	<-runCtx.Done()

	res.Stop = time.Now()
	res.ActiveAtStop = r.col.Snapshot().ActiveEndpoints()
	res.Goroutines = runtime.NumGoroutine()
	r.log.Info("fleet: stopping", "started", res.Started, "active", res.ActiveAtStop)
	hsCancel()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	drain := time.NewTimer(r.cfg.StopTimeout)
	defer drain.Stop()
	select {
	case <-done:
	case <-drain.C:
		res.Forced = r.closeAll()
		<-done
	}
	if res.Forced > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("%d handsets did not stop within %s and were closed", res.Forced, r.cfg.StopTimeout))
	}
	if r.cfg.CallsPerHour > 0 && r.callers == 0 {
		res.Notes = append(res.Notes, "calls skipped: the handsets have no call API yet")
	}
	res.End = time.Now()
	return res, nil
}

// start builds handset i and runs it on its own goroutine (the one
// goroutine per idle handset; sipgo adds its connection reader).
func (r *Runner) start(ctx context.Context, i int, sched *callScheduler) {
	obs := r.col.Handset(i)
	obs.SetID(r.specs[i].MAC)
	h, err := r.factory(r.specs[i], obs)
	if err != nil {
		r.log.Debug("fleet: new handset", "handset", r.specs[i].MAC, "err", err)
		obs.Exited(&factoryError{err})
		return
	}
	r.mu.Lock()
	r.handsets[i] = h
	_, isCaller := h.(Caller)
	if isCaller {
		r.callers++
	}
	r.mu.Unlock()
	if isCaller && sched != nil {
		sched.add(i)
	}
	r.wg.Go(func() {
		err := h.Run(ctx)
		if cerr := h.Close(); cerr != nil {
			r.log.Debug("fleet: close handset", "handset", r.specs[i].MAC, "err", cerr)
		}
		obs.Exited(err)
	})
}

// closeAll closes every handset (forced stop) and returns how many there were.
func (r *Runner) closeAll() int {
	r.mu.Lock()
	hs := append([]Handset(nil), r.handsets...)
	r.mu.Unlock()
	n := 0
	for _, h := range hs {
		if h != nil {
			_ = h.Close()
			n++
		}
	}
	return n
}

// callScheduler places every handset's calls from one goroutine and one
// timer (a min-heap of due times), instead of a timer goroutine per handset;
// only a call in progress has its own goroutine.
type callScheduler struct {
	r    *Runner
	ctx  context.Context //nolint:containedctx // the handsets' lifetime, owned by Run
	rng  *rand.Rand
	mean time.Duration
	mu   sync.Mutex
	due  dueHeap
	wake chan struct{}
}

func newCallScheduler(r *Runner, ctx context.Context) *callScheduler {
	return &callScheduler{
		r: r, ctx: ctx,
		rng:  rand.New(rand.NewPCG(r.cfg.Seed, r.cfg.Seed^0x5bd1e995)),
		mean: time.Duration(float64(time.Hour) / r.cfg.CallsPerHour),
		wake: make(chan struct{}, 1),
	}
}

// next draws an exponential inter-arrival time; s.mu is held.
func (s *callScheduler) next() time.Duration {
	return time.Duration(s.rng.ExpFloat64() * float64(s.mean))
}

func (s *callScheduler) add(i int) {
	s.mu.Lock()
	heap.Push(&s.due, dueItem{at: time.Now().Add(s.next()), i: i})
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *callScheduler) run(ctx context.Context) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		s.mu.Lock()
		wait := time.Hour
		now := time.Now()
		for len(s.due) > 0 && !s.due[0].at.After(now) {
			it := heap.Pop(&s.due).(dueItem)
			s.fire(it.i)
			it.at = now.Add(s.next())
			heap.Push(&s.due, it)
		}
		if len(s.due) > 0 {
			wait = s.due[0].at.Sub(now)
		}
		s.mu.Unlock()
		t.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-t.C:
		}
	}
}

// fire places a call from handset i if it is registered and idle; s.mu is held.
func (s *callScheduler) fire(i int) {
	r := s.r
	obs := r.col.Handset(i)
	if !obs.Registered() {
		return // a handset that is not signed in places no call (not an attempt)
	}
	r.mu.Lock()
	h, busy := r.handsets[i], r.inCall[i]
	if !busy {
		r.inCall[i] = true
	}
	r.mu.Unlock()
	c, ok := h.(Caller)
	if busy || !ok {
		return
	}
	callee := r.cfg.Callee(i, s.rng)
	ctx := s.ctx
	r.wg.Go(func() {
		defer func() {
			r.mu.Lock()
			r.inCall[i] = false
			r.mu.Unlock()
		}()
		start := obs.CallStarted()
		res, err := c.PlaceCall(ctx, callee, r.cfg.CallDuration)
		if err != nil && !res.Established && ctx.Err() != nil && !errors.Is(err, context.Canceled) {
			// The run's graceful stop overtook the setup: the handset was
			// signing out or closed (not registered, ErrClosed) when the
			// call tried to go out. An aborted call, not a failed one.
			err = fmt.Errorf("%w: %w", context.Canceled, err)
		}
		st := res.Stats
		obs.CallEnded(metrics.CallRecord{
			Callee: callee, Start: start, Setup: res.Setup, Duration: res.Held,
			Established: res.Established, Outcome: res.Outcome, Status: res.Status, Reason: res.Reason,
			PacketsSent: st.PacketsSent, PacketsReceived: st.PacketsReceived, Lost: st.Lost, Jitter: st.Jitter,
			SRTPFailures: st.SRTPAuthFailures + st.MKIMismatches + st.ReplayDrops, Encrypted: st.Encrypted,
		}, err)
	})
}

type dueItem struct {
	at time.Time
	i  int
}

type dueHeap []dueItem

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h dueHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)        { *h = append(*h, x.(dueItem)) }
func (h *dueHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}
