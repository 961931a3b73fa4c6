package sipua

import (
	"context"

	"github.com/emiago/sipgo/sip"
)

// handleCallRequest serves the call requests the front end sends us
// (INVITE, re-INVITE, ACK, BYE, CANCEL, in-dialog UPDATE/INFO); the
// signature has been checked by the caller. It reports whether it answered
// req. sipgo's server transaction is terminated at once: we answer on the
// flow ourselves, signed (see calltx.go for why).
func (h *Handset) handleCallRequest(req *sip.Request, tx sip.ServerTransaction, sa *secAssoc) bool {
	switch req.Method {
	case sip.INVITE, sip.ACK, sip.BYE, sip.CANCEL:
	case sip.UPDATE, sip.INFO:
		if tagOf(req, false) == "" {
			return false
		}
	default:
		return false
	}
	tx.Terminate()
	h.mu.Lock()
	conn := h.conn
	h.mu.Unlock()
	if conn == nil || conn.tc == nil {
		return true
	}
	switch req.Method {
	case sip.INVITE:
		if tagOf(req, false) != "" {
			h.onReinvite(conn, sa, req)
		} else {
			h.onInvite(conn, sa, req)
		}
	case sip.ACK:
		h.onAck(req)
	case sip.BYE:
		h.onBye(conn, sa, req)
	case sip.CANCEL:
		h.onCancel(conn, sa, req)
	default: // UPDATE/INFO inside a dialog: accepted, nothing to change
		if h.matchDialog(req) == nil {
			h.respond(conn, sa, req, 481, reasonFor(481), "", nil)
			return true
		}
		h.respond(conn, sa, req, 200, "OK", "", nil)
	}
	return true
}

// matchDialog finds the call of an in-dialog request by Call-ID and tags
// (RFC 3261 §12.2.2: the From tag is the remote tag, the To tag ours).
func (h *Handset) matchDialog(req *sip.Request) *Call {
	c := h.findCall(req.CallID().Value())
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dlg.localTag != tagOf(req, false) || c.dlg.remoteTag != "" && c.dlg.remoteTag != tagOf(req, true) {
		return nil
	}
	return c
}

// onInvite answers a new incoming call: 486 beyond the call limit
// (call.callsPerLineKey, call waiting), 488 with the media's Warning when
// the offer is unacceptable, else 180 Ringing and, after the auto-answer
// ring, 200 OK with our answer.
func (h *Handset) onInvite(conn *connection, sa *secAssoc, req *sip.Request) {
	callID := req.CallID().Value()
	if h.findCall(callID) != nil {
		return // a loop or a duplicate: the first one is being served
	}
	cfg := h.calls.config()
	peer := req.From().Address.String()
	reject := func(code int, why string, hdrs ...sip.Header) {
		h.respond(conn, sa, req, code, reasonFor(code), h.randHex(5), nil, hdrs...)
		h.emit(Event{Kind: EventCallState, CallID: callID, Peer: peer, Incoming: true, CallState: CallEnded,
			Outcome: OutcomeRejected, Reason: why, Status: code})
	}
	n := h.activeCalls()
	if n >= cfg.MaxCalls || cfg.NoCallWaiting && n > 0 {
		reject(486, "busy")
		return
	}
	newMedia := h.calls.factory()
	if newMedia == nil {
		reject(480, "no media")
		return
	}
	m, err := newMedia(localIP(conn))
	if err != nil {
		reject(480, mediaSetupWhy(err))
		return
	}
	var answer []byte
	if len(req.Body()) > 0 {
		answer, err = m.Answer(req.Body())
		if err != nil {
			_ = m.Close()
			code, warn := answerFailure(err)
			var hdrs []sip.Header
			if warn != "" {
				hdrs = append(hdrs, sip.NewHeader("Warning", warn))
			}
			h.respond(conn, sa, req, code, reasonFor(code), h.randHex(5), nil, hdrs...)
			h.emit(Event{Kind: EventCallState, CallID: callID, Peer: peer, Incoming: true, CallState: CallEnded,
				Outcome: OutcomeMedia, Reason: "sdp offer", Status: code, Err: err})
			return
		}
	}
	tag := h.randHex(5)
	c := &Call{h: h, id: callID, incoming: true, peer: peer, state: CallRinging, media: m, invite: req,
		answer: answer, start: h.calls.now(), done: make(chan struct{}), dlg: dialogFromRequest(req, tag)}
	if cfg.ShowDiversion {
		if hs := req.GetHeaders("Diversion"); len(hs) > 0 {
			c.diversion = hs[0].Value()
		}
	}
	if !h.addCall(c) {
		_ = m.Close()
		if h.callsDraining() {
			reject(480, "signing out")
		}
		return
	}
	h.respond(conn, sa, req, 180, reasonFor(180), tag, nil, sip.NewHeader("Contact", h.localContact(conn)))
	c.emit(Event{CallState: CallRinging})
	if c.diversion != "" {
		c.h.emit(Event{Kind: EventDiversion, CallID: callID, Peer: peer, Incoming: true, Diversion: c.diversion})
	}
	var ts []stopper
	if !cfg.NoAutoAnswer {
		ts = append(ts, h.calls.after(cfg.AnswerDelay, func() { _ = c.Answer() }))
	}
	ts = append(ts, h.calls.after(cfg.OfferingTimeout, func() { c.noAnswer() }))
	c.mu.Lock()
	if c.state == CallEnded {
		c.mu.Unlock()
		for _, t := range ts {
			t.Stop()
		}
		return
	}
	c.timers = append(c.timers, ts...)
	c.mu.Unlock()
}

// Answer answers a ringing incoming call: 200 OK with our SDP (an offer
// when the INVITE had none; the answer then comes in the ACK), media
// started. Auto-answer calls it after the ring.
func (c *Call) Answer() error {
	h := c.h
	conn, sa, err := h.callConn()
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.state != CallRinging || !c.incoming {
		st := c.state
		c.mu.Unlock()
		if st == CallEnded {
			return ErrCallEnded
		}
		return nil
	}
	c.state = CallEstablished
	c.answered = h.calls.now()
	c.setup = c.answered.Sub(c.start)
	body, m, setup := c.answer, c.media, c.setup
	c.mu.Unlock()
	if body == nil {
		if body, err = m.Offer("sendrecv"); err != nil {
			e := &Error{Op: "answer " + c.peer, Class: OutcomeMedia, Why: "sdp offer", Err: err}
			h.respond(conn, sa, c.invite, 500, reasonFor(500), c.dlg.localTag, nil)
			c.end(e, e.Why, 500)
			return e
		}
	}
	h.respond(conn, sa, c.invite, 200, "OK", c.dlg.localTag, body,
		sip.NewHeader("Contact", h.localContact(conn)), sip.NewHeader("Allow", contactMethods))
	// No ACK within 64·T1 ends the call (RFC 3261 §13.3.1.4).
	t := h.calls.after(h.cfg.TransactionTimeout, func() { c.noAck() })
	c.mu.Lock()
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	if err := c.startMedia(); err != nil {
		e := &Error{Op: "answer " + c.peer, Class: OutcomeMedia, Why: "media start", Err: err}
		c.bye(conn, sa, e)
		return e
	}
	c.emit(Event{CallState: CallEstablished, Latency: setup, Outcome: OutcomeSuccess})
	return nil
}

// noAnswer ends a call that rang for call.offeringTimeOut: 480.
func (c *Call) noAnswer() {
	conn, sa, err := c.h.callConn()
	c.mu.Lock()
	ringing := c.state == CallRinging
	c.mu.Unlock()
	if !ringing {
		return
	}
	if err == nil {
		c.h.respond(conn, sa, c.invite, 480, reasonFor(480), c.dlg.localTag, nil)
	}
	c.end(&Error{Op: "answer " + c.peer, Class: OutcomeRejected, Why: "no answer", Status: 480}, "no answer", 480)
}

// noAck ends an answered call whose ACK never came.
func (c *Call) noAck() {
	c.mu.Lock()
	missing := !c.acked && c.state != CallEnded
	c.mu.Unlock()
	if !missing {
		return
	}
	conn, sa, err := c.h.callConn()
	e := &Error{Op: "answer " + c.peer, Class: OutcomeTimeout, Why: "no ack"}
	if err != nil {
		c.end(e, e.Why, 0)
		return
	}
	c.bye(conn, sa, e)
}

// onAck confirms our 2xx; with a delayed offer it carries the answer.
func (h *Handset) onAck(req *sip.Request) {
	c := h.matchDialog(req)
	if c == nil {
		return // ACK to a non-2xx, or to a call already gone
	}
	c.mu.Lock()
	first := !c.acked && c.incoming && cseqOf(req) == cseqOf(c.invite)
	if first {
		c.acked = true
	}
	delayed := first && c.answer == nil
	m := c.media
	c.mu.Unlock()
	if delayed && len(req.Body()) > 0 {
		if err := m.Accept(req.Body()); err != nil {
			conn, sa, cerr := h.callConn()
			e := &Error{Op: "answer " + c.peer, Class: OutcomeMedia, Why: "sdp answer", Err: err}
			if cerr != nil {
				c.end(e, e.Why, 0)
				return
			}
			c.bye(conn, sa, e)
		}
	}
}

// onBye ends the call the peer hung up (RFC 3261 §15.1.2).
func (h *Handset) onBye(conn *connection, sa *secAssoc, req *sip.Request) {
	c := h.matchDialog(req)
	if c == nil {
		h.respond(conn, sa, req, 481, reasonFor(481), "", nil)
		return
	}
	h.respond(conn, sa, req, 200, "OK", "", nil)
	c.end(nil, "remote bye", 0)
}

// onCancel stops a ringing incoming call: 200 to the CANCEL, 487 to the
// INVITE (RFC 3261 §9.2). A CANCEL for nothing pending gets 481.
func (h *Handset) onCancel(conn *connection, sa *secAssoc, req *sip.Request) {
	c := h.findCall(req.CallID().Value())
	if c != nil {
		c.mu.Lock()
		same := c.incoming && tagOf(req, true) == c.dlg.remoteTag && branchOf(req) == branchOf(c.invite)
		ringing := c.state == CallRinging
		c.mu.Unlock()
		if !same {
			c = nil
		} else if !ringing {
			h.respond(conn, sa, req, 200, "OK", "", nil) // too late: the 200 OK won (§9.2)
			return
		}
	}
	if c == nil {
		h.respond(conn, sa, req, 481, reasonFor(481), "", nil)
		return
	}
	h.respond(conn, sa, req, 200, "OK", "", nil)
	h.respond(conn, sa, c.invite, 487, reasonFor(487), c.dlg.localTag, nil)
	c.end(nil, "canceled", 487)
}

// onReinvite serves a re-INVITE (sipgo has none, DEPENDENCIES.md §1):
// 481 without a dialog, 500 for an old CSeq (§12.2.2), 491 while our own
// re-INVITE is pending (§14.2), 488 when the new offer is unacceptable
// (the session stays as it was), else 200 with our answer. A sendonly or
// inactive offer is the peer holding us.
func (h *Handset) onReinvite(conn *connection, sa *secAssoc, req *sip.Request) {
	c := h.matchDialog(req)
	if c == nil {
		h.respond(conn, sa, req, 481, reasonFor(481), "", nil)
		return
	}
	c.mu.Lock()
	switch {
	case c.state < CallEstablished || c.state == CallEnded:
		c.mu.Unlock()
		h.respond(conn, sa, req, 491, reasonFor(491), "", nil)
		return
	case cseqOf(req) <= c.dlg.remoteSeq && c.dlg.remoteSeq != 0:
		c.mu.Unlock()
		h.respond(conn, sa, req, 500, reasonFor(500), "", nil, sip.NewHeader("Retry-After", "1"))
		return
	case c.reinviting:
		c.mu.Unlock()
		h.respond(conn, sa, req, 491, reasonFor(491), "", nil)
		return
	}
	c.reinviting = true
	c.dlg.remoteSeq = cseqOf(req)
	m := c.media
	c.mu.Unlock()
	done := func() {
		c.mu.Lock()
		c.reinviting = false
		c.mu.Unlock()
	}
	var body []byte
	var err error
	if len(req.Body()) > 0 {
		body, err = m.Answer(req.Body())
	} else {
		body, err = m.Offer("sendrecv")
	}
	if err != nil {
		code, warn := answerFailure(err)
		var hdrs []sip.Header
		if warn != "" {
			hdrs = append(hdrs, sip.NewHeader("Warning", warn))
		}
		h.respond(conn, sa, req, code, reasonFor(code), "", nil, hdrs...)
		done()
		return
	}
	c.mu.Lock()
	if ct := contactURI(req); ct != "" {
		c.dlg.target = ct // §12.2.2 target refresh
	}
	if len(req.Body()) > 0 {
		c.remoteHold = isHold(sdpDirection(req.Body()))
	}
	s := c.holdStateLocked()
	c.mu.Unlock()
	h.respond(conn, sa, req, 200, "OK", "", body, sip.NewHeader("Contact", h.localContact(conn)))
	// Free for our own re-INVITE before anyone sees the new state.
	done()
	c.setState(s, 0)
}

// hangupAll BYEs every call (graceful stop, before the un-REGISTER).
func (h *Handset) hangupAll(ctx context.Context) {
	for _, c := range h.Calls() {
		_ = c.Hangup(ctx)
	}
}

// endCallsLost ends every call when the handset's flow is gone: Lync binds
// a dialog to the flow its Contact/GRUU was registered on, and a new flow
// is a new binding, so the calls cannot go on (RELIABILITY.md F1: they end
// with the reason "connection lost").
func (h *Handset) endCallsLost() {
	for _, c := range h.Calls() {
		c.end(&Error{Op: "call " + c.peer, Class: OutcomeTransport, Why: "connection lost"}, "connection lost", 0)
	}
}

// callsDraining reports whether the graceful stop refuses new calls.
func (h *Handset) callsDraining() bool {
	h.calls.mu.Lock()
	defer h.calls.mu.Unlock()
	return h.calls.draining
}

// closeCalls ends every call without signalling (Close) and waits for the
// call goroutines and timer callbacks.
func (h *Handset) closeCalls() {
	for _, c := range h.Calls() {
		c.end(ErrClosed, "closed", 0)
	}
	h.calls.mu.Lock()
	h.calls.closed = true
	h.calls.mu.Unlock()
	h.calls.wg.Wait()
}
