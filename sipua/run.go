package sipua

import (
	"context"
	"errors"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/handset-dev/handset/auth/sipae"
	"github.com/handset-dev/handset/sipua/retry"
)

// Run signs in, then stays registered (re-REGISTER before expiry, CRLF
// keep-alive at the ms-keep-alive timeout, SA refresh at
// min(8 h, …) − 5 min) until ctx is done or Close is called; then it ends
// active calls, un-REGISTERs within UnregisterGrace and returns nil.
//
// A retryable failure (TLS, timeout, dead flow, 5xx, 503 with or without
// Retry-After) goes to the failover planner: retry the same server after
// the RFC 5626 §4.5 retry delay, move to the next server (retryMaxCount
// failures, or a 503), or start the list again after the delay; a handset
// registered on a later server fails back per FailBack. A final failure
// (NTLM rejection: accounts lock out) returns the *Error at once, as does
// the last failure after MaxFailures. Every step reaches the Observer.
func (h *Handset) Run(ctx context.Context) error {
	if err := h.enter(); err != nil {
		return err
	}
	defer h.runWG.Done()
	h.calls.mu.Lock()
	h.calls.draining = false // calls again after a previous graceful stop
	h.calls.mu.Unlock()
	clk := h.recoveryClock()
	rng := h.seededRand()
	delay := func(n int) time.Duration { return retry.Delay(h.cfg.RetryBase, h.cfg.RetryMax, n, rng) }
	p := &planner{}
	cur, failures := 0, 0
	// fellBack: the attempt follows a fail-back; if the first server fails
	// it again, the handset returns to the next one at once instead of
	// spending retryMaxCount attempts unregistered.
	fellBack := false
	for {
		if h.stopped(ctx) {
			h.setStateWhy(StateStopped, "stopped")
			return nil
		}
		err := h.attempt(ctx, p, cur)
		if err == nil {
			fellBack = false
			p.succeeded()
			failures = 0
			err = h.stayRegistered(ctx)
			if err == nil { // stopped while registered
				h.shutdown()
				return nil
			}
			if errors.Is(err, errFailBack) {
				h.failBack(ctx)
				cur, fellBack = 0, true
				continue
			}
			h.disconnect()
			if h.stopped(ctx) {
				h.setStateWhy(StateStopped, "stopped")
				return nil
			}
			_ = h.fail(err)
		} else if h.stopped(ctx) {
			h.setStateWhy(StateStopped, "stopped")
			return nil
		}
		failures++
		if IsFinal(err) || (h.cfg.MaxFailures > 0 && failures >= h.cfg.MaxFailures) {
			return err
		}
		// A failure at a 301 target sends the handset back to its own list
		// (Lync Phone Edition restarts the list on failure).
		h.mu.Lock()
		h.target = nil
		h.mu.Unlock()
		ra, moveOn := retryHints(err)
		moveOn, fellBack = moveOn || fellBack, false
		st := p.failed(cur, clk.now(), ra, moveOn, delay)
		if st.server != cur {
			h.emit(Event{Kind: EventServer, Server: h.serverAt(st.server), Reason: st.why})
		}
		cur = st.server
		if st.wait > 0 {
			h.setStateWhy(StateBackoff, st.why)
			h.emit(Event{Kind: EventBackoff, Server: h.serverAt(cur), Delay: st.wait, Reason: st.why})
			h.log.Info("backing off before signing in again", "wait", st.wait, "failures", failures, "server", h.serverAt(cur), "why", st.why)
			if !clk.wait(ctx, h.closing, st.wait) {
				h.setStateWhy(StateStopped, "stopped during backoff")
				return nil
			}
		}
		if p.roundOver() && h.discovered() {
			h.mu.Lock()
			h.servers = nil // re-resolve DNS SRV for the next round
			h.mu.Unlock()
		}
	}
}

// errFailBack is stayRegistered's signal that the first server answers
// again and the fail-back mode says to go back to it.
var errFailBack = errors.New("sipua: fail back to the first server")

// retryHints reads what a failure tells the planner: the server's
// Retry-After, and whether to move to the next server at once (a 503:
// RFC 3263 §4.3 "the client SHOULD ... try the next server").
func retryHints(err error) (time.Duration, bool) {
	var e *Error
	if !errors.As(err, &e) {
		return 0, false
	}
	return e.RetryAfter, e.Status == 503
}

// attempt signs in on server i of the list (building the list first if
// needed) and reports a failure to the observer.
func (h *Handset) attempt(ctx context.Context, p *planner, i int) error {
	if err := h.ensureServers(ctx, p); err != nil {
		return h.fail(err)
	}
	h.mu.Lock()
	if i >= len(h.servers) {
		i = 0
	}
	h.cur = i
	h.mu.Unlock()
	if err := h.signIn(ctx); err != nil {
		h.disconnect()
		if h.stopped(ctx) {
			h.setStateWhy(StateStopped, "stopped during sign-in")
			return err
		}
		return h.fail(err)
	}
	return nil
}

// ensureServers builds the failover list when there is none, and sizes the
// planner for it.
func (h *Handset) ensureServers(ctx context.Context, p *planner) error {
	h.mu.Lock()
	have := h.servers != nil || h.dialAddr != ""
	h.mu.Unlock()
	if have {
		if p != nil && p.n == 0 {
			p.reset(h.maxCounts())
		}
		return nil
	}
	list, err := h.serverList(ctx)
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.servers = list
	h.mu.Unlock()
	if p != nil {
		p.reset(h.maxCounts())
	}
	return nil
}

func (h *Handset) maxCounts() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.servers) == 0 { // --target: one fixed address
		mc := h.cfg.RetryMaxCount
		if mc <= 0 {
			mc = DefaultRetryMaxCount
		}
		return []int{mc}
	}
	out := make([]int, len(h.servers))
	for i, s := range h.servers {
		out[i] = s.maxCount
	}
	return out
}

// discovered reports whether the list came from DNS (and so is resolved
// again for each round).
func (h *Handset) discovered() bool {
	return len(h.cfg.Servers) == 0 && h.cfg.Server == "" && h.dialAddr == ""
}

// serverAt names server i for events ("" when unknown).
func (h *Handset) serverAt(i int) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.dialAddr != "" {
		return h.dialAddr
	}
	if i < 0 || i >= len(h.servers) {
		return ""
	}
	return h.servers[i].String()
}

func (h *Handset) stopped(ctx context.Context) bool {
	return ctx.Err() != nil || h.isClosed()
}

// shutdown is the graceful stop: end active calls (BYE), then un-REGISTER,
// together bounded by UnregisterGrace (RELIABILITY.md F14).
func (h *Handset) shutdown() {
	if h.isClosed() {
		h.setStateWhy(StateStopped, "closed")
		return // Close does not un-REGISTER
	}
	gctx, cancel := context.WithTimeout(context.Background(), h.cfg.UnregisterGrace)
	defer cancel()
	h.endCallsBeforeUnregister(gctx)
	if err := h.unregister(gctx, "graceful stop"); err != nil {
		h.log.Warn("un-REGISTER failed", "err", err)
	}
}

// endCallsBeforeUnregister is the graceful-stop hook for calls: it runs
// before the un-REGISTER, within the same grace. The call code sets
// h.endCalls (BYE for every active call); without calls it does nothing.
func (h *Handset) endCallsBeforeUnregister(ctx context.Context) {
	// No call starts from here on, not even a first one (endCalls still
	// nil): addCall sets endCalls under calls.mu, so a call added before
	// this line is ended below.
	h.calls.mu.Lock()
	h.calls.draining = true
	h.calls.mu.Unlock()
	h.mu.Lock()
	end := h.endCalls
	h.mu.Unlock()
	if end != nil {
		h.step("graceful stop: ending active calls (BYE) before the un-REGISTER")
		end(ctx)
	}
}

// failBack leaves the backup for the first server: un-REGISTER on the
// backup (so neither pool holds a stale binding; the +sip.instance stays
// the same on both), then Run signs in on server 1.
func (h *Handset) failBack(ctx context.Context) {
	from := h.serverAt(h.curIndex())
	h.emit(Event{Kind: EventServer, Server: h.serverAt(0), Reason: "fail-back (" + h.cfg.FailBack.String() + "): the first server answers again; leaving " + from})
	gctx, cancel := context.WithTimeout(ctx, h.cfg.UnregisterGrace)
	defer cancel()
	if err := h.unregisterKeep(gctx, "fail-back to the first server"); err != nil {
		h.log.Info("un-REGISTER on the backup before fail-back failed", "err", err)
	}
}

func (h *Handset) curIndex() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cur
}

// stayRegistered runs the timers of one registration. It returns nil when
// stopped and an *Error when the registration is lost.
func (h *Handset) stayRegistered(ctx context.Context) error {
	// The keep-alive ticker outlives re-REGISTERs: with a short expiry a
	// per-registration ticker would never fire.
	var ka *time.Ticker
	var kaEvery time.Duration
	defer func() {
		if ka != nil {
			ka.Stop()
		}
	}()
	fb := h.failBackTimer()
	defer fb.Stop()
	for {
		h.mu.Lock()
		info, sa, c := h.reg, h.sa, h.conn
		h.mu.Unlock()
		if sa == nil || c == nil {
			return &Error{Op: "stay registered", Class: OutcomeTransport, Why: "connection lost"}
		}
		margin := reRegisterMargin(h.cfg.scale(h.cfg.ReRegisterOverlap), info.expires)
		reReg := time.NewTimer(time.Until(info.at.Add(info.expires - margin)))
		saRefresh := time.NewTimer(time.Until(sa.deadline))
		if !h.cfg.NoKeepAlive && info.keepAlive > 0 && info.keepAlive != kaEvery {
			if ka != nil {
				ka.Stop()
			}
			ka, kaEvery = time.NewTicker(info.keepAlive), info.keepAlive
		}
		var kaC <-chan time.Time
		if ka != nil {
			kaC = ka.C
		}
		stop := func() {
			reReg.Stop()
			saRefresh.Stop()
		}
		var err error
	wait:
		for {
			select {
			case <-ctx.Done():
				stop()
				return nil
			case <-h.closing:
				stop()
				return nil
			case <-c.lost:
				stop()
				return &Error{Op: "stay registered", Class: OutcomeTransport, Why: "connection lost",
					Err: errors.New("sipua: the server closed the flow (FIN or RST) or it failed")}
			case <-kaC:
				if err = h.keepAlive(); err != nil {
					stop()
					return &Error{Op: "keep-alive", Class: OutcomeTransport, Why: "connection lost", Err: err}
				}
			case <-fb.C():
				if h.probeFirst(ctx) {
					stop()
					return errFailBack
				}
				fb.Rearm()
			case <-reReg.C:
				// newRequests and registration: the refresh is a new
				// request; it goes to the first server if that answers.
				if h.failBackOnRefresh() && h.probeFirst(ctx) {
					stop()
					return errFailBack
				}
				err = h.reRegister(ctx, c, sa)
				break wait
			case <-saRefresh.C:
				h.step("security association is %s old: full re-authentication (MS-SIPAE 3.2.2)", time.Since(info.at).Round(time.Millisecond))
				err = h.authenticate(ctx, c, time.Now())
				break wait
			}
		}
		stop()
		if err != nil {
			if h.stopped(ctx) {
				return nil
			}
			return err
		}
	}
}

// reRegister refreshes the registration with a signed REGISTER. A 401
// means the SA expired: full re-authentication (pitfall 6). A 301 moves us.
func (h *Handset) reRegister(ctx context.Context, c *connection, sa *secAssoc) error {
	op := "re-register " + h.cfg.AOR
	req := h.newRegister(c, h.requestedExpires())
	if _, err := h.sign(req, sa, ""); err != nil {
		return &Error{Op: op, Class: OutcomeAuthRejected, Why: "sign", Err: err}
	}
	// A refresh keeps the binding: the handset stays Registered (metrics
	// count it as active) unless the refresh fails.
	res, err := h.roundTrip(ctx, c, req, sa)
	if err != nil {
		return err
	}
	switch res.StatusCode {
	case sip.StatusOK:
		return h.registered(res, time.Now())
	case sip.StatusUnauthorized, sip.StatusProxyAuthRequired:
		h.step("server answered the re-REGISTER with %d: security association expired, full re-authentication", res.StatusCode)
		return h.authenticate(ctx, c, time.Now())
	case sip.StatusMovedPermanently:
		rerr := h.redirect(res, op)
		var rd *redirectError
		if errors.As(rerr, &rd) {
			h.mu.Lock()
			h.target = rd.to
			h.mu.Unlock()
			h.step("server redirected us to %s (301); reconnecting there", rd.to.addr)
			h.emit(Event{Kind: EventServer, Server: rd.to.serverName + " (" + rd.to.addr + ")", Reason: "301 redirect to the home pool"})
			return h.signIn(ctx)
		}
		return rerr
	default:
		return statusError(op, "re-REGISTER", res)
	}
}

// Unregister removes the registration (signed REGISTER with Expires: 0) and
// closes the connection.
func (h *Handset) Unregister(ctx context.Context) error {
	if err := h.enter(); err != nil {
		return err
	}
	defer h.runWG.Done()
	return h.unregister(ctx, "un-REGISTER requested")
}

// unregister sends the signed Expires: 0 REGISTER and ends in Stopped.
func (h *Handset) unregister(ctx context.Context, why string) error {
	err := h.unregisterKeep(ctx, why)
	h.setStateWhy(StateStopped, why)
	return err
}

// unregisterKeep sends the signed Expires: 0 REGISTER and drops the
// connection, leaving the state at Unregistering for the caller to move on
// (Stopped, or Connecting for a fail-back).
func (h *Handset) unregisterKeep(ctx context.Context, why string) error {
	h.mu.Lock()
	c, sa := h.conn, h.sa
	h.mu.Unlock()
	if c == nil || sa == nil {
		return ErrNotRegistered
	}
	op := "unregister " + h.cfg.AOR
	h.setStateWhy(StateUnregistering, why)
	req := h.newRegister(c, 0)
	defer func() {
		h.mu.Lock()
		h.sa = nil
		h.mu.Unlock()
		h.disconnect()
	}()
	if _, err := h.sign(req, sa, ""); err != nil {
		return &Error{Op: op, Class: OutcomeAuthRejected, Why: "sign", Err: err}
	}
	h.step("sent signed REGISTER with Expires: 0 (un-REGISTER)")
	res, err := h.roundTrip(ctx, c, req, sa)
	if err != nil {
		return err
	}
	if res.StatusCode != sip.StatusOK {
		return statusError(op, "un-REGISTER", res)
	}
	h.emit(Event{Kind: EventUnregistered, Status: 200})
	return nil
}

// installHandlers answers server-initiated requests on our connection:
// each must carry a valid signature (protocols.md §2.4); unsigned or badly
// signed ones are dropped, BENOTIFY gets no response (DEPENDENCIES.md §1.6),
// the rest get a signed 200 (OPTIONS, NOTIFY) or 501.
func (h *Handset) installHandlers(srv *sipgo.Server) {
	handle := func(req *sip.Request, tx sip.ServerTransaction) {
		h.trace(req, false)
		h.mu.Lock()
		sa := h.sa
		h.mu.Unlock()
		if sa == nil && !h.cfg.standard() {
			return
		}
		if sa != nil { // standard mode (digest) has no MS-SIPAE signatures
			signed, err := h.verify(req, sa)
			if err != nil || !signed && !sipae.AcceptUnsigned(false, 0, string(req.Method)) {
				h.log.Warn("dropping unsigned or badly signed request", "method", req.Method, "err", err)
				return
			}
		}
		if req.Method == sip.NOTIFY || req.Method == "BENOTIFY" {
			h.onNotify(req) // subscribe.go
		}
		if req.Method == "BENOTIFY" {
			return
		}
		if h.handleCallRequest(req, tx, sa) {
			return
		}
		code, reason := sip.StatusOK, "OK"
		switch req.Method {
		case sip.OPTIONS, sip.NOTIFY:
		default:
			code, reason = 501, "Not Implemented"
		}
		res := sip.NewResponseFromRequest(req, code, reason, nil)
		h.calls.sendMu.Lock() // cnum order on the wire (sendlock.go)
		defer h.calls.sendMu.Unlock()
		if sa != nil {
			if _, err := h.sign(res, sa, ""); err != nil {
				return
			}
		}
		h.trace(res, true)
		_ = tx.Respond(res)
	}
	for _, m := range []sip.RequestMethod{sip.OPTIONS, sip.NOTIFY, "BENOTIFY", sip.INVITE, sip.MESSAGE, sip.INFO, sip.BYE, sip.REFER, sip.ACK, sip.CANCEL, sip.UPDATE} {
		srv.OnRequest(m, handle)
	}
	srv.OnNoRoute(handle)
}

// reRegisterMargin is how long before expiry to re-REGISTER: the configured
// overlap, at most half the granted expiry (reg.x.server.y.expires.overlap
// rule), but never less than a quarter of the expiry (up to 2 s), so that a
// time-scaled run still leaves a round trip's worth of time.
func reRegisterMargin(overlap, expires time.Duration) time.Duration {
	m := min(overlap, expires/2)
	return max(m, min(expires/4, 2*time.Second))
}
