package sipua

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/handset-dev/handset/media"
	"github.com/handset-dev/handset/media/sdp"
)

// CallState is the state of one call.
//
//	outgoing: Dialing -> Ringing (18x) -> Established <-> Held / RemoteHeld -> Ended
//	incoming: Ringing -> Established <-> Held / RemoteHeld -> Ended
//
// Held means we put the call on hold (a=sendonly or inactive in our
// re-INVITE); RemoteHeld that the peer did (its offer was sendonly or
// inactive) and we did not.
type CallState uint8

// Call states.
const (
	CallDialing CallState = iota
	CallRinging
	CallEstablished
	CallHeld
	CallRemoteHeld
	CallEnded
)

var callStateNames = [...]string{
	CallDialing:     "dialing",
	CallRinging:     "ringing",
	CallEstablished: "established",
	CallHeld:        "held",
	CallRemoteHeld:  "remote_held",
	CallEnded:       "ended",
}

func (s CallState) String() string {
	if int(s) < len(callStateNames) {
		return callStateNames[s]
	}
	return "call_state(" + strconv.Itoa(int(s)) + ")"
}

// Errors of the call API.
var (
	// ErrCallEnded is returned by Hold, Resume and Answer on an ended call.
	ErrCallEnded = errors.New("sipua: call ended")
	// ErrCallNotEstablished is returned by Hold/Resume before the 200 OK.
	ErrCallNotEstablished = errors.New("sipua: call not established")
	// ErrReinvitePending is returned while another re-INVITE of this call
	// is in progress (RFC 3261 §14.1 allows one at a time).
	ErrReinvitePending = errors.New("sipua: re-INVITE in progress")
)

// CallOptions adjusts one outgoing call.
type CallOptions struct {
	// Headers are added to the INVITE as written (e.g. Subject).
	Headers [][2]string
}

// Call is one call of a handset, outgoing (Handset.Call) or incoming
// (auto-answered; see CallConfig). Its methods are safe for concurrent use.
type Call struct {
	h        *Handset
	id       string // Call-ID
	incoming bool
	peer     string // the other party's URI

	mu         sync.Mutex
	state      CallState
	dlg        dialog
	media      mediaSession
	localHold  bool
	remoteHold bool
	reinviting bool
	invite     *sip.Request // the initial INVITE, ours or theirs
	answer     []byte       // incoming: our SDP answer, sent in the 200
	acked      bool
	timers     []stopper
	stopMedia  context.CancelFunc
	start      time.Time
	answered   time.Time
	setup      time.Duration
	final      media.Stats
	diversion  string

	done   chan struct{}
	err    error
	reason string
	status int

	// abort asks Call's INVITE loop to CANCEL an outgoing call that is not
	// answered yet (Hangup during setup, e.g. the graceful stop); nil for
	// incoming calls.
	abort   chan struct{}
	aborted bool // abort is closed; guarded by mu
}

// ID returns the Call-ID.
func (c *Call) ID() string { return c.id }

// Incoming reports whether the peer called us.
func (c *Call) Incoming() bool { return c.incoming }

// Peer returns the other party's URI.
func (c *Call) Peer() string { return c.peer }

// State returns the current state.
func (c *Call) State() CallState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Done is closed when the call has ended.
func (c *Call) Done() <-chan struct{} { return c.done }

// Err returns why the call ended: nil while it runs and after a normal end
// (BYE from either side), else a classified error (*Error).
func (c *Call) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// EndReason is a short fixed text for how the call ended ("local bye",
// "remote bye", "canceled", "486", …), "" while it runs.
func (c *Call) EndReason() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reason
}

// SetupTime is INVITE → 200 OK for outgoing calls, INVITE → our 200 OK for
// incoming ones; 0 before.
func (c *Call) SetupTime() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.setup
}

// Diversion is the Diversion header of an incoming call when
// voIpProt.SIP.header.diversion.enable=1, else "".
func (c *Call) Diversion() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.diversion
}

// Stats returns the media statistics (final ones once ended).
func (c *Call) Stats() media.Stats {
	c.mu.Lock()
	m, ended := c.media, c.state == CallEnded
	c.mu.Unlock()
	if ended {
		// end marks the call ended before it closes the media and stores
		// the final figures, then closes done: a caller racing another
		// goroutine's end (PlaceCall's own BYE against the graceful stop's)
		// waits for them instead of reading zeros.
		<-c.done
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.final
	}
	if m == nil {
		return media.Stats{}
	}
	return m.Stats()
}

// Calls returns the handset's calls in progress.
func (h *Handset) Calls() []*Call {
	h.calls.mu.Lock()
	defer h.calls.mu.Unlock()
	out := make([]*Call, 0, len(h.calls.calls))
	for _, c := range h.calls.calls {
		out = append(out, c)
	}
	return out
}

func (h *Handset) addCall(c *Call) bool {
	h.calls.mu.Lock()
	defer h.calls.mu.Unlock()
	if h.calls.closed || h.calls.draining {
		return false
	}
	if h.calls.calls == nil {
		h.calls.calls = map[string]*Call{}
	}
	h.calls.calls[c.id] = c
	h.mu.Lock()
	if h.endCalls == nil {
		h.endCalls = h.hangupAll // graceful stop BYEs the calls (run.go)
	}
	h.mu.Unlock()
	return true
}

func (h *Handset) findCall(callID string) *Call {
	h.calls.mu.Lock()
	defer h.calls.mu.Unlock()
	return h.calls.calls[callID]
}

func (h *Handset) activeCalls() int {
	h.calls.mu.Lock()
	defer h.calls.mu.Unlock()
	return len(h.calls.calls)
}

// emitCall reports a call event.
func (c *Call) emit(ev Event) {
	ev.Kind = EventCallState
	ev.CallID = c.id
	ev.Peer = c.peer
	ev.Incoming = c.incoming
	c.h.emit(ev)
}

// setState moves the call to s and reports it; c.mu is NOT held.
func (c *Call) setState(s CallState, lat time.Duration) {
	c.mu.Lock()
	prev := c.state
	if prev == CallEnded || prev == s {
		c.mu.Unlock()
		return
	}
	c.state = s
	c.mu.Unlock()
	c.emit(Event{CallState: s, Latency: lat, Outcome: OutcomeSuccess})
}

// holdState recomputes the state after a hold change; c.mu is held.
func (c *Call) holdStateLocked() CallState {
	switch {
	case c.localHold:
		return CallHeld
	case c.remoteHold:
		return CallRemoteHeld
	}
	return CallEstablished
}

// end finishes the call once: timers stopped, media closed, removed from
// the handset, Done closed, an EventCallState(CallEnded) emitted. err nil
// is a normal end.
func (c *Call) end(err error, reason string, status int) {
	c.mu.Lock()
	if c.state == CallEnded {
		c.mu.Unlock()
		return
	}
	c.state = CallEnded
	c.err, c.reason, c.status = err, reason, status
	timers := c.timers
	c.timers = nil
	m := c.media
	stop := c.stopMedia
	c.mu.Unlock()
	for _, t := range timers {
		t.Stop()
	}
	var st media.Stats
	if m != nil {
		if stop != nil {
			stop()
		}
		_ = m.Close()
		st = m.Stats()
	}
	c.mu.Lock()
	c.final = st
	c.mu.Unlock()
	c.h.calls.mu.Lock()
	if c.h.calls.calls[c.id] == c {
		delete(c.h.calls.calls, c.id)
	}
	c.h.calls.mu.Unlock()
	close(c.done)
	o, why := Classify(err)
	if err == nil {
		why = reason
	}
	c.emit(Event{CallState: CallEnded, Outcome: o, Reason: why, Status: status, Err: err})
}

// startMedia starts the streams and the rekey watcher once the call is up.
func (c *Call) startMedia() error {
	c.mu.Lock()
	m := c.media
	if m == nil || c.stopMedia != nil || c.state == CallEnded {
		c.mu.Unlock()
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.stopMedia = cancel
	c.mu.Unlock()
	if err := m.Start(ctx); err != nil {
		return err
	}
	if c.h.calls.enter() {
		go c.watchRekey(m.RekeyDue())
	}
	if im, ok := m.(*iceMedia); ok && c.h.calls.enter() {
		go c.watchICE(im.Failed()) // callice.go
	}
	return nil
}

// watchRekey sends the re-INVITE with a new key when media says half the
// key lifetime is used (sec.srtp.key.lifetime; protocols.md §10.3).
func (c *Call) watchRekey(due <-chan struct{}) {
	defer c.h.calls.wg.Done()
	for {
		select {
		case <-c.done:
			return
		case <-c.h.closing:
			return
		case _, ok := <-due:
			if !ok {
				due = nil
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), c.h.cfg.TransactionTimeout)
			err := c.Rekey(ctx)
			cancel()
			if err != nil {
				c.h.log.Warn("call: rekey re-INVITE failed", "call", c.id, "err", err)
			}
		}
	}
}

// Call places a call to `to` (a SIP URI, user@domain, or a user or number
// of our domain) over the registration's TLS flow: INVITE with our SDP
// offer, signed with the SA (protocols.md §2.4), 1xx, then the 200 OK is
// ACKed and media starts. It returns when the call is established; on
// failure the *Error classifies the final response (486 busy and 480/404/
// 603 → OutcomeRejected, 488 → OutcomeMedia, …). If ctx ends before the
// 200 OK, the INVITE is CANCELed (RFC 3261 §9.1).
func (h *Handset) Call(ctx context.Context, to string, opts CallOptions) (*Call, error) {
	if err := h.enter(); err != nil {
		return nil, err
	}
	defer h.runWG.Done()
	op := "call " + to
	c, sa, err := h.callConn()
	if err != nil {
		return nil, &Error{Op: op, Class: OutcomeTransport, Why: "not registered", Err: err}
	}
	cfg := h.calls.config()
	_, domain := h.cfg.aorParts()
	ruri, err := parseTarget(to, domain)
	if err != nil {
		return nil, err
	}
	if n := h.activeCalls(); n >= cfg.MaxCalls {
		return nil, &Error{Op: op, Class: OutcomeRejected, Why: "call limit", Err: fmt.Errorf("sipua: %d calls up (call.callsPerLineKey)", n)}
	}
	newMedia := h.calls.factory()
	if newMedia == nil {
		return nil, &Error{Op: op, Class: OutcomeConfig, Why: "no media", Err: errors.New("sipua: no media configured for calls")}
	}
	m, err := newMedia(localIP(c))
	if err != nil {
		return nil, &Error{Op: op, Class: OutcomeMedia, Why: mediaSetupWhy(err), Err: err}
	}
	offer, err := m.Offer(sdp.SendRecv)
	if err != nil {
		_ = m.Close()
		return nil, &Error{Op: op, Class: OutcomeMedia, Why: "sdp offer", Err: err}
	}

	// The INVITE (RFC 3261 §8.1.1; Lync: epid on From, GRUU Contact,
	// ms-keep-alive as SIPE sends on INVITE).
	user, _ := h.cfg.aorParts()
	tag := h.randHex(5)
	callID := h.randHex(16)
	req := sip.NewRequest(sip.INVITE, ruri)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: domain}, Params: sip.NewParams()}
	from.Params.Add("tag", tag)
	from.Params.Add("epid", h.epid)
	toURI := ruri
	toURI.UriParams = nil
	toH := &sip.ToHeader{Address: toURI, Params: sip.NewParams()}
	cid := sip.CallIDHeader(callID)
	maxfwd := sip.MaxForwardsHeader(70)
	h.addVia(c, req, h.newBranch())
	req.AppendHeader(&maxfwd)
	req.AppendHeader(from)
	req.AppendHeader(toH)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.INVITE})
	req.AppendHeader(sip.NewHeader("Contact", h.localContact(c)))
	req.AppendHeader(sip.NewHeader("User-Agent", h.cfg.UserAgent))
	req.AppendHeader(sip.NewHeader("Supported", "ms-dialog-route-set-update, timer, 100rel"))
	req.AppendHeader(sip.NewHeader("Allow", contactMethods))
	req.AppendHeader(sip.NewHeader("ms-keep-alive", "UAC;hop-hop=yes"))
	for _, kv := range opts.Headers {
		req.AppendHeader(sip.NewHeader(kv[0], kv[1]))
	}
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(offer)

	call := &Call{h: h, id: callID, peer: toURI.String(), state: CallDialing, media: m, invite: req,
		start: h.calls.now(), done: make(chan struct{}), abort: make(chan struct{})}
	call.dlg = dialog{callID: callID, localTag: tag, localURI: from.Address.String(), remoteURI: toURI.String(), localSeq: 1, target: ruri.String()}
	if !h.addCall(call) {
		_ = m.Close()
		if h.callsDraining() {
			return nil, &Error{Op: op, Class: OutcomeTransport, Why: "signing out", Err: ErrNotRegistered}
		}
		return nil, ErrClosed
	}
	key, ch, err := h.startTx(c, sa, req)
	if err != nil {
		e := &Error{Op: op, Class: OutcomeTransport, Why: "connection lost", Err: err}
		call.end(e, e.Why, 0)
		return nil, e
	}
	defer func() { h.endTx(key) }() // key changes when a challenge is answered
	call.emit(Event{CallState: CallDialing})
	challenged := false

	timer := time.NewTimer(h.cfg.TransactionTimeout) // Timer B until the first response
	defer timer.Stop()
	for {
		select {
		case r := <-ch:
			res := r.res
			if r.err != nil {
				e := &Error{Op: op, Class: OutcomeAuthRejected, Why: "bad server signature", Status: res.StatusCode, Err: r.err}
				call.end(e, e.Why, res.StatusCode)
				return nil, e
			}
			switch {
			case res.StatusCode == 100:
				timer.Reset(cfg.RingBackTimeout)
			case res.IsProvisional():
				timer.Reset(cfg.RingBackTimeout)
				call.setState(CallRinging, 0)
			case res.IsSuccess():
				if err := call.established(c, sa, res); err != nil {
					return nil, err
				}
				call.mu.Lock()
				aborted := call.aborted
				call.mu.Unlock()
				if aborted { // Hangup came while the 200 was handled: BYE now
					hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.cfg.TransactionTimeout)
					_ = call.Hangup(hctx)
					cancel()
				}
				return call, nil
			default:
				h.ackNon2xx(c, sa, req, res)
				if nreq, nkey, nch, ok := h.retryChallenged(c, sa, call, req, res, &challenged); ok { // standard mode (digest.go)
					h.endTx(key)
					req, key, ch = nreq, nkey, nch
					timer.Reset(h.cfg.TransactionTimeout)
					continue
				}
				e := callStatusError(op, res)
				call.end(e, e.Why, res.StatusCode)
				return nil, e
			}
		case <-timer.C:
			call.mu.Lock()
			ringing := call.state == CallRinging
			call.mu.Unlock()
			if !ringing {
				e := &Error{Op: op, Class: OutcomeTimeout, Why: "timeout"}
				call.end(e, e.Why, 0)
				return nil, e
			}
			return nil, call.cancel(c, sa, req, ch, &Error{Op: op, Class: OutcomeRejected, Why: "no answer"})
		case <-ctx.Done():
			return nil, call.cancel(c, sa, req, ch, &Error{Op: op, Class: OutcomeTimeout, Why: "canceled", Err: ctx.Err()})
		case <-call.abort:
			return nil, call.cancel(c, sa, req, ch, &Error{Op: op, Class: OutcomeTimeout, Why: "canceled", Err: context.Canceled})
		case <-h.closing:
			call.end(ErrClosed, "closed", 0)
			return nil, ErrClosed
		}
	}
}

// established completes an outgoing call on its 2xx: dialog from the
// response, ACK (signed, RFC 3261 §13.2.2.4), the answer applied, media
// started.
func (c *Call) established(conn *connection, sa *secAssoc, res *sip.Response) error {
	h := c.h
	op := "call " + c.peer
	c.mu.Lock()
	c.dlg = dialogFromResponse(c.invite, res, c.dlg.localTag)
	dlg := c.dlg
	c.answered = h.calls.now()
	c.setup = c.answered.Sub(c.start)
	setup := c.setup
	m := c.media
	c.mu.Unlock()
	if ack, err := h.newInDialog(conn, &dlg, sip.ACK, dlg.localSeq); err == nil {
		if err := h.writeCall(conn, sa, ack); err != nil {
			e := &Error{Op: op, Class: OutcomeTransport, Why: "connection lost", Err: err}
			c.end(e, e.Why, res.StatusCode)
			return e
		}
	}
	if err := m.Accept(res.Body()); err != nil {
		e := &Error{Op: op, Class: OutcomeMedia, Why: "sdp answer", Status: res.StatusCode, Err: err}
		c.bye(conn, sa, e)
		return e
	}
	if err := c.startMedia(); err != nil {
		e := &Error{Op: op, Class: OutcomeMedia, Why: "media start", Err: err}
		c.bye(conn, sa, e)
		return e
	}
	c.setState(CallEstablished, setup)
	return nil
}

// cancel CANCELs a pending INVITE (RFC 3261 §9.1: same branch, Request-URI,
// Call-ID, From, To and CSeq number) and waits for its final response: the
// 487 is ACKed; a 200 that crossed the CANCEL is ACKed and BYEd (§15).
func (c *Call) cancel(conn *connection, sa *secAssoc, inv *sip.Request, ch <-chan txResult, why *Error) error {
	h := c.h
	creq := sip.NewRequest(sip.CANCEL, inv.Recipient)
	creq.AppendHeader(inv.Via().Clone())
	for _, name := range []string{"Route"} {
		for _, hd := range inv.GetHeaders(name) {
			creq.AppendHeader(sip.NewHeader(name, hd.Value()))
		}
	}
	maxfwd := sip.MaxForwardsHeader(70)
	creq.AppendHeader(&maxfwd)
	creq.AppendHeader(copyFrom(inv.From()))
	creq.AppendHeader(copyTo(inv.To()))
	creq.AppendHeader(copyCallID(inv))
	creq.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.CANCEL})
	creq.AppendHeader(sip.NewHeader("User-Agent", h.cfg.UserAgent))
	ckey, cch, err := h.startTx(conn, sa, creq)
	if err == nil {
		defer h.endTx(ckey)
	}
	_ = cch // the 200 to the CANCEL carries nothing we need
	t := time.NewTimer(h.cfg.TransactionTimeout)
	defer t.Stop()
	for {
		select {
		case r := <-ch:
			if r.err != nil || r.res.IsProvisional() {
				continue
			}
			if r.res.IsSuccess() {
				// The callee answered before the CANCEL arrived.
				c.mu.Lock()
				c.dlg = dialogFromResponse(c.invite, r.res, c.dlg.localTag)
				dlg := c.dlg
				c.mu.Unlock()
				if ack, err := h.newInDialog(conn, &dlg, sip.ACK, dlg.localSeq); err == nil {
					_ = h.writeCall(conn, sa, ack)
				}
				c.bye(conn, sa, why)
				return why
			}
			h.ackNon2xx(conn, sa, inv, r.res)
			why.Status = r.res.StatusCode
			c.end(why, why.Why, r.res.StatusCode)
			return why
		case <-t.C:
			c.end(why, why.Why, 0)
			return why
		case <-h.closing:
			c.end(ErrClosed, "closed", 0)
			return ErrClosed
		}
	}
}

// ackNon2xx sends the ACK of a non-2xx final response: same branch and
// Request-URI as the INVITE, To from the response (RFC 3261 §17.1.1.3).
func (h *Handset) ackNon2xx(conn *connection, sa *secAssoc, inv *sip.Request, res *sip.Response) {
	ack := sip.NewRequest(sip.ACK, inv.Recipient)
	ack.AppendHeader(inv.Via().Clone())
	for _, hd := range inv.GetHeaders("Route") {
		ack.AppendHeader(sip.NewHeader("Route", hd.Value()))
	}
	maxfwd := sip.MaxForwardsHeader(70)
	ack.AppendHeader(&maxfwd)
	ack.AppendHeader(copyFrom(inv.From()))
	if to := res.To(); to != nil {
		ack.AppendHeader(copyTo(to))
	} else {
		ack.AppendHeader(copyTo(inv.To()))
	}
	ack.AppendHeader(copyCallID(inv))
	ack.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.ACK})
	_ = h.writeCall(conn, sa, ack)
}

// newInDialog builds an in-dialog request with our Via, Max-Forwards,
// User-Agent and, for target-refresh requests, Contact.
func (h *Handset) newInDialog(conn *connection, d *dialog, method sip.RequestMethod, seq uint32) (*sip.Request, error) {
	req, err := d.newRequest(method, seq)
	if err != nil {
		return nil, err
	}
	h.addVia(conn, req, h.newBranch())
	maxfwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(&maxfwd)
	if method == sip.INVITE {
		req.AppendHeader(sip.NewHeader("Contact", h.localContact(conn)))
	}
	req.AppendHeader(sip.NewHeader("User-Agent", h.cfg.UserAgent))
	return req, nil
}

// callStatusError classifies a failure response to an INVITE.
func callStatusError(op string, res *sip.Response) *Error {
	e := statusError(op, "INVITE", res)
	switch res.StatusCode {
	case 404, 410, 480, 484, 486, 487, 600, 603, 604:
		e.Class = OutcomeRejected
	case 488, 606, 415:
		e.Class = OutcomeMedia
	}
	return e
}

// bye ends an established call from our side: the call ends first (media
// stops), then the BYE goes out (RFC 3261 §15.1.1).
func (c *Call) bye(conn *connection, sa *secAssoc, why error) {
	reason := "local bye"
	var e *Error
	if errors.As(why, &e) {
		reason = e.Why
	}
	c.mu.Lock()
	c.dlg.localSeq++
	dlg := c.dlg
	c.mu.Unlock()
	c.end(why, reason, 0)
	req, err := c.h.newInDialog(conn, &dlg, sip.BYE, dlg.localSeq)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.h.cfg.TransactionTimeout)
	defer cancel()
	_, _ = c.h.roundTripCall(ctx, conn, sa, req, "bye "+c.peer)
}

// Hangup ends the call: BYE when established, 486 to a ringing incoming
// call (declined). It returns when the BYE transaction has completed (the
// call has ended either way).
func (c *Call) Hangup(ctx context.Context) error {
	h := c.h
	conn, sa, err := h.callConn()
	c.mu.Lock()
	st := c.state
	c.mu.Unlock()
	switch {
	case st == CallEnded:
		return nil
	case err != nil:
		c.end(&Error{Op: "hangup " + c.peer, Class: OutcomeTransport, Why: "connection lost", Err: err}, "connection lost", 0)
		return err
	case c.incoming && st == CallRinging:
		h.respond(conn, sa, c.invite, 486, reasonFor(486), c.dlg.localTag, nil)
		c.end(nil, "declined", 486)
		return nil
	case !c.incoming && c.abort != nil && c.abortSetup():
		// Not answered yet: there is no dialog to BYE. Call's loop CANCELs
		// the INVITE (and ACKs and BYEs a 200 that crosses the CANCEL,
		// RFC 3261 §15), or BYEs at once a 200 it was already handling, so
		// the far end holds no dialog once the call is done; the graceful
		// stop waits for that before its un-REGISTER.
		select {
		case <-c.done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c.mu.Lock()
	c.dlg.localSeq++
	dlg := c.dlg
	c.mu.Unlock()
	c.end(nil, "local bye", 0)
	req, err := h.newInDialog(conn, &dlg, sip.BYE, dlg.localSeq)
	if err != nil {
		return err
	}
	res, err := h.roundTripCall(ctx, conn, sa, req, "bye "+c.peer)
	if err != nil {
		return err
	}
	if !res.IsSuccess() && res.StatusCode != 481 {
		return statusError("bye "+c.peer, "BYE", res)
	}
	return nil
}

// abortSetup closes c.abort if the outgoing call is still being set up and
// reports whether it did (or had). The state check and the close are one
// step under c.mu, and Call checks c.aborted under c.mu after marking the
// call established, so a Hangup racing the 200 OK is never lost.
func (c *Call) abortSetup() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.aborted {
		return true
	}
	if c.state != CallDialing && c.state != CallRinging {
		return false
	}
	c.aborted = true
	close(c.abort)
	return true
}

// Hold puts the call on hold: re-INVITE with a=sendonly (a=inactive when
// the peer holds us too), as the handset does (protocols.md §10.1).
func (c *Call) Hold(ctx context.Context) error {
	c.mu.Lock()
	dir := sdp.SendOnly
	if c.remoteHold {
		dir = sdp.Inactive
	}
	c.mu.Unlock()
	return c.reinvite(ctx, dir, false, func() { c.localHold = true })
}

// Resume takes the call off hold: re-INVITE with a=sendrecv (recvonly when
// the peer still holds us).
func (c *Call) Resume(ctx context.Context) error {
	c.mu.Lock()
	dir := sdp.SendRecv
	if c.remoteHold {
		dir = sdp.RecvOnly
	}
	c.mu.Unlock()
	return c.reinvite(ctx, dir, false, func() { c.localHold = false })
}

// Rekey sends the re-INVITE with a new SRTP key (sent automatically when
// the media says half the key lifetime is used).
func (c *Call) Rekey(ctx context.Context) error {
	c.mu.Lock()
	dir := sdp.SendRecv
	switch {
	case c.localHold && c.remoteHold:
		dir = sdp.Inactive
	case c.localHold:
		dir = sdp.SendOnly
	case c.remoteHold:
		dir = sdp.RecvOnly
	}
	c.mu.Unlock()
	return c.reinvite(ctx, dir, true, nil)
}

// reinvite runs one re-INVITE (RFC 3261 §14.1): one at a time per call; a
// 2xx is ACKed and its answer applied (then apply runs under c.mu); 491
// is retried once after 2.1–4 s; 408/481 end the call; other failures
// leave the session as it was.
func (c *Call) reinvite(ctx context.Context, dir sdp.Direction, newKey bool, apply func()) error {
	h := c.h
	op := "re-INVITE " + c.peer
	for attempt := 0; ; attempt++ {
		conn, sa, err := h.callConn()
		if err != nil {
			return &Error{Op: op, Class: OutcomeTransport, Why: "not registered", Err: err}
		}
		c.mu.Lock()
		switch {
		case c.state == CallEnded:
			c.mu.Unlock()
			return ErrCallEnded
		case c.state < CallEstablished:
			c.mu.Unlock()
			return ErrCallNotEstablished
		case c.reinviting:
			c.mu.Unlock()
			return ErrReinvitePending
		}
		c.reinviting = true
		c.dlg.localSeq++
		dlg := c.dlg
		m := c.media
		c.mu.Unlock()
		res, req, err := c.sendReinvite(ctx, conn, sa, &dlg, m, dir, newKey, op)
		c.mu.Lock()
		c.reinviting = false
		c.mu.Unlock()
		if err != nil {
			return err
		}
		switch {
		case res.IsSuccess():
			c.mu.Lock()
			if ct := contactURI(res); ct != "" {
				c.dlg.target = ct // §12.2.1.2 target refresh
			}
			dlg = c.dlg
			c.mu.Unlock()
			if ack, err := h.newInDialog(conn, &dlg, sip.ACK, req.CSeq().SeqNo); err == nil {
				_ = h.writeCall(conn, sa, ack)
			}
			if err := m.Accept(res.Body()); err != nil {
				e := &Error{Op: op, Class: OutcomeMedia, Why: "sdp answer", Status: res.StatusCode, Err: err}
				c.bye(conn, sa, e)
				return e
			}
			c.mu.Lock()
			if apply != nil {
				apply()
			}
			s := c.holdStateLocked()
			c.mu.Unlock()
			c.setState(s, 0)
			if newKey {
				c.emit(Event{CallState: s, Step: "rekeyed"})
			}
			return nil
		case res.StatusCode == 491 && attempt == 0:
			h.ackNon2xx(conn, sa, req, res)
			// RFC 3261 §14.1: the owner of the Call-ID waits 2.1–4 s, the
			// other side 0–2 s.
			wait := time.Duration(h.randHex(1)[0]%20) * 100 * time.Millisecond
			if !c.incoming {
				wait += 2100 * time.Millisecond
			}
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return &Error{Op: op, Class: OutcomeTimeout, Why: "canceled", Err: ctx.Err()}
			case <-c.done:
				t.Stop()
				return ErrCallEnded
			}
			continue
		case res.StatusCode == 408 || res.StatusCode == 481:
			h.ackNon2xx(conn, sa, req, res)
			e := callStatusError(op, res)
			if res.StatusCode == 481 {
				c.end(e, e.Why, res.StatusCode)
			} else {
				c.bye(conn, sa, e)
			}
			return e
		default:
			h.ackNon2xx(conn, sa, req, res)
			return callStatusError(op, res)
		}
	}
}

func (c *Call) sendReinvite(ctx context.Context, conn *connection, sa *secAssoc, dlg *dialog, m mediaSession, dir sdp.Direction, newKey bool, op string) (*sip.Response, *sip.Request, error) {
	var offer []byte
	var err error
	if newKey {
		offer, err = m.OfferNewKey(dir)
	} else {
		offer, err = m.Offer(dir)
	}
	if err != nil {
		return nil, nil, &Error{Op: op, Class: OutcomeMedia, Why: "sdp offer", Err: err}
	}
	req, err := c.h.newInDialog(conn, dlg, sip.INVITE, dlg.localSeq)
	if err != nil {
		return nil, nil, &Error{Op: op, Class: OutcomeServerError, Why: "bad dialog", Err: err}
	}
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(offer)
	res, err := c.h.roundTripCall(ctx, conn, sa, req, op)
	return res, req, err
}

// CallResult is what PlaceCall reports about one call, for the load runner
// (calls.csv).
type CallResult struct {
	Established bool
	Setup       time.Duration // INVITE → 200 OK
	Held        time.Duration // established → end
	Status      int           // final status of the INVITE when it failed, 0 otherwise
	Outcome     Outcome
	Reason      string
	Stats       media.Stats
}

// PlaceCall dials `to`, keeps the call up for hold, hangs up and reports
// setup time, media statistics and outcome. ctx ending early CANCELs or
// BYEs the call. A call the peer ended early is still established; its
// Reason says "remote bye".
func (h *Handset) PlaceCall(ctx context.Context, to string, hold time.Duration) (CallResult, error) {
	var res CallResult
	call, err := h.Call(ctx, to, CallOptions{})
	if err != nil {
		res.Outcome, res.Reason = Classify(err)
		var e *Error
		if errors.As(err, &e) {
			res.Status = e.Status
		}
		return res, err
	}
	res.Established = true
	res.Setup = call.SetupTime()
	up := h.calls.now()
	timeUp := make(chan struct{})
	t := h.calls.after(hold, func() { close(timeUp) })
	select {
	case <-timeUp:
	case <-call.Done():
	case <-ctx.Done():
	case <-h.closing:
	}
	t.Stop()
	res.Held = h.calls.now().Sub(up)
	var herr error
	select {
	case <-call.Done():
	default:
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.cfg.TransactionTimeout)
		herr = call.Hangup(hctx)
		cancel()
	}
	res.Stats = call.Stats()
	if cerr := call.Err(); cerr != nil {
		res.Outcome, res.Reason = Classify(cerr)
		return res, cerr
	}
	res.Reason = call.EndReason()
	if herr != nil {
		// The call ran; a lost BYE response is noted, not a failed call.
		h.log.Debug("call: BYE failed", "call", call.ID(), "err", herr)
	}
	return res, nil
}
