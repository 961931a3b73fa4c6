package websvc

import (
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/handset-dev/handset/auth/ntlm"
	"github.com/handset-dev/handset/configs"
)

// Paths served (relative to the web services root).
const (
	PathCertProv      = "/CertProv/CertProvisioningService.svc"
	PathCertProvMex   = PathCertProv + "/mex"
	PathCertProvProof = PathCertProv + "/WebTicket_Proof_SHA1"
	PathWebTicket     = "/WebTicket/WebTicketService.svc"
	PathWebTicketMex  = PathWebTicket + "/mex"
	PathWebTicketAuth = PathWebTicket + "/Auth"
	PathWebTicketPIN  = PathWebTicket + "/Pin"
	PathWebTicketCert = PathWebTicket + "/Cert"
)

// MaxRequest caps a request body: a GetAndPublishCert with a ticket and a
// CSR is under 8 KiB.
const MaxRequest = 64 << 10

// User is one directory entry (the same fields as labfe's user table).
type User struct {
	Address   string         // sip:alice@contoso.test
	UserID    string         // NTLM user name
	Domain    string         // NTLM (NetBIOS) domain
	Password  configs.Secret // NTLM password
	Extension string         // for PIN sign-in
	PIN       configs.Secret // for PIN sign-in
}

func (u *User) aor() string {
	a := strings.TrimSpace(u.Address)
	if len(a) >= 4 && strings.EqualFold(a[:4], "sip:") {
		a = a[4:]
	}
	return strings.ToLower(a)
}

// Config configures the web services.
type Config struct {
	// BaseURL is the https://host[:port] the services advertise in their
	// metadata; empty means https:// plus the request's Host.
	BaseURL string
	// Users is the directory.
	Users []User
	// CA issues user certificates (its Leaf and key are required).
	CA *tls.Certificate
	// CertLifetime of issued user certificates; zero means 8 hours. Tests
	// use minutes.
	CertLifetime time.Duration
	// TicketLifetime of web tickets; zero means 8 hours.
	TicketLifetime time.Duration
	// MaxPINFailures wrong PINs lock an extension; zero means 5.
	MaxPINFailures int
	// NTLM names for the HTTP NTLM acceptor's CHALLENGE.
	NbDomain, NbComputer, DNSDomain, DNSComputer string
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.CA == nil || c.CA.Leaf == nil || c.CA.PrivateKey == nil {
		return fmt.Errorf("%w: CA certificate with Leaf and key required", errConfig)
	}
	if c.CertLifetime < 0 || c.TicketLifetime < 0 || c.MaxPINFailures < 0 {
		return fmt.Errorf("%w: negative lifetime or limit", errConfig)
	}
	return nil
}

// Option configures collaborators.
type Option func(*Service) error

// WithClock sets the service clock (ticket and certificate validity).
func WithClock(now func() time.Time) Option {
	return func(s *Service) error { s.now = now; return nil }
}

// WithRand sets the entropy source.
func WithRand(r io.Reader) Option { return func(s *Service) error { s.rand = r; return nil } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(s *Service) error { s.log = l; return nil } }

type ticket struct {
	user    *User
	proof   []byte
	expires time.Time
}

type pinState struct {
	failures int
	locked   bool
}

// Service is the lab front end's HTTPS web services: metadata, the web
// ticket service (NTLM and PIN) and certificate provisioning. It is an
// http.Handler; labfe mounts it on its HTTPS listener.
type Service struct {
	cfg  Config
	now  func() time.Time
	rand io.Reader
	log  *slog.Logger

	mu      sync.Mutex
	tickets map[string]*ticket               // by AssertionID
	pins    map[string]*pinState             // by extension
	ntlm    map[string]*ntlm.ServerChallenge // pending HTTP NTLM, by connection (RemoteAddr)
	issued  int
}

// New returns the service.
func New(cfg Config, opts ...Option) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.CertLifetime == 0 {
		cfg.CertLifetime = 8 * time.Hour
	}
	if cfg.TicketLifetime == 0 {
		cfg.TicketLifetime = 8 * time.Hour
	}
	if cfg.MaxPINFailures == 0 {
		cfg.MaxPINFailures = 5
	}
	s := &Service{cfg: cfg, now: time.Now, rand: rand.Reader, log: slog.New(slog.DiscardHandler),
		tickets: map[string]*ticket{}, pins: map[string]*pinState{}, ntlm: map[string]*ntlm.ServerChallenge{}}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// UnlockPIN clears an extension's wrong-PIN count and lock (the
// administrator's reset).
func (s *Service) UnlockPIN(extension string) {
	s.mu.Lock()
	delete(s.pins, extension)
	s.mu.Unlock()
}

// Issued returns how many user certificates were issued.
func (s *Service) Issued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued
}

func (s *Service) base(r *http.Request) string {
	if s.cfg.BaseURL != "" {
		return strings.TrimSuffix(s.cfg.BaseURL, "/")
	}
	return "https://" + r.Host
}

// ServeHTTP routes the web service requests.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == PathCertProvMex && r.Method == http.MethodGet:
		s.writeXML(w, http.StatusOK, certProvMex(s.base(r)))
	case r.URL.Path == PathWebTicketMex && r.Method == http.MethodGet:
		s.writeXML(w, http.StatusOK, webTicketMex(s.base(r)))
	case r.URL.Path == PathWebTicketAuth && r.Method == http.MethodPost:
		s.serveNTLMTicket(w, r)
	case r.URL.Path == PathWebTicketPIN && r.Method == http.MethodPost:
		s.servePINTicket(w, r)
	case r.URL.Path == PathWebTicketCert && r.Method == http.MethodPost:
		s.serveCertTicket(w, r)
	case r.URL.Path == PathCertProvProof && r.Method == http.MethodPost:
		s.serveGetAndPublishCert(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (s *Service) writeXML(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// fault answers with a SOAP 1.1 fault and X-Ms-Diagnostics.
func (s *Service) fault(w http.ResponseWriter, r *http.Request, status, diag int, reason string) {
	s.log.Debug("websvc fault", "path", r.URL.Path, "status", status, "diag", diag, "reason", reason)
	host := strings.TrimPrefix(s.base(r), "https://")
	w.Header().Set("X-Ms-Diagnostics", fmt.Sprintf(`%d;source="%s";reason="%s"`, diag, host, reason))
	code := "s:Client"
	if status >= 500 {
		code = "s:Server"
	}
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(reason))
	s.writeXML(w, status, fmt.Appendf(nil, `<s:Envelope xmlns:s="%s"><s:Body><s:Fault><faultcode>%s</faultcode><faultstring xml:lang="en-US">%s</faultstring></s:Fault></s:Body></s:Envelope>`,
		nsSoap, code, b.String()))
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequest))
	if err != nil {
		return nil, fmt.Errorf("%w: body: %w", errRequest, err)
	}
	return b, nil
}

func (s *Service) userByExtension(ext string) *User {
	for i := range s.cfg.Users {
		if u := &s.cfg.Users[i]; u.Extension != "" && u.Extension == ext {
			return u
		}
	}
	return nil
}

func (s *Service) userByNTLM(domain, name string) *User {
	for i := range s.cfg.Users {
		if u := &s.cfg.Users[i]; strings.EqualFold(u.UserID, name) && (domain == "" || strings.EqualFold(u.Domain, domain)) {
			return u
		}
	}
	return nil
}

// servePINTicket is the PIN port (the shape documented in auth/webticket's
// package comment; labfe accepts exactly that).
func (s *Service) servePINTicket(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		s.fault(w, r, http.StatusRequestEntityTooLarge, diagBadRequest, "request too large")
		return
	}
	rst, err := parseRST(body)
	if err != nil {
		s.fault(w, r, http.StatusBadRequest, diagBadRequest, err.Error())
		return
	}
	if rst.Username == "" || rst.PasswordType != passwordText {
		s.fault(w, r, http.StatusUnauthorized, diagAuthFailed, "missing UsernameToken with PasswordText")
		return
	}
	u := s.userByExtension(rst.Username)
	if u == nil || u.PIN.IsZero() {
		// Unknown extensions keep no lockout state, so a flood of guessed
		// extensions cannot grow it; the answer is the same as a wrong PIN.
		s.fault(w, r, http.StatusUnauthorized, diagAuthFailed, "invalid extension or PIN")
		return
	}
	s.mu.Lock()
	st := s.pins[u.Extension]
	if st == nil {
		st = &pinState{}
		s.pins[u.Extension] = st
	}
	if st.locked {
		s.mu.Unlock()
		s.fault(w, r, http.StatusForbidden, diagPINLocked, "PIN locked after too many failures")
		return
	}
	if subtle.ConstantTimeCompare([]byte(u.PIN.Reveal()), []byte(rst.Password)) != 1 {
		st.failures++
		if st.failures >= s.cfg.MaxPINFailures {
			st.locked = true
		}
		s.mu.Unlock()
		s.fault(w, r, http.StatusUnauthorized, diagAuthFailed, "invalid extension or PIN")
		return
	}
	st.failures = 0
	s.mu.Unlock()
	s.issueTicket(w, r, u, rst)
}

// serveNTLMTicket runs connection-oriented NTLM over HTTP (MS-NTHT style:
// NEGOTIATE → 401 CHALLENGE → AUTHENTICATE) with auth/ntlm's acceptor; the
// pending challenge is kept per connection (RemoteAddr).
func (s *Service) serveNTLMTicket(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		s.fault(w, r, http.StatusRequestEntityTooLarge, diagBadRequest, "request too large")
		return
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "NTLM ")
	if !ok {
		w.Header().Set("WWW-Authenticate", "NTLM")
		s.fault(w, r, http.StatusUnauthorized, diagAuthFailed, "ntlm authentication required")
		return
	}
	msg, err := base64.StdEncoding.DecodeString(strings.TrimSpace(tok))
	if err != nil || len(msg) < 12 {
		s.fault(w, r, http.StatusBadRequest, diagBadRequest, "malformed ntlm token")
		return
	}
	switch msg[8] { // MS-NLMP 2.2.1: MessageType after the 8-byte signature
	case 1:
		ch, challenge, err := ntlm.NewConnectionChallenge(ntlm.AcceptorConfig{
			NbDomain: s.cfg.NbDomain, NbComputer: s.cfg.NbComputer, DNSDomain: s.cfg.DNSDomain,
			DNSComputer: s.cfg.DNSComputer, Rand: s.rand, Now: s.now, MaxSkew: 15 * time.Minute,
		}, msg)
		if err != nil {
			s.fault(w, r, http.StatusBadRequest, diagBadRequest, "bad ntlm negotiate")
			return
		}
		s.mu.Lock()
		if len(s.ntlm) >= 4096 { // bound state a flood of NEGOTIATEs can create
			clear(s.ntlm)
		}
		s.ntlm[r.RemoteAddr] = ch
		s.mu.Unlock()
		w.Header().Set("WWW-Authenticate", "NTLM "+base64.StdEncoding.EncodeToString(challenge))
		s.fault(w, r, http.StatusUnauthorized, diagAuthFailed, "ntlm challenge")
	case 3:
		s.mu.Lock()
		ch := s.ntlm[r.RemoteAddr]
		delete(s.ntlm, r.RemoteAddr)
		s.mu.Unlock()
		if ch == nil {
			s.fault(w, r, http.StatusUnauthorized, diagAuthFailed, "ntlm authenticate without a challenge on this connection")
			return
		}
		var user *User
		_, _, err := ch.Accept(msg, func(domain, name string) (string, bool) {
			user = s.userByNTLM(domain, name)
			if user == nil {
				return "", false
			}
			return user.Password.Reveal(), true
		})
		if err != nil || user == nil {
			s.fault(w, r, http.StatusUnauthorized, diagAuthFailed, "ntlm authentication failed")
			return
		}
		rst, err := parseRST(body)
		if err != nil {
			s.fault(w, r, http.StatusBadRequest, diagBadRequest, err.Error())
			return
		}
		if rst.ClaimURI != "" && !strings.EqualFold(strings.TrimPrefix(strings.ToLower(rst.ClaimURI), "sip:"), user.aor()) {
			s.fault(w, r, http.StatusForbidden, diagEntityMismatch, "claimed sip uri is not the authenticated user's")
			return
		}
		s.issueTicket(w, r, user, rst)
	default:
		s.fault(w, r, http.StatusBadRequest, diagBadRequest, "unexpected ntlm message")
	}
}

func (s *Service) randHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", err
	}
	return fmt.Sprintf("%x", b), nil
}

// issueTicket answers an authenticated RST with a SAML 1.1 web ticket whose
// proof key is PSHA1(client entropy, server entropy).
func (s *Service) issueTicket(w http.ResponseWriter, r *http.Request, u *User, rst *rstRequest) {
	if want := s.base(r) + PathCertProvProof; rst.AppliesTo != want {
		s.fault(w, r, http.StatusBadRequest, diagBadRequest, "AppliesTo is not this pool's certificate provisioning service")
		return
	}
	serverEntropy := make([]byte, 32)
	if _, err := io.ReadFull(s.rand, serverEntropy); err != nil {
		s.fault(w, r, http.StatusInternalServerError, diagBadRequest, "entropy")
		return
	}
	id, err := s.randHex(16)
	if err != nil {
		s.fault(w, r, http.StatusInternalServerError, diagBadRequest, "entropy")
		return
	}
	id = "uuid-" + id
	now := s.now().UTC()
	exp := now.Add(s.cfg.TicketLifetime)
	s.mu.Lock()
	for k, t := range s.tickets { // drop expired tickets
		if !now.Before(t.expires) {
			delete(s.tickets, k)
		}
	}
	s.tickets[id] = &ticket{user: u, proof: pSHA1(rst.Entropy, serverEntropy, len(rst.Entropy)), expires: exp}
	s.mu.Unlock()
	s.writeXML(w, http.StatusOK, rstr(s.base(r), id, "sip:"+u.aor(), now, exp, serverEntropy))
}

// CertPool returns a pool holding the issuing CA (for TLS-DSK's ClientCAs).
func (s *Service) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(s.cfg.CA.Leaf)
	return p
}
