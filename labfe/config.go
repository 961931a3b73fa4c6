package labfe

import (
	_ "embed"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/handset-dev/handset/labfe/inband"
)

// Defaults of Config; the values are those of a stock Lync 2013 pool.
const (
	DefaultDomain           = "contoso.test"
	DefaultFQDN             = "pool.contoso.test"
	DefaultListenAddr       = "127.0.0.1:0"
	DefaultRegisterExpiry   = 7200 * time.Second // Expires in the capture of protocols.md §1.4
	DefaultKeepAliveTimeout = 300 * time.Second  // ms-keep-alive timeout=300
	DefaultSALifetime       = 8 * time.Hour      // NTLM SA lifetime, MS-SIPAE 3.2.2
	DefaultMinExpiry        = 0                  // no lower bound unless set
	// DefaultEchoAnswerDelay is how long the echo bot lets an INVITE ring.
	DefaultEchoAnswerDelay = 500 * time.Millisecond
	// DefaultEchoMaxCalls bounds the echo bot's simultaneous calls (each
	// holds two UDP sockets and three goroutines).
	DefaultEchoMaxCalls = 1000
)

// Echo bot encryption levels: Lync's EncryptionLevel names, as in-band
// provisioning sends them in ucPC2PCAVEncryption (protocols.md §7.2).
const (
	RequireEncryption      = "RequireEncryption"
	SupportEncryption      = "SupportEncryption"
	DoNotSupportEncryption = "DoNotSupportEncryption"
)

// Config configures a front end. Zero fields take the defaults above.
type Config struct {
	Domain     string // SIP domain, e.g. contoso.test
	FQDN       string // pool FQDN: NTLM targetname and certificate name
	ListenAddr string // TLS listen address, e.g. 127.0.0.1:0
	Users      []User // accounts; nil means DefaultUsers()

	// Time scaling for load tests.
	RegisterExpiry   time.Duration // maximum binding lifetime granted
	KeepAliveTimeout time.Duration // ms-keep-alive timeout= told to clients; idle flows are closed after 2x
	SALifetime       time.Duration // after this an SA is forgotten: the next signed request gets a 401

	// CertPEM/KeyPEM are the server certificate chain and key; when empty
	// a test CA and a server certificate for FQDN are generated.
	CertPEM, KeyPEM []byte
	// CACertPEM is the CA of CertPEM, reported by CACertPEM() (optional).
	CACertPEM []byte
	// RSACert generates an RSA-2048 server key, as a real Lync pool has,
	// instead of ECDSA P-256. Its handshakes cost about 4x more server CPU
	// (PERFORMANCE.md): use it for realistic end-to-end numbers, not for
	// measuring the client.
	RSACert bool

	// ServerHeader is the Server header value (default "RTC/5.0", Lync 2013).
	ServerHeader string
	// ProxyAuth challenges with 407 / Proxy-Authenticate and signs with
	// Proxy-Authentication-Info, as OCS 2007 did (protocols.md §2.1).
	// Clients answer with Proxy-Authorization; labfe accepts both families.
	ProxyAuth bool

	// Local, when set, answers requests addressed to the front end itself
	// (a self-SUBSCRIBE such as vnd-microsoft-provisioning-v2, SERVICE to
	// the domain or own AOR, OPTIONS...). Returning ok=false falls back to
	// labfe's default (an empty 200 OK; 501 for unknown methods). This is
	// where labfe/inband's documents plug in.
	Local func(LocalRequest) (LocalResponse, bool)

	// InBand is the in-band provisioning data served to a self-SUBSCRIBE
	// with Event vnd-microsoft-provisioning-v2 (protocols.md §7), in the
	// 200 OK body; nil serves inband.Default().
	InBand *inband.Data

	// Echo bot: Lync's test-call service (botSipUriForTestCall), which
	// answers and reflects the caller's media (echo.go).
	//
	// EchoURI is its address (default sip:echo@<Domain>); in-band
	// provisioning advertises it as botSipUriForTestCall.
	EchoURI string
	// NoEcho disables the bot (its URI is then an unknown user, 404).
	NoEcho bool
	// EchoAnswerDelay is how long it lets an INVITE ring before the 200 OK;
	// 0 means DefaultEchoAnswerDelay, negative answers at once.
	EchoAnswerDelay time.Duration
	// EchoEncryption is the media encryption level it enforces, by Lync's
	// names (RequireEncryption, SupportEncryption, DoNotSupportEncryption);
	// "" takes the in-band ucPC2PCAVEncryption, as a Lync pool applies one
	// policy to clients and its own media, else RequireEncryption.
	EchoEncryption string
	// EchoMediaAddr is the IP its media sockets bind to (default: the
	// ListenAddr host, or 127.0.0.1 when that is unspecified).
	EchoMediaAddr string
	// EchoMaxCalls bounds its simultaneous calls (0: DefaultEchoMaxCalls);
	// one more INVITE gets 486 Busy Here.
	EchoMaxCalls int

	// TLSDSK offers TLS-DSK next to NTLM in every 401 (sts-uri naming the
	// web services) and serves the HTTPS web services (web ticket with NTLM
	// or extension+PIN, certificate provisioning) on WebListenAddr; see
	// tlsdsk.go. TLSDSKOnly offers TLS-DSK alone.
	TLSDSK, TLSDSKOnly bool
	// WebListenAddr is the web services' listen address; empty means the
	// SIP listen host with an ephemeral port.
	WebListenAddr string
	// WebBaseURL is the https://host[:port] advertised in sts-uri and the
	// metadata; empty means the web listener's address.
	WebBaseURL string
	// CertLifetime of issued user certificates (0: 8 hours; tests use
	// minutes) and MaxPINFailures before an extension locks (0: 5).
	CertLifetime   time.Duration
	MaxPINFailures int
}

func (c Config) withDefaults() Config {
	if c.Domain == "" {
		c.Domain = DefaultDomain
	}
	c.Domain = strings.ToLower(c.Domain)
	if c.FQDN == "" {
		c.FQDN = DefaultFQDN
	}
	if c.ListenAddr == "" {
		c.ListenAddr = DefaultListenAddr
	}
	if c.RegisterExpiry <= 0 {
		c.RegisterExpiry = DefaultRegisterExpiry
	}
	if c.KeepAliveTimeout <= 0 {
		c.KeepAliveTimeout = DefaultKeepAliveTimeout
	}
	if c.SALifetime <= 0 {
		c.SALifetime = DefaultSALifetime
	}
	if c.ServerHeader == "" {
		c.ServerHeader = "RTC/5.0"
	}
	if c.Users == nil {
		c.Users = DefaultUsers()
	}
	if c.EchoURI == "" {
		c.EchoURI = "sip:echo@" + c.Domain
	}
	if c.EchoMaxCalls <= 0 {
		c.EchoMaxCalls = DefaultEchoMaxCalls
	}
	if c.EchoAnswerDelay == 0 {
		c.EchoAnswerDelay = DefaultEchoAnswerDelay
	}
	if c.EchoEncryption == "" {
		data := inband.Default()
		if c.InBand != nil {
			data = *c.InBand
		}
		c.EchoEncryption = data.Encryption
		if c.EchoEncryption == "" {
			c.EchoEncryption = RequireEncryption
		}
	}
	if c.EchoMediaAddr == "" {
		host, _, err := net.SplitHostPort(c.ListenAddr)
		if ip := net.ParseIP(host); err != nil || ip == nil || ip.IsUnspecified() {
			host = "127.0.0.1"
		}
		c.EchoMediaAddr = host
	}
	if c.TLSDSKOnly {
		c.TLSDSK = true
	}
	if c.WebListenAddr == "" {
		host, _, err := net.SplitHostPort(c.ListenAddr)
		if err != nil {
			host = "127.0.0.1"
		}
		c.WebListenAddr = net.JoinHostPort(host, "0")
	}
	return c
}

//go:embed defaultusers.csv
var defaultUsersCSV string

// DefaultUsers returns the built-in users (alice and bob @contoso.test,
// password Passw0rd!), the same accounts as configs/templates/users.csv.
func DefaultUsers() []User {
	u, err := LoadUsersCSV(strings.NewReader(defaultUsersCSV))
	if err != nil {
		return nil // unreachable: the file is checked by TestDefaultUsers
	}
	return u
}

// Option customises a Server.
type Option func(*options)

type options struct {
	log    *slog.Logger
	rand   io.Reader
	now    func() time.Time
	onDrop func() // test hook: a flow's state was forgotten
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithRand sets the randomness source for challenges, tags and srand
// (default crypto/rand). A seeded reader makes runs reproducible.
func WithRand(r io.Reader) Option { return func(o *options) { o.rand = r } }

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

func (c Config) validate() error {
	if !strings.Contains(c.FQDN, ".") {
		return fmt.Errorf("%w: fqdn %q is not a dotted name", ErrConfig, c.FQDN)
	}
	if (len(c.CertPEM) == 0) != (len(c.KeyPEM) == 0) {
		return fmt.Errorf("%w: CertPEM and KeyPEM go together", ErrConfig)
	}
	switch c.EchoEncryption {
	case RequireEncryption, SupportEncryption, DoNotSupportEncryption:
	default:
		return fmt.Errorf("%w: echo encryption %q (permitted %s, %s, %s)", ErrConfig, c.EchoEncryption,
			RequireEncryption, SupportEncryption, DoNotSupportEncryption)
	}
	if u := c.EchoURI; !strings.HasPrefix(strings.ToLower(u), "sip:") || !strings.Contains(aorOf(u), "@") {
		return fmt.Errorf("%w: echo uri %q is not a sip:user@host URI", ErrConfig, u)
	}
	if net.ParseIP(c.EchoMediaAddr) == nil {
		return fmt.Errorf("%w: echo media address %q is not an IP", ErrConfig, c.EchoMediaAddr)
	}
	seen := map[string]bool{}
	for _, u := range c.Users {
		if !c.NoEcho && u.AOR() == aorOf(c.EchoURI) {
			return fmt.Errorf("%w: user %s is also the echo bot's URI", ErrConfig, u.AOR())
		}
		if seen[u.AOR()] {
			return fmt.Errorf("%w: duplicate user %s", ErrConfig, u.AOR())
		}
		seen[u.AOR()] = true
	}
	return nil
}

// LocalRequest is an authenticated request labfe serves itself.
type LocalRequest struct {
	User        User   // the signed-in user (the SA's)
	Method      string // SUBSCRIBE, SERVICE, ...
	RequestURI  string
	Event       string // Event header, e.g. vnd-microsoft-provisioning-v2
	ContentType string
	Body        []byte
}

// LocalResponse is the answer to a LocalRequest. Status 0 means 200 OK.
// Headers are added as given (e.g. Expires, Event); labfe signs the result.
type LocalResponse struct {
	Status      int
	Reason      string
	ContentType string
	Body        []byte
	Headers     [][2]string
}
