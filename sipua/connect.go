package sipua

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// srvServices is SIPE's DNS SRV order for TLS (protocols.md §1.1; the
// TCP-only _sipinternal._tcp and _sip._tcp are skipped: we only speak TLS).
var srvServices = [][2]string{{"sipinternaltls", "tcp"}, {"sip", "tls"}}

// resolveTarget picks where to connect: the 301 target if any, else
// --target (WithDialAddr) with the configured host as TLS name, else the
// current entry of the failover list (reg.1.server.y, the one configured
// server, or the DNS SRV targets: failover.go).
func (h *Handset) resolveTarget(ctx context.Context) (*target, error) {
	h.mu.Lock()
	t := h.target
	h.mu.Unlock()
	if t != nil {
		return h.resolveHost(ctx, t)
	}
	if h.dialAddr != "" {
		_, domain := h.cfg.aorParts()
		name := h.cfg.Server
		if name == "" && len(h.cfg.Servers) > 0 {
			name = h.cfg.Servers[0].Address
		}
		if name == "" {
			name = domain
		}
		return &target{addr: h.dialAddr, serverName: name}, nil
	}
	if err := h.ensureServers(ctx, nil); err != nil {
		return nil, err
	}
	h.mu.Lock()
	if h.cur >= len(h.servers) {
		h.cur = 0
	}
	sv := h.servers[h.cur]
	h.mu.Unlock()
	return h.resolveHost(ctx, &sv.target)
}

// transactionTimeout bounds one REGISTER transaction: the current server's
// retryTimeOut when set, else TransactionTimeout (RFC 3261 Timer F).
func (h *Handset) transactionTimeout() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.target == nil && h.cur < len(h.servers) && h.servers[h.cur].retryTimeOut > 0 {
		return h.servers[h.cur].retryTimeOut
	}
	return h.cfg.TransactionTimeout
}

// resolveHost turns a host name into an IP once, so that sipgo does not
// resolve on every request (DEPENDENCIES.md §1.8).
func (h *Handset) resolveHost(ctx context.Context, t *target) (*target, error) {
	host, port, err := net.SplitHostPort(t.addr)
	if err != nil {
		return nil, &Error{Op: "resolve " + t.addr, Class: OutcomeConfig, Why: "bad address", Err: err}
	}
	if net.ParseIP(host) != nil {
		return t, nil
	}
	ips, err := h.resolver.LookupHost(ctx, host)
	if err != nil || len(ips) == 0 {
		return nil, &Error{Op: "resolve " + host, Class: OutcomeTransport, Why: "dns", Err: err}
	}
	return &target{addr: net.JoinHostPort(ips[0], port), serverName: t.serverName}, nil
}

// connect opens a fresh UA and TLS connection to the target. Any previous
// connection is closed first (Lync binds a registration to its connection).
func (h *Handset) connect(ctx context.Context) (*connection, error) {
	h.disconnect()
	h.setStateWhy(StateConnecting, "signing in")
	t, err := h.resolveTarget(ctx)
	if err != nil {
		return nil, err
	}
	tc, err := h.tlsClientConfig(t.serverName)
	if err != nil {
		return nil, err
	}
	tlog, lost := newFlowWatch(h.log)
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent(h.cfg.UserAgent),
		sipgo.WithUserAgenTLSConfig(tc),
		sipgo.WithUserAgentParser(NewParser()),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(tlog)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(h.log), sip.WithTransactionLayerUnhandledResponseHandler(h.onResponse)),
	)
	if err != nil {
		return nil, &Error{Op: "connect", Class: OutcomeTransport, Why: "user agent", Err: err}
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(h.log))
	if err != nil {
		_ = ua.Close()
		return nil, &Error{Op: "connect", Class: OutcomeTransport, Why: "user agent", Err: err}
	}
	c := &connection{ua: ua, srv: srv, dest: t.addr, lost: lost}
	h.installHandlers(srv)

	// Dial now, so that Contact and Via carry our real local address.
	pre := sip.NewRequest(sip.OPTIONS, sip.Uri{Scheme: "sip", Host: t.serverName})
	pre.AppendHeader(&sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "TLS", Params: sip.NewParams()})
	pre.SetTransport("TLS")
	pre.SetDestination(t.addr)
	conn, err := ua.TransportLayer().ClientRequestConnection(ctx, pre)
	if err != nil {
		c.close()
		return nil, classifyDial(t, err)
	}
	c.tc = conn
	c.local = conn.LocalAddr().String()
	// The canonical form is sipgo's pool key (IPv6 spellings vary).
	if ra, ok := conn.(interface{ RemoteAddr() net.Addr }); ok {
		c.dest = ra.RemoteAddr().String()
	}
	h.log.Info("connected", "server", t.serverName, "addr", t.addr, "local", c.local)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		c.close()
		return nil, ErrClosed
	}
	h.conn = c
	h.mu.Unlock()
	return c, nil
}

// tlsClientConfig is the TLS client configuration for a registrar named
// serverName.
func (h *Handset) tlsClientConfig(serverName string) (*tls.Config, error) {
	tc := &tls.Config{}
	if h.tlsConf != nil {
		tc = h.tlsConf.Clone()
	}
	// Always set the FQDN: sipgo would otherwise use the dialled IP as the
	// server name (DEPENDENCIES.md §1.2).
	tc.ServerName = serverName
	if tc.RootCAs == nil && len(h.cfg.CACertsPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(h.cfg.CACertsPEM) {
			return nil, &Error{Op: "connect", Class: OutcomeConfig, Why: "ca certificates", Err: errors.New("sipua: sec.TLS.customCaCert holds no PEM certificate")}
		}
		tc.RootCAs = pool
	}
	if tc.MinVersion == 0 {
		tc.MinVersion = tls.VersionTLS12
	}
	if h.cfg.Insecure {
		tc.InsecureSkipVerify = true //nolint:gosec // only with --insecure, logged loudly in New
	}
	return tc, nil
}

func classifyDial(t *target, err error) error {
	why := "connect"
	var cv *tls.CertificateVerificationError
	var hn x509.HostnameError
	var ua x509.UnknownAuthorityError
	switch {
	case errors.As(err, &cv), errors.As(err, &hn), errors.As(err, &ua), strings.Contains(err.Error(), "TLS handshake"):
		why = "tls handshake"
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Op: "connect " + t.serverName + " (" + t.addr + ")", Class: OutcomeTimeout, Why: "connect timeout", Err: err}
	}
	return &Error{Op: "connect " + t.serverName + " (" + t.addr + ")", Class: OutcomeTransport, Why: why, Err: err}
}

// disconnect drops the current connection, if any.
func (h *Handset) disconnect() {
	h.mu.Lock()
	c := h.conn
	h.conn = nil
	h.mu.Unlock()
	if c != nil {
		c.close()
		h.endCallsLost() // callin.go
	}
}

// keepAlive sends the RFC 5626 CRLF ping on the registration's connection
// (protocols.md §1.1; sipgo never sends one, DEPENDENCIES.md §1.7).
func (h *Handset) keepAlive() error {
	h.mu.Lock()
	c := h.conn
	h.mu.Unlock()
	if c == nil {
		return errConnLost
	}
	conn, err := c.ua.TransportLayer().GetConnection("tls", c.dest)
	if err != nil {
		return errConnLost
	}
	defer func() { _, _ = conn.TryClose() }()
	w, ok := conn.(io.Writer)
	if !ok {
		return errConnLost
	}
	if _, err := w.Write([]byte("\r\n\r\n")); err != nil {
		return fmt.Errorf("%w: %w", errConnLost, err)
	}
	h.emit(Event{Kind: EventKeepAlive})
	return nil
}

var errConnLost = errors.New("sipua: connection lost")

// NewParser returns the SIP parser for Lync peers: Contact stays a raw
// header, because sipgo's typed Contact parser splits on the comma inside
// methods="INVITE, MESSAGE, …" and fails on +sip.instance="<urn:uuid:…>",
// and a parse error closes the whole TLS connection (found against our fake
// front end). From and To keep their URI scheme's case for the signature
// buffer (keepSchemeCase). The message limit is raised to 1 MiB for large roaming
// NOTIFYs (DEPENDENCIES.md §1.6).
func NewParser() *sip.Parser {
	m := maps.Clone(sip.DefaultHeadersParser())
	delete(m, "contact")
	delete(m, "m")
	for _, k := range []string{"from", "f", "to", "t"} {
		m[k] = keepSchemeCase(m[k])
	}
	p := sip.NewParser(sip.WithHeadersParsers(m))
	p.MaxMessageLength = 1 << 20
	return p
}
