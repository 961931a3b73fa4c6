package labfe

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/handset-dev/handset/auth/tlsdsk"
	"github.com/handset-dev/handset/labfe/internal/sipmsg"
	"github.com/handset-dev/handset/labfe/websvc"
)

// TLS-DSK (protocols.md §3, §5) and the web services behind its sts-uri
// (§6). With Config.TLSDSK a 401 offers
//
//	WWW-Authenticate: TLS-DSK realm="SIP Communications Service", targetname="<fqdn>",
//	                  sts-uri="https://<web>/CertProv/CertProvisioningService.svc", version=4
//
// next to NTLM (or alone, Config.TLSDSKOnly). The handshake runs in the
// gssapi-data of REGISTER/401 round trips with auth/tlsdsk's server pump (a
// spec codec checked against OpenSSL, like auth/ntlm): the first REGISTER's
// ClientHello opens a handshake under a fresh opaque, the 401 carries the
// server's flight, the client's Certificate…Finished flight completes it
// and the last 401 carries ChangeCipherSpec+Finished; the SA is then bound
// to the user named by the certificate's CN, and the next REGISTER must be
// signed with the client key (HMAC-SHA1 by suite). The SA ends at
// min(SALifetime, certificate NotAfter) (MS-SIPAE 3.2.2).
//
// The handshake needs RSA key exchange (the suites SIPE offers), so labfe
// uses an RSA-2048 certificate for it, issued by the same test CA as its TLS
// certificate so the handset trusts both through one CA. User certificates
// come from labfe/websvc, mounted on its own HTTPS listener, whose issuing
// CA (labfe's test CA) is the only one TLS-DSK accepts client certificates
// from.

// ms-diagnostics of TLS-DSK refusals (labfe's own codes, next to 1000).
const (
	// 401: the TLS handshake failed (tampered record, certificate not from
	// the pool's CA, expired certificate, bad Finished). Final: the same
	// certificate will fail again.
	diagDSKHandshake = `1005;reason="TLS-DSK handshake failed"`
	// 401: the certificate is valid but names no user of the pool.
	diagDSKUnknownUser = `1006;reason="Certificate does not name a user of this pool"`
)

// dskServer is the TLS-DSK state of a Server.
type dskServer struct {
	cert  *tls.Certificate // RSA server certificate of the handshake
	users *x509.CertPool   // CA of user certificates
	svc   *websvc.Service
	ln    net.Listener // HTTPS web services
	web   *http.Server
	base  string // https://host:port of the web services

	pend map[*flow]*dskPending // one open handshake per flow; guarded by Server.mu
}

// dskPending is a handshake in progress on a flow.
type dskPending struct {
	opaque string
	pump   *tlsdsk.Server
}

// dskSA is what a TLS-DSK security association adds to secAssoc.
type dskSA struct {
	mech     *tlsdsk.Mechanism
	notAfter time.Time // the user certificate's
}

// setupDSK prepares the TLS-DSK certificate, the web services and their
// listener. pki is nil when the configuration gave the server certificate.
func (s *Server) setupDSK(pki *testPKI, certPEM, keyPEM []byte) error {
	if !s.cfg.TLSDSK {
		return nil
	}
	now := time.Now() // certificates are checked by peers against their wall clock
	d := &dskServer{pend: map[*flow]*dskPending{}}
	var caCert *x509.Certificate
	var caKey crypto.Signer
	if pki != nil {
		caCert, caKey = pki.caCert, pki.caKey
		cert, err := issueRSAServerCert(caCert, caKey, s.cfg.FQDN, now)
		if err != nil {
			return err
		}
		d.cert = cert
	} else {
		// A given certificate is used for TLS-DSK as well; its CA key is
		// unknown, so user certificates come from a CA of labfe's own.
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return fmt.Errorf("%w: server certificate: %w", ErrConfig, err)
		}
		if _, ok := cert.PrivateKey.(*rsa.PrivateKey); !ok {
			return fmt.Errorf("%w: TLS-DSK needs an RSA server certificate (RSA key exchange, protocols.md §5.2)", ErrConfig)
		}
		d.cert = &cert
		own, err := generatePKI(s.cfg.FQDN, now, false)
		if err != nil {
			return err
		}
		caCert, caKey = own.caCert, own.caKey
	}
	d.users = x509.NewCertPool()
	d.users.AddCert(caCert)

	ln, err := net.Listen("tcp", s.cfg.WebListenAddr)
	if err != nil {
		return fmt.Errorf("labfe: listen web services %s: %w", s.cfg.WebListenAddr, err)
	}
	d.ln = ln
	d.base = s.cfg.WebBaseURL
	if d.base == "" {
		d.base = "https://" + advertised(ln.Addr())
	}
	d.base = strings.TrimSuffix(d.base, "/")
	users := make([]websvc.User, 0, len(s.cfg.Users))
	for _, u := range s.cfg.Users {
		users = append(users, websvc.User{Address: u.Address, UserID: u.UserID, Domain: u.Domain,
			Password: u.Password, Extension: u.Extension, PIN: u.PIN})
	}
	nb := strings.ToUpper(strings.SplitN(s.cfg.Domain, ".", 2)[0])
	host := strings.ToUpper(strings.SplitN(s.cfg.FQDN, ".", 2)[0])
	svc, err := websvc.New(websvc.Config{
		BaseURL: d.base, Users: users,
		CA:           &tls.Certificate{Certificate: [][]byte{caCert.Raw}, PrivateKey: caKey, Leaf: caCert},
		CertLifetime: s.cfg.CertLifetime, MaxPINFailures: s.cfg.MaxPINFailures,
		NbDomain: nb, NbComputer: host, DNSDomain: s.cfg.Domain, DNSComputer: s.cfg.FQDN,
	}, websvc.WithClock(s.now), websvc.WithRand(s.rand), websvc.WithLogger(s.log))
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("%w: web services: %w", ErrConfig, err)
	}
	d.svc = svc
	tc := s.tlsConf.Clone()
	// A handset renewing with its current certificate may present it.
	tc.ClientAuth, tc.ClientCAs = tls.VerifyClientCertIfGiven, d.users
	tc.Time = s.now // user certificates were issued on labfe's clock
	d.web = &http.Server{
		Handler:           svc,
		TLSConfig:         tc,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * s.cfg.KeepAliveTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug), // probing clients' TLS errors
	}
	s.dsk = d
	return nil
}

// advertised is the host:port to put in URLs: an unspecified bind address
// is reached over loopback.
func advertised(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// serveWeb runs the web services until Close; the goroutine is owned by
// s.wg like every flow.
func (s *Server) serveWeb() {
	if s.dsk == nil {
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		err := s.dsk.web.Serve(tls.NewListener(s.dsk.ln, s.dsk.web.TLSConfig))
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Warn("labfe: web services stopped", "err", err)
		}
	}()
}

// closeWeb stops the web services: in-flight requests get a moment to
// finish, then every connection is closed.
func (s *Server) closeWeb() {
	if s.dsk == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.dsk.web.Shutdown(ctx); err != nil {
		_ = s.dsk.web.Close()
	}
	_ = s.dsk.ln.Close() // when Serve never ran
}

// WebServices returns the HTTPS web services (nil without Config.TLSDSK):
// UnlockPIN, Issued.
func (s *Server) WebServices() *websvc.Service {
	if s.dsk == nil {
		return nil
	}
	return s.dsk.svc
}

// STSURI returns the certificate provisioning URL offered as the TLS-DSK
// challenge's sts-uri ("" without Config.TLSDSK).
func (s *Server) STSURI() string {
	if s.dsk == nil {
		return ""
	}
	return s.dsk.base + websvc.PathCertProv
}

// UserCAPool returns the pool of the CA that issues user certificates (nil
// without Config.TLSDSK).
func (s *Server) UserCAPool() *x509.CertPool {
	if s.dsk == nil {
		return nil
	}
	return s.dsk.users
}

// dskChallenge adds the TLS-DSK challenge to a 401 when enabled.
func (s *Server) dskChallenge(r *sipmsg.Message) {
	if s.dsk == nil {
		return
	}
	r.Add(s.challengeHeader(), fmt.Sprintf(`TLS-DSK realm="%s", targetname="%s", sts-uri="%s", version=4`,
		realm, s.cfg.FQDN, s.STSURI()))
}

// dskRegister handles a REGISTER whose authorization is TLS-DSK, and an NTLM
// one when only TLS-DSK is offered. handled is false for everything else.
func (s *Server) dskRegister(f *flow, req *sipmsg.Message, a authParams) (handled, keep bool) {
	switch {
	case s.dsk != nil && a.scheme == "TLS-DSK":
	case s.cfg.TLSDSKOnly && a.scheme == "NTLM":
		return true, s.reply(f, nil, s.challenge401(req, ""))
	default:
		return false, false
	}
	if a.get("realm") != realm || a.get("targetname") != s.cfg.FQDN {
		s.count(nil, func(st *UserStats) { st.Malformed++ })
		return true, s.reply(f, s.flowSA(f), s.failure(req, 400, "Bad Request", diagBadAuthHeader))
	}
	if a.get("gssapi-data") == "" {
		// Signed REGISTER on an established TLS-DSK SA (protocols.md §3 step 5).
		sa, v := s.verify(f, req, a)
		if v == vNoSA {
			return true, s.reply(f, nil, s.challenge401(req, diagNoSA))
		}
		if v != vOK {
			return true, s.reject(f, req, sa, v)
		}
		return true, s.register(f, sa, req)
	}
	return true, s.dskHandshake(f, req, a)
}

// dskHandshake runs one round trip of the handshake.
func (s *Server) dskHandshake(f *flow, req *sipmsg.Message, a authParams) bool {
	tok, err := tlsdsk.DecodeGSSAPIData(a.get("gssapi-data"))
	if err != nil {
		s.count(nil, func(st *UserStats) { st.Malformed++ })
		s.dskForget(f)
		return s.reply(f, nil, s.failure(req, 400, "Bad Request", diagBadAuthHeader))
	}
	opaque := a.get("opaque")
	s.mu.Lock()
	p := s.dsk.pend[f]
	if p != nil && p.opaque != opaque {
		p = nil // a new handshake replaces the flow's open one
	}
	s.mu.Unlock()
	if p == nil {
		if opaque != "" {
			// The client continues a handshake labfe does not know (expired,
			// or replaced): start over.
			s.dskForget(f)
			return s.reply(f, nil, s.challenge401(req, diagNoSA))
		}
		pump, perr := tlsdsk.NewServer(tlsdsk.ServerConfig{Certificate: s.dsk.cert, ClientCAs: s.dsk.users},
			tlsdsk.WithClock(s.now), tlsdsk.WithRand(s.rand), tlsdsk.WithLogger(s.log))
		if perr != nil {
			return s.reply(f, nil, s.failure(req, 500, "Server Internal Error", diagBadRequest))
		}
		p = &dskPending{opaque: s.randHex(4), pump: pump}
		s.mu.Lock()
		old := s.dsk.pend[f]
		s.dsk.pend[f] = p
		s.mu.Unlock()
		if old != nil {
			_ = old.pump.Close()
		}
	}
	out, done, err := p.pump.Step(tok)
	if err != nil {
		s.dskForget(f)
		s.count(nil, func(st *UserStats) { st.AuthFailures++ })
		s.log.Info("labfe: TLS-DSK handshake failed", "remote", f.c.RemoteAddr(), "err", err)
		return s.reply(f, nil, s.challenge401(req, diagDSKHandshake))
	}
	if !done {
		return s.reply(f, nil, s.dskFlight(req, p.opaque, out))
	}
	cert, cerr := p.pump.PeerCertificate()
	mech, merr := p.pump.Mechanism()
	s.dskForget(f)
	if cerr != nil || merr != nil {
		return s.reply(f, nil, s.challenge401(req, diagDSKHandshake))
	}
	s.mu.Lock()
	u := s.users[strings.ToLower(strings.TrimPrefix(cert.Subject.CommonName, "sip:"))]
	s.mu.Unlock()
	if u == nil {
		s.count(nil, func(st *UserStats) { st.AuthFailures++ })
		return s.reply(f, nil, s.challenge401(req, diagDSKUnknownUser))
	}
	sa := &secAssoc{opaque: p.opaque, user: u, flow: f, created: s.now(), dsk: &dskSA{mech: mech, notAfter: cert.NotAfter}}
	s.mu.Lock()
	s.sas[sa.opaque] = sa
	if f.sa != nil && f.sa != sa {
		delete(s.sas, f.sa.opaque)
	}
	f.sa = sa
	s.mu.Unlock()
	// The last flight (ChangeCipherSpec, Finished) travels in a 401; the
	// client's next REGISTER is signed (protocols.md §3 TLS-DSK step 4-5).
	return s.reply(f, nil, s.dskFlight(req, p.opaque, out))
}

func (s *Server) dskFlight(req *sipmsg.Message, opaque string, out []byte) *sipmsg.Message {
	code, reason := s.challengeStatus()
	r := s.response(req, code, reason)
	r.Add(s.challengeHeader(), fmt.Sprintf(`TLS-DSK opaque="%s", gssapi-data="%s", targetname="%s", realm="%s", version=4`,
		opaque, tlsdsk.EncodeGSSAPIData(out), s.cfg.FQDN, realm))
	return r
}

// dskForget closes the flow's open handshake, if any.
func (s *Server) dskForget(f *flow) {
	s.mu.Lock()
	p := s.dsk.pend[f]
	delete(s.dsk.pend, f)
	s.mu.Unlock()
	if p != nil {
		_ = p.pump.Close()
	}
}

// dskDropLocked forgets a closed flow's handshake; s.mu is held. Closing a
// pump only waits for its own goroutine, which never takes s.mu.
func (s *Server) dskDropLocked(f *flow) {
	if s.dsk == nil {
		return
	}
	if p := s.dsk.pend[f]; p != nil {
		delete(s.dsk.pend, f)
		_ = p.pump.Close()
	}
}

// dskVerify checks a TLS-DSK client signature (HMAC with the client key
// over the version-4 buffer, protocols.md §5.3).
func (s *Server) dskVerify(sa *secAssoc, m *sipmsg.Message, a authParams) bool {
	if a.scheme != "TLS-DSK" || a.get("realm") != realm || a.get("targetname") != s.cfg.FQDN {
		return false
	}
	buf := fieldsOf(m).buffer(a.scheme, a.get("crand"), a.get("cnum"), s.cfg.FQDN)
	return sa.dsk.mech.Verify(buf, a.get("response")) == nil
}

// dskSign adds the server's TLS-DSK Authentication-Info (MS-OCPSTN 4.7.2.1
// shape).
func (s *Server) dskSign(sa *secAssoc, m *sipmsg.Message, srand, snum string) {
	buf := fieldsOf(m).buffer("TLS-DSK", srand, snum, s.cfg.FQDN)
	sig, _ := sa.dsk.mech.Sign(buf) // HMAC never fails
	m.Add(s.infoHeader(), fmt.Sprintf(`TLS-DSK qop="auth", opaque="%s", srand="%s", snum="%s", rspauth="%s", targetname="%s", realm="%s", version=4`,
		sa.opaque, srand, snum, sig, s.cfg.FQDN, realm))
}

// dskExpired reports whether a TLS-DSK SA outlived its certificate.
func (s *Server) dskExpired(sa *secAssoc) bool {
	return sa.dsk != nil && !s.now().Before(sa.dsk.notAfter)
}

// issueRSAServerCert issues an RSA-2048 certificate for fqdn (and
// loopback) under the test CA, for TLS-DSK's RSA key exchange.
func issueRSAServerCert(ca *x509.Certificate, caKey crypto.Signer, fqdn string, now time.Time) (*tls.Certificate, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("labfe: tls-dsk key: %w", err)
	}
	der, err := x509.CreateCertificate(rand.Reader, serverLeaf(fqdn, now), ca, key.Public(), caKey)
	if err != nil {
		return nil, fmt.Errorf("labfe: tls-dsk certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("labfe: tls-dsk certificate: %w", err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}
