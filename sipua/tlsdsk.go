package sipua

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/handset-dev/handset/auth/sipae"
	"github.com/handset-dev/handset/auth/tlsdsk"
)

// maxDSKRounds bounds the handshake round trips: TLS 1.2 with RSA key
// exchange takes two (protocols.md §3); a server that keeps challenging is
// broken or hostile.
const maxDSKRounds = 4

// findChallenge returns the challenge of one scheme among the family's
// headers (one header per scheme, MS-SIPAE 4.1).
func findChallenge(res *sip.Response, family sipae.Family, scheme sipae.Scheme) (sipae.Params, bool) {
	for _, hdr := range res.GetHeaders(family.Challenge()) {
		p, err := sipae.Parse(hdr.Value())
		if err == nil && p.Scheme == scheme {
			return p, true
		}
	}
	return sipae.Params{}, false
}

// authenticateDSK chooses the scheme from the first 401 and the
// configuration (seed "Signing into Lync", "User Certificate Renewal
// Process"; protocols.md §3: TLS-DSK before NTLM):
//
//   - TLS-DSK offered and a certificate valid for CertMinValidity more is
//     held: TLS-DSK.
//   - PIN handset: TLS-DSK, after obtaining a certificate with extension and
//     PIN; without a PIN it stops (ErrPINRequired). It never uses NTLM.
//   - credential handset: NTLM when offered (the certificate is obtained
//     after the sign-in, afterNTLM); when only TLS-DSK is offered, the
//     certificate is obtained with NTLM first.
//
// handled is false when NTLM should run.
func (h *Handset) authenticateDSK(ctx context.Context, c *connection, res *sip.Response, family sipae.Family, start time.Time) (handled bool, err error) {
	op := "register " + h.cfg.AOR
	dsk, offered := findChallenge(res, family, sipae.TLSDSK)
	_, ntlmOffered := findChallenge(res, family, sipae.NTLM)
	pin := h.cfg.pinSignIn()
	if !offered {
		if pin {
			return true, &Error{Op: op, Class: OutcomeConfig, Why: "tls-dsk not offered", Final: true, Status: res.StatusCode,
				Err: errors.New("PIN sign-in needs TLS-DSK, and the server does not offer it")}
		}
		return false, nil
	}
	if dsk.StsURI != "" {
		h.certs.setSTS(dsk.StsURI)
	}
	h.step("server offers TLS-DSK (targetname %q, sts-uri %q)", dsk.TargetName, dsk.StsURI)
	if leaf := h.certs.valid(h.now(), h.certMinValidity()); leaf != nil {
		h.step("holding a user certificate valid until %s: signing in with TLS-DSK", leaf.NotAfter.UTC().Format(time.RFC3339))
		if err := h.signInDSK(ctx, c, dsk, family, start); err != nil {
			return true, err
		}
		h.startRenewer()
		return true, nil
	}
	if leaf := h.certs.store.Leaf(); leaf != nil {
		h.step("the user certificate held expired or expires too soon (not after %s)", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	switch {
	case pin:
		if _, ok := h.certs.pinCredential(); !ok {
			return true, h.pinRequired(op)
		}
		if _, err := h.provision(ctx, h.certs.stsURI(), credPIN); err != nil {
			return true, err
		}
	case ntlmOffered:
		return false, nil
	default:
		h.step("only TLS-DSK is offered: obtaining a user certificate with NTLM first")
		if _, err := h.provision(ctx, h.certs.stsURI(), credNTLM); err != nil {
			return true, err
		}
	}
	if err := h.signInDSK(ctx, c, dsk, family, start); err != nil {
		return true, err
	}
	h.startRenewer()
	return true, nil
}

// signInDSK runs the TLS-DSK sign-in on c (protocols.md §3):
//
//  1. REGISTER gssapi-data=ClientHello            → 401 opaque, ServerHello…ServerHelloDone
//  2. REGISTER gssapi-data=Certificate…Finished   → 401 ChangeCipherSpec, Finished
//  3. REGISTER signed (crand/cnum/response)       → 200 OK, Authentication-Info rspauth (verified)
func (h *Handset) signInDSK(ctx context.Context, c *connection, chal sipae.Params, family sipae.Family, start time.Time) error {
	op := "register " + h.cfg.AOR
	roots, err := h.rootCAs()
	if err != nil {
		return &Error{Op: op, Class: OutcomeConfig, Why: "ca certificates", Err: err}
	}
	pump, err := tlsdsk.NewClient(tlsdsk.ClientConfig{ServerName: chal.TargetName, RootCAs: roots,
		InsecureSkipVerify: h.cfg.Insecure, Store: h.certs.store},
		tlsdsk.WithClock(h.now), tlsdsk.WithRand(h.rand), tlsdsk.WithLogger(h.log))
	if err != nil {
		return &Error{Op: op, Class: OutcomeConfig, Why: "tls-dsk", Err: err}
	}
	defer func() { _ = pump.Close() }()
	sa := sipae.NewClientSA(sipae.SAConfig{Rand: h.rand, Logger: h.log})
	if berr := sa.Begin(chal); berr != nil {
		return &Error{Op: op, Class: OutcomeServerError, Why: "tls-dsk challenge", Err: berr}
	}
	flight, _, err := pump.Step(nil)
	if err != nil {
		return &Error{Op: op, Class: OutcomeAuthRejected, Why: "tls-dsk handshake", Final: true, Err: err}
	}
	opaque := ""
	for round := 1; ; round++ {
		if round > maxDSKRounds {
			return &Error{Op: op, Class: OutcomeServerError, Why: "tls-dsk handshake too long", Final: true}
		}
		p := sipae.Params{Scheme: sipae.TLSDSK, Qop: "auth", Opaque: opaque, Realm: chal.Realm, TargetName: chal.TargetName,
			GssapiData: tlsdsk.EncodeGSSAPIData(flight), HasGssapi: true}
		if chal.Version > 2 {
			p.Version = chal.Version
		}
		if h.certs.tamper != nil {
			p.GssapiData = tlsdsk.EncodeGSSAPIData(h.certs.tamper(true, round, flight))
		}
		req := h.newRegister(c, h.requestedExpires())
		req.AppendHeader(sip.NewHeader(family.Authorization(), p.String()))
		if round == 1 {
			h.step("sent REGISTER with the TLS ClientHello in gssapi-data (%d bytes of TLS records)", len(flight))
		} else {
			h.step("sent REGISTER with our certificate, key exchange, CertificateVerify and Finished (%d bytes)", len(flight))
		}
		res, rerr := h.roundTrip(ctx, c, req, nil)
		if rerr != nil {
			return rerr
		}
		if res.StatusCode != family.Status() {
			return statusError(op, "REGISTER with TLS-DSK gssapi-data", res)
		}
		next, ok := findChallenge(res, family, sipae.TLSDSK)
		if !ok || next.GssapiData == "" {
			// A fresh challenge instead of the next flight: the server
			// refused the handshake (certificate not trusted, expired,
			// tampered record). The same certificate would fail again.
			e := statusError(op, "TLS-DSK handshake", res)
			e.Class, e.Final, e.Why = OutcomeAuthRejected, true, "tls-dsk handshake refused"
			h.step("server refused the TLS-DSK handshake (%d %s %s)", res.StatusCode, res.Reason, e.Diag)
			return e
		}
		in, derr := tlsdsk.DecodeGSSAPIData(next.GssapiData)
		if derr != nil {
			return &Error{Op: op, Class: OutcomeServerError, Why: "bad tls-dsk gssapi-data", Status: res.StatusCode, Final: true, Err: derr}
		}
		if h.certs.tamper != nil {
			in = h.certs.tamper(false, round, in)
		}
		opaque = next.Opaque
		if berr := sa.Begin(next); berr != nil {
			return &Error{Op: op, Class: OutcomeServerError, Why: "tls-dsk challenge", Err: berr}
		}
		var done bool
		flight, done, err = pump.Step(in)
		if err != nil {
			h.step("the server's TLS flight did not verify: %v", err)
			return &Error{Op: op, Class: OutcomeAuthRejected, Why: "tls-dsk handshake", Final: true, Status: res.StatusCode, Err: err}
		}
		if done {
			h.step("TLS handshake complete (security association opaque=%q); derived the signing keys from \"client EAP encryption\"", opaque)
			break
		}
		h.step("received the server's TLS flight (%d bytes) with security association opaque=%q", len(in), opaque)
	}
	mech, err := pump.Mechanism()
	if err != nil {
		return &Error{Op: op, Class: OutcomeAuthRejected, Why: "tls-dsk keys", Final: true, Err: err}
	}
	if eerr := sa.Establish(mech, opaque); eerr != nil {
		return &Error{Op: op, Class: OutcomeAuthRejected, Why: "sign", Err: eerr}
	}
	sas := &secAssoc{sa: sa, family: family, deadline: h.dskDeadline()}
	req := h.newRegister(c, h.requestedExpires())
	cnum, serr := h.sign(req, sas, "")
	if serr != nil {
		return &Error{Op: op, Class: OutcomeAuthRejected, Why: "sign", Err: serr}
	}
	h.step("sent REGISTER signed with the TLS-DSK client key (%s, cnum=%s)", mech.MAC(), cnum)
	res, err := h.roundTrip(ctx, c, req, sas)
	if err != nil {
		return err
	}
	switch res.StatusCode {
	case sip.StatusOK:
	case sip.StatusUnauthorized, sip.StatusProxyAuthRequired, sip.StatusForbidden:
		e := statusError(op, "signed TLS-DSK REGISTER", res)
		e.Class, e.Final = OutcomeAuthRejected, true
		e.Why = strconv.Itoa(res.StatusCode) + " after TLS-DSK"
		return e
	case sip.StatusMovedPermanently:
		return h.redirect(res, op)
	default:
		return statusError(op, "signed TLS-DSK REGISTER", res)
	}
	if err := h.establish(op, "TLS-DSK", "TLS-DSK signature", res, sas); err != nil {
		return err
	}
	return h.registered(res, start)
}

// dskDeadline is when the TLS-DSK SA is refreshed: the lesser of the
// certificate's expiry and SALifetime, minus SAMargin (MS-SIPAE 3.2.2). The
// certificate's remaining time is read on the handset's clock.
func (h *Handset) dskDeadline() time.Time {
	life := h.cfg.scale(h.cfg.SALifetime)
	if leaf := h.certs.store.Leaf(); leaf != nil {
		life = min(life, leaf.NotAfter.Sub(h.now()))
	}
	margin := h.cfg.scale(h.cfg.SAMargin)
	return time.Now().Add(max(life-margin, margin))
}
