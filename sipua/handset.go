package sipua

import (
	"context"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // epid derivation only
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/handset-dev/handset/auth/sipae"
)

// Resolver is the DNS seam (a *net.Resolver satisfies it).
type Resolver interface {
	LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error)
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// Option configures a Handset's collaborators and test seams.
type Option func(*Handset) error

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(h *Handset) error { h.log = l; return nil }
}

// WithObserver sets the observer of events.
func WithObserver(o Observer) Option {
	return func(h *Handset) error { h.obs = o; return nil }
}

// WithRand sets the entropy source for tags, Call-IDs, branches, the epid and
// NTLM (default crypto/rand). Seed it for golden transcripts.
func WithRand(r io.Reader) Option {
	// Several goroutines draw from it (sign-in, SA signing, self-subscriptions,
	// MRAS) and a seeded test reader is not goroutine-safe.
	return func(h *Handset) error { h.rand = &lockedReader{r: r}; return nil }
}

// WithMessageText(false) leaves Event.Message empty in EventMessage events:
// the load runner counts messages but need not pay for formatting and
// redacting each one. Default true.
func WithMessageText(on bool) Option {
	return func(h *Handset) error { h.noText = !on; return nil }
}

// WithClock sets the time source for event stamps and NTLM timestamps.
func WithClock(now func() time.Time) Option {
	return func(h *Handset) error { h.now = now; return nil }
}

// WithTLSConfig sets the TLS client configuration (RootCAs above all). It is
// cloned; ServerName is always overwritten with the registrar's host name.
func WithTLSConfig(c *tls.Config) Option {
	return func(h *Handset) error { h.tlsConf = c.Clone(); return nil }
}

// WithDialAddr connects to addr ("127.0.0.1:5061") regardless of DNS, while
// the TLS server name stays the configured host name.
func WithDialAddr(addr string) Option {
	return func(h *Handset) error {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return &ConfigError{Field: "DialAddr", Value: addr, Msg: "want host:port"}
		}
		h.dialAddr = addr
		return nil
	}
}

// WithResolver sets the DNS resolver (default net.DefaultResolver).
func WithResolver(r Resolver) Option {
	return func(h *Handset) error { h.resolver = r; return nil }
}

// withAuthenticator replaces NTLM (tests).
func withAuthenticator(a authenticator) Option {
	return func(h *Handset) error { h.auth = a; return nil }
}

// Handset is one emulated handset's registration on its own sipgo
// UserAgent (DEPENDENCIES.md §1.5). Its state is guarded by mu; observers are
// called with mu released.
type Handset struct {
	cfg      Config
	log      *slog.Logger
	obs      Observer
	rand     io.Reader
	now      func() time.Time
	tlsConf  *tls.Config
	dialAddr string
	resolver Resolver
	auth     authenticator
	noText   bool

	epid, instance string
	opaqueTok      string // ms-opaque of our Contact

	closeOnce sync.Once
	closing   chan struct{}
	runWG     sync.WaitGroup

	mu     sync.Mutex
	state  State
	closed bool
	conn   *connection  // current TLS connection, nil when disconnected
	dlg    registration // Call-ID, tags, CSeq of this registration
	sa     *secAssoc    // nil until the NTLM SA is established
	reg    regInfo      // what the last 200 OK said
	target *target      // where the next connect goes (301 may change it)
	relay  relayState   // MRAS relay credentials (mras.go)

	// subs: self-subscriptions and in-band provisioning (subscribe.go).
	subs     subscriptions
	servers  []server                  // failover list (failover.go); nil until built
	cur      int                       // index in servers of the current/next attempt
	clock    recoveryClock             // Run's recovery waits; nil: real timers, TimeScale applied
	endCalls func(ctx context.Context) // graceful stop: BYE for active calls (set by the call code), nil without calls
	calls    callRegistry              // calls (call*.go); its own lock

	certs  *certState // user certificate, sts-uri, PIN, renewer (cert.go); own lock
	iceCfg *ICEConfig // calls over ICE (callice.go, WithICE); nil: off; set only by options
}

// connection is one sipgo UA with its TLS connection.
type connection struct {
	ua    *sipgo.UserAgent
	srv   *sipgo.Server
	tc    sip.Connection
	dest  string          // ip:port
	local string          // ip:port of our end
	lost  <-chan struct{} // closed when sipgo's reader of this connection ends (deadflow.go)
}

// registration holds the dialog-like identifiers shared by all REGISTERs of
// one registration (protocols.md §1.2: one Call-ID, CSeq increments).
type registration struct {
	callID  string
	fromTag string
	cseq    uint32
}

// secAssoc is the MS-SIPAE security association (protocols.md §2): the
// sipae client SA (crand/cnum, snum replay window), the header family of the
// challenge (401 or 407) and when to refresh it.
type secAssoc struct {
	sa       *sipae.SA
	family   sipae.Family
	deadline time.Time
	digest   *digestAuth // standard mode: digest credentials instead of signatures (digest.go)
}

// regInfo is what the registrar told us in the last 200 OK (§1.4).
type regInfo struct {
	expires   time.Duration
	keepAlive time.Duration
	gruu      string
	at        time.Time
}

// target is where to connect: dial address plus TLS server name.
type target struct {
	addr       string // host:port to dial (IP preferred)
	serverName string
}

// New validates cfg and returns an idle Handset.
func New(cfg Config, opts ...Option) (*Handset, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h := &Handset{
		cfg:      cfg.withDefaults(),
		log:      slog.New(slog.DiscardHandler),
		rand:     rand.Reader,
		now:      time.Now,
		resolver: net.DefaultResolver,
		closing:  make(chan struct{}),
		certs:    &certState{},
	}
	for _, o := range opts {
		if err := o(h); err != nil {
			return nil, err
		}
	}
	h.log = h.log.With("handset", h.cfg.Handset)
	if h.auth == nil {
		h.auth = newNTLMAuthenticator(h.cfg, h.rand, h.now)
	}
	h.epid = h.cfg.Epid
	if h.epid == "" {
		h.epid = stableEpid(h.cfg.Handset, h.cfg.AOR)
	}
	h.instance = sipae.InstanceFromEpid(h.epid)
	h.certs.init(h.cfg)
	h.opaqueTok = h.randHex(5)
	if h.cfg.Insecure {
		h.log.Warn("TLS SERVER CERTIFICATE VERIFICATION IS DISABLED (--insecure): anyone on the path can read the NTLM exchange")
	}
	return h, nil
}

// State returns the current registration state.
func (h *Handset) State() State {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.state
}

// Epid returns the endpoint id in use.
func (h *Handset) Epid() string { return h.epid }

// Instance returns +sip.instance (derived from the epid).
func (h *Handset) Instance() string { return h.instance }

// GRUU returns the GRUU from the last 200 OK, "" if none.
func (h *Handset) GRUU() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reg.gruu
}

// Close stops Run, closes the connection and the sipgo UA, and returns after
// their goroutines are gone. It does not un-REGISTER (Run does that on ctx
// cancellation). Idempotent.
func (h *Handset) Close() error {
	h.closeOnce.Do(func() { close(h.closing) })
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.runWG.Wait()
	h.closeCalls()
	h.certs.stop()
	h.mu.Lock()
	c := h.conn
	h.conn = nil
	prev := h.state
	h.state = StateStopped
	h.mu.Unlock()
	if prev != StateStopped {
		h.emit(Event{Kind: EventState, State: StateStopped, Prev: prev})
	}
	if c != nil {
		c.close()
	}
	return nil
}

// enter registers a blocking call with Close; the caller must call
// h.runWG.Done when it returns.
func (h *Handset) enter() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrClosed
	}
	h.runWG.Add(1)
	return nil
}

// close closes the UA, which closes its connections; the reader goroutine
// exits with them.
func (c *connection) close() {
	_ = c.srv.Close()
	_ = c.ua.Close()
}

// emit stamps and delivers ev. Never call with h.mu held.
func (h *Handset) emit(ev Event) {
	ev.Time = h.now()
	ev.Handset = h.cfg.Handset
	if ev.Kind == EventState {
		h.log.Debug("state", "from", ev.Prev, "to", ev.State)
	}
	if h.obs != nil {
		h.obs.Observe(ev)
	}
}

// setState records a transition and reports it (setStateWhy adds why).
func (h *Handset) setState(s State) { h.setStateWhy(s, "") } //nolint:unused // for code with no reason to give

func (h *Handset) step(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	h.log.Debug("auth step", "step", msg)
	h.emit(Event{Kind: EventAuthStep, Step: msg})
}

func (h *Handset) randHex(n int) string {
	b := make([]byte, n)
	if _, err := io.ReadFull(h.rand, b); err != nil {
		// An entropy failure is not recoverable; fall back to crypto/rand.
		_, _ = rand.Read(b)
	}
	return hex.EncodeToString(b)
}

func (h *Handset) isClosed() bool {
	select {
	case <-h.closing:
		return true
	default:
		return false
	}
}

// stableEpid derives the epid from the device identity (MAC) and the AOR,
// like SIPE hashes sipuri:hostname:ip (protocols.md §1.3): a handset keeps
// its epid across restarts, so the registrar replaces its binding instead of
// collecting stale ones; 10 lowercase hex characters as Microsoft clients.
func stableEpid(handset, aor string) string {
	sum := sha1.Sum([]byte(strings.ToLower(handset) + ":" + strings.ToLower(aor))) //nolint:gosec // an identifier, not security
	return hex.EncodeToString(sum[:5])
}

// lockedReader serialises reads of an injected entropy source.
type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}
