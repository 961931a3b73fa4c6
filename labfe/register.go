package labfe

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/handset-dev/handset/labfe/internal/ntlmsrv"
	"github.com/handset-dev/handset/labfe/internal/sipmsg"
)

// handleRegister runs the MS-SIPAE NTLM flow (protocols.md §3) and the
// registrar. It reports whether the flow stays open.
func (s *Server) handleRegister(f *flow, req *sipmsg.Message) bool {
	hdr, ok := authorization(req)
	if handled, keep := s.applyFault(f, req, !ok); handled {
		return keep
	}
	if !ok {
		// Step 1: offer NTLM (MS-SIPAE 3.3.5.1).
		return s.reply(f, nil, s.challenge401(req, ""))
	}
	a, err := parseAuth(hdr)
	if err == nil {
		if handled, keep := s.dskRegister(f, req, a); handled {
			return keep
		}
	}
	if err != nil || a.scheme != "NTLM" || a.get("realm") != realm || a.get("targetname") != s.cfg.FQDN {
		s.count(nil, func(st *UserStats) { st.Malformed++ })
		return s.reply(f, s.flowSA(f), s.failure(req, 400, "Bad Request", diagBadAuthHeader))
	}
	switch {
	case a.has("gssapi-data") && a.get("gssapi-data") == "" && !a.has("opaque"):
		return s.sendChallenge(f, req)
	case a.get("gssapi-data") != "":
		return s.acceptAuthenticate(f, req, a)
	}
	sa, v := s.verify(f, req, a)
	if v == vNoSA {
		// A signed re-REGISTER on an unknown or expired SA: the client must
		// re-authenticate from scratch (protocols.md §2.4).
		return s.reply(f, nil, s.challenge401(req, diagNoSA))
	}
	if v != vOK {
		return s.reject(f, req, sa, v)
	}
	return s.register(f, sa, req)
}

func (s *Server) flowSA(f *flow) *secAssoc {
	s.mu.Lock()
	defer s.mu.Unlock()
	return f.sa
}

// sendChallenge is step 2: a fresh CHALLENGE under a new opaque.
func (s *Server) sendChallenge(f *flow, req *sipmsg.Message) bool {
	nb := strings.ToUpper(strings.SplitN(s.cfg.Domain, ".", 2)[0])
	host := strings.ToUpper(strings.SplitN(s.cfg.FQDN, ".", 2)[0])
	chal, msg, err := ntlmsrv.NewChallenge(ntlmsrv.AcceptorConfig{
		NbDomain: nb, NbComputer: host, DNSDomain: s.cfg.Domain, DNSComputer: s.cfg.FQDN, Rand: s.rand, Now: s.now,
	})
	if err != nil {
		return s.reply(f, nil, s.failure(req, 500, "Server Internal Error", diagBadRequest))
	}
	opaque := s.randHex(4)
	s.mu.Lock()
	// Bound the outstanding challenges per flow: a client that keeps asking
	// gets only its latest one.
	delete(s.pending, f.pending)
	f.pending = opaque
	s.pending[opaque] = &pending{chal: chal, flow: f, created: s.now()}
	s.mu.Unlock()
	code, reason := s.challengeStatus()
	r := s.response(req, code, reason)
	r.Add(s.challengeHeader(), fmt.Sprintf(`NTLM opaque="%s", gssapi-data="%s", targetname="%s", realm="%s", version=4`,
		opaque, base64.StdEncoding.EncodeToString(msg), s.cfg.FQDN, realm))
	return s.reply(f, nil, r)
}

// acceptAuthenticate is step 3: verify the AUTHENTICATE, create the SA,
// verify the REGISTER's signature with it, then register.
func (s *Server) acceptAuthenticate(f *flow, req *sipmsg.Message, a authParams) bool {
	opaque := a.get("opaque")
	s.mu.Lock()
	p := s.pending[opaque]
	if p != nil && p.flow == f {
		delete(s.pending, opaque) // single use: an AUTHENTICATE cannot be replayed
		f.pending = ""
	} else {
		p = nil
	}
	s.mu.Unlock()
	if p == nil || s.now().Sub(p.created) > 5*time.Minute {
		return s.reply(f, nil, s.challenge401(req, diagNoSA))
	}
	tok, err := base64.StdEncoding.DecodeString(a.get("gssapi-data"))
	if err != nil {
		s.count(nil, func(st *UserStats) { st.Malformed++ })
		return s.reply(f, nil, s.failure(req, 400, "Bad Request", diagBadAuthHeader))
	}
	var who *userState
	sess, id, err := p.chal.Accept(tok, func(domain, user string) (string, bool) {
		s.mu.Lock()
		defer s.mu.Unlock()
		u := s.byLogin[strings.ToLower(domain+`\`+user)]
		if u == nil && domain == "" {
			u = s.byLogin[strings.ToLower(user)]
		}
		if u == nil && strings.Contains(user, "@") { // UPN form, empty domain
			u = s.users[strings.ToLower(user)]
		}
		if u == nil {
			return "", false
		}
		who = u
		return u.Password.Reveal(), true
	})
	if err != nil {
		s.count(who, func(st *UserStats) { st.AuthFailures++ })
		s.log.Info("labfe: authentication failed", "domain", id.Domain, "user", id.User, "err", err)
		// Final: a wrong password is never retried by Lync clients.
		return s.reply(f, nil, s.challenge401(req, diagFinalHandshake))
	}
	sa := &secAssoc{opaque: opaque, sess: sess, user: who, flow: f, created: s.now()}
	s.mu.Lock()
	s.sas[opaque] = sa
	if f.sa != nil && f.sa != sa {
		delete(s.sas, f.sa.opaque)
	}
	f.sa = sa
	s.mu.Unlock()
	// The third REGISTER is already signed with the new keys (protocols.md §3).
	sa2, v := s.verify(f, req, a)
	if v != vOK {
		return s.reject(f, req, sa2, v)
	}
	return s.register(f, sa, req)
}

// register applies the registrar rules to an authenticated REGISTER.
func (s *Server) register(f *flow, sa *secAssoc, req *sipmsg.Message) bool {
	u := sa.user
	fromURI, fp := sipmsg.NameAddr(req.Value("From"))
	if aorOf(fromURI) != u.aor {
		s.count(u, func(st *UserStats) { st.AuthFailures++ })
		return s.reply(f, sa, s.failure(req, 403, "Forbidden", diagNotAuthorized))
	}
	epid := fp["epid"]
	if epid == "" {
		return s.reply(f, sa, s.failure(req, 400, "Bad Request", diagNoEpid))
	}
	contact, hasContact := req.Get("Contact")
	curi, cp := sipmsg.NameAddr(contact)
	if hasContact && curi == "" {
		return s.reply(f, sa, s.failure(req, 400, "Bad Request", diagBadRequest))
	}
	instance := ""
	if v, ok := cp["+sip.instance"]; ok {
		instance = instanceOf(v)
		if instance != instanceFromEpid(epid) {
			s.count(u, func(st *UserStats) { st.InstanceMismatches++ })
			return s.reply(f, sa, s.failure(req, 403, "Forbidden", diagInstance))
		}
	}
	want := int64(s.cfg.RegisterExpiry / time.Second)
	if v, ok := req.Get("Expires"); ok {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 0 {
			return s.reply(f, sa, s.failure(req, 400, "Bad Request", diagBadRequest))
		}
		want = min(want, n)
	}
	if v, ok := cp["expires"]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return s.reply(f, sa, s.failure(req, 400, "Bad Request", diagBadRequest))
		}
		want = min(want, n)
	}
	if contact == "*" {
		want = 0
	}
	now := s.now()
	s.mu.Lock()
	s.expireLocked(u, now)
	if want == 0 || !hasContact {
		if hasContact {
			unbindLocked(u, epid)
			u.st.Unregistrations++
		}
	} else {
		b := u.bindings[epid]
		if b == nil {
			b = &binding{epid: epid, registered: now}
			u.bindings[epid] = b
		}
		b.instance, b.contactURI, b.contactRaw = instance, curi, contact
		bindLocked(u, b, f)
		b.expires = now.Add(time.Duration(want) * time.Second)
		b.gruuOpaque = "user:epid:" + gruuToken(instance, epid)
		u.st.Registrations++
	}
	r := s.response(req, 200, "OK")
	for _, b := range u.bindings {
		left := int64(b.expires.Sub(now) / time.Second)
		c := "<" + b.contactURI + ">;expires=" + strconv.FormatInt(left, 10)
		if b.instance != "" {
			c += `;+sip.instance="<urn:uuid:` + b.instance + `>"`
		}
		c += `;gruu="sip:` + u.aor + ";opaque=" + b.gruuOpaque + `;gruu"`
		r.Add("Contact", c)
	}
	s.mu.Unlock()
	r.Add("Expires", strconv.FormatInt(want, 10))
	r.Add("ms-keep-alive", fmt.Sprintf("UAS; tcp=no; hop-hop=yes; end-end=no; timeout=%d", int64(s.cfg.KeepAliveTimeout/time.Second)))
	r.Add("Allow-Events", "vnd-microsoft-provisioning,vnd-microsoft-roaming-contacts,vnd-microsoft-roaming-ACL,presence,presence.wpending,vnd-microsoft-roaming-self,vnd-microsoft-provisioning-v2")
	r.Add("Supported", "adhoclist")
	r.Add("Supported", "msrtc-event-categories")
	r.Add("Supported", "gruu-10")
	if want > 0 {
		r.Add("presence-state", `register-action="added"`)
	}
	return s.reply(f, sa, r)
}

// gruuToken is the GRUU opaque token: base64 of the 16 instance bytes and
// two zero bytes (24 characters, no padding), as Lync's look; without an
// instance, of the epid.
func gruuToken(instance, epid string) string {
	raw, err := hex.DecodeString(strings.ReplaceAll(instance, "-", ""))
	if err != nil || len(raw) != 16 {
		raw = []byte(epid)
	} else {
		raw = append(raw, 0, 0)
	}
	return base64.RawStdEncoding.EncodeToString(raw)
}

// expireLocked drops bindings past their expiry. s.mu must be held.
func (s *Server) expireLocked(u *userState, now time.Time) {
	for k, b := range u.bindings {
		if !now.Before(b.expires) {
			unbindLocked(u, k)
		}
	}
}

func statusText(code int) string {
	switch code {
	case 480:
		return "Temporarily Unavailable"
	case 486:
		return "Busy Here"
	case 500:
		return "Server Internal Error"
	case 503:
		return "Service Unavailable"
	case 504:
		return "Server Time-out"
	default:
		return "Error"
	}
}
