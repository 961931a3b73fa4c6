// Package bench is the system half of the benchmark suite of
// PERFORMANCE.md §6 (B4b sign-in storm, B5 handsets held, B6 call setup,
// B7 SRTP media), shared by `handset bench` and the package's `go test
// -bench` wrappers. Every scenario measures its peer or floor in the same
// run and reports a ratio; absolute figures are for trends only (the
// machine is shared and noisy). The micro-benchmarks B1 (media/srtp) and
// B2 (auth/sipae) live with their packages.
//
// labfe runs in the same process, so CPU and memory figures include the
// front end's share for the subject and the peer alike; the ratios compare
// like with like.
package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/handset-dev/handset/configs"
	"github.com/handset-dev/handset/labfe"
	"github.com/handset-dev/handset/sipua"
	"github.com/handset-dev/handset/sipua/provision"
)

// Lab is an in-process labfe with n generated users (user00001 … on
// contoso.test, one password).
type Lab struct {
	FE     *labfe.Server
	TLS    *tls.Config
	Users  []labfe.User
	cancel context.CancelFunc
	done   chan error
}

const labPassword = "Passw0rd!"

var quietOnce sync.Once

// StartLab starts labfe on loopback with n users. It silences sipgo's
// process-wide logger (connection reference-count chatter at close).
func StartLab(n int, mod func(*labfe.Config)) (*Lab, error) {
	quietOnce.Do(func() { sip.SetDefaultLogger(slog.New(slog.DiscardHandler)) })
	users := make([]labfe.User, n)
	for i := range users {
		u := fmt.Sprintf("user%05d", i+1)
		users[i] = labfe.User{Address: u + "@contoso.test", UserID: u, Domain: "CONTOSO", Password: configs.NewSecret(labPassword)}
	}
	cfg := labfe.Config{ListenAddr: "127.0.0.1:0", Users: users}
	if mod != nil {
		mod(&cfg)
	}
	fe, err := labfe.New(cfg, labfe.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return nil, fmt.Errorf("bench: labfe: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Lab{FE: fe, TLS: &tls.Config{RootCAs: fe.CAPool(), ServerName: "pool.contoso.test", MinVersion: tls.VersionTLS12},
		Users: users, cancel: cancel, done: make(chan error, 1)}
	go func() { l.done <- fe.Serve(ctx) }()
	return l, nil
}

// Close stops labfe and waits for it.
func (l *Lab) Close() error {
	l.cancel()
	err := l.FE.Close()
	if serr := <-l.done; err == nil {
		err = serr
	}
	return err
}

func (l *Lab) handsetConfig(i int) sipua.Config {
	u := l.Users[i%len(l.Users)]
	return sipua.Config{Handset: fmt.Sprintf("0004f2%06x", i), AOR: u.Address, AuthUser: u.UserID, AuthDomain: u.Domain,
		Password: sipua.Password(labPassword), Server: "pool.contoso.test", Epid: fmt.Sprintf("%010x", i+1), TransactionTimeout: 30 * time.Second}
}

// cpuTime is the process's user+system CPU so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// StormResult is one sign-in storm: N sign-ins (TLS, 3 REGISTERs with NTLM,
// 3 self-SUBSCRIBEs) by a fixed number of concurrent workers.
type StormResult struct {
	Handsets int
	Failures int
	Wall     time.Duration
	CPU      time.Duration // process CPU (client and labfe) over the storm
	FirstErr error
}

// PerSecond is completed sign-ins per wall second.
func (r StormResult) PerSecond() float64 {
	if r.Wall <= 0 {
		return 0
	}
	return float64(r.Handsets-r.Failures) / r.Wall.Seconds()
}

// CPUPerSignIn is process CPU per sign-in.
func (r StormResult) CPUPerSignIn() time.Duration {
	if r.Handsets == 0 {
		return 0
	}
	return r.CPU / time.Duration(r.Handsets)
}

// subscribedWaiter counts a handset's answered self-subscriptions.
type subscribedWaiter struct {
	mu   sync.Mutex
	n    int
	want int
	done chan struct{}
	fail atomic.Int64
}

func newWaiter() *subscribedWaiter {
	return &subscribedWaiter{want: len(provision.SelfSubscriptions()), done: make(chan struct{})}
}

func (w *subscribedWaiter) Observe(ev sipua.Event) {
	switch ev.Kind {
	case sipua.EventSubscribed:
		if ev.Err != nil {
			w.fail.Add(1)
		}
		w.mu.Lock()
		w.n++
		if w.n == w.want {
			close(w.done)
		}
		w.mu.Unlock()
	case sipua.EventFailure:
		w.fail.Add(1)
	}
}

// signInOurs signs in handset i with sipua and waits for its three
// self-subscriptions; the handset stays signed in.
func (l *Lab) signInOurs(ctx context.Context, i int, obs sipua.Observer) (*sipua.Handset, *subscribedWaiter, error) {
	w := newWaiter()
	var o sipua.Observer = w
	if obs != nil {
		o = sipua.ObserverFunc(func(ev sipua.Event) { w.Observe(ev); obs.Observe(ev) })
	}
	h, err := sipua.New(l.handsetConfig(i), sipua.WithTLSConfig(l.TLS), sipua.WithDialAddr(l.FE.Addr()),
		sipua.WithSelfSubscriptions(true), sipua.WithObserver(o), sipua.WithMessageText(false))
	if err != nil {
		return nil, nil, fmt.Errorf("bench: %w", err)
	}
	if err := h.Register(ctx); err != nil {
		_ = h.Close()
		return nil, nil, fmt.Errorf("bench: handset %d: %w", i, err)
	}
	select {
	case <-w.done:
	case <-ctx.Done():
		_ = h.Close()
		return nil, nil, fmt.Errorf("bench: handset %d subscriptions: %w", i, ctx.Err())
	}
	if w.fail.Load() > 0 {
		_ = h.Close()
		return nil, nil, fmt.Errorf("bench: handset %d: a self-subscription failed", i)
	}
	return h, w, nil
}

// storm runs n sign-ins with workers in parallel; each returns a closer.
func storm(ctx context.Context, n, workers int, one func(i int) (func(), error)) (StormResult, []func()) {
	res := StormResult{Handsets: n}
	closers := make([]func(), n)
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	cpu0, t0 := cpuTime(), time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				c, err := one(i)
				mu.Lock()
				if err != nil {
					res.Failures++
					if res.FirstErr == nil {
						res.FirstErr = err
					}
				} else {
					closers[i] = c
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.Wall, res.CPU = time.Since(t0), cpuTime()-cpu0
	return res, closers
}

func closeAll(cs []func()) {
	var wg sync.WaitGroup
	for _, c := range cs {
		if c != nil {
			wg.Add(1)
			go func() { defer wg.Done(); c() }()
		}
	}
	wg.Wait()
}

// SignInStorm is B4b: n handsets signed in by sipua (ours) and by the bare
// client (the peer) against the same labfe, one after the other, with the
// same concurrency. Ratios: ours/bare sign-ins per second (goal ≥ 0.8) and
// CPU per sign-in (goal ≤ 1.5).
func SignInStorm(ctx context.Context, n, workers int) (ours, bare StormResult, err error) {
	lab, err := StartLab(n, nil)
	if err != nil {
		return ours, bare, err
	}
	defer func() { _ = lab.Close() }()
	ours, cs := storm(ctx, n, workers, func(i int) (func(), error) {
		h, _, serr := lab.signInOurs(ctx, i, nil)
		if serr != nil {
			return nil, serr
		}
		return func() { _ = h.Close() }, nil
	})
	closeAll(cs)
	bare, cs = storm(ctx, n, workers, func(i int) (func(), error) {
		u := lab.Users[i%len(lab.Users)]
		c, berr := bareSignIn(lab.FE.Addr(), lab.TLS, u.Address, u.Domain, u.UserID, labPassword, fmt.Sprintf("b%09x", i+1), nil)
		if berr != nil {
			return nil, berr
		}
		return c.close, nil
	})
	closeAll(cs)
	if ours.FirstErr != nil || bare.FirstErr != nil {
		err = errors.Join(ours.FirstErr, bare.FirstErr)
	}
	return ours, bare, err
}

// heapAndStacks is the live Go memory after a GC: live heap plus stacks.
func heapAndStacks() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	// Live objects after the GC plus goroutine stacks: HeapInuse would
	// count whole spans, which a previous scenario's garbage leaves
	// partly free.
	return m.HeapAlloc + m.StackInuse
}
