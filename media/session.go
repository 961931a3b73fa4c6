package media

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/bits"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"sync"

	"github.com/handset-dev/handset/media/rtp"
	"github.com/handset-dev/handset/media/sdp"
	"github.com/handset-dev/handset/media/srtp"
)

// Option sets a Session collaborator (STYLE.md rule 3).
type Option func(*Session) error

// WithLogger injects a logger (default: discard). SDP bodies are logged at
// Debug with keys redacted.
func WithLogger(l *slog.Logger) Option {
	return func(s *Session) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrConfig)
		}
		s.log = l
		return nil
	}
}

// WithRand injects the randomness for keys, SSRC, sequence and timestamp
// origins, the o= session id and the port choice (default crypto/rand).
func WithRand(r io.Reader) Option {
	return func(s *Session) error {
		if r == nil {
			return fmt.Errorf("%w: nil rand", ErrConfig)
		}
		s.rand = r
		return nil
	}
}

// WithClock injects the clock and packet ticker of the streams (default
// rtp.SystemClock).
func WithClock(c rtp.Clock) Option {
	return func(s *Session) error {
		if c == nil {
			return fmt.Errorf("%w: nil clock", ErrConfig)
		}
		s.clock = c
		return nil
	}
}

// WithMKICounter shares one MKI counter between the calls of a handset, so
// that with sec.srtp.mki.startSessionAtOne=0 the MKI keeps incrementing for
// each new key across calls (seed); by default each Session counts alone.
// Its length must be the Config's MKILength.
func WithMKICounter(c *srtp.MKICounter) Option {
	return func(s *Session) error {
		if c == nil {
			return fmt.Errorf("%w: nil mki counter", ErrConfig)
		}
		s.mkis = c
		return nil
	}
}

// Stats is a call's media statistics: the stream counters of media/rtp
// (sent, received, lost, late, jitter, SRTP auth failures, replay drops,
// MKI mismatches) summed over every stream the call used, plus the SRTP
// state.
type Stats struct {
	rtp.Stats
	// Rekeys counts changes of our send key after the first exchange
	// (rekey, hold/resume with a new key).
	Rekeys uint64
	// Codec is the negotiated codec ("PCMU"), "" before a negotiation.
	Codec string
	// Encrypted reports SRTP on the last exchange; MKI that our send key
	// carries an MKI.
	Encrypted, MKI bool
	// Sending reports whether the last exchange lets us send.
	Sending bool
}

// Session is one call's media leg. Its methods are safe for concurrent
// use; Start's goroutines stop on Close.
type Session struct {
	cfg      Config
	log      *slog.Logger
	rand     io.Reader
	clock    rtp.Clock
	lifetime uint64 // KeyLifetime rounded down to a power of 2 (a=crypto)

	rtpConn, rtcpConn *net.UDPConn // nil with a transport
	transport         *Transport   // WithTransport; nil: own sockets
	mkis              *srtp.MKICounter
	rekeyCh           chan struct{}
	prot              protector
	sessID            uint64
	ssrc              uint32
	seq0              uint16
	ts0               uint32

	mu      sync.Mutex
	state   State
	version uint64
	sdpOut  bool          // an SDP has been written (the next one bumps version)
	wantDir sdp.Direction // our last requested direction (hold)

	key []byte // our negotiated send key ‖ salt, nil before any
	mki uint32 // its MKI value

	pendOffer *sdp.Session
	pendKey   []byte
	pendMKI   uint32
	pendDir   sdp.Direction

	res      *sdp.Result
	srtpSess *srtp.Session
	sendKey  srtp.Key
	recvKeys []srtp.Key // receive keys the session holds, oldest first
	rekeys   uint64

	stream     *rtp.Stream
	streamPar  streamParams
	base       rtp.Stats // totals of replaced streams
	sentBefore uint64    // packets sent by replaced streams (sequence continuity)
	sending    bool

	swapCh  chan swapReq
	closing chan struct{}
	exited  chan struct{} // closed when the run goroutine returns; nil before Start
	wg      sync.WaitGroup

	errMu  sync.Mutex
	runErr error

	closeOnce sync.Once
	final     *Stats
}

// streamParams are what a running stream cannot change; SRTP on/off and
// keys switch inside the protector, the direction with SetSending.
type streamParams struct {
	remote, remoteRTCP netip.AddrPort
	codec              sdp.Codec
}

type swapReq struct {
	next *rtp.Stream
	old  chan rtp.Stats // the replaced stream's final stats
}

// NewSession validates cfg and binds the RTP and RTCP sockets on
// cfg.LocalIP. It starts no goroutines.
func NewSession(cfg Config, opts ...Option) (*Session, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Session{cfg: cfg, log: slog.New(slog.DiscardHandler), rand: crand.Reader, clock: rtp.SystemClock{},
		rekeyCh: make(chan struct{}, 1), swapCh: make(chan swapReq), closing: make(chan struct{}),
		wantDir: sdp.SendRecv}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	if cfg.KeyLifetime != 0 {
		// media/sdp writes only powers of 2 (RFC 4568 examples; MS-SDPEXT);
		// the .cfg allows any integer ≥ 1024, so round down: re-keying
		// early is safe, late is not.
		s.lifetime = 1 << (bits.Len64(cfg.KeyLifetime) - 1)
	}
	var err error
	if s.mkis == nil {
		if s.mkis, err = srtp.NewMKICounter(cfg.mkiLength(), cfg.MKIStartSessionAtOne); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
	} else if s.mkis.Length() != cfg.mkiLength() {
		return nil, fmt.Errorf("%w: shared mki counter has %d-byte values, sec.srtp.mki.length is %d", ErrConfig, s.mkis.Length(), cfg.mkiLength())
	}
	var rnd [14]byte
	if _, err = io.ReadFull(s.rand, rnd[:]); err != nil {
		return nil, fmt.Errorf("media: rand: %w", err)
	}
	s.ssrc = binary.BigEndian.Uint32(rnd[0:]) | 1 // never 0: a=x-ssrc-range needs a non-zero end
	s.seq0 = binary.BigEndian.Uint16(rnd[4:])
	s.ts0 = binary.BigEndian.Uint32(rnd[6:])
	s.sessID = uint64(binary.BigEndian.Uint32(rnd[10:]) >> 1)
	if s.transport != nil {
		return s, nil
	}
	if s.rtpConn, s.rtcpConn, err = bindPair(cfg, rnd[10]); err != nil {
		return nil, err
	}
	if cfg.DSCP != 0 {
		for _, c := range []*net.UDPConn{s.rtpConn, s.rtcpConn} {
			if err := rtp.SetDSCP(c, cfg.DSCP); err != nil {
				s.log.Warn("media: cannot set dscp", "dscp", cfg.DSCP, "err", err)
			}
		}
	}
	return s, nil
}

// bindPair binds RTP on an even port of the range and RTCP on the next one
// (RFC 3550 §11), or two ephemeral ports (RTCP on RTP+1 when free) without
// a range.
func bindPair(cfg Config, seed byte) (*net.UDPConn, *net.UDPConn, error) {
	ip := net.IP(cfg.LocalIP.AsSlice())
	if cfg.PortMin == 0 {
		a, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %v: %w", ErrBind, cfg.LocalIP, err)
		}
		p := a.LocalAddr().(*net.UDPAddr).Port
		if p < 65535 {
			if b, berr := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: p + 1}); berr == nil {
				return a, b, nil
			}
		}
		b, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
		if err != nil {
			_ = a.Close()
			return nil, nil, fmt.Errorf("%w: %v: %w", ErrBind, cfg.LocalIP, err)
		}
		return a, b, nil
	}
	lo := cfg.PortMin + cfg.PortMin%2
	n := (cfg.PortMax - lo) / 2 // even ports p with p+1 ≤ PortMax
	if n <= 0 {
		return nil, nil, fmt.Errorf("%w: no even port pair in %d-%d", ErrBind, cfg.PortMin, cfg.PortMax)
	}
	var lastErr error
	for i := range n {
		p := lo + 2*((int(seed)+i)%n)
		a, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: p})
		if err != nil {
			lastErr = err
			continue
		}
		b, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: p + 1})
		if err != nil {
			_ = a.Close()
			lastErr = err
			continue
		}
		return a, b, nil
	}
	return nil, nil, fmt.Errorf("%w: range %d-%d exhausted: %w", ErrBind, cfg.PortMin, cfg.PortMax, lastErr)
}

// LocalAddr is the bound RTP address (written in m= and c=), or the
// transport's address.
func (s *Session) LocalAddr() netip.AddrPort {
	if s.transport != nil {
		return s.transport.Addr
	}
	return s.rtpConn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// LocalRTCPAddr is the bound RTCP address (written in a=rtcp); with a
// transport RTCP shares the RTP address.
func (s *Session) LocalRTCPAddr() netip.AddrPort {
	if s.transport != nil {
		return s.transport.Addr
	}
	return s.rtcpConn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// State is the offer/answer state.
func (s *Session) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// setStateLocked records a transition and logs it at Debug (STYLE.md rule 8).
func (s *Session) setStateLocked(next State, ev event) {
	s.log.Debug("media: offer/answer", "event", ev.String(), "from", s.state.String(), "to", next.String())
	s.state = next
}

func (s *Session) srtpConfig(mki uint32) sdp.SRTPConfig {
	return sdp.SRTPConfig{NoMKI: !s.cfg.MKI, MKILength: s.cfg.mkiLength(), MKI: mki,
		Lifetime: s.lifetime, NoLifetime: s.lifetime == 0}
}

// ssrcRange is our a=x-ssrc-range (MS-SDPEXT): the one SSRC we send with.
func (s *Session) ssrcRange() [2]uint32 { return [2]uint32{s.ssrc, s.ssrc} }

func (s *Session) negotiateConfig() sdp.NegotiateConfig {
	return sdp.NegotiateConfig{RequireMKI: s.cfg.RequireMKI, MKILength: s.cfg.mkiLength()}
}

// nextVersion returns the o= version of the SDP being written: the first
// is 0, each later one the previous plus one (RFC 3264 §8).
func (s *Session) nextVersion() uint64 {
	if s.sdpOut {
		s.version++
	}
	s.sdpOut = true
	return s.version
}

// inlineKey matches SDES key material (RFC 4568 §9.1 key-params).
var inlineKey = regexp.MustCompile(`inline:[^|\s]+`)

// logSDP writes a whole SDP body at Debug (STYLE.md rule 9) with the SRTP
// keys redacted.
func (s *Session) logSDP(msg string, body []byte, args ...any) {
	if !s.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	red := inlineKey.ReplaceAllLiteralString(string(body), "inline:[redacted]")
	s.log.Debug(msg, append(args, "sdp", red)...)
}

func held(d sdp.Direction) bool {
	d = d.Effective()
	return d == sdp.SendOnly || d == sdp.Inactive
}

// Offer writes our SDP offer: the initial one, or a re-offer for hold
// (sdp.SendOnly or sdp.Inactive), resume (sdp.SendRecv) or a refresh. A
// re-offer carries a new key when sec.srtp.holdWithNewKey /
// resumeWithNewKey ask for one; the media keeps running on the previous
// exchange until Accept.
func (s *Session) Offer(dir sdp.Direction) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == StateClosed {
		return nil, fmt.Errorf("%w: offer after close", ErrState)
	}
	ev := srtp.EventRefresh
	switch {
	case held(dir) && !held(s.wantDir):
		ev = srtp.EventHold
	case !held(dir) && held(s.wantDir):
		ev = srtp.EventResume
	}
	pol := srtp.KeyPolicy{HoldWithNewKey: s.cfg.HoldWithNewKey, ResumeWithNewKey: s.cfg.ResumeWithNewKey}
	return s.offerLocked(dir, pol.NewKeyFor(ev))
}

// OfferNewKey writes a re-offer with a fresh send key and the next MKI: the
// rekey re-INVITE once RekeyDue fires (sec.srtp.key.lifetime), or any
// re-offer the caller wants re-keyed.
func (s *Session) OfferNewKey(dir sdp.Direction) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == StateClosed {
		return nil, fmt.Errorf("%w: offer after close", ErrState)
	}
	return s.offerLocked(dir, true)
}

func (s *Session) offerLocked(dir sdp.Direction, newKey bool) ([]byte, error) {
	next, err := transition(s.state, evOffer)
	if err != nil {
		return nil, err
	}
	key, mki := s.key, s.mki
	if key == nil && s.pendKey != nil { // re-offer before the first answer
		key, mki = s.pendKey, s.pendMKI
	}
	switch {
	case key == nil:
		if key, err = sdp.NewKey(s.rand); err != nil {
			return nil, fmt.Errorf("media: offer: %w", err)
		}
		mki = s.mkis.StartSession()
	case newKey:
		if key, err = sdp.NewKey(s.rand); err != nil {
			return nil, fmt.Errorf("media: offer: %w", err)
		}
		mki = s.mkis.Next()
	}
	if dir == "" {
		dir = sdp.SendRecv
	}
	off, err := sdp.Offer(sdp.OfferConfig{
		Address: s.sdpAddress(), Port: int(s.LocalAddr().Port()), RTCPPort: int(s.LocalRTCPAddr().Port()),
		SessionID: s.sessID, Version: s.peekVersion(), Bandwidth: s.cfg.Bandwidth,
		Codecs: s.cfg.Codecs, DTMF: s.cfg.DTMF, Policy: s.cfg.Policy, SRTP: s.srtpConfig(mki),
		Key: key, Direction: dir, SSRCRange: s.ssrcRange(), Attributes: s.sdpAttributes(),
	})
	if err != nil {
		return nil, fmt.Errorf("media: offer: %w", err)
	}
	off.Origin.Version = s.nextVersion()
	s.pendOffer, s.pendKey, s.pendMKI, s.pendDir = off, key, mki, dir
	s.setStateLocked(next, evOffer)
	b := off.Marshal()
	s.logSDP("media: sdp offer sent", b, "direction", dir, "new_key", newKey && s.key != nil)
	return b, nil
}

func (s *Session) peekVersion() uint64 {
	if s.sdpOut {
		return s.version + 1
	}
	return s.version
}

// Answer answers a remote offer (the initial INVITE or a re-INVITE) and
// applies the result at once. Our send key is kept across re-INVITEs; our
// direction honours a hold we requested. A failure wraps ErrNegotiation and
// AnswerFailure gives the SIP response for it.
func (s *Session) Answer(remoteOffer []byte) ([]byte, error) {
	s.logSDP("media: sdp offer received", remoteOffer)
	off, err := sdp.Parse(remoteOffer)
	if err != nil {
		return nil, fmt.Errorf("%w: offer: %w", ErrNegotiation, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next, err := transition(s.state, evAnswer)
	if err != nil {
		return nil, err
	}
	key, mki := s.key, s.mki
	if key == nil {
		if key, err = sdp.NewKey(s.rand); err != nil {
			return nil, fmt.Errorf("media: answer: %w", err)
		}
		mki = s.mkis.StartSession()
	}
	ans, err := sdp.Answer(off, sdp.AnswerConfig{
		Address: s.sdpAddress(), Port: int(s.LocalAddr().Port()), RTCPPort: int(s.LocalRTCPAddr().Port()),
		SessionID: s.sessID, Version: s.peekVersion(), Bandwidth: s.cfg.Bandwidth,
		Codecs: s.cfg.Codecs, DTMF: s.cfg.DTMF != 0, Policy: s.cfg.Policy, SRTP: s.srtpConfig(mki),
		Key: key, Direction: s.wantDir, SSRCRange: s.ssrcRange(), Attributes: s.sdpAttributes(),
	})
	if err != nil {
		return nil, fmt.Errorf("%w: answer: %w", ErrNegotiation, err)
	}
	res, err := sdp.Negotiate(off, ans, sdp.Answerer, s.negotiateConfig())
	if err != nil {
		return nil, fmt.Errorf("%w: answer: %w", ErrNegotiation, err)
	}
	if err := s.applyLocked(res); err != nil {
		return nil, err
	}
	ans.Origin.Version = s.nextVersion()
	s.key, s.mki = key, mki
	s.pendOffer, s.pendKey = nil, nil
	s.setStateLocked(next, evAnswer)
	b := ans.Marshal()
	s.logSDP("media: sdp answer sent", b)
	return b, nil
}

// Accept applies the remote answer to our pending offer. A bad answer
// leaves the previous exchange (if any) in force and the offer pending.
func (s *Session) Accept(remoteAnswer []byte) error {
	s.logSDP("media: sdp answer received", remoteAnswer)
	ans, err := sdp.Parse(remoteAnswer)
	if err != nil {
		return fmt.Errorf("%w: answer: %w", ErrNegotiation, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next, err := transition(s.state, evAccept)
	if err != nil {
		return err
	}
	res, err := sdp.Negotiate(s.pendOffer, ans, sdp.Offerer, s.negotiateConfig())
	if err != nil {
		return fmt.Errorf("%w: answer: %w", ErrNegotiation, err)
	}
	if err := s.applyLocked(res); err != nil {
		return err
	}
	s.key, s.mki, s.wantDir = s.pendKey, s.pendMKI, s.pendDir
	s.pendOffer, s.pendKey = nil, nil
	s.setStateLocked(next, evAccept)
	return nil
}

// canSend reports whether we may send on a completed exchange: our
// direction allows sending and the peer's allows receiving (RFC 3264 §6.1).
func canSend(res *sdp.Result) bool {
	l, r := res.LocalDirection.Effective(), res.RemoteDirection.Effective()
	return (l == sdp.SendRecv || l == sdp.SendOnly) && (r == sdp.SendRecv || r == sdp.RecvOnly)
}

// applyLocked puts a completed exchange into effect: SRTP keys, stream
// (rebuilt only when the remote address or codec changed) and direction.
func (s *Session) applyLocked(res *sdp.Result) error {
	par, err := paramsFor(res)
	if err != nil {
		return err
	}
	if err := s.applySRTPLocked(res); err != nil {
		return err
	}
	send := canSend(res)
	if par.remote.Addr().IsUnspecified() {
		send = false // c=0.0.0.0: RFC 2543 hold
	}
	if s.stream == nil || par != s.streamPar {
		st, err := s.newStreamLocked(res, par, send)
		if err != nil {
			return err
		}
		s.swapLocked(st)
		s.streamPar = par
	} else {
		s.stream.SetSending(send)
	}
	s.sending = send
	s.res = res
	return nil
}

func paramsFor(res *sdp.Result) (streamParams, error) {
	ip, err := netip.ParseAddr(res.RemoteAddress)
	if err != nil {
		return streamParams{}, fmt.Errorf("%w: remote c= %q is not an IP address", ErrNegotiation, res.RemoteAddress)
	}
	if res.RemotePort <= 0 || res.RemotePort > 65535 || res.RemoteRTCPPort <= 0 || res.RemoteRTCPPort > 65535 {
		return streamParams{}, fmt.Errorf("%w: remote ports %d/%d", ErrNegotiation, res.RemotePort, res.RemoteRTCPPort)
	}
	ip = ip.Unmap()
	return streamParams{
		remote:     netip.AddrPortFrom(ip, uint16(res.RemotePort)),
		remoteRTCP: netip.AddrPortFrom(ip, uint16(res.RemoteRTCPPort)),
		codec:      res.Codec,
	}, nil
}

func (s *Session) signalRekey() {
	select {
	case s.rekeyCh <- struct{}{}:
	default:
	}
}

func (s *Session) newSRTP(cfg srtp.Config) (*srtp.Session, error) {
	cfg.Lifetime = s.lifetime
	ss, err := srtp.NewSession(cfg, srtp.WithRekeyFunc(s.signalRekey))
	if err != nil {
		return nil, fmt.Errorf("%w: srtp: %w", ErrNegotiation, err)
	}
	return ss, nil
}

func (s *Session) applySRTPLocked(res *sdp.Result) error {
	if !res.Encrypted {
		if s.srtpSess != nil {
			s.log.Info("media: srtp off after re-negotiation")
		}
		s.srtpSess, s.recvKeys, s.sendKey = nil, nil, srtp.Key{}
		s.prot.set(nil, nil)
		return nil
	}
	cfg, err := srtp.ConfigFor(res.Local, res.Remote)
	if err != nil {
		return fmt.Errorf("%w: srtp: %w", ErrNegotiation, err)
	}
	if s.srtpSess == nil {
		ss, err := s.newSRTP(cfg)
		if err != nil {
			return err
		}
		s.srtpSess, s.sendKey, s.recvKeys = ss, cfg.Send, []srtp.Key{cfg.Recv}
		s.prot.set(ss, nil)
		return nil
	}
	sendChanged := !keyEqual(s.sendKey, cfg.Send)
	prevRecv := s.recvKeys[len(s.recvKeys)-1]
	recvChanged := !keyEqual(prevRecv, cfg.Recv)
	if !sendChanged && !recvChanged {
		return nil
	}
	var fallback *srtp.Session
	if err := s.srtpSess.UpdateKeys(cfg.Send, cfg.Recv); err != nil {
		// The MKI length changed (e.g. a peer that dropped the MKI now
		// sends one): start a new session and keep the old one as the
		// receive fallback.
		s.log.Debug("media: srtp keys re-created", "err", err)
		ss, nerr := s.newSRTP(cfg)
		if nerr != nil {
			return nerr
		}
		fallback = s.srtpSess
		s.srtpSess, s.recvKeys = ss, []srtp.Key{cfg.Recv}
	} else if recvChanged && len(cfg.Recv.MKI) == 0 {
		// Without an MKI UpdateKeys replaced the receive key; packets the
		// peer sent before switching still need the old one.
		if fb, ferr := srtp.NewSession(srtp.Config{Send: prevRecv, Recv: prevRecv}); ferr == nil {
			fallback = fb
		}
		s.recvKeys = []srtp.Key{cfg.Recv}
	} else if recvChanged {
		// With an MKI both keys stay valid; keep only the current and the
		// previous one (the overlap).
		s.recvKeys = slices.DeleteFunc(s.recvKeys, func(k srtp.Key) bool { return bytes.Equal(k.MKI, cfg.Recv.MKI) })
		s.recvKeys = append(s.recvKeys, cfg.Recv)
		for len(s.recvKeys) > 2 {
			if err := s.srtpSess.RemoveRecvKey(s.recvKeys[0].MKI); err != nil {
				s.log.Debug("media: remove old receive key", "err", err)
			}
			s.recvKeys = s.recvKeys[1:]
		}
	}
	if sendChanged {
		s.sendKey = cfg.Send
		s.rekeys++
		// A signal raised for the old key is stale now.
		select {
		case <-s.rekeyCh:
		default:
		}
	}
	s.prot.set(s.srtpSess, fallback)
	return nil
}

func keyEqual(a, b srtp.Key) bool {
	return bytes.Equal(a.Master, b.Master) && bytes.Equal(a.Salt, b.Salt) && bytes.Equal(a.MKI, b.MKI)
}

func (s *Session) newStreamLocked(res *sdp.Result, par streamParams, send bool) (*rtp.Stream, error) {
	f, err := rtp.FormatFor(res.Codec.Name, res.Codec.PT, res.Codec.ClockRate, res.Codec.Fmtp)
	if err != nil {
		return nil, fmt.Errorf("%w: codec: %w", ErrNegotiation, err)
	}
	mk := s.cfg.Source
	if mk == nil {
		mk = ToneSource(440)
	}
	src, err := mk(f)
	if err != nil {
		return nil, fmt.Errorf("media: source for %s: %w", f.Name, err)
	}
	// A replacement stream continues our sequence numbers and timestamps
	// (same SSRC, so the peer's SRTP replay window and ROC stay valid).
	sent := s.sentBefore
	if s.stream != nil {
		sent += s.stream.Stats().PacketsSent
	}
	var conn net.PacketConn = s.rtpConn
	opts := []rtp.Option{rtp.WithProtector(&s.prot), rtp.WithClock(s.clock), rtp.WithLogger(s.log)}
	if s.transport != nil {
		conn = s.transport.Conn // RTCP multiplexed on it
	} else {
		opts = append(opts, rtp.WithRTCPConn(s.rtcpConn))
	}
	return rtp.NewStream(conn, rtp.Config{
		Format: f, SSRC: s.ssrc, Seq0: s.seq0 + uint16(sent), TS0: s.ts0 + uint32(sent)*f.Samples(),
		Source: src, Remote: net.UDPAddrFromAddrPort(par.remote), RemoteRTCP: net.UDPAddrFromAddrPort(par.remoteRTCP),
		RTCPInterval: s.cfg.RTCPInterval, Hold: !send,
	}, opts...)
}

// swapLocked makes st the session's stream; a running stream is stopped
// first and its counters kept.
func (s *Session) swapLocked(st *rtp.Stream) {
	old := s.stream
	if old != nil && s.exited != nil {
		req := swapReq{next: st, old: make(chan rtp.Stats, 1)}
		select {
		case s.swapCh <- req:
			s.addBaseLocked(<-req.old)
			s.stream = st
			return
		case <-s.exited:
		}
	}
	if old != nil {
		s.addBaseLocked(old.Stats())
	}
	s.stream = st
}

func (s *Session) addBaseLocked(st rtp.Stats) {
	s.base = s.base.Add(st)
	s.sentBefore += st.PacketsSent
}

// Start starts sending and receiving on the negotiated stream, in
// goroutines owned by the session, until ctx is done or Close. It is
// idempotent while running; after ctx ended it may be called again.
func (s *Session) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.state == StateClosed:
		return fmt.Errorf("%w: start after close", ErrState)
	case s.stream == nil:
		return fmt.Errorf("%w: start before a completed offer/answer", ErrState)
	case s.runningLocked():
		return nil
	}
	s.exited = make(chan struct{})
	s.wg.Add(1)
	go s.run(ctx, s.stream, s.exited)
	return nil
}

func (s *Session) runningLocked() bool {
	if s.exited == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// run is the stream supervisor: it runs one stream at a time and replaces
// it on request (a re-negotiation that changed address or codec). It never
// takes s.mu, because swapLocked waits for it while holding s.mu.
func (s *Session) run(ctx context.Context, st *rtp.Stream, exited chan struct{}) {
	defer s.wg.Done()
	defer close(exited)
	for {
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- st.Run(rctx) }()
		ended := false
		stop := func() {
			cancel()
			if !ended {
				if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
					s.log.Debug("media: stream stopped", "err", err)
				}
			}
		}
		for swapped := false; !swapped; {
			select {
			case req := <-s.swapCh:
				stop()
				req.old <- st.Stats()
				st, swapped = req.next, true
			case <-s.closing:
				stop()
				return
			case <-ctx.Done():
				stop()
				if err := context.Cause(ctx); !errors.Is(err, context.Canceled) {
					s.setRunErr(err)
				}
				return
			case err := <-done:
				// The stream ended by itself (key lifetime exhausted, socket
				// error): record it and wait for a new stream or the end.
				ended = true
				if err != nil && !errors.Is(err, context.Canceled) {
					s.log.Warn("media: stream ended", "err", err)
					s.setRunErr(err)
				}
			}
		}
	}
}

func (s *Session) setRunErr(err error) {
	s.errMu.Lock()
	if s.runErr == nil {
		s.runErr = err
	}
	s.errMu.Unlock()
}

// Err reports why the media stopped by itself (for example srtp's key
// lifetime exhausted without a re-key), nil otherwise.
func (s *Session) Err() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return s.runErr
}

// RekeyDue delivers one value when half of sec.srtp.key.lifetime packets
// have been sent with the current key; the caller answers with OfferNewKey
// and, after Accept, the signal is re-armed for the new key. It never fires
// without a key lifetime. It does not fire again for the same key: if the
// rekey re-INVITE fails, the caller retries OfferNewKey (at the full
// lifetime the stream stops and Err reports srtp.ErrKeyExpired).
func (s *Session) RekeyDue() <-chan struct{} { return s.rekeyCh }

// Stats returns the call's media statistics; valid after Close.
func (s *Session) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.final != nil {
		return *s.final
	}
	return s.statsLocked()
}

func (s *Session) statsLocked() Stats {
	st := Stats{Stats: s.base, Rekeys: s.rekeys, Sending: s.sending}
	if s.stream != nil {
		st.Stats = s.base.Add(s.stream.Stats())
	}
	if s.res != nil {
		st.Codec, st.Encrypted = s.res.Codec.Name, s.res.Encrypted
		st.MKI = s.res.Encrypted && len(s.sendKey.MKI) > 0
	}
	return st
}

// Close stops the streams, waits for their goroutines and closes the
// sockets. It is idempotent.
func (s *Session) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.mu.Lock()
		next, _ := transition(s.state, evClose)
		s.setStateLocked(next, evClose)
		s.mu.Unlock()
		close(s.closing)
		s.wg.Wait()
		if s.transport != nil {
			err = s.transport.Conn.Close()
		} else {
			err = errors.Join(s.rtpConn.Close(), s.rtcpConn.Close())
		}
		s.mu.Lock()
		st := s.statsLocked()
		s.final = &st
		s.mu.Unlock()
	})
	return err
}
