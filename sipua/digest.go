package sipua

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/handset-dev/handset/auth/sipae"
)

// Standard mode (reg.x.server.y.specialInterop=standard): a plain RFC 3261
// registrar such as kamailio. The sign-in is HTTP digest (RFC 3261 §22.4,
// RFC 2617, RFC 7616) instead of NTLM, and there is no MS-SIPAE signing:
// nothing is signed and nothing carries a signature to verify; TLS protects
// the hop.
//
//	REGISTER, no credentials      → 401 WWW-Authenticate: Digest realm, nonce, qop
//	REGISTER, Authorization       → 200 OK (or 401/403: wrong password, final)
//
// Re-REGISTERs and the un-REGISTER reuse the nonce with the next nonce-count
// (RFC 7616 §3.4: nc counts requests made with one nonce); a 401 to them
// starts the exchange again, as the SA expiry does on Lync.

// interopStandard is the reg.x.server.y.specialInterop value of a
// non-Microsoft registrar.
const interopStandard = "standard"

// digestAlgorithms lists the algorithms we answer, strongest first: RFC 7616
// §3.7 has the client use the first (most preferred) challenge it supports,
// and a server lists SHA-256 before MD5.
var digestAlgorithms = []string{"SHA-512-256", "SHA-256", "MD5"}

// ErrNoInBand is WaitInBand's answer in standard mode: a standard
// registrar has no Lync in-band provisioning.
var ErrNoInBand = errors.New("sipua: no in-band provisioning (specialInterop=standard)")

// errNoDigest means no challenge offers a digest algorithm and qop we
// support.
var errNoDigest = errors.New("sipua: no supported digest challenge")

// parseDigestChallenge parses one WWW-Authenticate/Proxy-Authenticate value.
// It normalises what icholy/digest leaves raw: qop tokens are trimmed
// ("auth, auth-int") and an absent algorithm means MD5 (RFC 7616 §3.3).
func parseDigestChallenge(v string) (*digest.Challenge, error) {
	c, err := digest.ParseChallenge(strings.TrimSpace(v))
	if err != nil {
		return nil, err
	}
	qops := c.QOP[:0]
	for _, q := range c.QOP {
		if q = strings.ToLower(strings.TrimSpace(q)); q != "" {
			qops = append(qops, q)
		}
	}
	c.QOP = qops
	if c.Nonce == "" {
		return nil, errors.New("sipua: digest challenge without nonce")
	}
	return c, nil
}

// pickDigestChallenge returns the strongest supported Digest challenge among
// the header values and the schemes offered (for the error message).
func pickDigestChallenge(values []string) (*digest.Challenge, []string, error) {
	var best *digest.Challenge
	bestRank := len(digestAlgorithms)
	var schemes []string
	for _, v := range values {
		scheme, _, _ := strings.Cut(strings.TrimSpace(v), " ")
		schemes = append(schemes, scheme)
		if !digest.IsDigest(strings.TrimSpace(v)) {
			continue
		}
		c, err := parseDigestChallenge(v)
		if err != nil || !digest.CanDigest(c) {
			continue
		}
		alg := strings.ToUpper(c.Algorithm)
		if alg == "" {
			alg = "MD5"
		}
		for i, a := range digestAlgorithms {
			if a == alg && i < bestRank {
				best, bestRank = c, i
			}
		}
	}
	if best == nil {
		return nil, schemes, errNoDigest
	}
	return best, schemes, nil
}

// digestAuth is the client side of digest in standard mode: the
// registrar's challenge and its nonce-count, and the proxy challenge a call
// request last received. It is shared by every request of the registration
// (re-REGISTER, un-REGISTER, calls), hence the mutex.
type digestAuth struct {
	user string
	pass Password
	rand io.Reader

	mu     sync.Mutex
	chal   *digest.Challenge // nil: the registrar asked for no authentication
	family sipae.Family
	nc     int
	proxy  *digest.Challenge // last 401/407 to a call request, nil before one
	pnc    int
}

// setChallenge starts a new nonce.
func (d *digestAuth) setChallenge(c *digest.Challenge, family sipae.Family) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.chal, d.family, d.nc = c, family, 0
}

// setProxyChallenge records the challenge of a call request (RFC 3261
// §22.3: the proxy's realm may differ from the registrar's).
func (d *digestAuth) setProxyChallenge(c *digest.Challenge) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.proxy, d.pnc = c, 0
}

// credentials computes the header value for method and uri with the next
// nonce-count and a cnonce drawn from d.rand: the registrar's challenge for
// REGISTER; for other requests the proxy's, else the registrar's.
func (d *digestAuth) credentials(method, uri string) (string, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	chal, nc := d.chal, &d.nc
	if method != string(sip.REGISTER) && d.proxy != nil {
		chal, nc = d.proxy, &d.pnc
	}
	if chal == nil {
		return "", false, nil
	}
	*nc++
	cn := make([]byte, 8)
	if _, err := io.ReadFull(d.rand, cn); err != nil {
		return "", false, fmt.Errorf("sipua: digest cnonce: %w", err)
	}
	v, err := digestCredentials(chal, method, uri, d.user, d.pass, *nc, hex.EncodeToString(cn))
	return v, err == nil, err
}

// digestCredentials is the pure core: the Authorization value answering
// chal (RFC 7616 §3.4; RFC 3261 §22.4 uses the Request-URI as uri). A
// challenge whose fields hold control characters is refused, so that no
// server value can break the header line it is copied into.
func digestCredentials(chal *digest.Challenge, method, uri, user string, pass Password, nc int, cnonce string) (string, error) {
	for _, f := range []string{chal.Realm, chal.Nonce, chal.Opaque, chal.Algorithm, uri, user} {
		if strings.ContainsFunc(f, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return "", errors.New("sipua: digest challenge with control characters")
		}
	}
	cred, err := digest.Digest(chal, digest.Options{
		Method: method, URI: uri, Count: nc, Username: user, Password: pass.Reveal(), Cnonce: cnonce,
	})
	if err != nil {
		return "", fmt.Errorf("sipua: digest: %w", err)
	}
	return formatDigestCredentials(cred), nil
}

// formatDigestCredentials writes the credentials as RFC 3261 §25.1 wants
// them: quoted-string with only '"' and '\' escaped (icholy/digest uses Go
// quoting, which would escape UTF-8 realms into something the server does
// not recognise); qop and nc are tokens; response last, where some servers
// expect it.
func formatDigestCredentials(c *digest.Credentials) string {
	var b strings.Builder
	b.WriteString("Digest ")
	q := func(k, v string) {
		if b.Len() > len("Digest ") {
			b.WriteString(", ")
		}
		b.WriteString(k + `="`)
		for _, r := range v {
			if r == '"' || r == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		b.WriteByte('"')
	}
	tok := func(k, v string) { b.WriteString(", " + k + "=" + v) }
	q("username", c.Username)
	q("realm", c.Realm)
	q("nonce", c.Nonce)
	q("uri", c.URI)
	if c.Algorithm != "" {
		tok("algorithm", c.Algorithm)
	}
	if c.QOP != "" {
		q("cnonce", c.Cnonce)
	}
	if c.Opaque != "" {
		q("opaque", c.Opaque)
	}
	if c.QOP != "" {
		tok("qop", c.QOP)
		tok("nc", fmt.Sprintf("%08x", c.Nc))
	}
	if c.Userhash {
		tok("userhash", "true")
	}
	q("response", c.Response)
	return b.String()
}

// authorize adds credentials to req. A REGISTER answers the registrar's own
// challenge (Authorization after 401, Proxy-Authorization after 407). Other
// requests (calls) go to the same server as proxy, so they carry
// Proxy-Authorization for the same realm and nonce: RFC 3261 §22.3 lets a UA
// send credentials for a realm preemptively. Responses carry none.
func (d *digestAuth) authorize(m sip.Message) error {
	req, ok := m.(*sip.Request)
	if !ok || req.Method == sip.ACK || req.Method == sip.CANCEL {
		// RFC 3261 §22.1: ACK and CANCEL are never challenged.
		return nil
	}
	d.mu.Lock()
	family := d.family
	d.mu.Unlock()
	if req.Method != sip.REGISTER {
		family = sipae.Proxy
	}
	v, ok, err := d.credentials(string(req.Method), req.Recipient.String())
	if err != nil || !ok {
		return err
	}
	req.RemoveHeader(family.Authorization())
	req.AppendHeader(sip.NewHeader(family.Authorization(), v))
	return nil
}

// digestAssoc wraps d as the registration's association: no signatures, no
// lifetime of its own (a nonce the server no longer accepts comes back as a
// 401 with stale=true, which re-runs the exchange).
func digestAssoc(d *digestAuth) *secAssoc {
	return &secAssoc{digest: d, deadline: time.Now().Add(100 * 365 * 24 * time.Hour)}
}

// standard reports whether the registration speaks plain RFC 3261 digest.
func (c Config) standard() bool { return strings.EqualFold(c.SpecialInterop, interopStandard) }

// authenticateDigest registers with digest on c (standard mode). Like the
// NTLM flow it follows a 301 and treats a rejected password as final: a
// second attempt with the same password could lock the account
// (RELIABILITY.md B.2).
func (h *Handset) authenticateDigest(ctx context.Context, c *connection, start time.Time) error {
	op := "register " + h.cfg.AOR
	d := &digestAuth{user: h.cfg.AuthUser, pass: h.cfg.Password, rand: h.rand}
	req := h.newRegister(c, h.requestedExpires())
	h.step("sent REGISTER without credentials (specialInterop=standard: RFC 3261 digest, no MS-SIPAE signing)")
	res, err := h.roundTrip(ctx, c, req, nil)
	if err != nil {
		return err
	}
	for stale := 0; ; stale++ {
		switch {
		case res.StatusCode == sip.StatusOK:
			if d.chal == nil {
				h.step("registrar accepted the REGISTER without asking for credentials")
			}
			h.mu.Lock()
			h.sa = digestAssoc(d)
			h.mu.Unlock()
			return h.registered(res, start)
		case res.StatusCode == sip.StatusMovedPermanently:
			return h.redirect(res, op)
		case res.StatusCode == sip.StatusForbidden && d.chal != nil:
			return h.digestRejected(op, res)
		case res.StatusCode != sip.StatusUnauthorized && res.StatusCode != sip.StatusProxyAuthRequired:
			return statusError(op, "REGISTER", res)
		}
		family, _ := sipae.FamilyForStatus(res.StatusCode)
		var vals []string
		for _, hdr := range res.GetHeaders(family.Challenge()) {
			vals = append(vals, hdr.Value())
		}
		chal, schemes, perr := pickDigestChallenge(vals)
		if perr != nil {
			return &Error{Op: op, Class: OutcomeConfig, Why: "digest not offered", Status: res.StatusCode, Final: true,
				Err: fmt.Errorf("%w: server offers %s", perr, strings.Join(schemes, ", "))}
		}
		// A second challenge after our credentials is a rejection, unless the
		// server says only the nonce was stale (RFC 7616 §3.3 stale=true).
		if d.chal != nil && (!chal.Stale || stale > 1) {
			return h.digestRejected(op, res)
		}
		alg := chal.Algorithm
		if alg == "" {
			alg = "MD5"
		}
		if chal.Stale {
			h.step("server says the nonce is stale (stale=true); answering the new nonce")
		} else {
			h.step("server asks for digest credentials (%d, realm %q, algorithm %s, qop %q)", res.StatusCode, chal.Realm, alg, strings.Join(chal.QOP, ","))
		}
		d.setChallenge(chal, family)
		req = h.newRegister(c, h.requestedExpires())
		if aerr := d.authorize(req); aerr != nil {
			return &Error{Op: op, Class: OutcomeConfig, Why: "digest", Final: true, Err: aerr}
		}
		h.step("sent REGISTER with digest credentials for %s (the password never leaves the handset)", h.cfg.AuthUser)
		res, err = h.roundTrip(ctx, c, req, nil)
		if err != nil {
			return err
		}
	}
}

// digestRejected classifies a 401/407/403 to our credentials: final.
func (h *Handset) digestRejected(op string, res *sip.Response) error {
	e := statusError(op, "REGISTER with digest credentials", res)
	e.Class, e.Final = OutcomeAuthRejected, true
	e.Why = fmt.Sprintf("%d after digest credentials", res.StatusCode)
	h.step("server rejected the digest credentials (%d %s); not retrying: repeated attempts lock accounts", res.StatusCode, res.Reason)
	return e
}

// retryChallenged answers a 401/407 to our INVITE once, in standard mode
// (RFC 3261 §22.2, §22.3): the challenge becomes the proxy challenge, and the
// INVITE goes again with the next CSeq and a new branch; writing it
// (writeCall → sign) adds the credentials. The caller has ACKed the
// challenge. It returns the new INVITE and its transaction, or ok=false
// when this is not standard mode, not a challenge, or already retried (a
// second challenge is a rejection).
func (h *Handset) retryChallenged(c *connection, sa *secAssoc, call *Call, inv *sip.Request, res *sip.Response, tried *bool) (*sip.Request, string, <-chan txResult, bool) {
	family, isChal := sipae.FamilyForStatus(res.StatusCode)
	if sa == nil || sa.digest == nil || !isChal || *tried {
		return nil, "", nil, false
	}
	*tried = true
	var vals []string
	for _, hdr := range res.GetHeaders(family.Challenge()) {
		vals = append(vals, hdr.Value())
	}
	chal, _, err := pickDigestChallenge(vals)
	if err != nil {
		return nil, "", nil, false
	}
	sa.digest.setProxyChallenge(chal)
	h.step("the proxy challenged the INVITE (%d, realm %q): sending it again with credentials", res.StatusCode, chal.Realm)
	req := inv.Clone()
	seq := inv.CSeq().SeqNo + 1
	req.RemoveHeader("Via")
	h.addVia(c, req, h.newBranch())
	req.RemoveHeader("CSeq")
	req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: sip.INVITE})
	call.mu.Lock()
	call.invite, call.dlg.localSeq = req, seq
	call.mu.Unlock()
	key, ch, err := h.startTx(c, sa, req)
	if err != nil {
		return nil, "", nil, false
	}
	return req, key, ch, true
}
