package sipua

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/handset-dev/handset/auth/ntlm"
	"github.com/handset-dev/handset/auth/sipae"
	"github.com/handset-dev/handset/sipua/retry"
)

// Supported/Allow-Events/ms-keep-alive values SIPE sends and Lync 2013
// accepts (protocols.md §1.2).
const (
	hdrSupported   = "gruu-10, adhoclist, msrtc-event-categories, com.microsoft.msrtc.presence"
	contactMethods = "INVITE, MESSAGE, INFO, SUBSCRIBE, OPTIONS, BYE, CANCEL, NOTIFY, ACK, REFER, BENOTIFY"
)

// Register signs in once: connect over TLS, then the three REGISTERs of the
// connectionless NTLM flow (protocols.md §3), following up to three 301
// redirects. It returns when registered or on failure (a *Error; NTLM
// rejection is final: IsFinal). ctx bounds the whole sign-in.
func (h *Handset) Register(ctx context.Context) error {
	if err := h.enter(); err != nil {
		return err
	}
	defer h.runWG.Done()
	// One pass over the failover list: a retryable failure moves to the
	// next server at once (RFC 3263 §4.3); Run adds the retry timing.
	if err := h.ensureServers(ctx, nil); err != nil {
		return h.fail(err)
	}
	h.mu.Lock()
	n := max(len(h.servers), 1)
	h.mu.Unlock()
	var err error
	for i := range n {
		if i > 0 {
			h.emit(Event{Kind: EventServer, Server: h.serverAt(i), Reason: "previous server failed: trying the next one"})
		}
		// Cancelled or closed mid-sign-in is a stop (attempt reports it as
		// such), not a failure to count.
		if err = h.attempt(ctx, nil, i); err == nil || IsFinal(err) || h.stopped(ctx) {
			return err
		}
	}
	return err
}

// signIn connects and authenticates, following redirects; the caller
// reports failures.
func (h *Handset) signIn(ctx context.Context) error {
	start := time.Now()
	for redirects := 0; ; redirects++ {
		c, err := h.connect(ctx)
		if err != nil {
			return err
		}
		err = h.authenticate(ctx, c, start)
		var rd *redirectError
		if errors.As(err, &rd) && redirects < defaultMaxRedirects {
			h.step("server redirected us to %s (301); reconnecting there", rd.to.addr)
			h.emit(Event{Kind: EventServer, Server: rd.to.serverName + " (" + rd.to.addr + ")", Reason: "301 redirect to the home pool"})
			h.mu.Lock()
			h.target = rd.to
			h.mu.Unlock()
			continue
		}
		return err
	}
}

// fail reports a classified failure and moves to StateFailed (or Backoff
// for Run to decide); it returns err unchanged.
func (h *Handset) fail(err error) error {
	o, why := Classify(err)
	ev := Event{Kind: EventFailure, Outcome: o, Reason: why, Err: err, Server: h.serverAt(h.curIndex())}
	var e *Error
	if errors.As(err, &e) {
		ev.Status = e.Status
	}
	h.log.Warn("registration failed", "outcome", o, "reason", why, "err", err)
	h.emit(ev)
	h.setStateWhy(StateFailed, o.String()+": "+why)
	return err
}

type redirectError struct{ to *target }

func (e *redirectError) Error() string { return "sipua: redirected to " + e.to.addr }

// authenticate runs the full NTLM sign-in on c (protocols.md §3):
//
//  1. REGISTER, no credentials        → 401 WWW-Authenticate: NTLM realm, targetname, version
//  2. REGISTER, gssapi-data=""         → 401 NTLM opaque, gssapi-data=CHALLENGE
//  3. REGISTER, AUTHENTICATE, signed   → 200 OK, Authentication-Info rspauth (verified)
//
// It also serves a 401 to a re-REGISTER and the SA refresh (full
// re-authentication starting with an unsigned REGISTER, pitfall 6).
func (h *Handset) authenticate(ctx context.Context, c *connection, start time.Time) error {
	why := "MS-SIPAE sign-in (NTLM, or TLS-DSK with a user certificate)"
	if h.cfg.standard() {
		why = "digest sign-in (specialInterop=standard, RFC 3261 §22.4)"
	}
	h.setStateWhy(StateAuthenticating, why)
	h.mu.Lock()
	h.sa = nil
	if h.dlg.callID == "" {
		h.dlg = registration{callID: h.randHex(16), fromTag: h.randHex(5), cseq: 0}
	}
	h.mu.Unlock()
	if h.cfg.standard() {
		return h.authenticateDigest(ctx, c, start)
	}
	op := "register " + h.cfg.AOR

	// Step 1.
	req := h.newRegister(c, h.requestedExpires())
	h.step("sent REGISTER without credentials to learn the server's authentication schemes")
	res, err := h.roundTrip(ctx, c, req, nil)
	if err != nil {
		return err
	}
	switch {
	case res.StatusCode == sip.StatusMovedPermanently:
		return h.redirect(res, op)
	case res.StatusCode == sip.StatusOK:
		// A registrar that asks for no authentication is not Lync; refuse to
		// run unsigned.
		return &Error{Op: op, Class: OutcomeServerError, Why: "registered without authentication", Status: 200}
	case res.StatusCode != sip.StatusUnauthorized && res.StatusCode != sip.StatusProxyAuthRequired:
		return statusError(op, "REGISTER", res)
	}
	// 407/Proxy-* is the OCS 2007 family (protocols.md §2.1, pitfall 4).
	family, _ := sipae.FamilyForStatus(res.StatusCode)
	// TLS-DSK when a valid certificate is held, or for a PIN handset
	// (tlsdsk.go); otherwise NTLM below.
	if handled, derr := h.authenticateDSK(ctx, c, res, family, start); handled {
		return derr
	}
	chal, ok, schemes := pickChallenge(res, family)
	if !ok {
		return &Error{Op: op, Class: OutcomeConfig, Why: "ntlm not offered", Status: res.StatusCode,
			Err: fmt.Errorf("server offers %s", strings.Join(schemes, ", "))}
	}
	h.step("server offers NTLM (realm %q, targetname %q, version %d)", chal.Realm, chal.TargetName, chal.Version)
	sa := sipae.NewClientSA(sipae.SAConfig{Rand: h.rand, Logger: h.log})
	if berr := sa.Begin(chal); berr != nil {
		return &Error{Op: op, Class: OutcomeServerError, Why: "ntlm challenge", Err: berr}
	}

	// Step 2: connectionless NTLM has no NEGOTIATE message.
	p2 := sipae.Params{Scheme: sipae.Scheme("NTLM"), Qop: "auth", Realm: chal.Realm, TargetName: chal.TargetName, HasGssapi: true}
	if chal.Version > 2 {
		p2.Version = chal.Version
	}
	req = h.newRegister(c, h.requestedExpires())
	req.AppendHeader(sip.NewHeader(family.Authorization(), p2.String()))
	h.step("sent REGISTER with empty NTLM gssapi-data (connectionless: no NEGOTIATE)")
	res, err = h.roundTrip(ctx, c, req, nil)
	if err != nil {
		return err
	}
	if res.StatusCode != family.Status() {
		return statusError(op, "REGISTER with empty gssapi-data", res)
	}
	chal, ok, _ = pickChallenge(res, family)
	if !ok || chal.GssapiData == "" {
		return &Error{Op: op, Class: OutcomeServerError, Why: "no ntlm challenge", Status: res.StatusCode}
	}
	token, err := base64.StdEncoding.DecodeString(chal.GssapiData)
	if err != nil {
		return &Error{Op: op, Class: OutcomeServerError, Why: "bad ntlm challenge", Status: res.StatusCode, Err: err}
	}
	h.step("received NTLM CHALLENGE (%d bytes) with security association opaque=%q", len(token), chal.Opaque)
	if berr := sa.Begin(chal); berr != nil {
		return &Error{Op: op, Class: OutcomeServerError, Why: "ntlm challenge", Err: berr}
	}

	// Step 3.
	authMsg, mech, err := h.auth.Authenticate(token)
	if err != nil {
		// A CHALLENGE we cannot answer (malformed, NTLMv1 only) is the
		// server's fault, but retrying would get the same one.
		why := "ntlm authenticate"
		if errors.Is(err, ntlm.ErrMalformed) || errors.Is(err, ntlm.ErrUnsupported) {
			why = "bad ntlm challenge"
		}
		return &Error{Op: op, Class: OutcomeServerError, Why: why, Final: true, Err: err}
	}
	user := h.cfg.AuthUser
	if h.cfg.AuthDomain != "" {
		user = h.cfg.AuthDomain + `\` + user
	}
	h.step("computed NTLMv2 AUTHENTICATE for %s (the password never leaves the handset) and derived the signing keys", user)
	if eerr := sa.Establish(mech, chal.Opaque); eerr != nil {
		return &Error{Op: op, Class: OutcomeAuthRejected, Why: "sign", Err: eerr}
	}
	sas := &secAssoc{sa: sa, family: family,
		deadline: time.Now().Add(h.cfg.scale(h.cfg.SALifetime) - h.cfg.scale(h.cfg.SAMargin))}
	req = h.newRegister(c, h.requestedExpires())
	cnum, serr := h.sign(req, sas, base64.StdEncoding.EncodeToString(authMsg))
	if serr != nil {
		return &Error{Op: op, Class: OutcomeAuthRejected, Why: "sign", Err: serr}
	}
	h.step("sent REGISTER with NTLM AUTHENTICATE, already signed with the new keys (cnum=%s)", cnum)
	res, err = h.roundTrip(ctx, c, req, sas)
	if err != nil {
		return err
	}
	switch res.StatusCode {
	case sip.StatusOK:
	case sip.StatusUnauthorized, sip.StatusProxyAuthRequired, sip.StatusForbidden:
		// Final: another attempt with the same password could lock the
		// account (RELIABILITY.md B.2).
		e := statusError(op, "AUTHENTICATE", res)
		e.Class, e.Final = OutcomeAuthRejected, true
		e.Why = strconv.Itoa(res.StatusCode) + " after AUTHENTICATE"
		h.step("server rejected the NTLM credentials (%d %s); not retrying: repeated attempts lock accounts", res.StatusCode, res.Reason)
		return e
	case sip.StatusMovedPermanently:
		return h.redirect(res, op)
	default:
		return statusError(op, "REGISTER with AUTHENTICATE", res)
	}
	if err := h.establish(op, "AUTHENTICATE", "signature", res, sas); err != nil {
		return err
	}
	if err := h.registered(res, start); err != nil {
		return err
	}
	h.afterNTLM(ctx) // a credential handset obtains its certificate via NTLM (cert.go)
	return nil
}

// registered processes a REGISTER 200 OK (protocols.md §1.4).
func (h *Handset) registered(res *sip.Response, start time.Time) error {
	info := regInfo{at: time.Now(), expires: h.requestedExpires()}
	if hs := res.GetHeaders("Expires"); len(hs) > 0 {
		if n, err := strconv.Atoi(strings.TrimSpace(hs[0].Value())); err == nil {
			info.expires = time.Duration(n) * time.Second
		}
	}
	found := false
	for _, hdr := range res.GetHeaders("Contact") {
		for _, ct := range splitList(contactValue(hdr)) {
			if !strings.Contains(strings.ToUpper(ct), strings.ToUpper(h.instance)) {
				continue
			}
			found = true
			params := contactParams(ct)
			if g, ok := params["gruu"]; ok {
				info.gruu = g
			}
			if e, ok := params["expires"]; ok {
				if n, err := strconv.Atoi(e); err == nil {
					info.expires = time.Duration(n) * time.Second
				}
			}
		}
	}
	if !found {
		h.log.Warn("200 OK carries no Contact with our +sip.instance", "instance", h.instance)
	}
	// A registrar granting no time (or a garbled huge value) must not turn
	// the re-REGISTER timer into a tight loop against the pool.
	if info.expires <= 0 {
		return &Error{Op: "register " + h.cfg.AOR, Class: OutcomeServerError, Why: "no expiry granted", Status: res.StatusCode}
	}
	info.expires = min(max(info.expires, time.Second), 24*time.Hour)
	info.keepAlive = h.cfg.scale(h.cfg.KeepAliveInterval)
	for _, hdr := range res.GetHeaders("ms-keep-alive") {
		for _, p := range strings.Split(hdr.Value(), ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(k, "timeout") {
				if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
					info.keepAlive = h.cfg.scale(time.Duration(min(n, 86400)) * time.Second)
				}
			}
		}
	}
	h.mu.Lock()
	h.reg = info
	h.mu.Unlock()
	h.setStateWhy(StateRegistered, fmt.Sprintf("200 OK: registered for %s", info.expires))
	lat := time.Since(start)
	h.log.Info("registered", "gruu", info.gruu, "expires", info.expires, "keepalive", info.keepAlive, "latency", lat)
	h.emit(Event{Kind: EventRegistered, Outcome: OutcomeSuccess, Status: 200, Latency: lat})
	h.afterRegistered()
	return nil
}

// contactValue returns the raw value of a Contact header (typed or generic).
func contactValue(hdr sip.Header) string { return hdr.Value() }

// contactParams returns the header parameters after the URI of one contact.
func contactParams(ct string) map[string]string {
	out := map[string]string{}
	rest := ct
	if i := strings.IndexByte(ct, '>'); i >= 0 {
		rest = ct[i+1:]
	}
	for _, p := range splitParams(rest) {
		k, v, _ := strings.Cut(p, "=")
		out[strings.ToLower(strings.TrimSpace(k))] = strings.Trim(strings.TrimSpace(v), `"`)
	}
	return out
}

// splitParams splits on ';' outside quotes.
func splitParams(s string) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case ';':
			if !quoted {
				if p := strings.TrimSpace(s[start:i]); p != "" {
					out = append(out, p)
				}
				start = i + 1
			}
		}
	}
	if p := strings.TrimSpace(s[start:]); p != "" {
		out = append(out, p)
	}
	return out
}

// redirect turns a 301 into the new target: host, port and transport come
// from the Contact (protocols.md §1.4).
func (h *Handset) redirect(res *sip.Response, op string) error {
	hs := res.GetHeaders("Contact")
	if len(hs) == 0 {
		return &Error{Op: op, Class: OutcomeServerError, Why: "301 without contact", Status: 301}
	}
	var u sip.Uri
	if err := sip.ParseUri(sipae.URIOf(hs[0].Value()), &u); err != nil || u.Host == "" {
		return &Error{Op: op, Class: OutcomeServerError, Why: "301 bad contact", Status: 301, Err: err}
	}
	port := u.Port
	if port == 0 {
		port = DefaultPort
	}
	return &redirectError{to: &target{addr: net.JoinHostPort(u.Host, strconv.Itoa(port)), serverName: u.Host}}
}

// establish installs the security association sas that the handshake's
// final 200 OK completes. Pitfall 5: that 200 OK is the first message
// verified with the server keys, so it must be signed (roundTrip has
// verified any signature it carries); after names the last request for
// the error ("AUTHENTICATE", "TLS-DSK"), what the trace line.
func (h *Handset) establish(op, after, what string, res *sip.Response, sas *secAssoc) error {
	if len(authInfoHeaders(res)) == 0 {
		return &Error{Op: op, Class: OutcomeAuthRejected, Why: "unsigned 200 after " + after, Status: 200}
	}
	h.step("verified the server's %s on the 200 OK (security association established)", what)
	h.mu.Lock()
	h.sa = sas
	h.mu.Unlock()
	return nil
}

// pickChallenge returns the NTLM challenge of the family's header and the
// list of offered schemes (one header per scheme, MS-SIPAE 4.1).
func pickChallenge(res *sip.Response, family sipae.Family) (sipae.Params, bool, []string) {
	var schemes []string
	var found sipae.Params
	ok := false
	for _, hdr := range res.GetHeaders(family.Challenge()) {
		p, err := sipae.Parse(hdr.Value())
		if err != nil {
			continue
		}
		schemes = append(schemes, string(p.Scheme))
		if !ok && strings.EqualFold(string(p.Scheme), "NTLM") {
			found, ok = p, true
		}
	}
	return found, ok, schemes
}

func authInfoHeaders(m sip.Message) []sip.Header {
	hs := m.GetHeaders("Authentication-Info")
	return append(hs, m.GetHeaders("Proxy-Authentication-Info")...)
}

// statusError classifies a failure response.
func statusError(op, what string, res *sip.Response) *Error {
	e := &Error{Op: op, Status: res.StatusCode, Why: strconv.Itoa(res.StatusCode)}
	switch res.StatusCode {
	case 401, 403, 407:
		e.Class = OutcomeAuthRejected
	case 408, 504:
		e.Class = OutcomeTimeout
	default:
		e.Class = OutcomeServerError
	}
	for _, name := range []string{"ms-diagnostics", "ms-diagnostics-public", "Warning"} {
		if hs := res.GetHeaders(name); len(hs) > 0 {
			e.Diag = hs[0].Value()
			if name != "Warning" {
				if code, _, ok := strings.Cut(e.Diag, ";"); ok {
					e.Why += " ms-diagnostics " + strings.TrimSpace(code)
				}
			}
			break
		}
	}
	if hs := res.GetHeaders("Retry-After"); len(hs) > 0 {
		if d, err := retry.ParseRetryAfter(hs[0].Value()); err == nil {
			e.RetryAfter = d
		}
	}
	e.Err = fmt.Errorf("%s: %d %s", what, res.StatusCode, res.Reason)
	return e
}

// requestedExpires is the Expires we ask for, shortened by TimeScale.
func (h *Handset) requestedExpires() time.Duration {
	d := h.cfg.scale(h.cfg.Expires)
	if d < time.Second {
		d = time.Second
	}
	return d
}

// newRegister builds the next REGISTER of the registration (protocols.md
// §1.2), with a fresh branch and the next CSeq.
func (h *Handset) newRegister(c *connection, expires time.Duration) *sip.Request {
	user, domain := h.cfg.aorParts()
	h.mu.Lock()
	h.dlg.cseq++
	dlg := h.dlg
	h.mu.Unlock()
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: domain})
	lhost, lport := splitHostPortInt(c.local)
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "TLS", Host: lhost, Port: lport, Params: sip.NewParams()}
	via.Params.Add("branch", "z9hG4bK"+h.randHex(8))
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: domain}, Params: sip.NewParams()}
	from.Params.Add("tag", dlg.fromTag)
	from.Params.Add("epid", h.epid)
	to := &sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: domain}, Params: sip.NewParams()}
	callID := sip.CallIDHeader(dlg.callID)
	maxfwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(via)
	req.AppendHeader(&maxfwd)
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: dlg.cseq, MethodName: sip.REGISTER})
	req.AppendHeader(sip.NewHeader("Contact", fmt.Sprintf(
		`<sip:%s;transport=tls;ms-opaque=%s>;methods="%s";proxy=replace;+sip.instance="<urn:uuid:%s>"`,
		c.local, h.opaqueTok, contactMethods, h.instance)))
	req.AppendHeader(sip.NewHeader("User-Agent", h.cfg.UserAgent))
	req.AppendHeader(sip.NewHeader("Supported", hdrSupported))
	req.AppendHeader(sip.NewHeader("Event", "registration"))
	req.AppendHeader(sip.NewHeader("Allow-Events", "presence"))
	req.AppendHeader(sip.NewHeader("ms-keep-alive", "UAC;hop-hop=yes"))
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
	req.SetTransport("TLS")
	req.SetDestination(c.dest)
	return req
}

func splitHostPortInt(hp string) (string, int) {
	host, p, err := net.SplitHostPort(hp)
	if err != nil {
		return hp, 0
	}
	n, _ := strconv.Atoi(p)
	return host, n
}

// sign adds the signed Authorization header (protocols.md §2.2 field order,
// §2.3 buffer, §4.5 signature; crand/cnum from the sipae SA) and returns the
// cnum used. gssapi is the AUTHENTICATE token of the handshake-finishing
// REGISTER, else "".
func (h *Handset) sign(m sip.Message, sa *secAssoc, gssapi string) (string, error) {
	if sa.digest != nil {
		return "", sa.digest.authorize(m)
	}
	p, err := sa.sa.Sign(messageFields(m))
	if err != nil {
		return "", err
	}
	h.calls.noteCnum(sa, p.Cnum) // sendlock.go
	if gssapi != "" {
		p.GssapiData, p.HasGssapi = gssapi, true
	}
	// The client signs requests and responses alike with Authorization
	// (MS-SIPAE 3.2.5.2; SIPE's sign_outgoing_message does the same).
	name := sa.family.Authorization()
	switch mm := m.(type) {
	case *sip.Request:
		mm.RemoveHeader(name)
	case *sip.Response:
		mm.RemoveHeader(name)
	}
	m.AppendHeader(sip.NewHeader(name, p.String()))
	return p.Cnum, nil
}

// verify checks every Authentication-Info of m against sa (signature and
// snum replay window). It reports whether m was signed; a bad signature is
// an error and fails the SA (protocols.md §2.4).
func (h *Handset) verify(m sip.Message, sa *secAssoc) (bool, error) {
	if sa.digest != nil {
		return true, nil // standard mode signs nothing: every message passes
	}
	hs := authInfoHeaders(m)
	if len(hs) == 0 {
		return false, nil
	}
	for _, hdr := range hs {
		p, err := sipae.Parse(hdr.Value())
		if err != nil {
			sa.sa.Fail()
			return true, fmt.Errorf("sipua: authentication-info: %w", err)
		}
		if err := sa.sa.Verify(messageFields(m), p); err != nil {
			sa.sa.Fail()
			return true, fmt.Errorf("sipua: server signature: %w", err)
		}
	}
	return true, nil
}

// roundTrip sends req on c and waits for the final response, tracing both.
// With sa set, a signed response is verified; a bad signature ends the
// connection (SIPE: "Invalid message signature").
func (h *Handset) roundTrip(ctx context.Context, c *connection, req *sip.Request, sa *secAssoc) (*sip.Response, error) {
	op := fmt.Sprintf("register %s: %s cseq %d", h.cfg.AOR, req.Method, req.CSeq().SeqNo)
	if req.ContentLength() == nil {
		req.SetBody(nil) // Content-Length last, after Authorization
	}
	// sipgo would silently dial a new connection if ours is gone; Lync binds
	// the registration to the connection, so that is a lost registration
	// (DEPENDENCIES.md §1.7).
	if conn, err := c.ua.TransportLayer().GetConnection("tls", c.dest); err != nil {
		return nil, &Error{Op: op, Class: OutcomeTransport, Why: "connection lost", Err: err}
	} else {
		_, _ = conn.TryClose()
	}
	tctx, cancel := context.WithTimeout(ctx, h.transactionTimeout())
	defer cancel()
	h.calls.sendMu.Lock()
	if sa != nil {
		h.resign(req, sa) // cnums leave in the order they were issued (sendlock.go)
	}
	tx, err := c.ua.TransactionLayer().Request(tctx, req)
	h.calls.sendMu.Unlock()
	if err != nil {
		return nil, &Error{Op: op, Class: OutcomeTransport, Why: "send", Err: err}
	}
	defer tx.Terminate()
	h.trace(req, true)
	for {
		select {
		case res := <-tx.Responses():
			h.trace(res, false)
			if res.IsProvisional() {
				continue
			}
			if sa != nil {
				signed, err := h.verify(res, sa)
				if err == nil && !signed && !sipae.AcceptUnsigned(true, res.StatusCode, string(req.Method)) {
					err = errors.New("sipua: unsigned response")
				}
				if err != nil {
					h.step("server signature on %d %s did NOT verify: dropping the connection", res.StatusCode, res.Reason)
					return nil, &Error{Op: op, Class: OutcomeAuthRejected, Why: "bad server signature", Status: res.StatusCode, Err: err}
				}
			}
			return res, nil
		case <-tx.Done():
			err := tx.Err()
			if errors.Is(err, sip.ErrTransactionTimeout) {
				return nil, &Error{Op: op, Class: OutcomeTimeout, Why: "timeout", Err: err}
			}
			return nil, &Error{Op: op, Class: OutcomeTransport, Why: "connection lost", Err: err}
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

// trace reports one SIP message, secrets redacted.
func (h *Handset) trace(m sip.Message, out bool) {
	if h.obs == nil {
		return
	}
	ev := Event{Kind: EventMessage, Outgoing: out}
	if !h.noText {
		ev.Message = Redact(m.String())
	}
	h.emit(ev)
}

// Redact hides secrets in a SIP message text: the gssapi-data of an
// Authorization header carries the NTLMv2 response, which allows an offline
// password guess, so it never reaches a trace.
func Redact(msg string) string {
	lines := strings.Split(msg, "\r\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "a=crypto") {
			lines[i] = redactInline(l) // SDES master key and salt (RFC 4568 §6.1)
			continue
		}
		name, _, ok := strings.Cut(l, ":")
		if !ok || !strings.HasSuffix(strings.ToLower(strings.TrimSpace(name)), "authorization") {
			continue
		}
		keys := []string{`gssapi-data="`}
		if _, v, _ := strings.Cut(l, ":"); strings.HasPrefix(strings.ToLower(strings.TrimSpace(v)), "digest ") {
			// The digest response (standard mode) allows the same guess;
			// an MS-SIPAE response= is only a signature.
			keys = append(keys, `response="`)
		}
		for _, key := range keys {
			j := strings.Index(l, key)
			if j < 0 {
				continue
			}
			k := strings.IndexByte(l[j+len(key):], '"')
			if k <= 0 {
				continue
			}
			l = l[:j] + key + `[redacted]"` + l[j+len(key)+k+1:]
		}
		lines[i] = l
	}
	return strings.Join(lines, "\r\n")
}

// redactInline hides the key of every inline: key-param of an a=crypto or
// a=cryptoscale line, keeping lifetime and MKI ("inline:[redacted]|2^31|1:1").
func redactInline(l string) string {
	var b strings.Builder
	for {
		j := strings.Index(l, "inline:")
		if j < 0 {
			b.WriteString(l)
			return b.String()
		}
		b.WriteString(l[:j+len("inline:")] + "[redacted]")
		l = l[j+len("inline:"):]
		if k := strings.IndexAny(l, "|; "); k >= 0 {
			l = l[k:]
		} else {
			l = ""
		}
	}
}
