package labfe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"

	"github.com/pion/srtp/v3"

	"github.com/handset-dev/handset/media/sdp"
)

// echoReplayWindow is the SRTP/SRTCP replay window of the bot's receive
// context (RFC 3711 §3.3.2 suggests at least 64).
const echoReplayWindow = 64

// echoMedia is the media side of one echo call: an RTP and an RTCP socket,
// the caller's key (decrypt) and the bot's own key (encrypt). Packets are
// reflected only once the call is answered and while the negotiated
// direction lets the bot send (hold stops the echo).
type echoMedia struct {
	rtp, rtcp net.PacketConn
	ports     [2]int // RTP and RTCP port, for the SDP answer
	cnt       *echoCounters
	rand      io.Reader
	policy    sdp.Policy
	addr      string
	sessionID uint64
	ssrc      uint32

	mu        sync.Mutex
	closed    bool
	active    bool          // answered: reflect
	send      bool          // negotiated direction lets the bot send
	encrypted bool          // SRTP negotiated
	dec       *srtp.Context // the caller's key (from the offer)
	enc       *srtp.Context // the bot's key (from its answer)
	remote    sdp.Crypto    // accepted offer line
	local     sdp.Crypto    // the bot's answer line
	// The keys before those, still held by the contexts after a rekey.
	prevRemote, prevLocal sdp.Crypto
}

func newEchoMedia(s *Server, addr string, cnt *echoCounters) (*echoMedia, error) {
	var raw [12]byte
	if _, err := io.ReadFull(s.rand, raw[:]); err != nil {
		return nil, fmt.Errorf("labfe: echo: rand: %w", err)
	}
	rtpConn, err := net.ListenPacket("udp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return nil, fmt.Errorf("labfe: echo: rtp socket: %w", err)
	}
	rtcpConn, err := net.ListenPacket("udp", net.JoinHostPort(addr, "0"))
	if err != nil {
		_ = rtpConn.Close()
		return nil, fmt.Errorf("labfe: echo: rtcp socket: %w", err)
	}
	return &echoMedia{rtp: rtpConn, rtcp: rtcpConn, ports: [2]int{port(rtpConn), port(rtcpConn)}, cnt: cnt, rand: s.rand, policy: s.echoPolicy(), addr: addr,
		sessionID: binary.BigEndian.Uint64(raw[:8]) >> 1, ssrc: binary.BigEndian.Uint32(raw[8:])}, nil
}

func port(c net.PacketConn) int {
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok {
		return a.Port
	}
	return 0
}

// negotiate answers an offer (initial or re-INVITE) and installs its keys
// and direction. The bot keeps its key across re-INVITEs unless the caller
// changes its own (a rekey: the bot then draws a new key too, with the
// next MKI), so hold and resume need no new SRTP state
// (sec.srtp.holdWithNewKey=0 on the handset).
func (m *echoMedia) negotiate(off *sdp.Session, version uint64) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cfg := sdp.AnswerConfig{Address: m.addr, Port: m.ports[0], RTCPPort: m.ports[1],
		SessionID: m.sessionID, Version: version, Policy: m.policy, Rand: m.rand, DTMF: true,
		SRTP: sdp.SRTPConfig{NoMKI: true}}
	for _, om := range off.Media {
		if om.Type != "audio" || om.Port == 0 {
			continue
		}
		// Answer with the MKI length the offer uses ("SRTP with the MKI
		// the offer uses"), or without MKI when it offers none.
		for _, cr := range om.Crypto {
			if cr.HasMKI() {
				cfg.SRTP = sdp.SRTPConfig{MKILength: cr.MKILen}
				break
			}
		}
		// The bot reflects whatever it gets: it answers the offer's first
		// voice codec (not DTMF, comfort noise or redundancy).
		for _, pt := range om.PayloadTypes() {
			if c, ok := om.Codec(pt); ok && !notVoice[strings.ToLower(c.Name)] {
				cfg.Codecs = []sdp.Codec{c}
				break
			}
		}
		break
	}
	if m.encrypted {
		cfg.Key = m.local.Key
		if m.local.HasMKI() {
			cfg.SRTP.MKI = m.local.MKI
		}
	}
	ans, res, err := answerAndNegotiate(off, cfg)
	if err != nil {
		return nil, err
	}
	rekey := res.Encrypted && m.encrypted && !sameKey(res.Remote, m.remote)
	if rekey {
		cfg.Key = nil
		if m.local.HasMKI() && cfg.SRTP.MKILength == m.local.MKILen {
			cfg.SRTP.MKI = nextMKI(m.local)
		}
		if ans, res, err = answerAndNegotiate(off, cfg); err != nil {
			return nil, err
		}
	}
	if err := m.install(res); err != nil {
		return nil, err
	}
	return ans.Marshal(), nil
}

// notVoice are payload formats that cannot be the call's codec.
var notVoice = map[string]bool{"telephone-event": true, "cn": true, "red": true}

func answerAndNegotiate(off *sdp.Session, cfg sdp.AnswerConfig) (*sdp.Session, *sdp.Result, error) {
	ans, err := sdp.Answer(off, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("labfe: echo: %w", err)
	}
	res, err := sdp.Negotiate(off, ans, sdp.Answerer, sdp.NegotiateConfig{})
	if err != nil {
		return nil, nil, fmt.Errorf("labfe: echo: %w", err)
	}
	return ans, res, nil
}

func sameKey(a, b sdp.Crypto) bool {
	return bytes.Equal(a.Key, b.Key) && a.MKI == b.MKI && a.MKILen == b.MKILen && a.Suite == b.Suite
}

// nextMKI is the MKI after c's, wrapping within its length (never 0).
func nextMKI(c sdp.Crypto) uint32 {
	limit := uint64(1) << (8 * uint(c.MKILen))
	n := (uint64(c.MKI) + 1) % limit
	if n == 0 {
		n = 1
	}
	return uint32(n)
}

func profileOf(suite string) srtp.ProtectionProfile {
	if suite == sdp.SuiteAES128SHA1_32 {
		return srtp.ProtectionProfileAes128CmHmacSha1_32
	}
	return srtp.ProtectionProfileAes128CmHmacSha1_80
}

// newContext makes a pion/srtp Context for one a=crypto line.
func newContext(c sdp.Crypto, receive bool) (*srtp.Context, error) {
	var opts []srtp.ContextOption
	if receive {
		opts = append(opts, srtp.SRTPReplayProtection(echoReplayWindow), srtp.SRTCPReplayProtection(echoReplayWindow))
	}
	if c.HasMKI() {
		opts = append(opts, srtp.MasterKeyIndicator(c.MKIBytes()))
	}
	ctx, err := srtp.CreateContext(c.MasterKey(), c.MasterSalt(), profileOf(c.Suite), opts...)
	if err != nil {
		return nil, fmt.Errorf("labfe: echo: srtp context: %w", err)
	}
	return ctx, nil
}

// install sets the contexts and direction of a completed exchange. With
// MKIs of the same length, a new key is added to the existing context
// (old packets in flight still decrypt, the replay window and rollover
// counters carry on); otherwise the context is replaced.
func (m *echoMedia) install(res *sdp.Result) error {
	d := res.LocalDirection
	m.send = d == sdp.SendRecv || d == sdp.SendOnly
	if !res.Encrypted {
		m.encrypted, m.dec, m.enc = false, nil, nil
		m.remote, m.local = sdp.Crypto{}, sdp.Crypto{}
		m.prevRemote, m.prevLocal = sdp.Crypto{}, sdp.Crypto{}
		return nil
	}
	dec, err := m.contextFor(m.dec, m.remote, res.Remote, true)
	if err != nil {
		return err
	}
	enc, err := m.contextFor(m.enc, m.local, res.Local, false)
	if err != nil {
		return err
	}
	if dec != m.dec {
		m.prevRemote = sdp.Crypto{}
	}
	if enc != m.enc {
		m.prevLocal = sdp.Crypto{}
	}
	// Keep at most the current and the previous key per context: the
	// previous one still decrypts packets in flight across a rekey.
	if dec == m.dec && !sameKey(m.remote, res.Remote) {
		m.dropMKI(dec, m.prevRemote, res.Remote)
		m.prevRemote = m.remote
	}
	if enc == m.enc && !sameKey(m.local, res.Local) {
		m.dropMKI(enc, m.prevLocal, res.Local)
		m.prevLocal = m.local
	}
	m.encrypted, m.dec, m.enc, m.remote, m.local = true, dec, enc, res.Remote, res.Local
	return nil
}

// dropMKI removes the key older than the previous one from ctx, unless
// it is the one now in use.
func (m *echoMedia) dropMKI(ctx *srtp.Context, older, now sdp.Crypto) {
	if older.HasMKI() && older.MKI != now.MKI {
		_ = ctx.RemoveMKI(older.MKIBytes())
	}
}

func (m *echoMedia) contextFor(cur *srtp.Context, old, next sdp.Crypto, receive bool) (*srtp.Context, error) {
	if cur != nil && m.encrypted && sameKey(old, next) {
		return cur, nil
	}
	if cur != nil && m.encrypted && old.HasMKI() && next.HasMKI() && old.MKILen == next.MKILen &&
		old.Suite == next.Suite && old.MKI != next.MKI {
		if err := cur.AddCipherForMKI(next.MKIBytes(), next.MasterKey(), next.MasterSalt()); err == nil {
			// Also on the receive context: pion/srtp will not remove the
			// send MKI, and the old key must be removable later.
			if err := cur.SetSendMKI(next.MKIBytes()); err != nil {
				return nil, fmt.Errorf("labfe: echo: srtp send mki: %w", err)
			}
			return cur, nil
		}
	}
	return newContext(next, receive)
}

func (m *echoMedia) setActive(v bool) {
	m.mu.Lock()
	m.active = v
	m.mu.Unlock()
}

func (m *echoMedia) close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	m.mu.Unlock()
	_ = m.rtp.Close()
	_ = m.rtcp.Close()
}

// serveRTP reads RTP until the socket closes and reflects each packet.
func (m *echoMedia) serveRTP(wg *sync.WaitGroup) {
	defer wg.Done()
	buf := make([]byte, 1500)
	for {
		n, from, err := m.rtp.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || m.isClosed() {
				return
			}
			continue
		}
		m.reflect(buf[:n], from)
	}
}

func (m *echoMedia) isClosed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

// reflect decrypts one packet with the caller's key, rewrites the SSRC to
// the bot's own, encrypts with the bot's key and sends it back to its
// source.
func (m *echoMedia) reflect(pkt []byte, from net.Addr) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.active || m.closed {
		return
	}
	plain := pkt
	if m.encrypted {
		var err error
		if plain, err = m.dec.DecryptRTP(nil, pkt, nil); err != nil {
			m.cnt.authFail.Add(1)
			return
		}
	} else if len(pkt) < 12 || pkt[0]>>6 != 2 {
		return // not RTP (RFC 3550 §5.1)
	}
	m.cnt.in.Add(1)
	if !m.send {
		return
	}
	out := bytes.Clone(plain)
	binary.BigEndian.PutUint32(out[8:12], m.ssrc)
	if m.encrypted {
		var err error
		if out, err = m.enc.EncryptRTP(nil, out, nil); err != nil {
			return
		}
	}
	m.cnt.out.Add(1) // before the write: the caller may read the stats as soon as it has the packet
	if _, err := m.rtp.WriteTo(out, from); err != nil {
		m.cnt.out.Add(-1)
	}
}

// serveRTCP reads RTCP until the socket closes; SRTCP is authenticated
// and counted (the bot sends no reports of its own).
func (m *echoMedia) serveRTCP(wg *sync.WaitGroup) {
	defer wg.Done()
	buf := make([]byte, 1500)
	for {
		n, _, err := m.rtcp.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || m.isClosed() {
				return
			}
			continue
		}
		m.receiveRTCP(buf[:n])
	}
}

func (m *echoMedia) receiveRTCP(pkt []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.active || m.closed {
		return
	}
	if m.encrypted {
		if _, err := m.dec.DecryptRTCP(nil, pkt, nil); err != nil {
			m.cnt.authFail.Add(1)
			return
		}
	} else if len(pkt) < 8 || pkt[0]>>6 != 2 {
		return
	}
	m.cnt.rtcpIn.Add(1)
}
