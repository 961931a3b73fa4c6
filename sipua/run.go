package sipua

import (
	"context"
	"errors"
	"io"
	mrand "math/rand/v2"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/handset-dev/handset/auth/sipae"
	"github.com/handset-dev/handset/sipua/retry"
)

// Run signs in, then stays registered (re-REGISTER before expiry, CRLF
// keep-alive at the ms-keep-alive timeout, SA refresh at
// min(8 h, …) − 5 min) until ctx is done or Close is called; then it
// un-REGISTERs within UnregisterGrace and returns nil. A retryable failure
// backs off (RFC 5626 §4.5, RetryBase/RetryMax) and signs in again; a final
// failure (NTLM rejection) or RetryMaxCount failures return the *Error.
func (h *Handset) Run(ctx context.Context) error {
	if err := h.enter(); err != nil {
		return err
	}
	defer h.runWG.Done()
	failures := 0
	err := h.Register(ctx)
	for {
		if h.stopped(ctx) {
			if err == nil {
				h.shutdown()
			}
			return nil
		}
		if err != nil {
			failures++
			if IsFinal(err) || (h.cfg.RetryMaxCount > 0 && failures >= h.cfg.RetryMaxCount) {
				return err
			}
			if !h.backoff(ctx, failures, err) {
				return nil
			}
			err = h.Register(ctx)
			continue
		}
		failures = 0
		err = h.stayRegistered(ctx)
		if err != nil {
			h.disconnect()
			if h.stopped(ctx) {
				h.setState(StateStopped)
				return nil
			}
			_ = h.fail(err)
		}
	}
}

func (h *Handset) stopped(ctx context.Context) bool {
	return ctx.Err() != nil || h.isClosed()
}

// shutdown un-REGISTERs with a bounded grace period.
func (h *Handset) shutdown() {
	if h.isClosed() {
		return // Close does not un-REGISTER
	}
	gctx, cancel := context.WithTimeout(context.Background(), h.cfg.UnregisterGrace)
	defer cancel()
	if err := h.Unregister(gctx); err != nil {
		h.log.Warn("un-REGISTER failed", "err", err)
	}
}

// backoff waits per RFC 5626 §4.5 (sipua/retry): uniform in [W/2, W] with
// W = min(max, base·2^failures), or longer when the server said
// Retry-After (RELIABILITY.md B.2). It reports false when stopped meanwhile.
func (h *Handset) backoff(ctx context.Context, failures int, last error) bool {
	var seed [32]byte
	_, _ = io.ReadFull(h.rand, seed[:])
	delay := retry.Delay(h.cfg.RetryBase, h.cfg.RetryMax, failures, mrand.New(mrand.NewChaCha8(seed)))
	var e *Error
	if errors.As(last, &e) && e.RetryAfter > delay {
		delay = e.RetryAfter
	}
	wait := h.cfg.scale(delay)
	h.setState(StateBackoff)
	h.log.Info("backing off before signing in again", "wait", wait, "failures", failures)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-h.closing:
		return false
	}
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
			case <-kaC:
				if err = h.keepAlive(); err != nil {
					stop()
					return &Error{Op: "keep-alive", Class: OutcomeTransport, Why: "connection lost", Err: err}
				}
			case <-reReg.C:
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
	h.mu.Lock()
	c, sa := h.conn, h.sa
	h.mu.Unlock()
	if c == nil || sa == nil {
		return ErrNotRegistered
	}
	op := "unregister " + h.cfg.AOR
	h.setState(StateUnregistering)
	req := h.newRegister(c, 0)
	if _, err := h.sign(req, sa, ""); err != nil {
		return &Error{Op: op, Class: OutcomeAuthRejected, Why: "sign", Err: err}
	}
	h.step("sent signed REGISTER with Expires: 0 (un-REGISTER)")
	res, err := h.roundTrip(ctx, c, req, sa)
	defer func() {
		h.mu.Lock()
		h.sa = nil
		h.mu.Unlock()
		h.disconnect()
		h.setState(StateStopped)
	}()
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
		if sa == nil {
			return
		}
		signed, err := h.verify(req, sa)
		if err != nil || !signed && !sipae.AcceptUnsigned(false, 0, string(req.Method)) {
			h.log.Warn("dropping unsigned or badly signed request", "method", req.Method, "err", err)
			return
		}
		if req.Method == sip.NOTIFY || req.Method == "BENOTIFY" {
			h.onNotify(req) // subscribe.go
		}
		if req.Method == "BENOTIFY" {
			return
		}
		code, reason := sip.StatusOK, "OK"
		switch req.Method {
		case sip.OPTIONS, sip.NOTIFY:
		default:
			code, reason = 501, "Not Implemented"
		}
		res := sip.NewResponseFromRequest(req, code, reason, nil)
		if _, err := h.sign(res, sa, ""); err != nil {
			return
		}
		h.trace(res, true)
		_ = tx.Respond(res)
	}
	for _, m := range []sip.RequestMethod{sip.OPTIONS, sip.NOTIFY, "BENOTIFY", sip.INVITE, sip.MESSAGE, sip.INFO, sip.BYE, sip.REFER} {
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
