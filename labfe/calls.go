package labfe

import (
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/handset-dev/handset/labfe/internal/sipmsg"
)

// Call routing state (RFC 3261 §16 stateful proxy, as a Lync front end
// routes calls between its registered endpoints).
//
// labfe keeps three kinds of state, all bounded per flow and all dropped
// with the flow that owns them:
//
//   - proxyTx: a request it forwarded and waits for a final response to
//     (txs, keyed by labfe's own Via branch and the CSeq method);
//   - the INVITE client transactions of a caller (invites, keyed by the
//     caller's flow and its branch), so that CANCEL (RFC 3261 §9.1, hop by
//     hop: labfe answers it and sends its own) and the ACK of a non-2xx
//     final response reach the callee with the branch of the INVITE labfe
//     sent (§17.1.1.3);
//   - dialog: a confirmed INVITE dialog (created by the 2xx), keyed by
//     Call-ID and both tags, naming the two flows. In-dialog requests are
//     routed by it (not by the Request-URI), only between those two flows;
//     an unknown dialog is answered 481 (§12.2.2).
//
// labfe Record-Routes every dialog-creating INVITE with its own URI
// (§16.6 step 4), so that the handsets' in-dialog requests come back
// through it (Lync front ends do the same); it strips its own Route entry
// from requests it receives (§16.4).
//
// When a flow closes mid-call, its dialogs are forgotten and labfe sends
// the other party a BYE on the gone side's behalf, with an ms-diagnostics
// saying why (a later in-dialog request gets 481, which also ends the
// dialog, §12.2.1.2); its pending requests are answered by labfe (480 to
// an INVITE, 408 to others); the INVITEs it was still ringing are
// cancelled downstream; its other outstanding requests are dropped.

// Bounds on per-flow routing state: a handset has at most four calls
// (issue 4: call waiting) and a few transactions in flight.
const (
	maxDialogsPerFlow = 32  // confirmed dialogs plus INVITEs in progress
	maxTxPerFlow      = 256 // forwarded requests awaiting a final response
	// timerC bounds an INVITE transaction labfe forwarded (RFC 3261 §16.6
	// step 11: greater than 3 minutes); stale ones are purged lazily.
	timerC = 3*time.Minute + 32*time.Second
	// timerF bounds a non-INVITE transaction (64*T1, RFC 3261 §17.1.2.2).
	timerF = 32 * time.Second
)

// proxyTx is a request labfe forwarded (or handed to the echo bot).
type proxyTx struct {
	key          string // branch + " " + method, the txs key
	branch       string // labfe's Via branch towards the callee
	caller       *flow
	callerBranch string
	dst          *flow     // the flow it went to; nil for the echo bot
	echo         *echoCall // the echo bot's call, when it is the UAS
	method       string
	req          *sipmsg.Message // the caller's request, for responses labfe makes itself
	initial      bool            // an INVITE outside a dialog (creates one)
	created      time.Time
}

// inviteKey names an INVITE client transaction of a caller.
type inviteKey struct {
	f      *flow
	branch string
}

// dialogKey names a dialog by Call-ID and the tags of caller and callee.
type dialogKey struct{ callID, callerTag, calleeTag string }

// dialog is a confirmed INVITE dialog routed through labfe.
type dialog struct {
	key    dialogKey
	caller *flow
	callee *flow     // nil when the echo bot is the callee
	echo   *echoCall // the echo bot's side, when it is the callee

	// What labfe needs to end the dialog itself when one side's flow
	// closes: each side's From/To value (with its tag), remote target and
	// highest CSeq sent. Guarded by Server.mu.
	callerAddr, calleeAddr     string // name-addr with tag
	callerTarget, calleeTarget string // Contact URIs
	callerCSeq, calleeCSeq     uint32
}

// other returns the flow at the other end of d from f, and whether f is a
// party of d at all.
func (d *dialog) other(f *flow) (*flow, bool) {
	switch f {
	case d.caller:
		return d.callee, true
	case d.callee:
		return d.caller, d.callee != nil
	}
	return nil, false
}

// recordRoute is labfe's Record-Route/Route URI: the pool FQDN on the
// Lync TLS port, loose routing.
func (s *Server) recordRoute() string {
	return "<sip:" + s.cfg.FQDN + ":5061;transport=tls;lr>"
}

// isOwnURI reports whether a Route URI names labfe: the pool FQDN (any
// port), or exactly the listen address (an outbound-proxy Route).
func (s *Server) isOwnURI(uri string) bool {
	hostport := aorOf(uri)
	if _, h, ok := strings.Cut(hostport, "@"); ok {
		hostport = h
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	return host == strings.ToLower(s.cfg.FQDN) || hostport == strings.ToLower(s.Addr())
}

// stripOwnRoute removes the leading Route entries naming labfe (RFC 3261
// §16.4): they brought the request here and must not go on.
func (s *Server) stripOwnRoute(req *sipmsg.Message) {
	var keep []string
	dropping := true
	for _, v := range req.All("Route") {
		for _, r := range splitComma(v) {
			u, _ := sipmsg.NameAddr(r)
			if dropping && s.isOwnURI(u) {
				continue
			}
			dropping = false
			keep = append(keep, r)
		}
	}
	if _, ok := req.Get("Route"); !ok {
		return
	}
	req.Del("Route")
	for _, r := range keep {
		req.Add("Route", r)
	}
}

// looped reports a request that already passed through labfe: one of its
// Vias is labfe's own sent-by (RFC 3261 §16.3 step 4). labfe never
// forwards a request to itself, so any such request is a loop.
func (s *Server) looped(req *sipmsg.Message) bool {
	own := strings.ToLower(s.cfg.FQDN) + ":5061"
	for _, v := range req.All("Via") {
		for _, one := range splitComma(v) {
			sentBy, _, _ := strings.Cut(one, ";")
			f := strings.Fields(sentBy)
			if len(f) == 2 && strings.ToLower(f[1]) == own {
				return true
			}
		}
	}
	return false
}

// maxForwards returns the Max-Forwards value (70 when absent, RFC 3261
// §16.6 step 3) and whether it is well formed.
func maxForwards(req *sipmsg.Message) (int, bool) {
	v, ok := req.Get("Max-Forwards")
	if !ok {
		return 70, true
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 || n > 255 {
		return 0, false
	}
	return n, true
}

func toTag(m *sipmsg.Message) string {
	_, p := sipmsg.NameAddr(m.Value("To"))
	return p["tag"]
}

func fromTag(m *sipmsg.Message) string {
	_, p := sipmsg.NameAddr(m.Value("From"))
	return p["tag"]
}

// findDialogLocked finds the dialog an in-dialog request belongs to,
// from either side. s.mu must be held.
func (s *Server) findDialogLocked(m *sipmsg.Message) *dialog {
	id, ft, tt := m.Value("Call-ID"), fromTag(m), toTag(m)
	if d := s.dialogs[dialogKey{id, ft, tt}]; d != nil {
		return d
	}
	return s.dialogs[dialogKey{id, tt, ft}]
}

// purgeLocked forgets f's transactions older than their timer (a callee
// that never answered), so that a long-lived flow's state stays bounded.
// s.mu must be held.
func (s *Server) purgeLocked(f *flow, now time.Time) {
	for k := range f.txKeys {
		tx := s.txs[k]
		if tx == nil {
			delete(f.txKeys, k)
			continue
		}
		limit := timerF
		if tx.method == "INVITE" {
			limit = timerC
		}
		if now.Sub(tx.created) > limit {
			s.forgetTxLocked(tx)
		}
	}
	for ik := range f.invKeys {
		if tx := s.invites[ik]; tx == nil || now.Sub(tx.created) > timerC {
			delete(s.invites, ik)
			delete(f.invKeys, ik)
		}
	}
}

// forgetTxLocked removes tx from every index. s.mu must be held.
func (s *Server) forgetTxLocked(tx *proxyTx) {
	delete(s.txs, tx.key)
	delete(tx.caller.txKeys, tx.key)
	if tx.dst != nil {
		delete(tx.dst.inTx, tx.key)
	}
}

// forgetInviteLocked removes the caller's INVITE transaction. s.mu must be held.
func (s *Server) forgetInviteLocked(tx *proxyTx) {
	ik := inviteKey{tx.caller, tx.callerBranch}
	if s.invites[ik] == tx {
		delete(s.invites, ik)
		delete(tx.caller.invKeys, ik)
	}
}

// addDialogLocked records a confirmed dialog. s.mu must be held.
func (s *Server) addDialogLocked(d *dialog) {
	if old := s.dialogs[d.key]; old != nil {
		s.removeDialogLocked(old)
	}
	s.dialogs[d.key] = d
	d.caller.dialogs[d] = struct{}{}
	if d.callee != nil {
		d.callee.dialogs[d] = struct{}{}
	}
}

// removeDialogLocked forgets d. s.mu must be held.
func (s *Server) removeDialogLocked(d *dialog) {
	if s.dialogs[d.key] == d {
		delete(s.dialogs, d.key)
	}
	delete(d.caller.dialogs, d)
	if d.callee != nil {
		delete(d.callee.dialogs, d)
	}
}

// admitLocked reports whether f may start one more transaction (and, for
// an INVITE outside a dialog, one more call). s.mu must be held.
func (s *Server) admitLocked(f *flow, newCall bool, now time.Time) bool {
	if len(f.txKeys) >= maxTxPerFlow || (newCall && len(f.dialogs)+len(f.invKeys) >= maxDialogsPerFlow) {
		s.purgeLocked(f, now)
	}
	if len(f.txKeys) >= maxTxPerFlow {
		return false
	}
	return !newCall || len(f.dialogs)+len(f.invKeys) < maxDialogsPerFlow
}

// dropCallsLocked forgets the routing state of a closing flow and returns
// what must be sent once s.mu is released: final responses to callers
// whose requests were pending at this flow, and the stop of echo calls.
func (s *Server) dropCallsLocked(f *flow) func() {
	type answer struct {
		to  *flow
		req *sipmsg.Message
		st  int
	}
	var answers []answer
	var stops []*echoCall
	for k := range f.inTx {
		tx := s.txs[k]
		if tx == nil {
			continue
		}
		s.forgetTxLocked(tx)
		if tx.method == "INVITE" {
			s.forgetInviteLocked(tx)
			answers = append(answers, answer{tx.caller, tx.req, 480})
		} else if tx.method != "ACK" && tx.method != "BENOTIFY" {
			answers = append(answers, answer{tx.caller, tx.req, 408})
		}
	}
	var cancels []*proxyTx
	for ik := range f.invKeys {
		if tx := s.invites[ik]; tx != nil {
			switch {
			case tx.echo != nil:
				stops = append(stops, tx.echo)
			case tx.dst != nil && tx.initial && s.txs[tx.key] == tx:
				// Still ringing: cancel it downstream (a re-INVITE in
				// progress ends with the BYE below).
				cancels = append(cancels, tx)
			}
		}
		delete(s.invites, ik)
		delete(f.invKeys, ik)
	}
	for k := range f.txKeys {
		if tx := s.txs[k]; tx != nil {
			s.forgetTxLocked(tx)
		}
	}
	var byes []*sipmsg.Message
	var byeTo []*flow
	for d := range f.dialogs {
		s.removeDialogLocked(d)
		if d.echo != nil {
			stops = append(stops, d.echo)
			continue
		}
		if other, _ := d.other(f); other != nil {
			byes = append(byes, s.byeFor(d, f))
			byeTo = append(byeTo, other)
		}
	}
	return func() {
		for _, e := range stops {
			e.stop()
		}
		for _, tx := range cancels {
			s.cancelDownstream(tx)
		}
		for i, bye := range byes {
			// The other side learns at once that the call is over, and why.
			s.mu.Lock()
			sa := byeTo[i].sa
			s.mu.Unlock()
			if sa != nil {
				_ = byeTo[i].sendSigned(s, sa, bye)
			}
		}
		for _, a := range answers {
			s.mu.Lock()
			sa := a.to.sa
			s.mu.Unlock()
			if sa == nil {
				continue
			}
			reason, diag := "Temporarily Unavailable", diagCalleeGone
			if a.st == 408 {
				reason = "Request Timeout"
			}
			_ = a.to.sendSigned(s, sa, s.failure(a.req, a.st, reason, diag))
		}
	}
}

// cancel handles CANCEL hop by hop (RFC 3261 §9.2, §16.10): labfe answers
// it 200 itself when it matches an INVITE in progress from this flow, then
// cancels its own INVITE downstream with the same branch; the callee's 200
// to that CANCEL ends there. No match: 481.
func (s *Server) cancel(f *flow, sa *secAssoc, req *sipmsg.Message) bool {
	ik := inviteKey{f, viaBranch(req.Value("Via"))}
	s.mu.Lock()
	tx := s.invites[ik]
	if tx != nil && (tx.req.Value("Call-ID") != req.Value("Call-ID") || fromTag(tx.req) != fromTag(req)) {
		tx = nil // a CANCEL must match the INVITE's Call-ID and From tag (§9.1)
	}
	s.mu.Unlock()
	if tx == nil {
		return s.reply(f, sa, s.failure(req, 481, "Call/Transaction Does Not Exist", diagNoTransaction))
	}
	if !s.reply(f, sa, s.response(req, 200, "OK")) {
		return false
	}
	if tx.echo != nil {
		tx.echo.cancel()
		return true
	}
	s.cancelDownstream(tx)
	return true
}

// cancelDownstream sends labfe's own CANCEL for the INVITE tx forwarded
// (same Request-URI, Call-ID, From, To, CSeq number and branch, §9.1).
func (s *Server) cancelDownstream(tx *proxyTx) {
	s.mu.Lock()
	dsa := tx.dst.sa
	s.mu.Unlock()
	if dsa == nil {
		return
	}
	c := &sipmsg.Message{Method: "CANCEL", RequestURI: tx.req.RequestURI}
	c.Add("Via", s.ownVia(tx.branch))
	c.Add("Max-Forwards", "70")
	for _, h := range []string{"From", "To", "Call-ID"} {
		c.Add(h, tx.req.Value(h))
	}
	num, _, _ := tx.req.CSeq()
	c.Add("CSeq", strconv.FormatUint(uint64(num), 10)+" CANCEL")
	for _, r := range tx.req.All("Route") {
		c.Add("Route", r)
	}
	if err := tx.dst.sendSigned(s, dsa, c); err != nil {
		s.log.Debug("labfe: forward CANCEL failed", "err", err)
	}
}

// byeFor builds the BYE labfe sends, on behalf of the side whose flow
// closed (gone), to the other side of d: that side's remote target, the
// next CSeq of the gone side, and an ms-diagnostics saying why. s.mu must
// be held.
func (s *Server) byeFor(d *dialog, gone *flow) *sipmsg.Message {
	from, to, target, cseq := d.callerAddr, d.calleeAddr, d.calleeTarget, d.callerCSeq
	if gone == d.callee {
		from, to, target, cseq = d.calleeAddr, d.callerAddr, d.callerTarget, d.calleeCSeq
	}
	if target == "" {
		target = "sip:" + aorOf(mustURI(to))
	}
	m := &sipmsg.Message{Method: "BYE", RequestURI: target}
	m.Add("Via", s.ownVia("z9hG4bK"+strings.ToLower(s.randHex(8))))
	m.Add("Max-Forwards", "70")
	m.Add("From", from)
	m.Add("To", to)
	m.Add("Call-ID", d.key.callID)
	m.Add("CSeq", strconv.FormatUint(uint64(cseq)+1, 10)+" BYE")
	m.Add("ms-diagnostics", diagPeerGone+`;source="`+s.cfg.FQDN+`"`)
	return m
}

func mustURI(nameAddr string) string {
	u, _ := sipmsg.NameAddr(nameAddr)
	return u
}

// noteCSeqLocked records the CSeq of an in-dialog request from f. s.mu
// must be held.
func (d *dialog) noteCSeqLocked(f *flow, m *sipmsg.Message) {
	n, method, err := m.CSeq()
	if err != nil || method == "ACK" || method == "CANCEL" {
		return
	}
	switch f {
	case d.caller:
		d.callerCSeq = max(d.callerCSeq, n)
	case d.callee:
		d.calleeCSeq = max(d.calleeCSeq, n)
	}
}

func (s *Server) ownVia(branch string) string {
	return "SIP/2.0/TLS " + s.cfg.FQDN + ":5061;branch=" + branch
}

// inDialog routes a request carrying a To tag. It reports whether it
// handled the request, and whether the flow stays.
func (s *Server) inDialog(f *flow, sa *secAssoc, req *sipmsg.Message) (handled, keep bool) {
	if req.Method == "ACK" {
		// The ACK of a non-2xx final response belongs to the INVITE
		// transaction (RFC 3261 §17.1.1.3): it goes where the INVITE went,
		// with its branch; labfe's INVITE transaction ends.
		ik := inviteKey{f, viaBranch(req.Value("Via"))}
		s.mu.Lock()
		tx := s.invites[ik]
		if tx != nil && tx.req.Value("Call-ID") == req.Value("Call-ID") {
			s.forgetInviteLocked(tx)
		} else {
			tx = nil
		}
		s.mu.Unlock()
		if tx != nil {
			if tx.dst != nil {
				s.forward(f, tx.dst, req, fwdOpts{branch: tx.branch})
			}
			return true, true
		}
	}
	s.mu.Lock()
	d := s.findDialogLocked(req)
	var dst *flow
	party := false
	if d != nil {
		if dst, party = d.other(f); party {
			d.noteCSeqLocked(f, req)
		}
	}
	s.mu.Unlock()
	if d == nil || !party {
		switch req.Method {
		case "INVITE", "BYE", "UPDATE", "PRACK", "INFO", "REFER":
			return true, s.reply(f, sa, s.failure(req, 481, "Call/Transaction Does Not Exist", diagNoDialog))
		case "ACK":
			return true, true // an ACK for no dialog is dropped (RFC 3261 §17.2.3)
		}
		return false, true // e.g. a subscription refresh: served as before
	}
	if d.echo != nil {
		return true, s.echoInDialog(f, sa, d, req)
	}
	if req.Method == "BYE" {
		s.mu.Lock()
		s.removeDialogLocked(d)
		s.mu.Unlock()
	}
	if req.Method == "ACK" {
		s.forward(f, dst, req, fwdOpts{})
		return true, true
	}
	if !s.admit(f, false) {
		return true, s.reply(f, sa, s.failure(req, 503, "Service Unavailable", diagTooMany))
	}
	if req.Method == "INVITE" {
		s.trying(f, req)
	}
	s.forward(f, dst, req, fwdOpts{track: true})
	return true, true
}

// admitCallee reports whether the flow dst may take one more request (and
// call): the callee's state is bounded like the caller's, so that many
// callers cannot grow one handset's dialogs without limit.
func (s *Server) admitCallee(dst *flow, newCall bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(dst.inTx) >= maxTxPerFlow {
		return false
	}
	if !newCall {
		return true
	}
	ringing := 0
	for k := range dst.inTx {
		if tx := s.txs[k]; tx != nil && tx.initial {
			ringing++
		}
	}
	return len(dst.dialogs)+ringing < maxDialogsPerFlow
}

func (s *Server) admit(f *flow, newCall bool) bool {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.admitLocked(f, newCall, now)
}

// trying sends the 100 Trying a proxy owes an INVITE (RFC 3261 §16.2);
// provisional responses are never signed (MS-SIPAE, protocols.md §2.4).
func (s *Server) trying(f *flow, req *sipmsg.Message) {
	_ = f.send(s.response(req, 100, "Trying"))
}
