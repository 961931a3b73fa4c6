package sipua

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// Password is a secret that never prints: String, %v, slog and JSON show
// "[redacted]" (STYLE.md rule 9). Reveal returns the value.
type Password string

// Reveal returns the password itself.
func (p Password) Reveal() string { return string(p) }

func (p Password) String() string { return "[redacted]" }

// GoString keeps %#v redacted too.
func (p Password) GoString() string { return "[redacted]" }

// LogValue implements slog.LogValuer.
func (p Password) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// MarshalText keeps JSON/text encodings redacted.
func (p Password) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// Defaults applied by Config.withDefaults.
const (
	DefaultPort              = 5061
	DefaultExpires           = 3600 * time.Second // reg.x.server.y.expires base profile
	DefaultKeepAlive         = 60 * time.Second   // SIPE's keep-alive until the 200 OK says otherwise (protocols.md §1.1)
	DefaultSALifetime        = 8 * time.Hour      // MS-SIPAE 3.2.2: NTLM has no lifetime of its own
	DefaultSAMargin          = 5 * time.Minute    // MS-SIPAE 3.2.2: refresh at least 5 min early
	DefaultReRegisterMargin  = 30 * time.Second   // SIPE re-registers 30 s before expiry (protocols.md §1.4)
	DefaultTransactionTimout = 32 * time.Second   // RFC 3261 Timer B/F (64*T1)
	DefaultUnregisterGrace   = 5 * time.Second
	DefaultRetryBase         = 10 * time.Second  // registerRetry.baseTimeOut base profile
	DefaultRetryMax          = 180 * time.Second // registerRetry.maxTimeOut base profile
	DefaultUserAgent         = "Spectralink 84-Series/handset"
	defaultMaxRedirects      = 3
)

// Config holds the protocol settings of one handset's registration, as the
// .cfg files produce them (ConfigFromParams). The zero value of every field
// means its default; a Config is never mutated after New.
type Config struct {
	// Handset identifies the handset in events and logs (normally the MAC).
	// Empty means the AOR.
	Handset string

	// AOR is the user's address of record, "alice@contoso.test" (a leading
	// "sip:" is accepted). Required.
	AOR string
	// AuthUser and AuthDomain are the NTLM credentials' user and domain
	// (reg.x.auth.userId / reg.x.auth.domain). AuthUser empty means the AOR
	// user part; AuthDomain may be empty.
	AuthUser   string
	AuthDomain string
	Password   Password

	// Server is the registrar host name (reg.x.server.1.address). It is
	// also the TLS server name (SNI and certificate check). Empty means DNS
	// SRV discovery on the AOR domain (protocols.md §1.1).
	Server string
	// Port of the registrar; 0 means DefaultPort (or the SRV record's port).
	Port int

	// Expires is the registration lifetime to ask for; 0 means DefaultExpires.
	Expires time.Duration
	// Epid is the endpoint id (From ;epid=), 10 hex characters. Empty means
	// derived from Handset and AOR (stable across restarts). +sip.instance
	// is derived from it (protocols.md §1.3).
	Epid string
	// UserAgent is the User-Agent header; empty means DefaultUserAgent.
	UserAgent string

	// KeepAlive enables CRLF keep-alives (tcpIpApp.keepalive.tcp.sip.tls.enable);
	// the zero value sends them, because Lync drops idle sockets. Set
	// NoKeepAlive to disable.
	NoKeepAlive bool
	// KeepAliveInterval is used until the 200 OK's ms-keep-alive timeout is
	// known; 0 means DefaultKeepAlive.
	KeepAliveInterval time.Duration

	// SALifetime bounds the security association (MS-SIPAE 3.2.2); 0 means
	// DefaultSALifetime. The SA is renewed SAMargin (default 5 min) early.
	SALifetime time.Duration
	SAMargin   time.Duration

	// TimeScale divides every protocol timer (re-REGISTER, keep-alive, SA
	// refresh, retry backoff), for load and tests. 0 or 1 means real time;
	// 60 makes an hour a minute.
	TimeScale float64

	// TransactionTimeout bounds each REGISTER transaction; 0 means 32 s.
	TransactionTimeout time.Duration
	// UnregisterGrace bounds the un-REGISTER on shutdown; 0 means 5 s.
	UnregisterGrace time.Duration

	// RetryBase and RetryMax are the RFC 5626 §4.5 backoff bounds used by Run
	// after a retryable failure (registerRetry.baseTimeOut / maxTimeOut). 0
	// means the defaults.
	RetryBase time.Duration
	RetryMax  time.Duration
	// RetryMaxCount is reg.x.server.y.retryMaxCount for Server or the DNS
	// SRV targets (Servers carry their own): failed attempts on one server
	// before Run moves to the next; 0 means 3.
	RetryMaxCount int
	// MaxFailures > 0 makes Run give up and return the last error after
	// that many consecutive failed attempts; 0 retries forever (except
	// final failures such as a wrong password).
	MaxFailures int

	// Servers is reg.1.server.y in failover order (y = 1, 2, …). When set
	// it replaces Server/Port; when empty, Server (one registrar) or else
	// every DNS SRV target of the AOR domain is the list.
	Servers []ServerConfig
	// FailBack and FailBackTimeout are reg.1.server.1.failOver.failBack.mode
	// and .timeout: when a handset registered on a later server goes back
	// to the first (see FailBackMode). FailBackTimeout 0 means no timed
	// fail-back (duration mode: stay until the current server fails).
	FailBack        FailBackMode
	FailBackTimeout time.Duration

	// CACertsPEM holds extra CA certificates (PEM) trusted for the
	// registrar (sec.TLS.customCaCert.x), used when WithTLSConfig gives no
	// RootCAs: the CA "chosen by configuration". Empty means system roots.
	CACertsPEM []byte

	// ReRegisterOverlap is how long before expiry to re-REGISTER
	// (reg.x.server.y.expires.overlap); when the granted expiry is not
	// longer than twice this, re-REGISTER at half the expiry. 0 means
	// DefaultReRegisterMargin.
	ReRegisterOverlap time.Duration

	// SpecialInterop is reg.x.server.y.specialInterop: "" (the Lync
	// default), lync2010, lync2013, ocs2007r2 or lcs2005 sign in with NTLM
	// and MS-SIPAE signing; "standard" registers with RFC 3261 digest and
	// signs nothing (digest.go).
	SpecialInterop string

	// Insecure disables server certificate verification. Only when asked;
	// New logs it loudly.
	Insecure bool

	// PIN sign-in (seed "Using PIN Authentication"; pin.go): Extension and
	// PIN as typed at "Sign in: PIN & Ext.". Never written anywhere; the
	// handset drops the PIN once it has its certificate (the seed: "not
	// cached"). PINSignIn marks a PIN handset even with both empty: it
	// signs in with the certificate it holds, or stops with "PIN and
	// extension required". Setting Extension or PIN implies PINSignIn.
	PINSignIn bool
	Extension string
	PIN       Password
	// NoPinCredentials and NoLoginCredentials are
	// reg.1.auth.usePinCredentials=0 and reg.1.auth.useLoginCredentials=0
	// (the registry default 1 shows the sign-in menu).
	NoPinCredentials, NoLoginCredentials bool
	// CertMinValidity: a held user certificate is used for TLS-DSK, and an
	// issued one accepted, only when valid at least this much longer; 0
	// means one hour (SIPE, protocols.md §6.3). Divided by TimeScale.
	CertMinValidity time.Duration
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	aor := strings.TrimPrefix(strings.TrimPrefix(c.AOR, "sip:"), "sips:")
	user, domain, ok := strings.Cut(aor, "@")
	if !ok || user == "" || domain == "" || strings.ContainsAny(aor, " <>;\"") {
		return &ConfigError{Field: "AOR", Value: c.AOR, Msg: "want user@domain"}
	}
	if strings.ContainsAny(c.Server, " /:@<>;") {
		return &ConfigError{Field: "Server", Value: c.Server, Msg: "want a host name"}
	}
	if c.Port < 0 || c.Port > 65535 {
		return &ConfigError{Field: "Port", Value: strconv.Itoa(c.Port), Msg: "want 1..65535"}
	}
	if c.Expires < 0 {
		return &ConfigError{Field: "Expires", Value: c.Expires.String(), Msg: "must not be negative"}
	}
	if c.Epid != "" && !isHex(c.Epid) {
		return &ConfigError{Field: "Epid", Value: c.Epid, Msg: "want hex characters"}
	}
	if c.TimeScale < 0 {
		return &ConfigError{Field: "TimeScale", Value: fmt.Sprint(c.TimeScale), Msg: "must not be negative"}
	}
	switch strings.ToLower(c.SpecialInterop) {
	case "", interopStandard, "lync2010", "lync2013", "ocs2007r2", "lcs2005":
	default:
		return &ConfigError{Field: "SpecialInterop", Value: c.SpecialInterop, Msg: "want standard|ocs2007r2|lcs2005|lync2010|lync2013"}
	}
	for i, sv := range c.Servers {
		if sv.Address == "" || strings.ContainsAny(sv.Address, " /:@<>;") {
			return &ConfigError{Field: fmt.Sprintf("Servers[%d].Address", i), Value: sv.Address, Msg: "want a host name"}
		}
		if sv.Port < 0 || sv.Port > 65535 {
			return &ConfigError{Field: fmt.Sprintf("Servers[%d].Port", i), Value: strconv.Itoa(sv.Port), Msg: "want 1..65535"}
		}
	}
	if c.RetryMaxCount < 0 || c.MaxFailures < 0 || c.FailBackTimeout < 0 {
		return &ConfigError{Field: "RetryMaxCount", Value: strconv.Itoa(c.RetryMaxCount), Msg: "counts and timeouts must not be negative"}
	}
	return c.validateSignIn()
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		default:
			return false
		}
	}
	return s != ""
}

// withDefaults returns c with zero fields replaced by their defaults.
func (c Config) withDefaults() Config {
	c.AOR = strings.TrimPrefix(strings.TrimPrefix(c.AOR, "sip:"), "sips:")
	if c.AuthUser == "" {
		c.AuthUser, _, _ = strings.Cut(c.AOR, "@")
	}
	if c.Handset == "" {
		c.Handset = c.AOR
	}
	if c.Expires == 0 {
		c.Expires = DefaultExpires
	}
	if c.UserAgent == "" {
		c.UserAgent = DefaultUserAgent
	}
	if c.KeepAliveInterval == 0 {
		c.KeepAliveInterval = DefaultKeepAlive
	}
	if c.SALifetime == 0 {
		c.SALifetime = DefaultSALifetime
	}
	if c.SAMargin == 0 {
		c.SAMargin = DefaultSAMargin
	}
	if c.TimeScale == 0 {
		c.TimeScale = 1
	}
	if c.TransactionTimeout == 0 {
		c.TransactionTimeout = DefaultTransactionTimout
	}
	if c.UnregisterGrace == 0 {
		c.UnregisterGrace = DefaultUnregisterGrace
	}
	if c.ReRegisterOverlap == 0 {
		c.ReRegisterOverlap = DefaultReRegisterMargin
	}
	if c.RetryBase == 0 {
		c.RetryBase = DefaultRetryBase
	}
	if c.RetryMax == 0 {
		c.RetryMax = DefaultRetryMax
	}
	return c
}

// user and domain of the AOR (after withDefaults).
func (c Config) aorParts() (user, domain string) {
	user, domain, _ = strings.Cut(c.AOR, "@")
	return user, domain
}

// scale shrinks a protocol duration by TimeScale.
func (c Config) scale(d time.Duration) time.Duration {
	if c.TimeScale <= 1 {
		return d
	}
	return time.Duration(float64(d) / c.TimeScale)
}
