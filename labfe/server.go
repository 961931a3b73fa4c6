package labfe

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/handset-dev/handset/labfe/internal/ntlmsrv"
	"github.com/handset-dev/handset/labfe/internal/sipmsg"
)

// Server is a running lab front end. New binds the TLS listener (so Addr is
// known at once); Serve accepts flows until ctx ends or Close is called.
// Every goroutine a Server starts is stopped and waited for by Close.
type Server struct {
	cfg     Config
	log     *slog.Logger
	rand    io.Reader
	now     func() time.Time
	tlsConf *tls.Config
	caPEM   []byte
	ln      net.Listener

	mu      sync.Mutex
	users   map[string]*userState // by AOR
	byLogin map[string]*userState // by lower(DOMAIN\user) and lower(user)
	pending map[string]*pending   // opaque → outstanding CHALLENGE
	sas     map[string]*secAssoc  // opaque → SA
	flows   map[*flow]struct{}
	txs     map[string]*proxyTx    // our Via branch + " " + CSeq method → caller
	invites map[inviteKey]*proxyTx // caller flow + its INVITE branch → our INVITE transaction
	dialogs map[dialogKey]*dialog  // confirmed INVITE dialogs routed through labfe (calls.go)
	// The echo bot's calls and counters (echo.go).
	echoCalls map[*echoCall]struct{}
	echoCount echoCounters
	fault     Fault
	// downUntil: Restart's down period; connections are reset until then.
	downUntil time.Time
	orphan    UserStats  // failures not attributable to a user
	dsk       *dskServer // TLS-DSK and web services (tlsdsk.go); nil unless Config.TLSDSK
	closed    bool
	wg        sync.WaitGroup
	onDrop    func()
}

type userState struct {
	User
	aor      string
	bindings map[string]*binding // by epid
	st       UserStats
}

type binding struct {
	epid, instance string
	contactURI     string // URI inside <> of the REGISTER Contact
	contactRaw     string // the whole Contact value, as sent
	gruuOpaque     string // user:epid:<b64>
	flow           *flow
	expires        time.Time
	registered     time.Time
}

type pending struct {
	chal    *ntlmsrv.Challenge
	flow    *flow
	created time.Time
}

type secAssoc struct {
	opaque   string
	sess     *ntlmsrv.Session
	user     *userState
	flow     *flow
	created  time.Time
	lastCnum uint64
	seen     uint64 // bit i: cnum lastCnum-i was accepted (replay window)
	snum     uint64
	dsk      *dskSA // set for a TLS-DSK SA (tlsdsk.go); sess is nil then
}

type flow struct {
	c   net.Conn
	r   *bufio.Reader
	wmu sync.Mutex

	// Guarded by Server.mu; they index what dropFlow must forget, so a
	// closing flow costs O(its own state), not O(all users).
	sa       *secAssoc
	pending  string // opaque of its outstanding CHALLENGE
	bindings map[*binding]*userState
	txKeys   map[string]struct{} // transactions it started (it is the caller)
	invKeys  map[inviteKey]struct{}
	inTx     map[string]struct{} // transactions forwarded to it (it is the callee)
	dialogs  map[*dialog]struct{}

	// subs are the self-subscription dialogs on this flow by Call-ID
	// (subscribe.go), guarded by Server.mu; they die with the flow.
	subs map[string]*subDialog
}

func newFlow(c net.Conn) *flow {
	return &flow{c: c, r: bufio.NewReader(c), bindings: map[*binding]*userState{},
		txKeys: map[string]struct{}{}, invKeys: map[inviteKey]struct{}{},
		inTx: map[string]struct{}{}, dialogs: map[*dialog]struct{}{}}
}

// Fault makes labfe misbehave on purpose for reliability tests
// (RELIABILITY.md F3, F4). It applies to REGISTERs before authentication
// (the first of each sign-in), as a front end under load or restarting
// would answer them.
type Fault struct {
	// Status answers with this final status (e.g. 503, 504) and an
	// ms-diagnostics; 0 black-holes the REGISTER (no answer at all).
	Status int
	// RetryAfter adds Retry-After (whole seconds) when > 0.
	RetryAfter time.Duration
	// Count is how many REGISTERs to affect; < 0 until cleared.
	Count int
	// Until ends the fault at this instant (zero: no end); see Reject503.
	Until time.Time
	// AllRequests extends the fault from sign-in REGISTERs to every
	// request on every flow (refreshes, un-REGISTERs, calls); see BlackHole.
	AllRequests bool
}

// New validates cfg, prepares certificates (generating a test CA unless
// CertPEM/KeyPEM are given) and binds cfg.ListenAddr.
func New(cfg Config, opts ...Option) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	o := options{rand: rand.Reader, now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		onDrop: o.onDrop,
		cfg:    cfg, log: o.log, rand: &lockedReader{r: o.rand}, now: o.now,
		users: map[string]*userState{}, byLogin: map[string]*userState{},
		pending: map[string]*pending{}, sas: map[string]*secAssoc{},
		flows: map[*flow]struct{}{}, txs: map[string]*proxyTx{}, invites: map[inviteKey]*proxyTx{},
		dialogs: map[dialogKey]*dialog{}, echoCalls: map[*echoCall]struct{}{},
	}
	for _, u := range cfg.Users {
		us := &userState{User: u, aor: u.AOR(), bindings: map[string]*binding{}}
		s.users[us.aor] = us
		s.byLogin[strings.ToLower(u.UserID)] = us
		if u.Domain != "" {
			s.byLogin[strings.ToLower(u.Domain+`\`+u.UserID)] = us
		}
	}
	certPEM, keyPEM, caPEM := cfg.CertPEM, cfg.KeyPEM, cfg.CACertPEM
	var pki *testPKI
	if len(certPEM) == 0 {
		// Certificates are checked by peers against their wall clock, not
		// against an injected test clock.
		var err error
		if pki, err = generatePKI(cfg.FQDN, time.Now(), cfg.RSACert); err != nil {
			return nil, err
		}
		certPEM, keyPEM, caPEM = pki.certPEM, pki.keyPEM, pki.caPEM
	}
	tc, err := tlsConfig(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	s.tlsConf, s.caPEM = tc, caPEM
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return nil, fmt.Errorf("labfe: listen %s: %w", cfg.ListenAddr, err)
	}
	s.ln = ln
	if err := s.setupDSK(pki, certPEM, keyPEM); err != nil {
		_ = ln.Close()
		return nil, err
	}
	return s, nil
}

// Addr returns the bound listen address, e.g. "127.0.0.1:40123".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Config returns the effective configuration (defaults applied).
func (s *Server) Config() Config { return s.cfg }

// CACertPEM returns the PEM of the CA that signed the server certificate
// (empty if a certificate was given without its CA).
func (s *Server) CACertPEM() []byte { return append([]byte(nil), s.caPEM...) }

// CAPool returns a pool holding CACertPEM, for a client's RootCAs.
func (s *Server) CAPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AppendCertsFromPEM(s.caPEM)
	return p
}

// Serve accepts TLS flows until ctx is done or Close is called; it then
// closes the server and returns nil. Any other accept failure is returned;
// Serve on a closed server returns ErrClosed.
func (s *Server) Serve(ctx context.Context) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return ErrClosed
	}
	stop := context.AfterFunc(ctx, func() { _ = s.Close() })
	defer stop()
	s.serveWeb()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed || ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			_ = s.Close()
			return fmt.Errorf("labfe: accept: %w", err)
		}
		if s.refuseWhileDown(c) {
			continue
		}
		tc := tls.Server(c, s.tlsConf)
		f := newFlow(tc)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = c.Close()
			return nil
		}
		s.flows[f] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveFlow(f)
	}
}

// Close stops accepting, closes every flow and waits for their goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closed = true
	err := s.ln.Close()
	for f := range s.flows {
		_ = f.c.Close()
	}
	s.mu.Unlock()
	s.stopEchoCalls()
	s.closeWeb()
	s.wg.Wait()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("labfe: close: %w", err)
	}
	return nil
}

// InjectFault answers the next n REGISTERs (before authentication) with
// status (e.g. 503, with Retry-After: 1 and an ms-diagnostics). n <= 0 clears.
func (s *Server) InjectFault(status, n int) {
	s.SetFault(Fault{Status: status, RetryAfter: time.Second, Count: max(n, 0)})
}

// SetFault installs f (a zero Fault clears it).
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// CloseFlows closes every TLS flow of the user aor (all flows if aor is
// "") with an orderly close (FIN), as a front end restart or failover
// would. It returns how many. CloseFlowsMode can reset them instead.
func (s *Server) CloseFlows(aor string) int { return s.CloseFlowsMode(aor, CloseFIN) }

func (s *Server) serveFlow(f *flow) {
	defer s.wg.Done()
	defer s.dropFlow(f)
	idle := 2 * s.cfg.KeepAliveTimeout
	for {
		_ = f.c.SetReadDeadline(time.Now().Add(idle))
		m, pings, err := sipmsg.Read(f.r)
		if pings > 0 {
			s.mu.Lock()
			if f.sa != nil {
				f.sa.user.st.KeepAlives += pings
			} else {
				s.orphan.KeepAlives += pings
			}
			s.mu.Unlock()
		}
		if err != nil {
			if errors.Is(err, sipmsg.ErrMalformed) {
				s.count(nil, func(st *UserStats) { st.Malformed++ })
				s.log.Info("labfe: malformed message, closing flow", "remote", f.c.RemoteAddr(), "err", err)
			}
			return
		}
		if m == nil {
			continue // keep-alive only
		}
		var keep bool
		if m.IsRequest() {
			keep = s.handleRequest(f, m)
		} else {
			keep = s.handleResponse(f, m)
		}
		if !keep {
			return
		}
	}
}

// dropFlow forgets a closed flow: its SA, pending challenges, bindings on
// it (a binding lives on its flow, as in Lync with TLS) and transactions.
func (s *Server) dropFlow(f *flow) {
	// State goes first, the socket last: a peer that sees the close can
	// rely on the binding being gone.
	defer func() {
		_ = f.c.Close()
		if s.onDrop != nil {
			s.onDrop()
		}
	}()
	s.mu.Lock()
	after := s.dropCallsLocked(f)
	defer after()
	defer s.mu.Unlock()
	delete(s.flows, f)
	delete(s.pending, f.pending)
	s.dskDropLocked(f)
	if f.sa != nil {
		delete(s.sas, f.sa.opaque)
	}
	for b, u := range f.bindings {
		if u.bindings[b.epid] == b {
			delete(u.bindings, b.epid)
		}
	}
	for k := range f.txKeys {
		delete(s.txs, k)
	}
	for k := range f.invKeys {
		delete(s.invites, k)
	}
}

// bindLocked records that b now lives on f. s.mu must be held.
func bindLocked(u *userState, b *binding, f *flow) {
	if b.flow != nil && b.flow != f {
		delete(b.flow.bindings, b)
	}
	b.flow = f
	f.bindings[b] = u
}

// unbindLocked removes u's binding for epid. s.mu must be held.
func unbindLocked(u *userState, epid string) {
	if b := u.bindings[epid]; b != nil {
		delete(b.flow.bindings, b)
		delete(u.bindings, epid)
	}
}

func (f *flow) send(m *sipmsg.Message) error {
	return f.sendSigned(nil, nil, m)
}

// sendSigned signs m with sa (when given, and unless m is a provisional
// response) and writes it, both under the flow's write lock: messages
// leave in snum order even when several flows' goroutines (and the echo
// bot) write to the same flow.
func (f *flow) sendSigned(s *Server, sa *secAssoc, m *sipmsg.Message) error {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	if s != nil && sa != nil && (m.IsRequest() || m.StatusCode >= 200) {
		s.sign(sa, m)
	}
	_ = f.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := f.c.Write(m.Marshal()); err != nil {
		return fmt.Errorf("labfe: write: %w", err)
	}
	return nil
}

func (s *Server) randHex(n int) string {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		// A failing rand source is a broken test setup; fall back to
		// crypto/rand rather than emit predictable tokens.
		_, _ = rand.Read(b)
	}
	return strings.ToUpper(hex.EncodeToString(b))
}

// response builds a response to req copying the RFC 3261 §8.2.6 headers;
// a To tag is added to final responses that lack one.
func (s *Server) response(req *sipmsg.Message, code int, reason string) *sipmsg.Message {
	r := &sipmsg.Message{StatusCode: code, Reason: reason}
	for _, v := range req.All("Via") {
		r.Add("Via", v)
	}
	r.Add("From", req.Value("From"))
	to := req.Value("To")
	if _, p := sipmsg.NameAddr(to); p["tag"] == "" && code >= 200 {
		to += ";tag=" + strings.ToLower(s.randHex(8))
	}
	r.Add("To", to)
	r.Add("Call-ID", req.Value("Call-ID"))
	r.Add("CSeq", req.Value("CSeq"))
	r.Add("Server", s.cfg.ServerHeader)
	return r
}

// sign adds Authentication-Info (MS-SIPAE 3.3.5.3) signed with sa.
func (s *Server) sign(sa *secAssoc, m *sipmsg.Message) {
	m.Del("Authentication-Info")
	m.Del("Proxy-Authentication-Info")
	s.mu.Lock()
	sa.snum++
	snum := strconv.FormatUint(sa.snum, 10)
	s.mu.Unlock()
	srand := s.randHex(4)
	if sa.dsk != nil {
		s.dskSign(sa, m, srand, snum)
		return
	}
	buf := fieldsOf(m).buffer("NTLM", srand, snum, s.cfg.FQDN)
	sig := sa.sess.Sign(buf, ntlmsrv.SIPSeqNum)
	m.Add(s.infoHeader(), fmt.Sprintf(`NTLM rspauth="%s", srand="%s", snum="%s", opaque="%s", qop="auth", targetname="%s", realm="%s", version=4`,
		strings.ToUpper(hex.EncodeToString(sig)), srand, snum, sa.opaque, s.cfg.FQDN, realm))
}

// reply sends a response on f, signed when an SA is given (1xx never are).
func (s *Server) reply(f *flow, sa *secAssoc, r *sipmsg.Message) bool {
	if err := f.sendSigned(s, sa, r); err != nil {
		s.log.Debug("labfe: send failed", "err", err)
		return false
	}
	return true
}

func (s *Server) challenge401(req *sipmsg.Message, diag string) *sipmsg.Message {
	code, reason := s.challengeStatus()
	r := s.response(req, code, reason)
	if !s.cfg.TLSDSKOnly {
		r.Add(s.challengeHeader(), fmt.Sprintf(`NTLM realm="%s", targetname="%s", version=4`, realm, s.cfg.FQDN))
	}
	s.dskChallenge(r)
	r.Add("Date", s.now().UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT")) // RFC 3261 §20.17: rfc1123-date in GMT
	if diag != "" {
		r.Add("ms-diagnostics", diag+`;source="`+s.cfg.FQDN+`"`)
	}
	return r
}

func (s *Server) failure(req *sipmsg.Message, code int, reason, diag string) *sipmsg.Message {
	r := s.response(req, code, reason)
	r.Add("ms-diagnostics", diag+`;source="`+s.cfg.FQDN+`"`)
	return r
}

func (s *Server) count(u *userState, fn func(*UserStats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u != nil {
		fn(&u.st)
	} else {
		fn(&s.orphan)
	}
}

// authorization returns the client's auth header (Authorization, or
// Proxy-Authorization from the OCS 2007 family).
func authorization(m *sipmsg.Message) (string, bool) {
	if v, ok := m.Get("Authorization"); ok {
		return v, true
	}
	return m.Get("Proxy-Authorization")
}

// verdict of verifying a signed client message.
type verdict int

const (
	vOK verdict = iota
	vNoSA
	vBadHeader
	vBadSig
	vReplay
)

// verify checks the client's signature on m against the flow's SA:
// opaque names this flow's SA, the SA is within its lifetime, the
// signature verifies over the version-4 buffer, and cnum increases.
func (s *Server) verify(f *flow, m *sipmsg.Message, a authParams) (*secAssoc, verdict) {
	s.mu.Lock()
	sa := s.sas[a.get("opaque")]
	if sa != nil && (sa.flow != f || s.now().Sub(sa.created) >= s.cfg.SALifetime || s.dskExpired(sa)) {
		if sa.flow == f { // expired: forget it, the client must re-authenticate
			delete(s.sas, sa.opaque)
			f.sa = nil
		}
		sa = nil
	}
	s.mu.Unlock()
	if sa == nil {
		return nil, vNoSA
	}
	rnd, num, resp := a.get("crand"), a.get("cnum"), a.get("response")
	if rnd == "" || num == "" || resp == "" {
		return sa, vBadHeader
	}
	cnum, err := strconv.ParseUint(num, 10, 63)
	if err != nil || cnum == 0 {
		return sa, vBadHeader
	}
	if sa.dsk != nil {
		if !s.dskVerify(sa, m, a) {
			return sa, vBadSig
		}
	} else {
		sig, err := hex.DecodeString(resp)
		if err != nil || len(sig) != 16 {
			return sa, vBadSig
		}
		if a.scheme != "NTLM" || a.get("realm") != realm || a.get("targetname") != s.cfg.FQDN {
			return sa, vBadSig
		}
		buf := fieldsOf(m).buffer(a.scheme, rnd, num, s.cfg.FQDN)
		if sa.sess.Verify(buf, sig, ntlmsrv.SIPSeqNum) != nil {
			return sa, vBadSig
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !sa.fresh(cnum) {
		return sa, vReplay
	}
	return sa, vOK
}

// cnumWindow is how far behind the highest cnum seen a message may arrive:
// a client signs requests on several goroutines and may write them out of
// order (auth/sipae keeps the same window for snum). Each cnum is accepted
// once; anything older than the window is refused.
const cnumWindow = 64

// fresh records cnum and reports whether it was never seen before and is
// within the window (a sliding bitmap, as RFC 3711 §3.3.2 does for SRTP).
// s.mu must be held.
func (sa *secAssoc) fresh(cnum uint64) bool {
	switch {
	case cnum > sa.lastCnum:
		if d := cnum - sa.lastCnum; d >= cnumWindow {
			sa.seen = 0
		} else {
			sa.seen <<= d
		}
		sa.seen |= 1
		sa.lastCnum = cnum
		return true
	case sa.lastCnum-cnum >= cnumWindow:
		return false
	}
	bit := uint64(1) << (sa.lastCnum - cnum)
	if sa.seen&bit != 0 {
		return false
	}
	sa.seen |= bit
	return true
}

// reject answers a failed verification; it reports whether the flow stays.
func (s *Server) reject(f *flow, req *sipmsg.Message, sa *secAssoc, v verdict) bool {
	var u *userState
	if sa != nil {
		u = sa.user
	}
	switch v {
	case vNoSA:
		return s.reply(f, nil, s.challenge401(req, diagNoSA))
	case vBadHeader:
		s.count(u, func(st *UserStats) { st.Malformed++ })
		return s.reply(f, sa, s.failure(req, 400, "Bad Request", diagBadAuthHeader))
	case vReplay:
		s.count(u, func(st *UserStats) { st.Replays++ })
		return s.reply(f, sa, s.failure(req, 403, "Forbidden", diagReplay))
	default: // vBadSig: a forged or corrupted message; answer, then close the flow
		s.count(u, func(st *UserStats) { st.BadSignatures++ })
		s.reply(f, sa, s.failure(req, 403, "Forbidden", diagBadSignature))
		s.log.Info("labfe: bad signature, closing flow", "remote", f.c.RemoteAddr())
		return false
	}
}

func (s *Server) handleRequest(f *flow, req *sipmsg.Message) bool {
	if req.Method != "REGISTER" {
		if handled, keep := s.applyFault(f, req, false); handled {
			return keep
		}
	}
	if req.Method == "REGISTER" {
		return s.handleRegister(f, req)
	}
	hdr, ok := authorization(req)
	if !ok {
		if req.Method == "ACK" {
			return true // nothing to answer
		}
		return s.reply(f, nil, s.challenge401(req, ""))
	}
	a, err := parseAuth(hdr)
	if err != nil {
		s.count(nil, func(st *UserStats) { st.Malformed++ })
		return s.reply(f, nil, s.failure(req, 400, "Bad Request", diagBadAuthHeader))
	}
	sa, v := s.verify(f, req, a)
	if v != vOK {
		return s.reject(f, req, sa, v)
	}
	fromURI, fp := sipmsg.NameAddr(req.Value("From"))
	if aorOf(fromURI) != sa.user.aor {
		return s.reply(f, sa, s.failure(req, 403, "Forbidden", diagNotAuthorized))
	}
	if !s.consistent(f, sa, fp["epid"], req.Value("Contact")) {
		s.count(sa.user, func(st *UserStats) { st.InstanceMismatches++ })
		return s.reply(f, sa, s.failure(req, 403, "Forbidden", diagInstance))
	}
	return s.route(f, sa, req)
}

// consistent applies MS-SIPAE 3.3.5.2 to a request on a registered flow:
// the endpoint identifiers it carries (From epid, Contact GRUU, Contact
// +sip.instance) must all name this flow's registered endpoint of the
// authenticated user. A flow with no binding yet (e.g. a SUBSCRIBE racing
// the REGISTER) is not checked, and absent identifiers are fine.
func (s *Server) consistent(f *flow, sa *secAssoc, epid, contact string) bool {
	curi, cp := sipmsg.NameAddr(contact)
	s.mu.Lock()
	defer s.mu.Unlock()
	var mine []*binding
	for b, u := range f.bindings {
		if u == sa.user {
			mine = append(mine, b)
		}
	}
	if len(mine) == 0 {
		return true
	}
	match := func(ok func(*binding) bool) bool {
		for _, b := range mine {
			if ok(b) {
				return true
			}
		}
		return false
	}
	if epid != "" && !match(func(b *binding) bool { return b.epid == epid }) {
		return false
	}
	if v, ok := cp["+sip.instance"]; ok {
		inst := instanceOf(v)
		if !match(func(b *binding) bool { return b.instance == inst || instanceFromEpid(b.epid) == inst }) {
			return false
		}
	}
	if _, up := sipmsg.NameAddr(curi); curi != "" { // no <>: the URI's own parameters
		if _, g := up["gruu"]; g {
			if aorOf(curi) != sa.user.aor || !match(func(b *binding) bool { return b.gruuOpaque == up["opaque"] }) {
				return false
			}
		}
	}
	return true
}

// lockedReader serialises an injected rand source: flows run concurrently
// and seeded test readers are not safe for concurrent use.
type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p) //nolint:wrapcheck // transparent wrapper
}

// The 401 family is Lync 2013's; Config.ProxyAuth selects the OCS 2007 407
// family instead (protocols.md §2.1, pitfall 4).
func (s *Server) challengeStatus() (int, string) {
	if s.cfg.ProxyAuth {
		return 407, "Proxy Authentication Required"
	}
	return 401, "Unauthorized"
}

func (s *Server) challengeHeader() string {
	if s.cfg.ProxyAuth {
		return "Proxy-Authenticate"
	}
	return "WWW-Authenticate"
}

func (s *Server) infoHeader() string {
	if s.cfg.ProxyAuth {
		return "Proxy-Authentication-Info"
	}
	return "Authentication-Info"
}
