package certprov

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/handset-dev/handset/certrenew"

	"github.com/handset-dev/handset/auth/internal/wsxml"
)

// DefaultMinValidity is the shortest remaining validity accepted: SIPE
// requires one more hour (protocols.md §6.3), and so does issue #5.
const DefaultMinValidity = time.Hour

// KeyBits is the user key size (protocols.md §6.3: RSA-2048).
const KeyBits = 2048

// Authenticator proves a request with a web ticket: it returns the
// wsse:Security header element (signed timestamp, SAML assertion and
// signature, protocols.md §6.2 step 6). auth/webticket implements it;
// certprov does not care whether the ticket came from NTLM or from a PIN.
// If it also has an Invalidate() method, certprov calls it when the service
// refuses the ticket (401/403), so the next attempt uses a fresh one.
type Authenticator interface {
	SecurityHeader(ctx context.Context) ([]byte, error)
}

// Config holds the certificate provisioning settings.
type Config struct {
	// URL is the cert-provisioning auth URL (the address of the
	// CertProvisioningServiceWebTicketProof_SHA1 port, protocols.md §6.2).
	URL string
	// User is user@domain: the CSR's CN and the request's Entity.
	User string
	// DeviceID is the handset's instance UUID (+sip.instance), no braces.
	DeviceID string
	// MinValidity is the shortest remaining validity accepted; zero means
	// DefaultMinValidity.
	MinValidity time.Duration
}

// Validate checks the configuration.
func (c Config) Validate() error {
	u, err := url.Parse(c.URL)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return fmt.Errorf("%w: url %q", errConfig, c.URL)
	case !strings.Contains(c.User, "@") || strings.HasPrefix(c.User, "sip:"):
		return fmt.Errorf("%w: user %q must be user@domain", errConfig, c.User)
	case c.DeviceID == "":
		return fmt.Errorf("%w: no device id", errConfig)
	case c.MinValidity < 0:
		return fmt.Errorf("%w: negative min validity", errConfig)
	}
	return nil
}

// Client obtains user certificates; it implements certrenew.Issuer.
type Client struct {
	cfg    Config
	auth   Authenticator
	http   *http.Client
	rand   io.Reader
	now    func() time.Time
	log    *slog.Logger
	newKey func(io.Reader) (*rsa.PrivateKey, error)
}

var _ certrenew.Issuer = (*Client)(nil)

// Option configures collaborators.
type Option func(*Client) error

// WithHTTPClient sets the HTTPS client (its TLS config decides which web
// services certificate is trusted).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) error { c.http = h; return nil } }

// WithRand sets the entropy for UUIDs and the CSR signature.
func WithRand(r io.Reader) Option { return func(c *Client) error { c.rand = r; return nil } }

// WithClock sets the clock used to check the returned certificate.
func WithClock(now func() time.Time) Option { return func(c *Client) error { c.now = now; return nil } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(c *Client) error { c.log = l; return nil } }

// WithKeyGenerator replaces RSA-2048 generation (tests reuse a key: one
// generation costs ~100 ms of CPU).
func WithKeyGenerator(f func(io.Reader) (*rsa.PrivateKey, error)) Option {
	return func(c *Client) error { c.newKey = f; return nil }
}

// New returns a Client that proves its requests with auth.
func New(cfg Config, auth Authenticator, opts ...Option) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if auth == nil {
		return nil, fmt.Errorf("%w: no authenticator", errConfig)
	}
	if cfg.MinValidity == 0 {
		cfg.MinValidity = DefaultMinValidity
	}
	c := &Client{cfg: cfg, auth: auth, http: http.DefaultClient, rand: rand.Reader, now: time.Now,
		log:    slog.New(slog.DiscardHandler),
		newKey: func(r io.Reader) (*rsa.PrivateKey, error) { return rsa.GenerateKey(r, KeyBits) }}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// NewCSR returns a DER PKCS#10 request for key with subject CN=user
// (protocols.md §6.3). SIPE signs it with SHA-1; Go no longer verifies SHA-1
// signatures and Lync's CA accepts SHA-256, so it is signed with SHA-256.
func NewCSR(r io.Reader, user string, key *rsa.PrivateKey) ([]byte, error) {
	der, err := x509.CreateCertificateRequest(r, &x509.CertificateRequest{
		Subject:            pkix.Name{CommonName: user},
		SignatureAlgorithm: x509.SHA256WithRSA,
	}, key)
	if err != nil {
		return nil, fmt.Errorf("certprov: csr: %w", err)
	}
	return der, nil
}

// UUID returns a random (version 4) UUID from r.
func UUID(r io.Reader) (string, error) {
	u, err := wsxml.UUID(r)
	if err != nil {
		return "", fmt.Errorf("certprov: %w", err)
	}
	return u, nil
}

// Issue generates a key and CSR, calls GetAndPublishCert with a web ticket
// and returns the certificate with its key. A certificate valid for less
// than MinValidity is refused with a *certrenew.ShortCertificateError. ctx
// bounds the whole exchange.
func (c *Client) Issue(ctx context.Context) (*tls.Certificate, error) {
	key, err := c.newKey(c.rand)
	if err != nil {
		return nil, fmt.Errorf("certprov: key: %w", err)
	}
	csr, err := NewCSR(c.rand, c.cfg.User, key)
	if err != nil {
		return nil, err
	}
	sec, err := c.auth.SecurityHeader(ctx)
	if err != nil {
		return nil, fmt.Errorf("certprov: web ticket: %w", err)
	}
	mid, err := UUID(c.rand)
	if err != nil {
		return nil, err
	}
	rid, err := UUID(c.rand)
	if err != nil {
		return nil, err
	}
	req := Request{To: c.cfg.URL, MessageID: mid, RequestID: rid, DeviceID: c.cfg.DeviceID,
		Entity: c.cfg.User, CSR: csr, Security: sec}
	der, err := c.post(ctx, req.Marshal())
	var se *ServiceError
	if errors.As(err, &se) && se.Outcome() == OutcomeAuthRejected {
		// The ticket was refused (expired, or the front end restarted and
		// forgot it): drop it so the next attempt fetches a fresh one.
		if inv, ok := c.auth.(interface{ Invalidate() }); ok {
			inv.Invalidate()
		}
	}
	if err != nil {
		return nil, err
	}
	return c.accept(der, key)
}

func (c *Client) post(ctx context.Context, body []byte) ([]byte, error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("certprov: %w", err)
	}
	hr.Header.Set("Content-Type", "text/xml; charset=utf-8")
	hr.Header.Set("SOAPAction", `"`+ActionGetAndPublishCert+`"`)
	resp, err := c.http.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("certprov: post: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("certprov: read response: %w", err)
	}
	c.log.Debug("certprov response", "status", resp.StatusCode, "bytes", len(b))
	diag := resp.Header.Get("X-Ms-Diagnostics")
	if len(b) > MaxResponse {
		return nil, fmt.Errorf("%w: over %d bytes", errTooLarge, MaxResponse)
	}
	der, err := ParseResponse(b)
	var se *ServiceError
	switch {
	case errors.As(err, &se):
		se.Status, se.Diagnostics = resp.StatusCode, diag
		return nil, se
	case resp.StatusCode != http.StatusOK:
		return nil, &ServiceError{Status: resp.StatusCode, Diagnostics: diag}
	case err != nil:
		return nil, err
	}
	return der, nil
}

// accept checks the issued certificate against our key and the minimum
// validity.
func (c *Client) accept(der []byte, key *rsa.PrivateKey) (*tls.Certificate, error) {
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("certprov: certificate: %w", err)
	}
	pub, ok := leaf.PublicKey.(*rsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) {
		return nil, ErrKeyMismatch
	}
	now := c.now()
	if now.Before(leaf.NotBefore.Add(-5 * time.Minute)) { // tolerate a little clock skew
		return nil, fmt.Errorf("%w: from %s", errNotYetValid, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	if left := leaf.NotAfter.Sub(now); left < c.cfg.MinValidity {
		return nil, &certrenew.ShortCertificateError{NotAfter: leaf.NotAfter, Remaining: left, Min: c.cfg.MinValidity}
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// Provision obtains a certificate and makes it current in store (the first
// certificate at sign-in; renewal goes through certrenew.Renewer).
func (c *Client) Provision(ctx context.Context, store *certrenew.Store) (*tls.Certificate, error) {
	cert, err := c.Issue(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := store.Swap(cert); err != nil {
		return nil, fmt.Errorf("certprov: %w", err)
	}
	return cert, nil
}
