package labfe

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/handset-dev/handset/labfe/internal/sipmsg"
	"github.com/handset-dev/handset/media/sdp"
)

// The echo bot is Lync's test-call service (botSipUriForTestCall, in-band
// ServerConfiguration, protocols.md §7.2): a UAS hosted by the front end
// that answers an INVITE after Config.EchoAnswerDelay and reflects the
// caller's audio back to where it came from. It negotiates with media/sdp
// under the pool's encryption level (488 with Warning 308 when the levels
// are not compatible), decrypts with the offer's key and re-encrypts with
// its own answer key (echomedia.go). It shares no code with the handset's
// media stack: pion/srtp does the packet work.
//
// Each call is an explicit state machine (echoTransition); its goroutines
// (answer timer, RTP and RTCP readers) are counted in Server.wg and end
// when the call ends, its caller's flow closes, or the Server closes.

// echoState is the state of one echo call (RFC 3261 §13.3.1 UAS side).
type echoState uint8

const (
	echoProceeding echoState = iota // INVITE received, answer delay running
	echoAnswered                    // 200 OK sent, waiting for the ACK
	echoConfirmed                   // ACK received: media reflected
	echoTerminated                  // CANCEL, BYE, ACK timeout, flow or server closed
)

func (s echoState) String() string {
	switch s {
	case echoProceeding:
		return "proceeding"
	case echoAnswered:
		return "answered"
	case echoConfirmed:
		return "confirmed"
	case echoTerminated:
		return "terminated"
	}
	return "echoState(" + strconv.Itoa(int(s)) + ")"
}

// echoEvent is what happens to an echo call.
type echoEvent uint8

const (
	evAnswer     echoEvent = iota // the answer delay elapsed
	evCancel                      // CANCEL matched the INVITE
	evAck                         // ACK (of the 2xx or of a re-INVITE's 2xx)
	evReInvite                    // re-INVITE in the dialog
	evBye                         // BYE from the caller
	evAckTimeout                  // no ACK within 64*T1 of the 2xx (RFC 3261 §13.3.1.4)
	evStop                        // caller's flow closed, or Server.Close
)

func (e echoEvent) String() string {
	return [...]string{"answer", "cancel", "ack", "re-invite", "bye", "ack-timeout", "stop"}[e]
}

var errEchoTransition = errors.New("labfe: echo call: illegal transition")

// echoTransition is the echo call's transition table:
//
//	proceeding --answer-->      answered   (send 200 OK with the SDP answer)
//	proceeding --cancel-->      terminated (send 487 to the INVITE)
//	answered   --ack-->         confirmed
//	answered   --ack-timeout--> terminated
//	confirmed  --ack-->         confirmed  (ACK of a re-INVITE's 200)
//	confirmed  --re-invite-->   confirmed  (200 OK with a new answer)
//	answered, confirmed --bye--> terminated (200 OK to the BYE)
//	any but terminated --stop--> terminated
//
// Anything else is an error and leaves the state unchanged.
func echoTransition(st echoState, ev echoEvent) (echoState, error) {
	switch {
	case st == echoTerminated:
	case ev == evStop:
		return echoTerminated, nil
	case st == echoProceeding && ev == evAnswer:
		return echoAnswered, nil
	case st == echoProceeding && ev == evCancel:
		return echoTerminated, nil
	case st == echoAnswered && ev == evAck:
		return echoConfirmed, nil
	case st == echoAnswered && ev == evAckTimeout:
		return echoTerminated, nil
	case st == echoConfirmed && (ev == evAck || ev == evReInvite):
		return echoConfirmed, nil
	case (st == echoAnswered || st == echoConfirmed) && ev == evBye:
		return echoTerminated, nil
	}
	return st, fmt.Errorf("%w: %s on %s", errEchoTransition, ev, st)
}

// ackTimeout is 64*T1 (RFC 3261 §13.3.1.4): a 2xx never ACKed ends the
// call. A variable so that a test can shorten it (export_test.go).
var ackTimeout = 32 * time.Second

// EchoStats counts the echo bot's work.
type EchoStats struct {
	Calls        int // INVITEs answered 200
	Active       int // calls not yet terminated
	Rejected     int // INVITEs refused (bad SDP 400/415, incompatible 488, busy 486)
	PacketsIn    int // RTP packets received (and authenticated, with SRTP)
	PacketsOut   int // RTP packets reflected
	AuthFailures int // SRTP/SRTCP packets that did not authenticate (or replays)
	RTCPIn       int // RTCP packets received (and authenticated, with SRTCP)
}

// echoCounters are updated by media goroutines without the server lock.
type echoCounters struct {
	calls, rejected, in, out, authFail, rtcpIn atomic.Int64
}

// echoCall is one call of the echo bot.
type echoCall struct {
	s       *Server
	caller  *flow
	invite  *sipmsg.Message // the initial INVITE
	tag     string          // the bot's To tag
	key     dialogKey
	delay   time.Duration
	ackWait time.Duration

	mu      sync.Mutex
	state   echoState
	answer  []byte // the current SDP answer (for the 200 OK)
	version uint64 // o= version of our answer
	media   *echoMedia

	done     chan struct{} // closed when terminated
	acked    chan struct{} // closed on the first ACK
	stopOnce sync.Once
}

// isEcho reports whether a Request-URI addresses the echo bot.
func (s *Server) isEcho(uri string) bool {
	return !s.cfg.NoEcho && aorOf(uri) == aorOf(s.cfg.EchoURI)
}

// echoContact is the bot's Contact, a GRUU-shaped URI of the service.
func (s *Server) echoContact() string {
	return "<" + s.cfg.EchoURI + ";opaque=app:testcall;gruu>"
}

// echoRequest serves an out-of-dialog request to the echo bot.
func (s *Server) echoRequest(f *flow, sa *secAssoc, req *sipmsg.Message) bool {
	switch req.Method {
	case "INVITE":
		return s.echoInvite(f, sa, req)
	case "ACK":
		return true
	case "OPTIONS":
		r := s.response(req, 200, "OK")
		r.Add("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS")
		r.Add("Accept", "application/sdp")
		return s.reply(f, sa, r)
	default:
		r := s.response(req, 405, "Method Not Allowed")
		r.Add("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS")
		return s.reply(f, sa, r)
	}
}

// echoReject answers an INVITE (or re-INVITE) the bot refuses and counts it.
func (s *Server) echoReject(f *flow, sa *secAssoc, req *sipmsg.Message, code int, reason, warning string) bool {
	s.echoCount.rejected.Add(1)
	r := s.response(req, code, reason)
	if warning != "" {
		r.Add("Warning", warning)
	}
	return s.reply(f, sa, r)
}

// echoOffer reads the SDP offer of an INVITE; on failure it answers and
// returns nil (400 for unparsable SDP with a Warning naming the line, 415
// for another body type, 488 for no offer).
func (s *Server) echoOffer(f *flow, sa *secAssoc, req *sipmsg.Message) (*sdp.Session, bool) {
	ct := strings.ToLower(strings.TrimSpace(req.Value("Content-Type")))
	if ct, _, _ = strings.Cut(ct, ";"); len(req.Body) == 0 {
		return nil, s.echoReject(f, sa, req, 488, "Not Acceptable Here", sdp.WarningMediaFormat)
	}
	if strings.TrimSpace(ct) != "application/sdp" {
		r := s.response(req, 415, "Unsupported Media Type")
		r.Add("Accept", "application/sdp")
		s.echoCount.rejected.Add(1)
		return nil, s.reply(f, sa, r)
	}
	off, err := sdp.Parse(req.Body)
	if err != nil {
		return nil, s.echoReject(f, sa, req, 400, "Bad Request", s.warning(err))
	}
	return off, true
}

// warning is an RFC 3261 §20.43 Warning value (399, miscellaneous) naming
// what was wrong with the SDP.
func (s *Server) warning(err error) string {
	text := strings.NewReplacer(`"`, "'", "\r", " ", "\n", " ").Replace(err.Error())
	if len(text) > 200 {
		text = text[:200]
	}
	return `399 ` + s.cfg.FQDN + ` "` + text + `"`
}

// echoPolicy maps the encryption level to the SDP policy the bot answers with.
func (s *Server) echoPolicy() sdp.Policy {
	switch s.cfg.EchoEncryption {
	case SupportEncryption:
		return sdp.Policy{Enable: true, Offer: true}
	case DoNotSupportEncryption:
		return sdp.Policy{}
	}
	return sdp.Policy{Enable: true, Offer: true, Require: true}
}

// echoInvite handles a new INVITE to the bot: the offer is checked at once
// (so a bad one is refused without ringing), media sockets are bound, and
// the answer is sent after the delay by the call's goroutine.
func (s *Server) echoInvite(f *flow, sa *secAssoc, req *sipmsg.Message) bool {
	if !s.admit(f, true) {
		return s.reply(f, sa, s.failure(req, 503, "Service Unavailable", diagTooMany))
	}
	_ = f.send(s.response(req, 100, "Trying"))
	off, keep := s.echoOffer(f, sa, req)
	if off == nil {
		return keep
	}
	c := &echoCall{s: s, caller: f, invite: req, tag: strings.ToLower(s.randHex(8)), delay: s.cfg.EchoAnswerDelay,
		ackWait: ackTimeout, done: make(chan struct{}), acked: make(chan struct{})}
	c.key = dialogKey{req.Value("Call-ID"), fromTag(req), c.tag}
	m, err := newEchoMedia(s, s.cfg.EchoMediaAddr, &s.echoCount)
	if err != nil {
		s.log.Info("labfe: echo: media sockets", "err", err)
		return s.reply(f, sa, s.failure(req, 500, "Server Internal Error", diagEchoMedia))
	}
	ans, err := m.negotiate(off, c.version)
	if err != nil {
		m.close()
		return s.echoNegotiationFailed(f, sa, req, err)
	}
	c.media, c.answer = m, ans

	tx := &proxyTx{caller: f, callerBranch: viaBranch(req.Value("Via")), echo: c, method: "INVITE", req: req,
		initial: true, created: s.now()}
	s.mu.Lock()
	if s.closed || len(s.echoCalls) >= s.cfg.EchoMaxCalls {
		s.mu.Unlock()
		m.close()
		return s.echoReject(f, sa, req, 486, "Busy Here", "")
	}
	s.echoCalls[c] = struct{}{}
	if tx.callerBranch != "" {
		ik := inviteKey{f, tx.callerBranch}
		s.invites[ik] = tx
		f.invKeys[ik] = struct{}{}
	}
	s.wg.Add(3)
	s.mu.Unlock()
	go c.run(tx)
	go m.serveRTP(&s.wg)
	go m.serveRTCP(&s.wg)
	return true
}

// echoNegotiationFailed answers a failed offer/answer: the NegotiationError's
// status and Warning (488, 308 for encryption levels), else 488 naming the
// cause.
func (s *Server) echoNegotiationFailed(f *flow, sa *secAssoc, req *sipmsg.Message, err error) bool {
	if ne, ok := sdp.IsNegotiationError(err); ok {
		return s.echoReject(f, sa, req, ne.Status, statusText(ne.Status), ne.Warning)
	}
	return s.echoReject(f, sa, req, 488, "Not Acceptable Here", s.warning(err))
}

// run is the call's control goroutine: it answers after the delay, then
// waits for the ACK (or ends the call after ackTimeout).
func (c *echoCall) run(tx *proxyTx) {
	defer c.s.wg.Done()
	if c.delay > 0 {
		t := time.NewTimer(c.delay)
		select {
		case <-t.C:
		case <-c.done:
			t.Stop()
			return
		}
	}
	if !c.answerInvite(tx) {
		return
	}
	t := time.NewTimer(c.ackWait)
	defer t.Stop()
	select {
	case <-c.acked:
	case <-c.done:
	case <-t.C:
		if c.event(evAckTimeout) == nil {
			c.s.log.Info("labfe: echo: no ACK for the 200 OK, call ended", "call-id", c.key.callID)
			c.end()
		}
	}
}

// event applies ev under c.mu; it returns the transition error, if any.
func (c *echoCall) event(ev echoEvent) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.eventLocked(ev)
}

func (c *echoCall) eventLocked(ev echoEvent) error {
	next, err := echoTransition(c.state, ev)
	if err != nil {
		return err
	}
	c.s.log.Debug("labfe: echo call", "call-id", c.key.callID, "event", ev.String(), "from", c.state.String(), "to", next.String())
	c.state = next
	return nil
}

// answerInvite sends the 200 OK and confirms the dialog, unless the call
// was cancelled or stopped first.
func (c *echoCall) answerInvite(tx *proxyTx) bool {
	s := c.s
	c.mu.Lock()
	if err := c.eventLocked(evAnswer); err != nil {
		c.mu.Unlock()
		return false
	}
	body := c.answer
	s.mu.Lock()
	s.forgetInviteLocked(tx)
	s.addDialogLocked(&dialog{key: c.key, caller: c.caller, echo: c})
	sa := c.caller.sa
	s.mu.Unlock()
	c.mu.Unlock()
	s.echoCount.calls.Add(1)
	c.media.setActive(true)
	r := c.ok(c.invite, body)
	r.Add("Record-Route", s.recordRoute())
	if sa == nil || c.caller.sendSigned(s, sa, r) != nil {
		c.stop()
		return false
	}
	return true
}

// ok builds the bot's 200 OK to req, with its tag, Contact and SDP body.
func (c *echoCall) ok(req *sipmsg.Message, body []byte) *sipmsg.Message {
	r := c.s.response(req, 200, "OK")
	if toTag(req) == "" {
		r.Set("To", req.Value("To")+";tag="+c.tag)
	}
	r.Add("Contact", c.s.echoContact())
	r.Add("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS")
	if body != nil {
		r.Add("Content-Type", "application/sdp")
		r.Body = body
	}
	return r
}

// cancel ends a call still ringing: 487 to the INVITE (RFC 3261 §9.2). The
// caller's ACK to it ends labfe's INVITE transaction (calls.go).
func (c *echoCall) cancel() {
	if c.event(evCancel) != nil {
		return // already answered: the CANCEL has no effect
	}
	s := c.s
	s.mu.Lock()
	sa := c.caller.sa
	s.mu.Unlock()
	c.end()
	r := s.response(c.invite, 487, "Request Terminated")
	r.Set("To", c.invite.Value("To")+";tag="+c.tag)
	if sa != nil {
		_ = c.caller.sendSigned(s, sa, r)
	}
}

// stop ends the call from outside (its flow or the server closed).
func (c *echoCall) stop() {
	_ = c.event(evStop)
	c.end()
}

// end releases the call once it is terminated: its goroutines stop, its
// sockets close, the server forgets it.
func (c *echoCall) end() {
	c.stopOnce.Do(func() {
		close(c.done)
		c.media.close()
		s := c.s
		s.mu.Lock()
		delete(s.echoCalls, c)
		if d := s.dialogs[c.key]; d != nil && d.echo == c {
			s.removeDialogLocked(d)
		}
		s.mu.Unlock()
	})
}

// echoInDialog serves a request in a dialog whose callee is the bot.
func (s *Server) echoInDialog(f *flow, sa *secAssoc, d *dialog, req *sipmsg.Message) bool {
	c := d.echo
	switch req.Method {
	case "ACK":
		c.mu.Lock()
		err := c.eventLocked(evAck)
		c.mu.Unlock()
		if err == nil {
			select {
			case <-c.acked:
			default:
				close(c.acked)
			}
		}
		return true
	case "BYE":
		if c.event(evBye) != nil {
			return s.reply(f, sa, s.failure(req, 481, "Call/Transaction Does Not Exist", diagNoDialog))
		}
		c.end()
		return s.reply(f, sa, s.response(req, 200, "OK"))
	case "INVITE":
		return s.echoReInvite(f, sa, c, req)
	case "OPTIONS", "INFO", "UPDATE":
		if req.Method == "UPDATE" && len(req.Body) > 0 {
			// Session changes come by re-INVITE; an UPDATE offer is not supported.
			return s.echoReject(f, sa, req, 488, "Not Acceptable Here", sdp.WarningMediaFormat)
		}
		return s.reply(f, sa, s.response(req, 200, "OK"))
	default:
		r := s.response(req, 405, "Method Not Allowed")
		r.Add("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS")
		return s.reply(f, sa, r)
	}
}

// echoReInvite answers a re-INVITE at once: hold (sendonly/inactive stops
// the echo), resume, or new keys. A refused offer leaves the session as it
// was (RFC 3261 §14.2).
func (s *Server) echoReInvite(f *flow, sa *secAssoc, c *echoCall, req *sipmsg.Message) bool {
	_ = f.send(s.response(req, 100, "Trying"))
	c.mu.Lock()
	if c.state != echoConfirmed {
		c.mu.Unlock()
		// RFC 3261 §14.2: a re-INVITE while one is pending (or before
		// the ACK) is answered 491 Request Pending.
		return s.reply(f, sa, s.response(req, 491, "Request Pending"))
	}
	c.mu.Unlock()
	off, keep := s.echoOffer(f, sa, req)
	if off == nil {
		return keep
	}
	c.mu.Lock()
	ans, err := c.media.negotiate(off, c.version+1)
	if err == nil {
		_ = c.eventLocked(evReInvite)
		c.version++
		c.answer = ans
	}
	c.mu.Unlock()
	if err != nil {
		return s.echoNegotiationFailed(f, sa, req, err)
	}
	return s.reply(f, sa, c.ok(req, ans))
}

// stopEchoCalls ends every echo call (Server.Close).
func (s *Server) stopEchoCalls() {
	s.mu.Lock()
	calls := make([]*echoCall, 0, len(s.echoCalls))
	for c := range s.echoCalls {
		calls = append(calls, c)
	}
	s.mu.Unlock()
	for _, c := range calls {
		c.stop()
	}
}

func (s *Server) echoStats() EchoStats {
	return EchoStats{
		Calls: int(s.echoCount.calls.Load()), Rejected: int(s.echoCount.rejected.Load()),
		PacketsIn: int(s.echoCount.in.Load()), PacketsOut: int(s.echoCount.out.Load()),
		AuthFailures: int(s.echoCount.authFail.Load()), RTCPIn: int(s.echoCount.rtcpIn.Load()),
	}
}
