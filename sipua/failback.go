package sipua

import (
	"context"
	"crypto/tls"
	"net"
	"time"
)

// failBackTimer fires when a timed fail-back (duration, DNSTTL) is due. Its
// zero value never fires.
type failBackTimer struct {
	t     *time.Timer
	every time.Duration
}

// C returns the timer's channel (nil, never ready, when inactive).
func (f *failBackTimer) C() <-chan time.Time {
	if f.t == nil {
		return nil
	}
	return f.t.C
}

// Stop releases the timer.
func (f *failBackTimer) Stop() {
	if f.t != nil {
		f.t.Stop()
	}
}

// Rearm starts the next period after a probe found the first server still
// down.
func (f *failBackTimer) Rearm() {
	if f.t != nil {
		f.t.Reset(f.every)
	}
}

// failBackTimer arms the timed fail-back for a registration on a later
// server: failBack.timeout after registering (duration), or the DNS TTL of
// the record that named the server (DNSTTL, failBack.timeout when the
// resolver gives no TTL). Timeout 0 means no timed fail-back: the handset
// stays until the current server fails (Polycom).
func (h *Handset) failBackTimer() *failBackTimer {
	h.mu.Lock()
	cur, redirected := h.cur, h.target != nil
	var ttl time.Duration
	if cur < len(h.servers) {
		ttl = h.servers[cur].ttl
	}
	h.mu.Unlock()
	if cur == 0 || redirected {
		return &failBackTimer{}
	}
	var d time.Duration
	switch h.cfg.FailBack {
	case FailBackDuration:
		d = h.cfg.FailBackTimeout
	case FailBackDNSTTL:
		d = ttl
		if d <= 0 {
			d = h.cfg.FailBackTimeout
		}
	default:
		return &failBackTimer{}
	}
	if d <= 0 {
		return &failBackTimer{}
	}
	d = max(h.cfg.scale(d), time.Millisecond)
	return &failBackTimer{t: time.NewTimer(d), every: d}
}

// failBackOnRefresh reports whether a registration refresh on a later
// server should first look at the first server (newRequests: every new
// request goes to the first server first; registration: when the renewal
// begins).
func (h *Handset) failBackOnRefresh() bool {
	h.mu.Lock()
	cur, redirected := h.cur, h.target != nil
	h.mu.Unlock()
	if cur == 0 || redirected {
		return false
	}
	return h.cfg.FailBack == FailBackNewRequests || h.cfg.FailBack == FailBackRegistration
}

// probeFirst checks whether the first server accepts a TLS connection now
// (handshake and certificate check, then closed), without touching the
// registration on the current server: a fail-back must not cost the
// handset its registration when the first server is still down.
func (h *Handset) probeFirst(ctx context.Context) bool {
	h.mu.Lock()
	if len(h.servers) == 0 {
		h.mu.Unlock()
		return false
	}
	first := h.servers[0]
	h.mu.Unlock()
	t, err := h.resolveHost(ctx, &first.target)
	if err != nil {
		return false
	}
	tc, err := h.tlsClientConfig(t.serverName)
	if err != nil {
		return false
	}
	timeout := h.cfg.TransactionTimeout
	if first.retryTimeOut > 0 {
		timeout = first.retryTimeOut
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	d := tls.Dialer{NetDialer: &net.Dialer{}, Config: tc}
	conn, err := d.DialContext(pctx, "tcp", t.addr)
	if err != nil {
		h.step("fail-back (%s): first server %s still does not answer (%v); staying", h.cfg.FailBack, first, err)
		return false
	}
	_ = conn.Close()
	h.step("fail-back (%s): first server %s answers again", h.cfg.FailBack, first)
	return true
}

// recoveryClock is Run's time source for recovery waits: protocol time
// (TimeScale applied) on real timers, or a test clock (withRecoveryClock).
type recoveryClock interface {
	now() time.Time
	// wait blocks for d of protocol time; false when stopped meanwhile.
	wait(ctx context.Context, closing <-chan struct{}, d time.Duration) bool
}

// scaledClock runs protocol time TimeScale times faster than the wall
// clock, so that Retry-After marks and backoff waits agree.
type scaledClock struct {
	start time.Time
	scale float64
}

func (c scaledClock) now() time.Time {
	el := time.Since(c.start)
	if c.scale > 1 {
		el = time.Duration(float64(el) * c.scale)
	}
	return c.start.Add(el)
}

func (c scaledClock) wait(ctx context.Context, closing <-chan struct{}, d time.Duration) bool {
	if c.scale > 1 {
		d = time.Duration(float64(d) / c.scale)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-closing:
		return false
	}
}

func (h *Handset) recoveryClock() recoveryClock {
	if h.clock != nil {
		return h.clock
	}
	return scaledClock{start: time.Now(), scale: h.cfg.TimeScale}
}

// withRecoveryClock replaces Run's recovery time source (tests).
func withRecoveryClock(c recoveryClock) Option {
	return func(h *Handset) error { h.clock = c; return nil }
}

// setStateWhy records a transition with its reason and reports it.
func (h *Handset) setStateWhy(s State, why string) {
	h.mu.Lock()
	prev := h.state
	h.state = s
	server := ""
	if s == StateConnecting && h.cur < len(h.servers) && h.target == nil {
		server = h.servers[h.cur].String()
	}
	h.mu.Unlock()
	if prev != s && !Legal(prev, s) {
		h.log.Error("sipua: illegal state transition", "from", prev, "to", s, "why", why)
	}
	if prev != s {
		h.emit(Event{Kind: EventState, State: s, Prev: prev, Reason: why, Server: server})
	}
}
