package sipua

import (
	"context"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/handset-dev/handset/auth/certprov"
	"github.com/handset-dev/handset/auth/ntlm"
	"github.com/handset-dev/handset/auth/webticket"
	"github.com/handset-dev/handset/certrenew"
)

// The handset's user certificate (protocols.md §6): where it is kept, how it
// is obtained (a web ticket from extension+PIN or from NTLM credentials, then
// GetAndPublishCert) and renewed (certrenew.Renewer, owned by the Handset
// and stopped by Close).
//
// Renewal needs a web ticket. A credential handset gets a fresh one with
// NTLM. A PIN handset has no PIN any more, so its certificate is not renewed
// and, once expired, the handset stops with "PIN and extension required"
// (seed, "User Certificate Renewal Process" step 3); see DESIGN notes in the
// README. After a renewal no immediate rekey is forced: the TLS-DSK SA
// expires at min(8 h, certificate NotAfter) − 5 min (MS-SIPAE 3.2.2), so the
// SA refresh that follows always presents the new certificate before the old
// one expires.

// WithCertStore gives the handset the store of its user certificate: the
// handset's flash, which survives restarts when the caller keeps it (a
// certificate in it is used for TLS-DSK; a new or renewed one is put in
// it). Default: an empty store of the Handset's own.
func WithCertStore(s *certrenew.Store) Option {
	return func(h *Handset) error {
		if s == nil {
			return &ConfigError{Field: "CertStore", Msg: "nil store"}
		}
		h.certs.store = s
		return nil
	}
}

// WithRenewalClock sets the clock of certificate renewal (certrenew.Clock:
// its time and its timers). Default: the handset's clock (WithClock) with
// real timers. A test or a compressed load run passes a
// certrenew.NewScaledClock, the same one whose Now it gives WithClock and
// the front end.
func WithRenewalClock(c certrenew.Clock) Option {
	return func(h *Handset) error { h.certs.clock = c; return nil }
}

// certState is the handset's certificate state; its own lock, never held
// while calling out.
type certState struct {
	store  *certrenew.Store
	newKey func(io.Reader) (*rsa.PrivateKey, error)        // test seam; nil = RSA-2048
	tamper func(out bool, round int, flight []byte) []byte // test seam: TLS-DSK flights
	clock  certrenew.Clock                                 // renewal clock; nil: handsetClock

	mu        sync.Mutex
	sts       string   // last TLS-DSK sts-uri seen
	ext       string   // extension typed by the user
	pin       Password // held only until a certificate is obtained or refused
	cancel    context.CancelFunc
	done      chan struct{} // closed when the renewer goroutine ends
	closeIdle func()        // the renewal HTTPS client's
}

func (s *certState) init(cfg Config) {
	if s.store == nil {
		s.store = &certrenew.Store{}
	}
	s.ext, s.pin = cfg.Extension, cfg.PIN
}

func (s *certState) setSTS(u string) {
	s.mu.Lock()
	s.sts = u
	s.mu.Unlock()
}

func (s *certState) stsURI() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sts
}

func (s *certState) pinCredential() (*webticket.PIN, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pin == "" || s.ext == "" {
		return nil, false
	}
	return &webticket.PIN{Extension: s.ext, PIN: s.pin.Reveal()}, true
}

// dropPIN forgets the PIN (the seed: it is not cached).
func (s *certState) dropPIN() {
	s.mu.Lock()
	s.pin = ""
	s.mu.Unlock()
}

// valid returns the held certificate's leaf when it is valid now and for
// at least min more.
func (s *certState) valid(now time.Time, minLeft time.Duration) *x509.Certificate {
	leaf := s.store.Leaf()
	if leaf == nil || now.Before(leaf.NotBefore) || leaf.NotAfter.Sub(now) < minLeft {
		return nil
	}
	return leaf
}

// stop ends the renewer and waits for its goroutine.
func (s *certState) stop() {
	s.mu.Lock()
	cancel, done, closeIdle := s.cancel, s.done, s.closeIdle
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	if closeIdle != nil {
		closeIdle()
	}
}

// certMinValidity is the shortest remaining validity of a usable
// certificate, scaled like every protocol timer.
func (h *Handset) certMinValidity() time.Duration {
	d := h.cfg.CertMinValidity
	if d == 0 {
		d = certprov.DefaultMinValidity
	}
	return h.cfg.scale(d)
}

// rootCAs is the trust for the front end's TLS-DSK certificate and its web
// services: the same CAs as for the SIP connection.
func (h *Handset) rootCAs() (*x509.CertPool, error) {
	if h.tlsConf != nil && h.tlsConf.RootCAs != nil {
		return h.tlsConf.RootCAs, nil
	}
	if len(h.cfg.CACertsPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(h.cfg.CACertsPEM) {
			return nil, errors.New("sipua: sec.TLS.customCaCert holds no PEM certificate")
		}
		return pool, nil
	}
	return nil, nil // system roots
}

// webClient returns an HTTPS client for the web services and the function
// that closes its idle connections (no goroutine outlives a provisioning).
func (h *Handset) webClient() (*http.Client, func(), error) {
	roots, err := h.rootCAs()
	if err != nil {
		return nil, nil, err
	}
	store := h.certs.store
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12,
			InsecureSkipVerify: h.cfg.Insecure, //nolint:gosec // only with --insecure, logged loudly in New
			// The user certificate, when one is held, authenticates the
			// renewal of a handset without a PIN (webticket.Cert).
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				// Only a valid one: the service refuses the connection of
				// an expired certificate, even for NTLM.
				if c := store.Current(); c != nil && h.certs.valid(h.now(), 0) != nil {
					return c, nil
				}
				return &tls.Certificate{}, nil
			}},
		ForceAttemptHTTP2:   false, // NTLM over HTTP is connection-oriented: one HTTP/1.1 connection
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     30 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: 2 * h.cfg.TransactionTimeout}, tr.CloseIdleConnections, nil
}

// credentialKind names how a web ticket is obtained.
type credentialKind uint8

const (
	credPIN credentialKind = iota + 1
	credNTLM
)

// provision obtains a user certificate from the web services at sts and
// puts it in the store (protocols.md §6.2). A PIN is dropped once used
// successfully or refused.
func (h *Handset) provision(ctx context.Context, sts string, kind credentialKind) (*tls.Certificate, error) {
	op := "certificate " + h.cfg.AOR
	if sts == "" {
		return nil, &Error{Op: op, Class: OutcomeServerError, Why: "no sts-uri", Final: true,
			Err: errors.New("the TLS-DSK challenge names no certificate provisioning service")}
	}
	var cred webticket.Credential
	switch kind {
	case credPIN:
		pc, ok := h.certs.pinCredential()
		if !ok {
			return nil, h.pinRequired(op)
		}
		cred = pc
		h.step("asking the web services at %s for a web ticket with extension %s and the PIN (sent over HTTPS only, never stored)", sts, pc.Extension)
	default:
		cred = &webticket.NTLM{SIPURI: "sip:" + h.cfg.AOR, Config: ntlm.ClientConfig{Credentials: h.ntlmCredentials(), Rand: h.rand, Now: h.now}}
		h.step("asking the web services at %s for a web ticket with NTLM (connection-oriented, over HTTPS)", sts)
	}
	hc, closeIdle, err := h.webClient()
	if err != nil {
		return nil, &Error{Op: op, Class: OutcomeConfig, Why: "ca certificates", Err: err}
	}
	defer closeIdle()
	wt, err := webticket.New(webticket.Config{CertProvURL: sts}, cred, webticket.WithHTTPClient(hc),
		webticket.WithRand(h.rand), webticket.WithClock(h.now), webticket.WithLogger(h.log))
	if err != nil {
		return nil, &Error{Op: op, Class: OutcomeServerError, Why: "bad sts-uri", Final: true, Err: err}
	}
	md, err := wt.Metadata(ctx)
	if err != nil {
		return nil, h.webError(op, "web services metadata", kind, err)
	}
	t, err := wt.Ticket(ctx)
	if err != nil {
		return nil, h.webError(op, "web ticket", kind, err)
	}
	user := strings.TrimPrefix(strings.ToLower(t.Subject), "sip:")
	if kind == credPIN {
		h.step("web ticket issued for %s (valid until %s)", t.Subject, t.Expires.UTC().Format(time.RFC3339))
		if !strings.EqualFold(user, h.cfg.AOR) {
			h.certs.dropPIN()
			return nil, &Error{Op: op, Class: OutcomeAuthRejected, Why: "PIN of another user", Final: true,
				Err: fmt.Errorf("the extension and PIN sign in %s, not %s", t.Subject, h.cfg.AOR)}
		}
	} else {
		h.step("web ticket issued (valid until %s)", t.Expires.UTC().Format(time.RFC3339))
	}
	cp, err := h.certClient(md.AuthURL, wt, hc)
	if err != nil {
		return nil, &Error{Op: op, Class: OutcomeServerError, Why: "certificate provisioning", Err: err}
	}
	h.step("generating an RSA-2048 key and a CSR for CN=%s; GetAndPublishCert at %s", h.cfg.AOR, md.AuthURL)
	cert, err := cp.Provision(ctx, h.certs.store)
	if err != nil {
		return nil, h.webError(op, "GetAndPublishCert", kind, err)
	}
	if kind == credPIN {
		h.certs.dropPIN()
	}
	h.step("user certificate issued, valid until %s (serial %s)", cert.Leaf.NotAfter.UTC().Format(time.RFC3339), cert.Leaf.SerialNumber.Text(16))
	return cert, nil
}

func (h *Handset) certClient(authURL string, wt *webticket.Client, hc *http.Client) (*certprov.Client, error) {
	opts := []certprov.Option{certprov.WithHTTPClient(hc), certprov.WithRand(h.rand), certprov.WithClock(h.now), certprov.WithLogger(h.log)}
	if h.certs.newKey != nil {
		opts = append(opts, certprov.WithKeyGenerator(h.certs.newKey))
	}
	return certprov.New(certprov.Config{URL: authURL, User: h.cfg.AOR, DeviceID: strings.ToLower(h.instance), MinValidity: h.certMinValidity()}, wt, opts...)
}

// webError classifies a web services failure. A refused PIN is final and
// the PIN is dropped (a retry with it could only lock the extension); a
// refused NTLM password is final too (RELIABILITY.md B.2).
func (h *Handset) webError(op, what string, kind credentialKind, err error) error {
	e := &Error{Op: op, Class: OutcomeServerError, Why: what, Err: err}
	var ws *webticket.ServiceError
	var cs *certprov.ServiceError
	var short *certrenew.ShortCertificateError
	switch {
	case errors.As(err, &ws) && ws.Outcome() == "auth_rejected":
		e.Class, e.Final, e.Diag = OutcomeAuthRejected, true, ws.Diagnostics
		switch {
		case kind == credPIN && ws.Status == http.StatusForbidden:
			e.Why = "PIN locked"
		case kind == credPIN:
			e.Why = "PIN refused"
		default:
			e.Why = "web ticket refused"
		}
		if kind == credPIN {
			h.certs.dropPIN()
		}
		h.step("the web services refused the %s (%d, %s)", map[credentialKind]string{credPIN: "extension and PIN", credNTLM: "NTLM credentials"}[kind], ws.Status, ws.Diagnostics)
	case errors.As(err, &ws):
		e.Diag = ws.Diagnostics
	case errors.As(err, &cs):
		e.Diag = cs.Diagnostics
		if cs.Outcome() == "auth_rejected" {
			e.Class = OutcomeAuthRejected
		}
	case errors.As(err, &short):
		e.Why = "certificate too short-lived"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		e.Class, e.Why = OutcomeTimeout, what+" timeout"
	}
	return e
}

// ntlmCredentials are the configured NTLM credentials (as ntlm.go builds
// them for SIP).
func (h *Handset) ntlmCredentials() ntlm.Credentials {
	domain, user := h.cfg.AuthDomain, h.cfg.AuthUser
	if d, u := ntlm.SplitUser(user); d != "" {
		user = u
		if domain == "" {
			domain = d
		}
	}
	return ntlm.Credentials{Domain: domain, User: user, Workstation: workstation(h.cfg.Handset), Password: h.cfg.Password.Reveal()}
}

// afterNTLM runs after an NTLM sign-in: a credential handset offered
// TLS-DSK obtains a certificate "via Microsoft's NTLM" (seed) so that its
// next sign-in uses TLS-DSK. A failure here does not undo the
// registration; it is reported and the next sign-in tries again.
func (h *Handset) afterNTLM(ctx context.Context) {
	sts := h.certs.stsURI()
	if sts == "" || h.cfg.pinSignIn() {
		return
	}
	if h.certs.valid(h.now(), h.certMinValidity()) == nil {
		h.step("signed in with NTLM; obtaining a user certificate so that the next sign-in can use TLS-DSK")
		if _, err := h.provision(ctx, sts, credNTLM); err != nil {
			h.log.Warn("could not obtain a user certificate", "err", err)
			h.step("could not obtain a user certificate: %v", err)
			return
		}
	}
	h.startRenewer()
}

// startRenewer starts the certrenew.Renewer once per Handset, once a
// certificate is held and the web services are known. It runs until Close,
// or until the certificate expires. Each renewal gets a fresh web ticket:
// with NTLM for a credential handset, with the current certificate
// (webticket.Cert) for a PIN handset, which has no PIN any more.
func (h *Handset) startRenewer() {
	h.certs.mu.Lock()
	defer h.certs.mu.Unlock()
	sts := h.certs.sts
	if h.certs.cancel != nil || sts == "" || h.certs.store.Current() == nil || h.isClosed() {
		return
	}
	hc, closeIdle, err := h.webClient()
	if err != nil {
		h.log.Warn("certificate renewal not started", "err", err)
		return
	}
	iss := &renewalIssuer{h: h, sts: sts, hc: hc}
	var clk certrenew.Clock = handsetClock{h.now}
	if h.certs.clock != nil {
		clk = h.certs.clock
	}
	r, err := certrenew.New(certrenew.Config{MinValidity: h.certMinValidity()}, h.certs.store, iss,
		certrenew.WithClock(clk), certrenew.WithLogger(h.log),
		certrenew.WithObserver(func(ev certrenew.Event) {
			switch ev.Kind {
			case certrenew.EventRenewed:
				h.step("user certificate renewed, valid until %s; the next security association uses it", ev.NotAfter.UTC().Format(time.RFC3339))
			case certrenew.EventFailed:
				h.step("certificate renewal attempt %d failed: %v", ev.Attempt, ev.Err)
			}
		}))
	if err != nil {
		closeIdle()
		h.log.Warn("certificate renewal not started", "err", err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	h.certs.cancel, h.certs.done, h.certs.closeIdle = cancel, done, closeIdle
	go func() {
		defer close(done)
		if err := r.Run(ctx); err != nil && ctx.Err() == nil {
			h.log.Warn("certificate renewal ended", "err", err)
		}
	}()
}

// renewalIssuer is the Renewer's certrenew.Issuer: it discovers the
// provisioning URL on first use (no network at sign-in) and then reuses
// its web ticket and provisioning clients.
type renewalIssuer struct {
	h   *Handset
	sts string
	hc  *http.Client

	mu sync.Mutex
	cp *certprov.Client
}

func (r *renewalIssuer) Issue(ctx context.Context) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cp == nil {
		h := r.h
		var cred webticket.Credential = &webticket.Cert{SIPURI: "sip:" + h.cfg.AOR, Client: r.hc}
		if !h.cfg.pinSignIn() {
			cred = &webticket.NTLM{SIPURI: "sip:" + h.cfg.AOR, Config: ntlm.ClientConfig{Credentials: h.ntlmCredentials(), Rand: h.rand, Now: h.now}}
		}
		wt, err := webticket.New(webticket.Config{CertProvURL: r.sts}, cred, webticket.WithHTTPClient(r.hc),
			webticket.WithRand(h.rand), webticket.WithClock(h.now), webticket.WithLogger(h.log))
		if err != nil {
			return nil, fmt.Errorf("sipua: renewal: %w", err)
		}
		md, err := wt.Metadata(ctx)
		if err != nil {
			return nil, fmt.Errorf("sipua: renewal: %w", err)
		}
		if r.cp, err = h.certClient(md.AuthURL, wt, r.hc); err != nil {
			return nil, fmt.Errorf("sipua: renewal: %w", err)
		}
	}
	c, err := r.cp.Issue(ctx)
	if err != nil {
		return nil, fmt.Errorf("sipua: renewal: %w", err)
	}
	return c, nil
}

// handsetClock is the Renewer's clock: the handset's time source, real
// timers (TimeScale already shortens the schedule).
type handsetClock struct{ now func() time.Time }

func (c handsetClock) Now() time.Time { return c.now() }

func (c handsetClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}
