package sipua

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/handset-dev/handset/sipua/mras"
)

// MRAS: media-relay credentials (protocols.md §8). After sign-in the handset
// sends a signed SERVICE to the mrasUri of its in-band provisioning; the
// answer's user name, password and relay become the in-band values
// tcpIpApp.ice.username, .password, .turn.server, .turn.udpPort and
// .turn.tcpPort, and are renewed before their duration ends (SIPE never
// renews; the seed says the user name changes every eight minutes).

// methodService is MS-SIP's SERVICE method (sipgo has no constant for it).
const methodService sip.RequestMethod = "SERVICE"

// ErrNoMRAS means in-band provisioning named no mrasUri (or has not arrived).
var ErrNoMRAS = errors.New("sipua: no mrasUri in in-band provisioning")

// RelayCredentials are the credentials MRAS issued and when to renew them.
type RelayCredentials struct {
	mras.Response
	MRASURI string
	Issued  time.Time
	RenewAt time.Time // already time-scaled (Config.TimeScale)
}

// relayState is the MRAS state of a Handset, guarded by h.mu.
type relayState struct {
	enabled bool // WithMRAS
	started bool // the renewal loop runs
	creds   *RelayCredentials
	reqID   int
	issued  chan struct{} // closed and replaced at each new set
}

// WithMRAS makes the handset fetch relay credentials by itself once
// in-band provisioning has arrived, and keep them renewed until Close, as
// the phone does with tcpIpApp.ice.mode=MSOCS. Off by default.
func WithMRAS(on bool) Option {
	return func(h *Handset) error { h.relay.enabled = on; return nil }
}

// startMRAS starts the renewal loop once (takeProvisioning calls it).
func (h *Handset) startMRAS() {
	h.mu.Lock()
	if !h.relay.enabled || h.relay.started || h.closed {
		h.mu.Unlock()
		return
	}
	h.relay.started = true
	h.mu.Unlock()
	h.spawn(func() { _ = h.RunRelayCredentials(context.Background(), 0, nil) })
}

// WaitRelayCredentials blocks until relay credentials exist (or ctx ends).
func (h *Handset) WaitRelayCredentials(ctx context.Context) (*RelayCredentials, error) {
	err := h.waitUntil(ctx, func() (*chan struct{}, bool) { return &h.relay.issued, h.relay.creds != nil })
	if err != nil {
		return nil, err
	}
	return h.RelayCredentials(), nil
}

// RelayCredentials returns the current relay credentials, nil before any.
func (h *Handset) RelayCredentials() *RelayCredentials {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.relay.creds == nil {
		return nil
	}
	c := *h.relay.creds
	return &c
}

// RequestRelayCredentials sends one MRAS SERVICE through the signed flow
// and stores the answer. ctx bounds the transaction. A refusal or an answer
// without credentials is an *Error with Why "no relay".
func (h *Handset) RequestRelayCredentials(ctx context.Context) (*RelayCredentials, error) {
	op := "mras " + h.cfg.AOR
	ib := h.InBand()
	if ib == nil || ib.Settings == nil || ib.Settings.Server == nil || strings.TrimSpace(ib.Settings.Server.MRASURI) == "" {
		return nil, &Error{Op: op, Class: OutcomeConfig, Why: "no relay", Err: ErrNoMRAS}
	}
	uri := strings.TrimSpace(ib.Settings.Server.MRASURI)
	h.mu.Lock()
	c, sa, gruu := h.conn, h.sa, h.reg.gruu
	h.relay.reqID++
	id := h.relay.reqID
	h.mu.Unlock()
	if c == nil || sa == nil {
		return nil, &Error{Op: op, Class: OutcomeTransport, Why: "not registered"}
	}
	self := "sip:" + strings.TrimPrefix(h.cfg.AOR, "sip:")
	body := mras.Request{RequestID: id, CredentialsRequestID: id, From: self, To: uri, Identity: self,
		Location: mras.LocationIntranet, Duration: mras.DefaultDuration}.Marshal()
	req, err := h.newService(c, uri, gruu, body)
	if err != nil {
		return nil, &Error{Op: op, Class: OutcomeConfig, Why: "bad mrasUri", Err: err}
	}
	if _, serr := h.sign(req, sa, ""); serr != nil {
		return nil, &Error{Op: op, Class: OutcomeAuthRejected, Why: "sign", Err: serr}
	}
	res, err := h.roundTrip(ctx, c, req, sa)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != sip.StatusOK {
		return nil, &Error{Op: op, Class: OutcomeServerError, Why: "no relay", Status: res.StatusCode,
			Err: fmt.Errorf("sipua: mras answered %d %s", res.StatusCode, res.Reason)}
	}
	r, err := mras.ParseResponse(res.Body())
	if err != nil {
		return nil, &Error{Op: op, Class: OutcomeServerError, Why: "no relay", Status: res.StatusCode, Err: err}
	}
	now := h.now()
	rc := &RelayCredentials{Response: r, MRASURI: uri, Issued: now,
		RenewAt: now.Add(h.cfg.scale(mras.RenewAt(now, r.Duration).Sub(now)))}
	h.mu.Lock()
	h.relay.creds = rc
	if h.relay.issued != nil {
		close(h.relay.issued)
	}
	h.relay.issued = make(chan struct{})
	if h.subs.inband != nil {
		// Publish into the current in-band layer (a copy: readers hold the old one).
		ib := *h.subs.inband
		ib.Params = h.withRelayParamsLocked(ib.Params)
		h.subs.inband = &ib
	}
	h.mu.Unlock()
	h.log.Info("mras: relay credentials", "relays", len(r.Relays), "duration", r.Duration, "renew_at", rc.RenewAt)
	cp := *rc
	return &cp, nil
}

// withRelayParamsLocked returns params plus the MRAS values (copying).
func (h *Handset) withRelayParamsLocked(params map[string]string) map[string]string {
	out := make(map[string]string, len(params)+5)
	for k, v := range params {
		out[k] = v
	}
	if h.relay.creds != nil {
		for k, v := range h.relay.creds.Params(mras.LocationIntranet) {
			out[k] = v
		}
	}
	return out
}

// addRelayParams merges the current MRAS values into a fresh in-band
// parameter set (takeProvisioning calls it: new provisioning must not drop
// credentials MRAS issued).
func (h *Handset) addRelayParams(params map[string]string) map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.withRelayParamsLocked(params)
}

// RunRelayCredentials requests relay credentials and renews them at their
// RenewAt until ctx ends or the handset closes; onIssue (optional) sees
// each new set. A failed request is retried after retryAfter (time-scaled
// 60 s by default when 0); it returns nil when stopped.
func (h *Handset) RunRelayCredentials(ctx context.Context, retryAfter time.Duration, onIssue func(*RelayCredentials)) error {
	if retryAfter <= 0 {
		retryAfter = h.cfg.scale(60 * time.Second)
	}
	for {
		rctx, cancel := context.WithTimeout(ctx, h.cfg.TransactionTimeout)
		rc, err := h.RequestRelayCredentials(rctx)
		cancel()
		wait := retryAfter
		if err == nil {
			if onIssue != nil {
				onIssue(rc)
			}
			wait = rc.RenewAt.Sub(h.now())
		} else {
			h.log.Warn("mras: request failed", "err", err)
		}
		t := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-h.closing:
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// newService builds the MRAS SERVICE request (protocols.md §8.1): to the
// mrasUri, from ourselves, with the GRUU as Contact.
func (h *Handset) newService(c *connection, uri, gruu string, body []byte) (*sip.Request, error) {
	var ruri sip.Uri
	if err := sip.ParseUri(uri, &ruri); err != nil {
		return nil, err
	}
	user, domain := h.cfg.aorParts()
	aor := sip.Uri{Scheme: "sip", User: user, Host: domain}
	req := sip.NewRequest(methodService, ruri)
	lhost, lport := splitHostPortInt(c.local)
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "TLS", Host: lhost, Port: lport, Params: sip.NewParams()}
	via.Params.Add("branch", h.newBranch())
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", h.randHex(5))
	from.Params.Add("epid", h.epid)
	to := &sip.ToHeader{Address: ruri, Params: sip.NewParams()}
	callID := sip.CallIDHeader(h.randHex(16))
	maxfwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(via)
	req.AppendHeader(&maxfwd)
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: methodService})
	if gruu != "" {
		req.AppendHeader(sip.NewHeader("Contact", "<"+gruu+">"))
	} else {
		req.AppendHeader(sip.NewHeader("Contact", fmt.Sprintf("<sip:%s;transport=tls;ms-opaque=%s>;+sip.instance=\"<urn:uuid:%s>\"", c.local, h.opaqueTok, h.instance)))
	}
	req.AppendHeader(sip.NewHeader("User-Agent", h.cfg.UserAgent))
	req.AppendHeader(sip.NewHeader("Content-Type", mras.ContentType))
	req.SetTransport("TLS")
	req.SetDestination(c.dest)
	req.SetBody(body)
	return req, nil
}
