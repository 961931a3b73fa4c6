package tlsdsk

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/handset-dev/handset/certrenew"
)

// DefaultCipherSuites mirrors SIPE's ClientHello (protocols.md §5.2) minus
// what Go does not implement (the MD5 suites), with AES-SHA first (§14
// pitfall 7: Office 365 refuses RC4).
var DefaultCipherSuites = []uint16{
	tls.TLS_RSA_WITH_AES_128_CBC_SHA,
	tls.TLS_RSA_WITH_AES_256_CBC_SHA,
}

// ClientConfig configures the handset end of a TLS-DSK handshake.
type ClientConfig struct {
	// ServerName is the targetname of the TLS-DSK challenge: the front
	// end's FQDN, checked against its certificate.
	ServerName string
	// RootCAs verifies the front end's certificate; nil means the system
	// pool.
	RootCAs *x509.CertPool
	// InsecureSkipVerify skips the server certificate check (lab use).
	InsecureSkipVerify bool
	// Store holds the user certificate from certificate provisioning; the
	// certificate current when the server asks for it is offered.
	Store *certrenew.Store
	// CipherSuites offered; nil means DefaultCipherSuites. Every suite must
	// have an MD5 or SHA-1 MAC (SuiteMAC).
	CipherSuites []uint16
	// MinVersion and MaxVersion bound the TLS version; zero means TLS 1.0
	// and TLS 1.2. TLS 1.3 has no "client EAP encryption" PRF export and is
	// never used.
	MinVersion, MaxVersion uint16
}

// ServerConfig configures the front-end end of a TLS-DSK handshake.
type ServerConfig struct {
	// Certificate is the front end's certificate and key.
	Certificate *tls.Certificate
	// ClientCAs verifies user certificates (the pool's certificate
	// provisioning CA). A client certificate is always required.
	ClientCAs *x509.CertPool
	// CipherSuites accepted; nil means DefaultCipherSuites plus the
	// ECDHE-RSA SHA suites.
	CipherSuites []uint16
	// MinVersion and MaxVersion as for ClientConfig.
	MinVersion, MaxVersion uint16
}

// Option configures a pump's collaborators.
type Option func(*options) error

type options struct {
	rand   io.Reader
	now    func() time.Time
	logger *slog.Logger
}

// WithRand sets the entropy source of the handshake (tls.Config.Rand).
func WithRand(r io.Reader) Option { return func(o *options) error { o.rand = r; return nil } }

// WithClock sets the time used to check certificates (tls.Config.Time).
func WithClock(now func() time.Time) Option {
	return func(o *options) error { o.now = now; return nil }
}

// WithLogger sets the logger (flights are logged at Debug).
func WithLogger(l *slog.Logger) Option { return func(o *options) error { o.logger = l; return nil } }

func buildOptions(opts []Option) (options, error) {
	o := options{logger: slog.New(slog.DiscardHandler)}
	for _, f := range opts {
		if err := f(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

func versions(lo, hi uint16) (uint16, uint16, error) {
	if lo == 0 {
		lo = tls.VersionTLS10
	}
	if hi == 0 {
		hi = tls.VersionTLS12
	}
	if lo < tls.VersionTLS10 || hi > tls.VersionTLS12 || lo > hi {
		return 0, 0, fmt.Errorf("tlsdsk: config: versions %#04x-%#04x: %w", lo, hi, errVersion)
	}
	return lo, hi, nil
}

func checkSuites(s []uint16) error {
	for _, id := range s {
		if _, err := SuiteMAC(id); err != nil {
			return fmt.Errorf("tlsdsk: config: %w", err)
		}
	}
	return nil
}

// Validate checks the configuration.
func (c ClientConfig) Validate() error {
	if c.Store == nil {
		return fmt.Errorf("%w store", errNoCert)
	}
	if _, _, err := versions(c.MinVersion, c.MaxVersion); err != nil {
		return err
	}
	return checkSuites(c.CipherSuites)
}

// Validate checks the configuration.
func (c ServerConfig) Validate() error {
	if c.Certificate == nil {
		return errNoCert
	}
	if c.ClientCAs == nil {
		return errors.New("tlsdsk: config: no client CA pool")
	}
	if _, _, err := versions(c.MinVersion, c.MaxVersion); err != nil {
		return err
	}
	return checkSuites(c.CipherSuites)
}

// pump runs one crypto/tls handshake over a pipe in a goroutine it owns.
//
// Why a goroutine: crypto/tls has no sans-I/O API; its handshake blocks in
// Read. The goroutine lives from the first Step to the end of the handshake
// (or Close), and every Step waits for it to block again, so it never runs
// on its own between steps.
type pump struct {
	role    Role
	log     *slog.Logger
	p       *pipe
	conn    *tls.Conn
	once    sync.Once
	done    chan struct{}
	mu      sync.Mutex // serialises Step/Close
	closed  bool
	state   State
	keys    *Keys
	klog    keyLog
	srand   []byte // ServerHello.random, sniffed for the non-EMS fallback
	viaPRF  bool   // keys came from the fallback, not ExportKeyingMaterial
	peer    []*x509.Certificate
	version uint16
	suite   uint16
}

func newPump(role Role, conn func(*pipe) *tls.Conn, log *slog.Logger) *pump {
	p := newPipe()
	return &pump{role: role, log: log, p: p, conn: conn(p), done: make(chan struct{})}
}

func (u *pump) start() {
	u.once.Do(func() {
		go func() {
			defer close(u.done)
			err := u.conn.HandshakeContext(context.Background())
			u.p.finish(err)
		}()
	})
}

// step feeds one received flight and returns the flight to send.
func (u *pump) step(in []byte) ([]byte, bool, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return nil, false, ErrClosed
	}
	if u.keys != nil {
		if len(in) > 0 {
			return nil, true, fmt.Errorf("%w: data after the handshake", ErrHandshake)
		}
		return nil, true, nil
	}
	if u.state == StateFailed {
		return nil, false, fmt.Errorf("%w: handshake already failed", ErrHandshake)
	}
	if len(in) > 0 {
		if _, err := ParseRecords(in); err != nil {
			u.setState(StateFailed)
			return nil, false, fmt.Errorf("%w: %w", ErrHandshake, err)
		}
	}
	u.start()
	if u.srand == nil {
		u.srand = serverHelloRandom(in)
	}
	out, finished, err := u.p.exchange(in)
	if u.srand == nil {
		u.srand = serverHelloRandom(out)
	}
	u.log.Debug("tlsdsk flight", "role", u.role, "in", len(in), "out", len(out), "finished", finished)
	if !finished {
		u.setState(StateHandshaking)
		return out, false, nil
	}
	<-u.done
	if err != nil {
		u.setState(StateFailed)
		return out, false, fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	k, err := u.derive()
	if err != nil {
		u.setState(StateFailed)
		return out, false, err
	}
	u.keys = &k
	u.setState(StateDone)
	return out, true, nil
}

// setState moves along the transition table (state.go); an illegal move is
// a bug and is logged, never silently taken.
func (u *pump) setState(to State) {
	if u.state == to {
		return
	}
	if !legal(u.state, to) {
		u.log.Error("tlsdsk: illegal transition", "role", u.role, "from", u.state, "to", to)
		return
	}
	u.log.Debug("tlsdsk state", "role", u.role, "from", u.state, "to", to)
	u.state = to
}

func (u *pump) getState() State {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.state
}

// derive exports the key material; see "Key material: the decision" in the
// package comment.
func (u *pump) derive() (Keys, error) {
	cs := u.conn.ConnectionState()
	if cs.Version > tls.VersionTLS12 {
		return Keys{}, fmt.Errorf("tlsdsk: %w", errVersion)
	}
	mac, err := SuiteMAC(cs.CipherSuite)
	if err != nil {
		return Keys{}, err
	}
	u.peer = cs.PeerCertificates
	u.version, u.suite = cs.Version, cs.CipherSuite
	mat, err := cs.ExportKeyingMaterial(ExporterLabel, nil, MaterialLen)
	if err != nil {
		// No Extended Master Secret: PRF(master_secret, label,
		// client_random ‖ server_random) ourselves.
		cr, ms := u.klog.get()
		if len(ms) == 0 || len(cr) != 32 || len(u.srand) != 32 {
			return Keys{}, fmt.Errorf("tlsdsk: keys: %w (%w)", errNoEMS, err)
		}
		mat = prf(cs.Version, ms, ExporterLabel, append(append([]byte(nil), cr...), u.srand...), MaterialLen)
		u.viaPRF = true
	}
	return DeriveKeys(mat, mac)
}

// material recomputes the key material with the fallback PRF (tests compare
// it with ExportKeyingMaterial).
func (u *pump) prfMaterial() []byte {
	cr, ms := u.klog.get()
	if len(ms) == 0 || len(u.srand) != 32 {
		return nil
	}
	return prf(u.version, ms, ExporterLabel, append(append([]byte(nil), cr...), u.srand...), MaterialLen)
}

func (u *pump) mechanism() (*Mechanism, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.keys == nil {
		return nil, ErrNotDone
	}
	return NewMechanism(*u.keys, u.role)
}

func (u *pump) close() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return nil
	}
	u.closed = true
	u.setState(StateClosed)
	_ = u.p.Close()
	u.once.Do(func() { close(u.done) }) // never started: nothing to wait for
	<-u.done                            // the blocked Read returns io.EOF
	return nil
}

// Client is the handset end of a TLS-DSK handshake as a byte pump: feed it
// the TLS records of each 401's gssapi-data and send what it returns in the
// next REGISTER's gssapi-data. Close it when abandoning a handshake.
type Client struct{ u *pump }

// NewClient returns a client pump. The first Step(nil) yields the
// ClientHello.
func NewClient(cfg ClientConfig, opts ...Option) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	lo, hi, _ := versions(cfg.MinVersion, cfg.MaxVersion)
	suites := cfg.CipherSuites
	if suites == nil {
		suites = DefaultCipherSuites
	}
	tc := &tls.Config{
		ServerName:             cfg.ServerName,
		RootCAs:                cfg.RootCAs,
		InsecureSkipVerify:     cfg.InsecureSkipVerify, //nolint:gosec // lab option, documented.
		GetClientCertificate:   cfg.Store.GetClientCertificate,
		CipherSuites:           suites,
		MinVersion:             lo,
		MaxVersion:             hi,
		SessionTicketsDisabled: true,
		Rand:                   o.rand,
		Time:                   o.now,
	}
	u := newPump(RoleClient, func(p *pipe) *tls.Conn { return tls.Client(p, tc) }, o.logger)
	tc.KeyLogWriter = &u.klog
	return &Client{u: u}, nil
}

// Step feeds the peer's flight (nil on the first call) and returns the next
// flight to send. done is true once the handshake is complete and the keys
// are derived; out may still hold a last flight to send then. On error out
// may hold a TLS alert. Step never blocks on the network.
func (c *Client) Step(in []byte) (out []byte, done bool, err error) { return c.u.step(in) }

// Mechanism returns the client's signing mechanism once done.
func (c *Client) Mechanism() (*Mechanism, error) { return c.u.mechanism() }

// Close abandons the handshake and waits for its goroutine. Idempotent.
func (c *Client) Close() error { return c.u.close() }

// State returns the handshake state.
func (c *Client) State() State { return c.u.getState() }

// Server is the front-end end of a TLS-DSK handshake as a byte pump (labfe
// uses it; like auth/ntlm's acceptor it is a spec codec, not client logic).
type Server struct{ u *pump }

// NewServer returns a server pump. Its first Step takes the ClientHello.
func NewServer(cfg ServerConfig, opts ...Option) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	lo, hi, _ := versions(cfg.MinVersion, cfg.MaxVersion)
	suites := cfg.CipherSuites
	if suites == nil {
		suites = append(append([]uint16(nil), DefaultCipherSuites...),
			tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA)
	}
	tc := &tls.Config{
		Certificates:           []tls.Certificate{*cfg.Certificate},
		ClientCAs:              cfg.ClientCAs,
		ClientAuth:             tls.RequireAndVerifyClientCert,
		CipherSuites:           suites,
		MinVersion:             lo,
		MaxVersion:             hi,
		SessionTicketsDisabled: true,
		Rand:                   o.rand,
		Time:                   o.now,
	}
	u := newPump(RoleServer, func(p *pipe) *tls.Conn { return tls.Server(p, tc) }, o.logger)
	tc.KeyLogWriter = &u.klog
	return &Server{u: u}, nil
}

// Step feeds the client's flight and returns the server's. done is true once
// the handshake is complete (out then holds ChangeCipherSpec+Finished, to be
// sent in the last 401's gssapi-data).
func (s *Server) Step(in []byte) (out []byte, done bool, err error) {
	if len(in) == 0 {
		return nil, false, errEmptyStep
	}
	return s.u.step(in)
}

// Mechanism returns the server's signing mechanism once done.
func (s *Server) Mechanism() (*Mechanism, error) { return s.u.mechanism() }

// PeerCertificate returns the verified user certificate once done; the
// front end binds the SA to the identity it names (MS-SIPAE 3.3.5.2).
func (s *Server) PeerCertificate() (*x509.Certificate, error) {
	s.u.mu.Lock()
	defer s.u.mu.Unlock()
	if s.u.keys == nil || len(s.u.peer) == 0 {
		return nil, ErrNotDone
	}
	return s.u.peer[0], nil
}

// Close abandons the handshake and waits for its goroutine. Idempotent.
func (s *Server) Close() error { return s.u.close() }

// State returns the handshake state.
func (s *Server) State() State { return s.u.getState() }
