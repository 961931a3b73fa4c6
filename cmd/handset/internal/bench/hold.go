package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/handset-dev/handset/sipua"
)

// HoldResult is B5 for one side: N connections (ours: signed-in handsets
// with their subscriptions; floor: bare TLS connections with a reader
// goroutine at each end) held idle for a while.
type HoldResult struct {
	N                int
	Bytes            uint64        // Go heap in use + stacks above the baseline, after GC
	Goroutines       int           // above the baseline
	IdleCPU          time.Duration // process CPU while held
	Held             time.Duration
	Registrations    int64  // EventRegistered during the hold (re-REGISTERs)
	Subscriptions    int64  // self-SUBSCRIBEs answered during the hold (refreshes)
	Dropped          int64  // failures during the hold
	FirstDrop        string // the first one's outcome and reason
	SignInFailures   int
	FirstSignInError error
}

// BytesPerConn is the memory per held handset (connection).
func (r HoldResult) BytesPerConn() float64 { return float64(r.Bytes) / float64(max(r.N, 1)) }

// GoroutinesPerConn is goroutines per held handset (connection).
func (r HoldResult) GoroutinesPerConn() float64 { return float64(r.Goroutines) / float64(max(r.N, 1)) }

// IdleCPUFraction is the share of one core used while holding.
func (r HoldResult) IdleCPUFraction() float64 {
	if r.Held <= 0 {
		return 0
	}
	return r.IdleCPU.Seconds() / r.Held.Seconds()
}

type holdCounter struct {
	reg, sub, fail atomic.Int64
	mu             sync.Mutex
	first          string
}

func (c *holdCounter) failed(ev sipua.Event) {
	c.fail.Add(1)
	c.mu.Lock()
	if c.first == "" {
		c.first = fmt.Sprintf("%s: %s %s (status %d)", ev.Kind, ev.Outcome, ev.Reason, ev.Status)
	}
	c.mu.Unlock()
}

func (c *holdCounter) Observe(ev sipua.Event) {
	switch ev.Kind {
	case sipua.EventRegistered:
		c.reg.Add(1)
	case sipua.EventSubscribed:
		if ev.Err != nil {
			c.failed(ev)
		} else {
			c.sub.Add(1)
		}
	case sipua.EventFailure:
		c.failed(ev)
	}
}

// HoldOurs signs in n handsets (Run: re-REGISTER, keep-alive, SA and
// subscription refresh) against a fresh labfe with TimeScale timeScale,
// holds them for hold and reports memory, goroutines, idle CPU and the
// refreshes and drops seen while held.
func HoldOurs(ctx context.Context, n, workers int, hold time.Duration, timeScale float64) (HoldResult, error) {
	lab, err := StartLab(n, nil)
	if err != nil {
		return HoldResult{N: n}, err
	}
	defer func() { _ = lab.Close() }()
	base, g0 := heapAndStacks(), runtime.NumGoroutine()
	counter := &holdCounter{}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	sres, closers := storm(ctx, n, workers, func(i int) (func(), error) {
		w := newWaiter()
		var registered atomic.Bool
		started := make(chan struct{})
		obs := sipua.ObserverFunc(func(ev sipua.Event) {
			w.Observe(ev)
			if registered.Load() {
				counter.Observe(ev)
			}
		})
		cfg := lab.handsetConfig(i)
		cfg.TimeScale = timeScale
		h, err := sipua.New(cfg, sipua.WithTLSConfig(lab.TLS), sipua.WithDialAddr(lab.FE.Addr()),
			sipua.WithSelfSubscriptions(true), sipua.WithObserver(obs), sipua.WithMessageText(false))
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			close(started)
			_ = h.Run(rctx)
		}()
		<-started
		select {
		case <-w.done:
		case <-time.After(60 * time.Second):
			_ = h.Close()
			return nil, fmt.Errorf("bench: handset %d not signed in with its subscriptions in 60 s", i)
		}
		registered.Store(true)
		return func() { _ = h.Close() }, nil
	})
	res := HoldResult{N: n, SignInFailures: sres.Failures, FirstSignInError: sres.FirstErr}
	counter.reg.Store(0)
	counter.sub.Store(0)
	counter.fail.Store(0)
	cpu0, t0 := cpuTime(), time.Now()
	select {
	case <-time.After(hold):
	case <-ctx.Done():
	}
	res.IdleCPU, res.Held = cpuTime()-cpu0, time.Since(t0)
	res.Registrations, res.Subscriptions, res.Dropped = counter.reg.Load(), counter.sub.Load(), counter.fail.Load()
	counter.mu.Lock()
	res.FirstDrop = counter.first
	counter.mu.Unlock()
	if now := heapAndStacks(); now > base {
		res.Bytes = now - base
	}
	res.Goroutines = runtime.NumGoroutine() - g0
	cancel() // un-REGISTER
	wg.Wait()
	closeAll(closers)
	return res, nil
}

// HoldFloor is B5's floor: n TLS connections to a bare TLS server on
// loopback (same certificate kind as labfe's), each with a 4 KiB buffered
// reader goroutine at both ends, held for hold.
func HoldFloor(ctx context.Context, n int, hold time.Duration) (HoldResult, error) {
	cert, pool, err := selfSigned("pool.contoso.test")
	if err != nil {
		return HoldResult{N: n}, err
	}
	tlsTC := &tls.Config{RootCAs: pool, ServerName: "pool.contoso.test", MinVersion: tls.VersionTLS12}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		return HoldResult{N: n}, fmt.Errorf("bench: floor listen: %w", err)
	}
	defer func() { _ = ln.Close() }()
	var wg sync.WaitGroup
	reader := func(c net.Conn) {
		defer wg.Done()
		buf := make([]byte, 4096)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go reader(c)
		}
	}()
	base, g0 := heapAndStacks(), runtime.NumGoroutine()
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
		_ = ln.Close()
		wg.Wait()
	}()
	for range n {
		c, err := tls.Dial("tcp", ln.Addr().String(), tlsTC)
		if err != nil {
			return HoldResult{N: n}, fmt.Errorf("bench: floor dial: %w", err)
		}
		if _, err := io.WriteString(c, "\r\n\r\n"); err != nil { // finish the handshake on both ends
			return HoldResult{N: n}, fmt.Errorf("bench: floor write: %w", err)
		}
		conns = append(conns, c)
		wg.Add(1)
		go reader(c)
	}
	res := HoldResult{N: n}
	cpu0, t0 := cpuTime(), time.Now()
	select {
	case <-time.After(hold):
	case <-ctx.Done():
	}
	res.IdleCPU, res.Held = cpuTime()-cpu0, time.Since(t0)
	if now := heapAndStacks(); now > base {
		res.Bytes = now - base
	}
	res.Goroutines = runtime.NumGoroutine() - g0
	return res, nil
}

// selfSigned makes an ECDSA P-256 certificate for host, like labfe's
// default, and a pool trusting it.
func selfSigned(host string) (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("bench: key: %w", err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("bench: certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("bench: certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}
