package sipua

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/handset-dev/handset/auth/sipae"
)

// Calls bypass sipgo's transaction and dialog layers: sipgo has no re-INVITE
// support (DEPENDENCIES.md §1), its INVITE client transaction sends an
// unsigned ACK to a non-2xx and its server transaction answers CANCEL with
// an unsigned 200 and 487, which a Lync front end drops (every message is
// signed once the SA exists, protocols.md §2.4). Over the handset's one TLS
// flow (reliable: no retransmissions, RFC 3261 §17.1.1.2) the transaction
// layer left to write is small: a branch → waiter table for responses and
// Timer B as a context deadline.

// callRegistry is the handset's call state (one field of Handset).
type callRegistry struct {
	cfg    CallConfig
	cfgSet bool
	media  mediaFactory
	clock  callClock

	mu     sync.Mutex
	closed bool
	// draining: the graceful stop is ending the calls before its
	// un-REGISTER (run.go endCallsBeforeUnregister); no call starts until
	// Run starts again, so none slips out between the BYEs and the
	// un-REGISTER.
	draining bool
	calls    map[string]*Call // by Call-ID
	pending  map[string]chan txResult
	wg       sync.WaitGroup // timer callbacks and per-call goroutines

	sendMu  sync.Mutex // sign+write in cnum order (labfe/Lync reject a lower cnum as replay)
	cnumMu  sync.Mutex
	cnumSA  *secAssoc // the SA cnumMax belongs to (sendlock.go)
	cnumMax uint64
}

// txResult is one response to a pending client transaction; err is set
// when its signature did not verify.
type txResult struct {
	res *sip.Response
	err error
}

// callClock is the time seam of calls (tests inject a manual clock).
type callClock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) stopper
}

type stopper interface{ Stop() bool }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) stopper {
	return time.AfterFunc(d, f)
}

// withCallClock sets the clock of calls (tests).
func withCallClock(c callClock) Option {
	return func(h *Handset) error { h.calls.clock = c; return nil }
}

func (r *callRegistry) config() CallConfig {
	if !r.cfgSet {
		return CallConfig{}.withDefaults()
	}
	return r.cfg
}

func (r *callRegistry) now() time.Time {
	if r.clock == nil {
		return time.Now()
	}
	return r.clock.Now()
}

// after runs f after d on a timer, as a goroutine the registry owns: it is
// skipped once the registry is closed, and Close waits for it.
func (r *callRegistry) after(d time.Duration, f func()) stopper {
	c := r.clock
	if c == nil {
		c = realClock{}
	}
	return c.AfterFunc(d, func() {
		if !r.enter() {
			return
		}
		defer r.wg.Done()
		f()
	})
}

// enter registers a goroutine with the registry; false after close.
func (r *callRegistry) enter() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.wg.Add(1)
	return true
}

// callConn returns the registration's flow and SA; calls need both (the SA
// may be nil on a line without MS-SIPAE, then nothing is signed).
func (h *Handset) callConn() (*connection, *secAssoc, error) {
	h.mu.Lock()
	c, sa, st := h.conn, h.sa, h.state
	h.mu.Unlock()
	if c == nil || c.tc == nil || st != StateRegistered && st != StateAuthenticating {
		return nil, nil, ErrNotRegistered
	}
	if sa == nil && !h.cfg.standard() {
		// Between SA refreshes (a full re-authentication) nothing may go
		// out unsigned (protocols.md §2.4).
		return nil, nil, ErrNotRegistered
	}
	return c, sa, nil
}

// localContact is our Contact for dialogs: the GRUU when the registrar gave
// one (what Lync clients put in INVITE), else the registered contact.
func (h *Handset) localContact(c *connection) string {
	h.mu.Lock()
	gruu := h.reg.gruu
	h.mu.Unlock()
	uri := gruu
	if uri == "" {
		uri = "sip:" + c.local + ";transport=tls;ms-opaque=" + h.opaqueTok
	}
	return fmt.Sprintf(`<%s>;+sip.instance="<urn:uuid:%s>"`, uri, h.instance)
}

// addVia puts our Via with a fresh branch on top of req.
func (h *Handset) addVia(c *connection, req *sip.Request, branch string) {
	lhost, lport := splitHostPortInt(c.local)
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "TLS", Host: lhost, Port: lport, Params: sip.NewParams()}
	via.Params.Add("branch", branch)
	req.PrependHeader(via)
}

func (h *Handset) newBranch() string { return "z9hG4bK" + h.randHex(8) }

// writeCall signs m (when there is an SA) and writes it on the flow; the
// send lock keeps cnums in wire order.
func (h *Handset) writeCall(c *connection, sa *secAssoc, m sip.Message) error {
	if m.ContentLength() == nil {
		switch mm := m.(type) {
		case *sip.Request:
			mm.SetBody(mm.Body())
		case *sip.Response:
			mm.SetBody(mm.Body())
		}
	}
	h.calls.sendMu.Lock()
	defer h.calls.sendMu.Unlock()
	if sa != nil {
		if _, err := h.sign(m, sa, ""); err != nil {
			return fmt.Errorf("sipua: sign: %w", err)
		}
	}
	h.trace(m, true)
	if err := c.tc.WriteMsg(m); err != nil {
		return fmt.Errorf("%w: %w", errConnLost, err)
	}
	return nil
}

// startTx registers a waiter for the responses to req (keyed by its top Via
// branch and CSeq method) and sends it.
func (h *Handset) startTx(c *connection, sa *secAssoc, req *sip.Request) (key string, ch <-chan txResult, err error) {
	key = branchOf(req) + " " + string(req.CSeq().MethodName)
	w := make(chan txResult, 8)
	h.calls.mu.Lock()
	if h.calls.pending == nil {
		h.calls.pending = map[string]chan txResult{}
	}
	h.calls.pending[key] = w
	h.calls.mu.Unlock()
	if err := h.writeCall(c, sa, req); err != nil {
		h.endTx(key)
		return "", nil, err
	}
	return key, w, nil
}

func (h *Handset) endTx(key string) {
	h.calls.mu.Lock()
	delete(h.calls.pending, key)
	h.calls.mu.Unlock()
}

// onResponse receives the responses sipgo has no transaction for, i.e.
// those to our call requests. A final response must carry a valid
// signature (protocols.md §2.4); 1xx may be unsigned (pitfall 3).
func (h *Handset) onResponse(res *sip.Response) {
	h.trace(res, false)
	cs := res.CSeq()
	if cs == nil {
		return
	}
	key := branchOf(res) + " " + string(cs.MethodName)
	h.calls.mu.Lock()
	w := h.calls.pending[key]
	h.calls.mu.Unlock()
	if w == nil {
		// A 2xx retransmission after the transaction ended (RFC 3261
		// §13.2.2.4: re-ACK); on TLS the UAS does not retransmit, so drop.
		return
	}
	var verr error
	h.mu.Lock()
	sa := h.sa
	h.mu.Unlock()
	if sa != nil {
		signed, err := h.verify(res, sa)
		switch {
		case err != nil:
			verr = err
		case !signed && !sipae.AcceptUnsigned(true, res.StatusCode, string(cs.MethodName)):
			verr = errors.New("sipua: unsigned response")
		}
	}
	select {
	case w <- txResult{res: res, err: verr}:
	default:
	}
}

// roundTripCall sends a non-INVITE request (or a re-INVITE) and waits for
// its final response within the transaction timeout (Timer B/F).
func (h *Handset) roundTripCall(ctx context.Context, c *connection, sa *secAssoc, req *sip.Request, op string) (*sip.Response, error) {
	key, ch, err := h.startTx(c, sa, req)
	if err != nil {
		return nil, &Error{Op: op, Class: OutcomeTransport, Why: "connection lost", Err: err}
	}
	defer h.endTx(key)
	tctx, cancel := context.WithTimeout(ctx, h.cfg.TransactionTimeout)
	defer cancel()
	for {
		select {
		case r := <-ch:
			if r.err != nil {
				return nil, &Error{Op: op, Class: OutcomeAuthRejected, Why: "bad server signature", Status: r.res.StatusCode, Err: r.err}
			}
			if r.res.IsProvisional() {
				continue
			}
			return r.res, nil
		case <-tctx.Done():
			if ctx.Err() != nil {
				return nil, &Error{Op: op, Class: OutcomeTimeout, Why: "canceled", Err: ctx.Err()}
			}
			return nil, &Error{Op: op, Class: OutcomeTimeout, Why: "timeout", Err: tctx.Err()}
		case <-h.closing:
			return nil, ErrClosed
		}
	}
}

// respond answers req with code on the flow, signed; the To tag is ours.
func (h *Handset) respond(c *connection, sa *secAssoc, req *sip.Request, code int, reason, toTag string, body []byte, hdrs ...sip.Header) *sip.Response {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	if to := res.To(); to != nil {
		switch {
		case code == 100 && tagOf(req, false) == "":
			to.Params.Remove("tag") // §8.2.6.2: no tag needed on 100
		case toTag != "":
			to.Params.Add("tag", toTag)
		}
	}
	for _, hd := range hdrs {
		res.AppendHeader(hd)
	}
	if body != nil {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	res.SetBody(body)
	if err := h.writeCall(c, sa, res); err != nil {
		h.log.Debug("call: respond failed", "code", code, "err", err)
	}
	return res
}

// reasonFor is the text of a status code we send.
func reasonFor(code int) string {
	switch code {
	case 100:
		return "Trying"
	case 180:
		return "Ringing"
	case 200:
		return "OK"
	case 400:
		return "Bad Request"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 415:
		return "Unsupported Media Type"
	case 480:
		return "Temporarily Unavailable"
	case 481:
		return "Call/Transaction Does Not Exist"
	case 486:
		return "Busy Here"
	case 487:
		return "Request Terminated"
	case 488:
		return "Not Acceptable Here"
	case 491:
		return "Request Pending"
	case 500:
		return "Server Internal Error"
	case 501:
		return "Not Implemented"
	case 603:
		return "Decline"
	}
	return "Status " + itoa(code)
}

// localIP is the address our end of the flow is bound to.
func localIP(c *connection) netip.Addr {
	ap, err := netip.ParseAddrPort(c.local)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
