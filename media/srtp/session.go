package srtp

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/transport/v5/replaydetector"

	"github.com/handset-dev/handset/media/sdp"
)

// DefaultReplayWindow is the replay window in packets (libsrtp's default;
// RFC 3711 §3.3.2 asks for at least 64).
const DefaultReplayWindow = 128

// Config describes one call leg's SRTP.
type Config struct {
	// Suite is the SDES suite; "" means AES_CM_128_HMAC_SHA1_80.
	Suite string
	Send  Key // our key (the a=crypto we sent)
	Recv  Key // the peer's key (the a=crypto we received)
	// Lifetime is sec.srtp.key.lifetime in packets sent with one key;
	// 0 means unlimited (apart from RFC 3711's 2^48).
	Lifetime uint64
	// ReplayWindow in packets; 0 means DefaultReplayWindow.
	ReplayWindow uint
	// UnencryptedSRTCP mirrors the SDES UNENCRYPTED_SRTCP session parameter.
	UnencryptedSRTCP bool
}

// Validate checks keys, suite and lifetime.
func (c Config) Validate() error {
	if _, err := c.profile(); err != nil {
		return err
	}
	if err := c.Send.validate(); err != nil {
		return fmt.Errorf("send key: %w", err)
	}
	if err := c.Recv.validate(); err != nil {
		return fmt.Errorf("recv key: %w", err)
	}
	if c.Lifetime != 0 && c.Lifetime < 2 {
		return fmt.Errorf("%w: lifetime %d", ErrConfig, c.Lifetime)
	}
	return nil
}

func (c Config) profile() (srtp.ProtectionProfile, error) {
	switch c.Suite {
	case "", sdp.SuiteAES128SHA1_80:
		return srtp.ProtectionProfileAes128CmHmacSha1_80, nil
	case sdp.SuiteAES128SHA1_32:
		return srtp.ProtectionProfileAes128CmHmacSha1_32, nil
	}
	return 0, fmt.Errorf("%w: unsupported suite %q", ErrConfig, c.Suite)
}

// Option configures a Session's collaborators.
type Option func(*Session) error

// WithRekeyFunc registers fn, called once per send key (outside any lock)
// when half of Config.Lifetime has been sent, so that the call layer sends
// a re-INVITE with a new key (seed: sec.srtp.key.lifetime).
func WithRekeyFunc(fn func()) Option {
	return func(s *Session) error { s.onRekey = fn; return nil }
}

// Stats counts packets and failures; all fields are totals since NewSession.
type Stats struct {
	RTPSent, RTCPSent         uint64
	RTPReceived, RTCPReceived uint64
	AuthFailures              uint64
	ReplayDrops               uint64
	MKIMismatches             uint64
	Malformed                 uint64
	Rekeys                    uint64 // RekeySend calls
}

// Session protects one call leg. ProtectX and UnprotectX may run
// concurrently with each other; calls of the same direction serialise.
type Session struct {
	cfg     Config
	profile srtp.ProtectionProfile
	onRekey func()

	sendMu     sync.Mutex
	send       *srtp.Context
	sendKey    Key
	keyPackets uint64 // RTP packets sent with sendKey
	rekeyFired bool
	sendHdr    rtp.Header

	recvMu   sync.Mutex
	recv     *srtp.Context
	recvKeys []Key // keys the recv context holds
	recvHdr  rtp.Header
	replayed bool // set by the replay detector during one unprotect

	rtpSent, rtcpSent, rtpRecv, rtcpRecv   atomic.Uint64
	authFail, replay, mkiMiss, malf, rekey atomic.Uint64
	needsRekey                             atomic.Bool
}

// NewSession creates both directions' contexts.
func NewSession(cfg Config, opts ...Option) (*Session, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.ReplayWindow == 0 {
		cfg.ReplayWindow = DefaultReplayWindow
	}
	s := &Session{cfg: cfg}
	s.profile, _ = cfg.profile()
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	var err error
	if s.send, err = s.newContext(cfg.Send, false); err != nil {
		return nil, fmt.Errorf("srtp: send context: %w", err)
	}
	if s.recv, err = s.newContext(cfg.Recv, true); err != nil {
		return nil, fmt.Errorf("srtp: recv context: %w", err)
	}
	s.sendKey = cfg.Send
	s.recvKeys = []Key{cfg.Recv}
	return s, nil
}

// ConfigFor builds a Config from a negotiated exchange (sdp.Result.Local
// and .Remote): our a=crypto is the send key, the peer's the receive key,
// and our line's lifetime is the one we count (seed: packets we send).
func ConfigFor(local, remote sdp.Crypto) (Config, error) {
	if local.Suite != remote.Suite {
		return Config{}, fmt.Errorf("%w: suites differ: %s vs %s", ErrConfig, local.Suite, remote.Suite)
	}
	send, err := KeyFromCrypto(local)
	if err != nil {
		return Config{}, fmt.Errorf("send: %w", err)
	}
	recv, err := KeyFromCrypto(remote)
	if err != nil {
		return Config{}, fmt.Errorf("recv: %w", err)
	}
	unenc := slices.Contains(local.Params, "UNENCRYPTED_SRTCP") || slices.Contains(remote.Params, "UNENCRYPTED_SRTCP")
	return Config{Suite: local.Suite, Send: send, Recv: recv, Lifetime: local.Lifetime, UnencryptedSRTCP: unenc}, nil
}

func (k Key) equal(o Key) bool {
	return bytes.Equal(k.Master, o.Master) && bytes.Equal(k.Salt, o.Salt) && bytes.Equal(k.MKI, o.MKI)
}

// UpdateKeys applies the keys of a re-negotiation (re-INVITE, hold with a
// new key): a changed send key goes through RekeySend, a receive key not
// yet held through AddRecvKey; unchanged keys are left alone.
func (s *Session) UpdateKeys(send, recv Key) error {
	s.sendMu.Lock()
	sameSend := s.sendKey.equal(send)
	s.sendMu.Unlock()
	if !sameSend {
		if err := s.RekeySend(send); err != nil {
			return err
		}
	}
	s.recvMu.Lock()
	known := slices.ContainsFunc(s.recvKeys, recv.equal)
	s.recvMu.Unlock()
	if !known {
		return s.AddRecvKey(recv)
	}
	return nil
}

// flagDetector records replay rejections so that Unprotect can classify
// them (pion keeps its duplicate error unexported).
type flagDetector struct {
	rd   replaydetector.ReplayDetector
	flag *bool
}

func (d flagDetector) Check(seq uint64) (func() bool, bool) {
	accept, ok := d.rd.Check(seq)
	if !ok {
		*d.flag = true
	}
	return accept, ok
}

const (
	maxSRTPIndex  = 1<<48 - 1 // RFC 3711 §3.3.1: ROC‖SEQ
	maxSRTCPIndex = 1<<31 - 1
)

func (s *Session) newContext(k Key, inbound bool) (*srtp.Context, error) {
	var opts []srtp.ContextOption
	if len(k.MKI) > 0 {
		opts = append(opts, srtp.MasterKeyIndicator(k.MKI))
	}
	if s.cfg.UnencryptedSRTCP {
		opts = append(opts, srtp.SRTCPNoEncryption())
	}
	if inbound {
		w := s.cfg.ReplayWindow
		opts = append(opts,
			srtp.SRTPReplayDetectorFactory(func() replaydetector.ReplayDetector {
				return flagDetector{rd: replaydetector.New(w, maxSRTPIndex), flag: &s.replayed}
			}),
			srtp.SRTCPReplayDetectorFactory(func() replaydetector.ReplayDetector {
				return flagDetector{rd: replaydetector.New(w, maxSRTCPIndex), flag: &s.replayed}
			}))
	}
	return srtp.CreateContext(k.Master, k.Salt, s.profile, opts...)
}

// ProtectRTP encrypts an RTP packet into dst (which may be pkt[:0] only if
// cap(pkt) has room for the tag and MKI) and returns the SRTP packet.
func (s *Session) ProtectRTP(dst, pkt []byte) ([]byte, error) {
	s.sendMu.Lock()
	if s.cfg.Lifetime != 0 && s.keyPackets >= s.cfg.Lifetime {
		s.sendMu.Unlock()
		return nil, ErrKeyExpired
	}
	out, err := s.send.EncryptRTP(dst, pkt, &s.sendHdr)
	fire := false
	if err == nil {
		s.keyPackets++
		if s.cfg.Lifetime != 0 && s.keyPackets >= s.cfg.Lifetime/2 && !s.rekeyFired {
			s.rekeyFired, fire = true, true
			s.needsRekey.Store(true)
		}
	}
	s.sendMu.Unlock()
	if err != nil {
		s.malf.Add(1)
		return nil, fmt.Errorf("%w: protect rtp: %w", ErrMalformed, err)
	}
	s.rtpSent.Add(1)
	if fire && s.onRekey != nil {
		s.onRekey()
	}
	return out, nil
}

// ProtectRTCP encrypts a compound RTCP packet (SRTCP, RFC 3711 §3.4).
func (s *Session) ProtectRTCP(dst, pkt []byte) ([]byte, error) {
	s.sendMu.Lock()
	out, err := s.send.EncryptRTCP(dst, pkt, nil)
	s.sendMu.Unlock()
	if err != nil {
		s.malf.Add(1)
		return nil, fmt.Errorf("%w: protect rtcp: %w", ErrMalformed, err)
	}
	s.rtcpSent.Add(1)
	return out, nil
}

// UnprotectRTP verifies and decrypts an SRTP packet. Failures wrap ErrAuth,
// ErrReplay, ErrUnknownMKI or ErrMalformed and are counted in Stats.
func (s *Session) UnprotectRTP(dst, pkt []byte) ([]byte, error) {
	s.recvMu.Lock()
	s.replayed = false
	out, err := s.recv.DecryptRTP(dst, pkt, &s.recvHdr)
	replayed := s.replayed
	s.recvMu.Unlock()
	if err != nil {
		return nil, s.classify("unprotect rtp", err, replayed)
	}
	s.rtpRecv.Add(1)
	return out, nil
}

// UnprotectRTCP verifies and decrypts an SRTCP packet.
func (s *Session) UnprotectRTCP(dst, pkt []byte) ([]byte, error) {
	s.recvMu.Lock()
	s.replayed = false
	out, err := s.recv.DecryptRTCP(dst, pkt, nil)
	replayed := s.replayed
	s.recvMu.Unlock()
	if err != nil {
		return nil, s.classify("unprotect rtcp", err, replayed)
	}
	s.rtcpRecv.Add(1)
	return out, nil
}

func (s *Session) classify(op string, err error, replayed bool) error {
	switch {
	case replayed:
		s.replay.Add(1)
		return fmt.Errorf("%w: %s: %w", ErrReplay, op, err)
	case errors.Is(err, srtp.ErrMKINotFound):
		s.mkiMiss.Add(1)
		return fmt.Errorf("%w: %s: %w", ErrUnknownMKI, op, err)
	case errors.Is(err, srtp.ErrFailedToVerifyAuthTag):
		s.authFail.Add(1)
		return fmt.Errorf("%w: %s: %w", ErrAuth, op, err)
	}
	s.malf.Add(1)
	return fmt.Errorf("%w: %s: %w", ErrMalformed, op, err)
}

// NeedsRekey reports whether half the send key's lifetime has been used
// and RekeySend has not been called since.
func (s *Session) NeedsRekey() bool { return s.needsRekey.Load() }

// RekeySend switches the send direction to k (the key of the new a=crypto
// the re-INVITE carried). With MKI the old key is replaced inside the same
// context (AddCipherForMKI + SetSendMKI), keeping the rollover counter;
// without MKI the context is recreated. k.MKI must have the length of the
// current send key's MKI.
func (s *Session) RekeySend(k Key) error {
	if err := k.validate(); err != nil {
		return err
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if err := s.switchKey(&s.send, s.sendKey, k, false); err != nil {
		return err
	}
	s.sendKey, s.keyPackets, s.rekeyFired = k, 0, false
	s.needsRekey.Store(false)
	s.rekey.Add(1)
	return nil
}

// AddRecvKey adds the peer's new key. With MKI both keys stay valid, so
// packets in flight under the old MKI still decrypt; RemoveRecvKey drops
// the old one. Without MKI the new key replaces the old.
func (s *Session) AddRecvKey(k Key) error {
	if err := k.validate(); err != nil {
		return err
	}
	s.recvMu.Lock()
	defer s.recvMu.Unlock()
	if err := s.switchKey(&s.recv, s.cfg.Recv, k, true); err != nil {
		return err
	}
	if len(k.MKI) == 0 {
		s.recvKeys = s.recvKeys[:0]
	}
	s.recvKeys = append(s.recvKeys, k)
	return nil
}

// RemoveRecvKey forgets a receive key by MKI.
func (s *Session) RemoveRecvKey(mki []byte) error {
	s.recvMu.Lock()
	defer s.recvMu.Unlock()
	if err := s.recv.RemoveMKI(mki); err != nil {
		return fmt.Errorf("%w: remove mki %x: %w", ErrConfig, mki, err)
	}
	s.recvKeys = slices.DeleteFunc(s.recvKeys, func(k Key) bool { return bytes.Equal(k.MKI, mki) })
	return nil
}

func (s *Session) switchKey(ctx **srtp.Context, old, k Key, inbound bool) error {
	if len(old.MKI) != len(k.MKI) {
		return fmt.Errorf("%w: mki length %d, want %d", ErrConfig, len(k.MKI), len(old.MKI))
	}
	if len(k.MKI) == 0 {
		c, err := s.newContext(k, inbound)
		if err != nil {
			return fmt.Errorf("srtp: rekey: %w", err)
		}
		*ctx = c
		return nil
	}
	if err := (*ctx).AddCipherForMKI(k.MKI, k.Master, k.Salt); err != nil {
		return fmt.Errorf("%w: add mki %x: %w", ErrConfig, k.MKI, err)
	}
	if !inbound {
		if err := (*ctx).SetSendMKI(k.MKI); err != nil {
			return fmt.Errorf("%w: set send mki %x: %w", ErrConfig, k.MKI, err)
		}
		if err := (*ctx).RemoveMKI(old.MKI); err != nil {
			return fmt.Errorf("%w: remove old mki %x: %w", ErrConfig, old.MKI, err)
		}
	}
	return nil
}

// Stats returns a snapshot of the counters.
func (s *Session) Stats() Stats {
	return Stats{
		RTPSent: s.rtpSent.Load(), RTCPSent: s.rtcpSent.Load(),
		RTPReceived: s.rtpRecv.Load(), RTCPReceived: s.rtcpRecv.Load(),
		AuthFailures: s.authFail.Load(), ReplayDrops: s.replay.Load(),
		MKIMismatches: s.mkiMiss.Load(), Malformed: s.malf.Load(), Rekeys: s.rekey.Load(),
	}
}
