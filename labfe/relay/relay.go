// Package relay is labfe's MS-TURN relay: the A/V Edge media relay a Lync
// pool hands out through MRAS (protocols.md §8, §9). No Debian package speaks
// MS-TURN, so labfe carries its own. It shares only the vector-checked codec
// media/msturn with the handset; the allocation state machine here is the
// server's own.
//
// What it enforces, as the Edge does: the MAGIC-COOKIE attribute first
// (others are ignored, [MS-TURN] 3.1.10); a 401 challenge with REALM (0x0015)
// and NONCE (0x0014) before any allocation; long-term MESSAGE-INTEGRITY with
// credentials MRAS issued and that have not expired (438 for a stale nonce);
// the MS-SEQUENCE-NUMBER connection ID on Send and Set Active Destination.
// It relays between allocations and any peer the client has sent to
// (implicit permissions, turn-08), framing data as Data Indications, or raw
// for the active destination.
package relay

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/handset-dev/handset/media/msturn"
)

// Defaults.
const (
	DefaultRealm         = "SIP"
	DefaultMaxLifetime   = 10 * time.Minute
	DefaultNonceLifetime = time.Hour
)

// Credentials answers which password a relay user name has now. labfe's
// MRAS service issues them (Store implements it).
type Credentials interface {
	Password(username string) (string, bool)
}

// Config configures a relay. Zero fields take the defaults.
type Config struct {
	ListenUDP     string // e.g. 127.0.0.1:0; empty: no UDP listener
	ListenTCP     string // e.g. 127.0.0.1:0; empty: no TCP listener
	Realm         string
	MaxLifetime   time.Duration // longest lifetime granted
	NonceLifetime time.Duration // a nonce older than this gets 438
	// Alternate, when set ("ip:port"), answers every unauthenticated
	// Allocate with 300 Try Alternate pointing there (an Edge pool
	// redirecting its clients).
	Alternate string
}

// Option configures collaborators.
type Option func(*Server) error

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(s *Server) error { s.log = l; return nil } }

// WithClock sets the clock used for nonce and credential expiry.
func WithClock(now func() time.Time) Option { return func(s *Server) error { s.now = now; return nil } }

// WithRand sets the entropy source (nonces, connection IDs).
func WithRand(r io.Reader) Option { return func(s *Server) error { s.rand = r; return nil } }

// Stats counts what the relay did.
type Stats struct {
	Allocations   int // live allocations
	Allocated     int // successful Allocates (including refreshes)
	Challenges    int // 401s sent
	Rejected      int // integrity or credential failures
	RelayedToPeer int // packets sent out of relayed sockets
	RelayedToUser int // packets delivered to clients
	ActiveDests   int // Set Active Destination requests accepted
	RawFromUser   int // packets clients sent raw to their active destination
}

// Server is a running relay.
type Server struct {
	cfg    Config
	creds  Credentials
	log    *slog.Logger
	now    func() time.Time
	rand   io.Reader
	randMu sync.Mutex // io.Readers such as a seeded test source are not goroutine-safe
	secret [32]byte

	udp *net.UDPConn
	tcp net.Listener

	mu      sync.Mutex
	allocs  map[string]*allocation // by client transport key
	stats   Stats
	closing bool
	conns   map[net.Conn]struct{}

	wg   sync.WaitGroup
	once sync.Once
}

// allocation is one client's relayed transport address.
type allocation struct {
	key     string // client transport key
	client  netip.AddrPort
	send    func(ft msturn.FrameType, b []byte) error // towards the client
	relay   *net.UDPConn
	relayed netip.AddrPort
	connID  [20]byte
	expires time.Time
	timer   *time.Timer

	// guarded by Server.mu
	permitted map[netip.AddrPort]bool
	active    netip.AddrPort
	lastSeq   uint32
}

// New binds the listeners. Serve runs them.
func New(cfg Config, creds Credentials, opts ...Option) (*Server, error) {
	if cfg.ListenUDP == "" && cfg.ListenTCP == "" {
		return nil, errors.New("relay: no listen address")
	}
	if cfg.Realm == "" {
		cfg.Realm = DefaultRealm
	}
	if cfg.MaxLifetime == 0 {
		cfg.MaxLifetime = DefaultMaxLifetime
	}
	if cfg.NonceLifetime == 0 {
		cfg.NonceLifetime = DefaultNonceLifetime
	}
	s := &Server{cfg: cfg, creds: creds, log: slog.New(slog.DiscardHandler), now: time.Now, rand: rand.Reader,
		allocs: map[string]*allocation{}, conns: map[net.Conn]struct{}{}}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	if err := s.random(s.secret[:]); err != nil {
		return nil, fmt.Errorf("relay: secret: %w", err)
	}
	if cfg.ListenUDP != "" {
		a, err := net.ResolveUDPAddr("udp", cfg.ListenUDP)
		if err != nil {
			return nil, fmt.Errorf("relay: %w", err)
		}
		if s.udp, err = net.ListenUDP("udp", a); err != nil {
			return nil, fmt.Errorf("relay: listen udp: %w", err)
		}
	}
	if cfg.ListenTCP != "" {
		ln, err := net.Listen("tcp", cfg.ListenTCP)
		if err != nil {
			if s.udp != nil {
				_ = s.udp.Close()
			}
			return nil, fmt.Errorf("relay: listen tcp: %w", err)
		}
		s.tcp = ln
	}
	return s, nil
}

// UDPAddr is the UDP listen address (invalid when not listening on UDP).
func (s *Server) UDPAddr() netip.AddrPort {
	if s.udp == nil {
		return netip.AddrPort{}
	}
	return s.udp.LocalAddr().(*net.UDPAddr).AddrPort()
}

// TCPAddr is the TCP listen address.
func (s *Server) TCPAddr() netip.AddrPort {
	if s.tcp == nil {
		return netip.AddrPort{}
	}
	return s.tcp.Addr().(*net.TCPAddr).AddrPort()
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Allocations = len(s.allocs)
	return st
}

// Serve runs the listeners until ctx ends or Close is called.
func (s *Server) Serve(ctx context.Context) error {
	if s.udp != nil {
		s.wg.Add(1)
		go s.serveUDP()
	}
	if s.tcp != nil {
		s.wg.Add(1)
		go s.acceptTCP()
	}
	stop := context.AfterFunc(ctx, func() { _ = s.Close() })
	defer stop()
	s.wg.Wait()
	return nil
}

// Close stops the listeners and every allocation and waits for their
// goroutines. Idempotent.
func (s *Server) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		s.closing = true
		for _, a := range s.allocs {
			s.dropLocked(a)
		}
		for c := range s.conns {
			_ = c.Close()
		}
		s.mu.Unlock()
		if s.udp != nil {
			_ = s.udp.Close()
		}
		if s.tcp != nil {
			_ = s.tcp.Close()
		}
	})
	s.wg.Wait()
	return nil
}

func (s *Server) serveUDP() {
	defer s.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, from, err := s.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		b := append([]byte(nil), buf[:n]...)
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		send := func(_ msturn.FrameType, p []byte) error {
			_, err := s.udp.WriteToUDPAddrPort(p, from)
			return err
		}
		ft := msturn.FrameData
		if msturn.IsMessage(b) {
			ft = msturn.FrameControl
		}
		s.handle("udp/"+from.String(), from, send, ft, b)
	}
}

func (s *Server) acceptTCP() {
	defer s.wg.Done()
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			_ = c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serveTCP(c)
	}
}

func (s *Server) serveTCP(c net.Conn) {
	defer s.wg.Done()
	from := c.RemoteAddr().(*net.TCPAddr).AddrPort()
	key := "tcp/" + from.String()
	var wmu sync.Mutex
	send := func(ft msturn.FrameType, p []byte) error {
		f, err := msturn.AppendFrame(nil, ft, p)
		if err != nil {
			return err
		}
		wmu.Lock()
		defer wmu.Unlock()
		_, err = c.Write(f)
		return err
	}
	defer func() {
		_ = c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		if a := s.allocs[key]; a != nil {
			s.dropLocked(a) // a TCP allocation lives as long as its connection
		}
		s.mu.Unlock()
	}()
	for {
		ft, p, err := msturn.ReadFrame(c)
		if err != nil {
			return
		}
		s.handle(key, from, send, ft, p)
	}
}

// handle processes one message or data chunk from a client.
func (s *Server) handle(key string, from netip.AddrPort, send func(msturn.FrameType, []byte) error, ft msturn.FrameType, b []byte) {
	if ft == msturn.FrameData {
		s.mu.Lock()
		a := s.allocs[key]
		var dst netip.AddrPort
		if a != nil {
			dst = a.active
		}
		s.mu.Unlock()
		if dst.IsValid() {
			s.mu.Lock()
			s.stats.RawFromUser++
			s.mu.Unlock()
			s.toPeer(a, dst, b)
		}
		return
	}
	m, err := msturn.Parse(b)
	if err != nil {
		return // [MS-TURN] 3.1.10: not ours, ignore
	}
	switch m.Type {
	case msturn.TypeAllocateRequest:
		s.allocate(key, from, send, m, b)
	case msturn.TypeSendRequest:
		s.sendRequest(key, m, b)
	case msturn.TypeSetActiveDestRequest:
		s.setActive(key, send, m, b)
	}
}

func (s *Server) reply(send func(msturn.FrameType, []byte) error, m *msturn.Message) {
	_ = send(msturn.FrameControl, m.Marshal())
}

func (s *Server) errorResponse(t msturn.MessageType, req *msturn.Message, code int, reason string) *msturn.Message {
	r := msturn.NewMessage(t, req.TransactionID)
	r.AddErrorCode(code, reason)
	return r
}

func (s *Server) addSelfAlternate(key string, r *msturn.Message) {
	self := s.UDPAddr()
	if strings.HasPrefix(key, "tcp/") {
		self = s.TCPAddr()
	}
	if self.IsValid() {
		r.AddAddress(msturn.AttrAlternateServer, self)
	}
}

func (s *Server) random(b []byte) error {
	s.randMu.Lock()
	defer s.randMu.Unlock()
	_, err := io.ReadFull(s.rand, b)
	return err
}

// nonce is the expiry time and a MAC over it: stateless, so any nonce this
// relay issued verifies until it expires.
func (s *Server) nonce() string {
	exp := strconv.FormatInt(s.now().Add(s.cfg.NonceLifetime).Unix(), 16)
	return exp + s.nonceMAC(exp)
}

func (s *Server) nonceMAC(exp string) string {
	h := hmac.New(sha256.New, s.secret[:])
	h.Write([]byte(exp))
	return hex.EncodeToString(h.Sum(nil)[:8])
}

func (s *Server) nonceValid(n string) bool {
	if len(n) <= 16 {
		return false
	}
	exp, mac := n[:len(n)-16], n[len(n)-16:]
	if !hmac.Equal([]byte(mac), []byte(s.nonceMAC(exp))) {
		return false
	}
	t, err := strconv.ParseInt(exp, 16, 64)
	return err == nil && s.now().Unix() < t
}

func (s *Server) challenge(key string, send func(msturn.FrameType, []byte) error, req *msturn.Message, code int, reason string) {
	r := s.errorResponse(msturn.TypeAllocateError, req, code, reason)
	r.AddString(msturn.AttrRealm, s.cfg.Realm)
	r.AddString(msturn.AttrNonce, s.nonce())
	r.AddUint32(msturn.AttrMSVersion, 1)
	// Like the Edge, name ourselves as the alternate server in errors
	// (protocols.md §9); clients must not switch to the same server.
	s.addSelfAlternate(key, r)
	s.mu.Lock()
	s.stats.Challenges++
	s.mu.Unlock()
	s.reply(send, r)
}

// authenticate checks USERNAME and MESSAGE-INTEGRITY of raw against the
// credentials MRAS issued, with this relay's realm. It returns the key.
func (s *Server) authenticate(m *msturn.Message, raw []byte) (msturn.Key, string, bool) {
	user, ok := m.Text(msturn.AttrUsername)
	if !ok {
		return msturn.Key{}, "", false
	}
	pass, ok := s.creds.Password(user)
	if !ok {
		return msturn.Key{}, user, false
	}
	k := msturn.LongTermKey(user, s.cfg.Realm, pass)
	if msturn.CheckIntegrity(raw, k) != nil {
		return msturn.Key{}, user, false
	}
	return k, user, true
}

func (s *Server) reject() {
	s.mu.Lock()
	s.stats.Rejected++
	s.mu.Unlock()
}

func (s *Server) allocate(key string, from netip.AddrPort, send func(msturn.FrameType, []byte) error, m *msturn.Message, raw []byte) {
	if s.cfg.Alternate != "" {
		if alt, err := netip.ParseAddrPort(s.cfg.Alternate); err == nil {
			r := s.errorResponse(msturn.TypeAllocateError, m, msturn.CodeTryAlternate, "Try Alternate")
			r.AddAddress(msturn.AttrAlternateServer, alt)
			s.reply(send, r)
			return
		}
	}
	if _, ok := m.Get(msturn.AttrMessageIntegrity); !ok {
		s.challenge(key, send, m, msturn.CodeUnauthorized, "Unauthorized")
		return
	}
	if n, _ := m.Text(msturn.AttrNonce); !s.nonceValid(n) {
		s.challenge(key, send, m, msturn.CodeStaleNonce, "Stale Nonce")
		return
	}
	if r, _ := m.Text(msturn.AttrRealm); r != s.cfg.Realm {
		s.reject()
		s.challenge(key, send, m, msturn.CodeUnauthorized, "Unauthorized")
		return
	}
	k, user, ok := s.authenticate(m, raw)
	if !ok {
		s.reject()
		s.log.Debug("relay: allocate rejected", "user", user, "from", from)
		s.challenge(key, send, m, msturn.CodeUnauthorized, "Unauthorized")
		return
	}
	life := s.cfg.MaxLifetime
	if l, err := m.Uint32(msturn.AttrLifetime); err == nil && time.Duration(l)*time.Second < life {
		life = time.Duration(l) * time.Second
	}

	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return
	}
	a := s.allocs[key]
	if life == 0 {
		if a != nil {
			s.dropLocked(a)
		}
		s.mu.Unlock()
		r := msturn.NewMessage(msturn.TypeAllocateResponse, m.TransactionID)
		r.AddUint32(msturn.AttrLifetime, 0)
		r.AddIntegrity(k)
		s.reply(send, r)
		return
	}
	if a == nil {
		var err error
		a, err = s.newAllocationLocked(key, from, send)
		if err != nil {
			s.mu.Unlock()
			s.log.Warn("relay: allocation failed", "err", err)
			s.reply(send, s.errorResponse(msturn.TypeAllocateError, m, msturn.CodeInsufficientCap, "Insufficient Capacity"))
			return
		}
	}
	a.expires = s.now().Add(life)
	a.timer.Reset(life)
	s.stats.Allocated++
	relayed, connID := a.relayed, a.connID
	s.mu.Unlock()

	r := msturn.NewMessage(msturn.TypeAllocateResponse, m.TransactionID)
	r.AddAddress(msturn.AttrMappedAddress, relayed)
	r.AddXORAddress(msturn.AttrMSXORMappedAddress, from)
	r.AddUint32(msturn.AttrLifetime, uint32(life/time.Second))
	if v, err := m.Uint32(msturn.AttrMSVersion); err == nil {
		r.AddUint32(msturn.AttrMSVersion, v) // responses echo MS-VERSION
	}
	r.AddSequenceNumber(msturn.SequenceNumber{ConnectionID: connID})
	r.AddIntegrity(k)
	s.log.Debug("relay: allocated", "user", user, "client", from, "relayed", relayed, "lifetime", life)
	s.reply(send, r)
}

func (s *Server) newAllocationLocked(key string, from netip.AddrPort, send func(msturn.FrameType, []byte) error) (*allocation, error) {
	ip := s.UDPAddr().Addr()
	if !ip.IsValid() {
		ip = s.TCPAddr().Addr()
	}
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
	if err != nil {
		return nil, err
	}
	a := &allocation{key: key, client: from, send: send, relay: pc,
		relayed: pc.LocalAddr().(*net.UDPAddr).AddrPort(), permitted: map[netip.AddrPort]bool{}}
	_ = s.random(a.connID[:])
	a.timer = time.AfterFunc(time.Hour, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.allocs[key] == a && !s.now().Before(a.expires) {
			s.log.Debug("relay: allocation expired", "client", from)
			s.dropLocked(a)
		}
	})
	s.allocs[key] = a
	s.wg.Add(1)
	go s.relayLoop(a)
	return a, nil
}

func (s *Server) dropLocked(a *allocation) {
	if s.allocs[a.key] == a {
		delete(s.allocs, a.key)
	}
	a.timer.Stop()
	_ = a.relay.Close()
}

// relayLoop forwards what peers send to the relayed address to the client:
// raw from the active destination, else as a Data Indication, and only from
// peers the client has sent to.
func (s *Server) relayLoop(a *allocation) {
	defer s.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, peer, err := a.relay.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		peer = netip.AddrPortFrom(peer.Addr().Unmap(), peer.Port())
		s.mu.Lock()
		ok, active := a.permitted[peer], a.active
		if ok {
			s.stats.RelayedToUser++
		}
		s.mu.Unlock()
		if !ok {
			continue
		}
		if peer == active {
			_ = a.send(msturn.FrameData, append([]byte(nil), buf[:n]...))
			continue
		}
		var tid [16]byte
		_ = s.random(tid[4:])
		binary.BigEndian.PutUint32(tid[:4], 0x2112A442)
		di := msturn.NewMessage(msturn.TypeDataIndication, tid)
		di.AddAddress(msturn.AttrRemoteAddress, peer)
		di.Add(msturn.AttrData, buf[:n])
		_ = a.send(msturn.FrameControl, di.Marshal())
	}
}

// sequenced authenticates a Send or Set Active Destination and checks its
// MS-SEQUENCE-NUMBER connection ID against the allocation.
func (s *Server) sequenced(key string, m *msturn.Message, raw []byte) (*allocation, msturn.Key, bool) {
	s.mu.Lock()
	a := s.allocs[key]
	s.mu.Unlock()
	if a == nil {
		return nil, msturn.Key{}, false
	}
	k, _, ok := s.authenticate(m, raw)
	if !ok {
		s.reject()
		return nil, msturn.Key{}, false
	}
	seq, err := m.SequenceNumber()
	if err != nil || seq.ConnectionID != a.connID {
		s.reject()
		return nil, msturn.Key{}, false
	}
	s.mu.Lock()
	if seq.Seq > a.lastSeq {
		a.lastSeq = seq.Seq
	}
	s.mu.Unlock()
	return a, k, true
}

func (s *Server) sendRequest(key string, m *msturn.Message, raw []byte) {
	a, _, ok := s.sequenced(key, m, raw)
	if !ok {
		return // Send requests get no response, not even an error
	}
	dst, err := m.Address(msturn.AttrDestinationAddress)
	data, has := m.Get(msturn.AttrData)
	if err != nil || !has {
		return
	}
	s.mu.Lock()
	a.permitted[dst] = true
	s.mu.Unlock()
	s.toPeer(a, dst, data)
}

func (s *Server) toPeer(a *allocation, dst netip.AddrPort, data []byte) {
	if _, err := a.relay.WriteToUDPAddrPort(data, dst); err == nil {
		s.mu.Lock()
		s.stats.RelayedToPeer++
		s.mu.Unlock()
	}
}

func (s *Server) setActive(key string, send func(msturn.FrameType, []byte) error, m *msturn.Message, raw []byte) {
	a, k, ok := s.sequenced(key, m, raw)
	if !ok {
		s.reply(send, s.errorResponse(msturn.TypeSetActiveDestError, m, msturn.CodeUnauthorized, "Unauthorized"))
		return
	}
	dst, err := m.Address(msturn.AttrDestinationAddress)
	s.mu.Lock()
	if err != nil {
		a.active = netip.AddrPort{} // no destination: back to Send / Data Indication
	} else {
		a.active = dst
		a.permitted[dst] = true
	}
	s.stats.ActiveDests++
	s.mu.Unlock()
	r := msturn.NewMessage(msturn.TypeSetActiveDestResponse, m.TransactionID)
	r.AddIntegrity(k)
	s.reply(send, r)
}
