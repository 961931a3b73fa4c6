package webticket

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/handset-dev/handset/auth/ntlm"

	"github.com/handset-dev/handset/auth/internal/wsxml"
)

// Credential is the one interface behind which credential (NTLM) users and
// PIN users differ: which web ticket port they use, what they add to the
// RST, and how the HTTP exchange is authenticated.
type Credential interface {
	// Port is the web ticket metadata port to post to.
	Port() string
	// Prepare adds the credential's parts to the RST.
	Prepare(rst *RST)
	// Do posts body to url, authenticating as the credential requires, and
	// returns the final response.
	Do(ctx context.Context, hc *http.Client, url string, body []byte) (*http.Response, error)
}

func post(ctx context.Context, hc *http.Client, u string, body []byte, authz string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("webticket: %w", err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `"`+ActionIssue+`"`)
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("webticket: post: %w", err)
	}
	return resp, nil
}

// NTLM authenticates with connection-oriented NTLM over HTTP (protocols.md
// §6.2 step 4): NEGOTIATE, the 401's CHALLENGE, then AUTHENTICATE on the
// same connection.
type NTLM struct {
	SIPURI string // sip:user@domain, the RST's claim
	Config ntlm.ClientConfig
}

// Port implements Credential.
func (n *NTLM) Port() string { return PortWinNegotiate }

// Prepare implements Credential: the SIP URI claim.
func (n *NTLM) Prepare(rst *RST) { rst.SIPURI = n.SIPURI }

// Do implements Credential.
func (n *NTLM) Do(ctx context.Context, hc *http.Client, u string, body []byte) (*http.Response, error) {
	resp, err := post(ctx, hc, u, body, "NTLM "+base64.StdEncoding.EncodeToString(ntlm.Negotiate(n.Config)))
	if err != nil {
		return nil, err
	}
	// Drain so that the AUTHENTICATE reuses this connection: HTTP NTLM
	// authenticates the connection, not the request.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxResponse))
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		return nil, fmt.Errorf("%w: NEGOTIATE answered with http %d, want 401", errNTLMFlow, resp.StatusCode)
	}
	var challenge []byte
	for _, h := range resp.Header.Values("WWW-Authenticate") {
		if tok, ok := strings.CutPrefix(h, "NTLM "); ok {
			if challenge, err = base64.StdEncoding.DecodeString(strings.TrimSpace(tok)); err != nil {
				return nil, fmt.Errorf("%w: challenge: %w", errNTLMFlow, err)
			}
		}
	}
	if challenge == nil {
		return nil, fmt.Errorf("%w: 401 without an NTLM challenge", errNTLMFlow)
	}
	auth, _, err := ntlm.AuthenticateConnection(n.Config, challenge)
	if err != nil {
		return nil, fmt.Errorf("webticket: %w", err)
	}
	return post(ctx, hc, u, body, "NTLM "+base64.StdEncoding.EncodeToString(auth))
}

// PIN authenticates with the phone's extension (or number) and PIN. The
// shape is this project's (protocols.md §6.4 is not public): see the package
// comment.
type PIN struct {
	Extension string
	PIN       string // secret
}

// Port implements Credential.
func (p *PIN) Port() string { return PortPIN }

// Prepare implements Credential: a UsernameToken with the extension and the
// PIN as PasswordText (sent over HTTPS only).
func (p *PIN) Prepare(rst *RST) {
	rst.SIPURI = ""
	rst.Security = fmt.Appendf(nil, `<wsse:Security soap:mustUnderstand="1"><wsse:UsernameToken><wsse:Username>%s</wsse:Username>`+
		`<wsse:Password Type="%s">%s</wsse:Password></wsse:UsernameToken></wsse:Security>`,
		esc(p.Extension), PasswordText, esc(p.PIN))
}

// Do implements Credential.
func (p *PIN) Do(ctx context.Context, hc *http.Client, u string, body []byte) (*http.Response, error) {
	if !strings.HasPrefix(u, "https://") {
		return nil, fmt.Errorf("%w: refusing to send a PIN over %s", errConfig, u)
	}
	return post(ctx, hc, u, body, "")
}

func (p *PIN) String() string       { return "webticket.PIN{" + p.Extension + " [redacted]}" }
func (p *PIN) LogValue() slog.Value { return slog.StringValue(p.String()) }
func (p PIN) GoString() string      { return p.String() }

// Config holds the web ticket settings.
type Config struct {
	// CertProvURL is the sts-uri of the TLS-DSK challenge (protocols.md
	// §6.1), e.g. https://pool/CertProv/CertProvisioningService.svc.
	CertProvURL string
	// RenewBefore: a cached ticket is reused until this long before it
	// expires; zero means 5 minutes.
	RenewBefore time.Duration
}

// Validate checks the configuration.
func (c Config) Validate() error {
	u, err := url.Parse(c.CertProvURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%w: cert provisioning url %q must be https", errConfig, c.CertProvURL)
	}
	if c.RenewBefore < 0 {
		return fmt.Errorf("%w: negative renew-before", errConfig)
	}
	return nil
}

// Client obtains and caches web tickets; it implements auth/certprov's
// Authenticator. Methods are safe for concurrent use; concurrent callers
// share one exchange.
type Client struct {
	cfg  Config
	cred Credential
	http *http.Client
	rand io.Reader
	now  func() time.Time
	log  *slog.Logger

	mu     sync.Mutex
	md     *CertProvMetadata
	ticket *Ticket
}

// Option configures collaborators.
type Option func(*Client) error

// WithHTTPClient sets the HTTPS client.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) error { c.http = h; return nil } }

// WithRand sets the entropy source (client entropy, UUIDs).
func WithRand(r io.Reader) Option { return func(c *Client) error { c.rand = r; return nil } }

// WithClock sets the clock that ages cached tickets.
func WithClock(now func() time.Time) Option { return func(c *Client) error { c.now = now; return nil } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(c *Client) error { c.log = l; return nil } }

// New returns a Client for one user.
func New(cfg Config, cred Credential, opts ...Option) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cred == nil {
		return nil, fmt.Errorf("%w: no credential", errConfig)
	}
	if cfg.RenewBefore == 0 {
		cfg.RenewBefore = 5 * time.Minute
	}
	c := &Client{cfg: cfg, cred: cred, http: http.DefaultClient, rand: rand.Reader, now: time.Now,
		log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *Client) get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("webticket: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("webticket: get metadata: %w", err)
	}
	return readResponse(resp)
}

func readResponse(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("webticket: read: %w", err)
	}
	if len(b) > MaxResponse {
		return nil, fmt.Errorf("%w: over %d bytes", errTooLarge, MaxResponse)
	}
	if resp.StatusCode != http.StatusOK {
		se := &ServiceError{Status: resp.StatusCode, Diagnostics: resp.Header.Get("X-Ms-Diagnostics")}
		if _, err := ParseResponse(b); err != nil {
			var fe *ServiceError
			if errors.As(err, &fe) {
				se.FaultCode, se.FaultString = fe.FaultCode, fe.FaultString
			}
		}
		return nil, se
	}
	return b, nil
}

// Metadata discovers the web ticket and cert-provisioning auth URLs
// (protocols.md §6.2 steps 1-2), once.
func (c *Client) Metadata(ctx context.Context) (*CertProvMetadata, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.metadata(ctx)
}

func (c *Client) metadata(ctx context.Context) (*CertProvMetadata, error) {
	if c.md != nil {
		return c.md, nil
	}
	b, err := c.get(ctx, c.cfg.CertProvURL+"/mex")
	if err != nil {
		return nil, err
	}
	md, err := ParseCertProvMetadata(b)
	if err != nil {
		return nil, err
	}
	c.md = md
	return md, nil
}

func uuid(r io.Reader) (string, error) {
	u, err := wsxml.UUID(r)
	if err != nil {
		return "", fmt.Errorf("webticket: %w", err)
	}
	return u, nil
}

// Ticket returns a valid web ticket, from the cache or from a new exchange
// (protocols.md §6.2 steps 3-5). ctx bounds the exchange.
func (c *Client) Ticket(ctx context.Context) (*Ticket, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.ticket; t != nil && c.now().Before(t.Expires.Add(-c.cfg.RenewBefore)) {
		return t, nil
	}
	c.ticket = nil
	md, err := c.metadata(ctx)
	if err != nil {
		return nil, err
	}
	b, err := c.get(ctx, md.WebTicketURL+"/mex")
	if err != nil {
		return nil, err
	}
	port, err := ParseWebTicketMetadata(b, c.cred.Port())
	if err != nil {
		return nil, err
	}
	rst := RST{To: port, AppliesTo: md.AuthURL, Entropy: make([]byte, 32)}
	if _, err = io.ReadFull(c.rand, rst.Entropy); err != nil {
		return nil, fmt.Errorf("webticket: entropy: %w", err)
	}
	if rst.MessageID, err = uuid(c.rand); err != nil {
		return nil, err
	}
	if rst.Context, err = uuid(c.rand); err != nil {
		return nil, err
	}
	c.cred.Prepare(&rst)
	resp, err := c.cred.Do(ctx, c.http, port, rst.Marshal())
	if err != nil {
		return nil, err
	}
	body, err := readResponse(resp)
	if err != nil {
		return nil, err
	}
	r, err := ParseResponse(body)
	if err != nil {
		return nil, err
	}
	t := &Ticket{Assertion: r.Assertion, AssertionID: r.AssertionID, Subject: r.Subject,
		Created: r.Created, Expires: r.Expires, ProofKey: PSHA1(rst.Entropy, r.ServerEntropy, len(rst.Entropy))}
	if !c.now().Before(t.Expires) {
		return nil, fmt.Errorf("%w: ticket expired at %s", errNoTicket, t.Expires.UTC().Format(time.RFC3339))
	}
	c.log.Debug("web ticket issued", "ticket", t)
	c.ticket = t
	return t, nil
}

// SecurityHeader returns the signed wsse:Security header proving a current
// ticket (auth/certprov's Authenticator).
func (c *Client) SecurityHeader(ctx context.Context) ([]byte, error) {
	t, err := c.Ticket(ctx)
	if err != nil {
		return nil, err
	}
	return SecurityHeader(t), nil
}

// Invalidate drops the cached ticket (after the service refused it).
func (c *Client) Invalidate() {
	c.mu.Lock()
	c.ticket = nil
	c.mu.Unlock()
}
