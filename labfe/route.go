package labfe

import (
	"strconv"
	"strings"

	"github.com/handset-dev/handset/labfe/inband"

	"github.com/handset-dev/handset/labfe/internal/sipmsg"
)

// route serves an authenticated non-REGISTER request: local services for
// requests to the user itself or the domain, otherwise a proxy hop to the
// target's own TLS flow, signed with the target's SA.
func (s *Server) route(f *flow, sa *secAssoc, req *sipmsg.Message) bool {
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
		for _, u := range s.users { // in-dialog to a raw Contact URI
			for _, b := range u.bindings {
				if b.contactURI == req.RequestURI {
					dst = b
				}
			}
		}
	}
	_, known := s.users[target]
	self := target == sa.user.aor || target == s.cfg.Domain || target == s.cfg.FQDN
	s.mu.Unlock()

	if dst == nil && self {
		return s.local(f, sa, req)
	}
	if req.Method == "ACK" {
		if dst != nil {
			s.forward(f, dst, req, false)
		}
		return true
	}
	if dst == nil {
		if known {
			return s.reply(f, sa, s.failure(req, 480, "Temporarily Unavailable", diagNotRegistered))
		}
		return s.reply(f, sa, s.failure(req, 404, "Not Found", diagNoUser))
	}
	if mf, ok := req.Get("Max-Forwards"); ok {
		if n, err := strconv.Atoi(strings.TrimSpace(mf)); err == nil && n <= 0 {
			return s.reply(f, sa, s.failure(req, 483, "Too Many Hops", diagBadRequest))
		}
	}
	s.forward(f, dst, req, true)
	return true
}

// In-band provisioning (protocols.md §7).
const (
	provisioningEvent = "vnd-microsoft-provisioning-v2"
	provisioningType  = "application/vnd-microsoft-roaming-provisioning-v2+xml"
)

// local answers requests the front end serves itself: Config.Local first,
// then the provisioning-v2 self-SUBSCRIBE with labfe/inband's document;
// other self-subscriptions and SERVICE get an empty 200 OK.
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
		r := s.response(req, 200, "OK")
		exp := req.Value("Expires")
		if exp == "" {
			exp = "3600"
		}
		r.Add("Expires", exp)
		if ev := strings.TrimSpace(req.Value("Event")); strings.EqualFold(ev, provisioningEvent) && aorOf(req.RequestURI) == sa.user.aor {
			// In-band provisioning answered in the 200 OK body (protocols.md §7.1).
			data := inband.Default()
			if s.cfg.InBand != nil {
				data = *s.cfg.InBand
			}
			r.Add("Event", provisioningEvent)
			r.Add("Content-Type", provisioningType)
			r.Body = inband.Document(data, sa.user.aor)
		}
		return s.reply(f, sa, r)
	case "SERVICE", "OPTIONS", "PUBLISH", "NOTIFY", "BYE", "INFO", "MESSAGE":
		return s.reply(f, sa, s.response(req, 200, "OK"))
	case "ACK":
		return true
	default:
		return s.reply(f, sa, s.failure(req, 501, "Not Implemented", diagBadRequest))
	}
}

// forward proxies req to dst's flow: a Via of ours on top, the caller's
// Authorization removed, Max-Forwards decremented, and an
// Authentication-Info signed with the callee's SA (MS-SIPAE: a server
// signs every request it sends).
func (s *Server) forward(from *flow, dst *binding, req *sipmsg.Message, track bool) {
	s.mu.Lock()
	dsa := dst.flow.sa
	s.mu.Unlock()
	if dsa == nil {
		return
	}
	callerBranch := viaBranch(req.Value("Via"))
	ik := inviteKey{from, callerBranch}
	s.mu.Lock()
	branch, reuse := s.invites[ik]
	if reuse && req.Method == "ACK" {
		delete(s.invites, ik) // the ACK to a non-2xx ends the INVITE
		delete(from.invKeys, ik)
	}
	s.mu.Unlock()
	if !reuse || (req.Method != "ACK" && req.Method != "CANCEL") {
		branch = "z9hG4bK" + strings.ToLower(s.randHex(8))
	}
	fwd := &sipmsg.Message{Method: req.Method, RequestURI: req.RequestURI, Body: req.Body}
	fwd.Add("Via", "SIP/2.0/TLS "+s.cfg.FQDN+":5061;branch="+branch)
	for _, h := range req.Headers {
		switch strings.ToLower(h.Name) {
		case "authorization", "proxy-authorization", "authentication-info", "proxy-authentication-info", "content-length":
			continue
		case "max-forwards":
			n, _ := strconv.Atoi(strings.TrimSpace(h.Value))
			fwd.Add(h.Name, strconv.Itoa(max(n-1, 0)))
			continue
		}
		fwd.Add(h.Name, h.Value)
	}
	if track {
		s.mu.Lock()
		key := branch + " " + req.Method
		s.txs[key] = &proxyTx{caller: from, method: req.Method, callerBranch: callerBranch}
		from.txKeys[key] = struct{}{}
		if req.Method == "INVITE" && callerBranch != "" {
			s.invites[ik] = branch
			from.invKeys[ik] = struct{}{}
		}
		s.mu.Unlock()
	}
	s.sign(dsa, fwd)
	if err := dst.flow.send(fwd); err != nil {
		s.log.Debug("labfe: forward failed", "err", err)
	}
}

// handleResponse takes a response from a handset to a request labfe
// forwarded: it must be signed (1xx may not be), then goes back to the
// caller re-signed with the caller's SA.
func (s *Server) handleResponse(f *flow, res *sipmsg.Message) bool {
	vias := res.All("Via")
	if len(vias) < 2 {
		return true // not a response to anything we sent: drop
	}
	_, method, err := res.CSeq()
	if err != nil {
		return true
	}
	branch := viaBranch(vias[0]) + " " + method
	s.mu.Lock()
	tx := s.txs[branch]
	sa := f.sa
	s.mu.Unlock()
	if tx == nil || sa == nil {
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
	out := &sipmsg.Message{StatusCode: res.StatusCode, Reason: res.Reason, Body: res.Body}
	popped := false
	for _, h := range res.Headers {
		switch strings.ToLower(h.Name) {
		case "via", "v":
			if !popped {
				popped = true
				continue
			}
		case "authorization", "proxy-authorization", "authentication-info", "proxy-authentication-info", "content-length":
			continue
		}
		out.Add(h.Name, h.Value)
	}
	s.mu.Lock()
	if res.StatusCode >= 200 {
		delete(s.txs, branch)
		delete(tx.caller.txKeys, branch)
		if tx.method == "INVITE" && res.StatusCode < 300 {
			ik := inviteKey{tx.caller, tx.callerBranch}
			delete(s.invites, ik) // a 2xx ACK is a new transaction
			delete(tx.caller.invKeys, ik)
		}
	}
	csa := tx.caller.sa
	s.mu.Unlock()
	if csa != nil && out.StatusCode >= 200 {
		s.sign(csa, out)
	}
	_ = tx.caller.send(out)
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
