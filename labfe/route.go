package labfe

import (
	"slices"
	"strconv"
	"strings"

	"github.com/handset-dev/handset/labfe/internal/sipmsg"
)

// route serves an authenticated non-REGISTER request: CANCEL hop by hop,
// in-dialog requests by the dialog they belong to, the echo bot, local
// services for requests to the user itself or the domain, otherwise a
// proxy hop to the target's own TLS flow, signed with the target's SA
// (calls.go describes the state kept).
func (s *Server) route(f *flow, sa *secAssoc, req *sipmsg.Message) bool {
	// RFC 3261 §16.3: loop and Max-Forwards checks come first.
	if s.looped(req) {
		if req.Method == "ACK" {
			return true
		}
		return s.reply(f, sa, s.failure(req, 482, "Loop Detected", diagLoop))
	}
	mf, ok := maxForwards(req)
	if !ok || mf == 0 {
		if req.Method == "ACK" {
			return true
		}
		if !ok {
			return s.reply(f, sa, s.failure(req, 400, "Bad Request", diagBadRequest))
		}
		return s.reply(f, sa, s.failure(req, 483, "Too Many Hops", diagTooManyHops))
	}
	s.stripOwnRoute(req)
	if req.Method == "CANCEL" {
		return s.cancel(f, sa, req)
	}
	if toTag(req) != "" {
		if handled, keep := s.inDialog(f, sa, req); handled {
			return keep
		}
	}
	if s.isEcho(req.RequestURI) {
		return s.echoRequest(f, sa, req)
	}
	target := aorOf(req.RequestURI)
	_, rp := sipmsg.NameAddr(req.RequestURI) // no <>: the URI's own parameters
	now := s.now()
	s.mu.Lock()
	var dst *binding
	if _, isGRUU := rp["gruu"]; isGRUU {
		if u := s.users[target]; u != nil {
			s.expireLocked(u, now)
			for _, b := range u.bindings {
				if b.gruuOpaque == rp["opaque"] {
					dst = b
				}
			}
		}
	} else if u := s.users[target]; u != nil && u != sa.user {
		s.expireLocked(u, now)
		for _, b := range u.bindings { // newest registration wins (no forking)
			if dst == nil || b.registered.After(dst.registered) {
				dst = b
			}
		}
	} else {
		for _, u := range s.users { // a raw Contact URI
			for _, b := range u.bindings {
				if b.contactURI == req.RequestURI {
					dst = b
				}
			}
		}
	}
	var dstFlow *flow
	if dst != nil {
		dstFlow = dst.flow
	}
	_, known := s.users[target]
	// A server GRUU (opaque=srvr:..., e.g. the mrasUri of in-band
	// provisioning) names a service of the pool itself.
	self := target == sa.user.aor || target == s.cfg.Domain || target == s.cfg.FQDN || strings.HasPrefix(rp["opaque"], "srvr:")
	s.mu.Unlock()

	if dst == nil && self {
		return s.local(f, sa, req)
	}
	if req.Method == "ACK" {
		if dstFlow != nil {
			s.forward(f, dstFlow, req, fwdOpts{})
		}
		return true
	}
	if dst == nil {
		if known {
			return s.reply(f, sa, s.failure(req, 480, "Temporarily Unavailable", diagNotRegistered))
		}
		return s.reply(f, sa, s.failure(req, 404, "Not Found", diagNoUser))
	}
	newCall := req.Method == "INVITE"
	if !s.admit(f, newCall) {
		return s.reply(f, sa, s.failure(req, 503, "Service Unavailable", diagTooMany))
	}
	if !s.admitCallee(dstFlow, newCall) {
		return s.reply(f, sa, s.failure(req, 486, "Busy Here", diagCalleeBusy))
	}
	if newCall {
		s.trying(f, req)
	}
	s.forward(f, dstFlow, req, fwdOpts{track: req.Method != "BENOTIFY", recordRoute: newCall})
	return true
}

// In-band provisioning (protocols.md §7).
const (
	provisioningEvent = "vnd-microsoft-provisioning-v2"
	provisioningType  = "application/vnd-microsoft-roaming-provisioning-v2+xml"
)

// local answers requests the front end serves itself: Config.Local first,
// then the self-SUBSCRIBEs (subscribe.go: provisioning-v2 with
// labfe/inband's document, roaming contacts and self); SERVICE and the like
// get an empty 200 OK.
func (s *Server) local(f *flow, sa *secAssoc, req *sipmsg.Message) bool {
	if s.cfg.Local != nil && req.Method != "ACK" {
		lr, ok := s.cfg.Local(LocalRequest{User: sa.user.User, Method: req.Method, RequestURI: req.RequestURI,
			Event: req.Value("Event"), ContentType: req.Value("Content-Type"), Body: req.Body})
		if ok {
			code, reason := lr.Status, lr.Reason
			if code == 0 {
				code, reason = 200, "OK"
			}
			if reason == "" {
				reason = statusText(code)
			}
			r := s.response(req, code, reason)
			for _, h := range lr.Headers {
				r.Add(h[0], h[1])
			}
			if len(lr.Body) > 0 {
				r.Add("Content-Type", lr.ContentType)
				r.Body = lr.Body
			}
			return s.reply(f, sa, r)
		}
	}
	switch req.Method {
	case "SUBSCRIBE":
		return s.reply(f, sa, s.subscribe(f, sa, req)) // subscribe.go
	case "SERVICE", "OPTIONS", "PUBLISH", "NOTIFY", "BYE", "INFO", "MESSAGE":
		return s.reply(f, sa, s.response(req, 200, "OK"))
	case "ACK":
		return true
	default:
		return s.reply(f, sa, s.failure(req, 501, "Not Implemented", diagBadRequest))
	}
}

// fwdOpts says how forward treats a request.
type fwdOpts struct {
	track       bool   // wait for its responses (not for ACK, BENOTIFY)
	recordRoute bool   // add labfe's Record-Route (dialog-creating INVITE)
	branch      string // reuse this Via branch (the ACK of a non-2xx)
}

// forward proxies req to the flow dst: a Via of ours on top, the caller's
// Authorization removed, Max-Forwards decremented (70 added when absent),
// and an Authentication-Info signed with the callee's SA (MS-SIPAE: a
// server signs every request it sends).
func (s *Server) forward(from, dst *flow, req *sipmsg.Message, o fwdOpts) {
	s.mu.Lock()
	dsa := dst.sa
	s.mu.Unlock()
	if dsa == nil {
		return
	}
	branch := o.branch
	if branch == "" {
		branch = "z9hG4bK" + strings.ToLower(s.randHex(8))
	}
	fwd := &sipmsg.Message{Method: req.Method, RequestURI: req.RequestURI, Body: req.Body}
	fwd.Add("Via", s.ownVia(branch))
	hasMF := false
	for _, h := range req.Headers {
		switch strings.ToLower(h.Name) {
		case "authorization", "proxy-authorization", "authentication-info", "proxy-authentication-info", "content-length", "l":
			continue
		case "max-forwards":
			n, _ := strconv.Atoi(strings.TrimSpace(h.Value))
			fwd.Add(h.Name, strconv.Itoa(max(n-1, 0)))
			hasMF = true
			continue
		}
		fwd.Add(h.Name, h.Value)
	}
	if !hasMF {
		fwd.Add("Max-Forwards", "69")
	}
	if o.recordRoute {
		// After the Vias, keeping them one contiguous list (RFC 3261 §7.3.1).
		at := 0
		for i, h := range fwd.Headers {
			if n := strings.ToLower(h.Name); n == "via" || n == "v" {
				at = i + 1
			}
		}
		fwd.Headers = slices.Insert(fwd.Headers, at, sipmsg.Header{Name: "Record-Route", Value: s.recordRoute()})
	}
	if o.track {
		callerBranch := viaBranch(req.Value("Via"))
		tx := &proxyTx{key: branch + " " + req.Method, branch: branch, caller: from, callerBranch: callerBranch,
			dst: dst, method: req.Method, req: req, initial: req.Method == "INVITE" && toTag(req) == "", created: s.now()}
		s.mu.Lock()
		s.txs[tx.key] = tx
		from.txKeys[tx.key] = struct{}{}
		dst.inTx[tx.key] = struct{}{}
		if req.Method == "INVITE" && callerBranch != "" {
			ik := inviteKey{from, callerBranch}
			s.invites[ik] = tx
			from.invKeys[ik] = struct{}{}
		}
		s.mu.Unlock()
	}
	if err := dst.sendSigned(s, dsa, fwd); err != nil {
		s.log.Debug("labfe: forward failed", "err", err)
	}
}

// handleResponse takes a response from a handset to a request labfe
// forwarded to it: it must come over the flow the request went to and be
// signed (1xx may not be); 100 Trying stops here (RFC 3261 §16.7 step 3);
// the rest goes back to the caller re-signed with the caller's SA. A 2xx
// to an INVITE outside a dialog confirms the dialog.
func (s *Server) handleResponse(f *flow, res *sipmsg.Message) bool {
	vias := res.All("Via")
	if len(vias) < 2 {
		return true // not a response to anything we sent: drop
	}
	_, method, err := res.CSeq()
	if err != nil {
		return true
	}
	key := viaBranch(vias[0]) + " " + method
	s.mu.Lock()
	tx := s.txs[key]
	sa := f.sa
	s.mu.Unlock()
	if tx == nil || sa == nil || tx.dst != f {
		return true
	}
	hdr, ok := authorization(res)
	if !ok {
		hdr, ok = res.Get("Authentication-Info")
	}
	if !ok {
		hdr, ok = res.Get("Proxy-Authentication-Info")
	}
	if ok {
		a, err := parseAuth(hdr)
		if err != nil {
			s.count(sa.user, func(st *UserStats) { st.Malformed++ })
			return false
		}
		if a.get("crand") == "" && a.get("srand") != "" { // srand/snum/rspauth spelling
			a.params["crand"], a.params["cnum"], a.params["response"] = a.get("srand"), a.get("snum"), a.get("rspauth")
		}
		if _, v := s.verify(f, res, a); v != vOK {
			if v == vReplay {
				s.count(sa.user, func(st *UserStats) { st.Replays++ })
				return true
			}
			s.count(sa.user, func(st *UserStats) { st.BadSignatures++ })
			return false
		}
	} else if res.StatusCode >= 200 {
		s.count(sa.user, func(st *UserStats) { st.BadSignatures++ })
		return true // unsigned final response: dropped
	}
	if res.StatusCode == 100 {
		return true
	}
	out := &sipmsg.Message{StatusCode: res.StatusCode, Reason: res.Reason, Body: res.Body}
	popped := false
	for _, h := range res.Headers {
		switch strings.ToLower(h.Name) {
		case "via", "v":
			if !popped {
				popped = true
				continue
			}
		case "authorization", "proxy-authorization", "authentication-info", "proxy-authentication-info", "content-length", "l":
			continue
		}
		out.Add(h.Name, h.Value)
	}
	s.mu.Lock()
	if res.StatusCode >= 200 {
		s.forgetTxLocked(tx)
		if tx.method == "INVITE" && res.StatusCode < 300 {
			s.forgetInviteLocked(tx) // a 2xx ACK is a new transaction
			if tx.initial {
				if tt := toTag(res); tt != "" {
					num, _, _ := tx.req.CSeq()
					s.addDialogLocked(&dialog{key: dialogKey{res.Value("Call-ID"), fromTag(res), tt}, caller: tx.caller, callee: f,
						callerAddr: tx.req.Value("From"), calleeAddr: res.Value("To"),
						callerTarget: mustURI(tx.req.Value("Contact")), calleeTarget: mustURI(res.Value("Contact")),
						callerCSeq: num})
				}
			}
		}
	}
	csa := tx.caller.sa
	s.mu.Unlock()
	if csa == nil {
		return true
	}
	_ = tx.caller.sendSigned(s, csa, out)
	return true
}

// viaBranch returns the branch parameter of a Via value.
func viaBranch(via string) string {
	_, params, ok := strings.Cut(via, ";")
	if !ok {
		return ""
	}
	_, p := sipmsg.NameAddr("<x>;" + params)
	return p["branch"]
}
