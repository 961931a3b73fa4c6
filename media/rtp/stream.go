package rtp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/pion/rtp"

	"github.com/handset-dev/handset/media/srtp"
)

// Protector is SRTP for a stream; *srtp.Session implements it.
type Protector interface {
	ProtectRTP(dst, pkt []byte) ([]byte, error)
	UnprotectRTP(dst, pkt []byte) ([]byte, error)
	ProtectRTCP(dst, pkt []byte) ([]byte, error)
	UnprotectRTCP(dst, pkt []byte) ([]byte, error)
}

// Ticker is the part of *time.Ticker a Stream uses.
type Ticker interface {
	C() <-chan time.Time
	Stop()
}

// Clock supplies time and tickers; tests inject a fake (or run under
// testing/synctest with SystemClock).
type Clock interface {
	Now() time.Time
	NewTicker(d time.Duration) Ticker
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// NewTicker wraps time.NewTicker.
func (SystemClock) NewTicker(d time.Duration) Ticker { return sysTicker{time.NewTicker(d)} }

type sysTicker struct{ t *time.Ticker }

func (t sysTicker) C() <-chan time.Time { return t.t.C }
func (t sysTicker) Stop()               { t.t.Stop() }

// Config describes one stream.
type Config struct {
	Format Format
	SSRC   uint32
	Seq0   uint16 // first sequence number (random, RFC 3550 §5.1)
	TS0    uint32 // first timestamp (random)
	Source Source // nil sends nothing
	Remote net.Addr
	// RemoteRTCP is where RTCP goes (a=rtcp, or RTP port + 1); nil sends none.
	RemoteRTCP   net.Addr
	RTCPInterval time.Duration // 0 → 5 s (RFC 3550 §6.2 minimum)
	// Hold starts the stream not sending (a=inactive / recvonly).
	Hold bool
}

// Validate checks the config.
func (c Config) Validate() error {
	if c.Format.ClockRate <= 0 || c.Format.PT > 127 {
		return fmt.Errorf("%w: format %+v", ErrConfig, c.Format)
	}
	if c.Source != nil && c.Remote == nil {
		return fmt.Errorf("%w: a source needs a remote address", ErrConfig)
	}
	return nil
}

// Option sets a collaborator.
type Option func(*Stream) error

// WithProtector encrypts with SRTP.
func WithProtector(p Protector) Option { return func(s *Stream) error { s.prot = p; return nil } }

// WithClock injects the clock and ticker source.
func WithClock(c Clock) Option { return func(s *Stream) error { s.clock = c; return nil } }

// WithLogger injects a logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(s *Stream) error { s.log = l; return nil } }

// WithRTCPConn receives and sends RTCP on a separate socket (no rtcp-mux,
// as Lync 2013 uses a=rtcp). Without it RTCP is sent on the RTP conn.
func WithRTCPConn(c net.PacketConn) Option {
	return func(s *Stream) error { s.rtcpConn = c; return nil }
}

// Stream sends 20 ms packets on a ticker and receives on a PacketConn.
// Run owns its goroutines; the caller owns and closes the conns.
type Stream struct {
	cfg      Config
	conn     net.PacketConn
	rtcpConn net.PacketConn
	prot     Protector
	clock    Clock
	log      *slog.Logger

	mu       sync.Mutex
	sending  bool
	pk       *Packetizer
	recv     *Receiver
	stats    Stats
	lastTS   uint32
	lastSent time.Time
}

// NewStream creates a stream on conn.
func NewStream(conn net.PacketConn, cfg Config, opts ...Option) (*Stream, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if conn == nil {
		return nil, fmt.Errorf("%w: nil conn", ErrConfig)
	}
	if cfg.RTCPInterval == 0 {
		cfg.RTCPInterval = 5 * time.Second
	}
	pk, err := NewPacketizer(cfg.SSRC, cfg.Format.PT, cfg.Seq0, cfg.TS0, cfg.Format.Samples())
	if err != nil {
		return nil, err
	}
	s := &Stream{cfg: cfg, conn: conn, clock: SystemClock{}, log: slog.New(slog.DiscardHandler),
		sending: !cfg.Hold, pk: pk, recv: NewReceiver(cfg.Format.ClockRate)}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// SetSending pauses or resumes sending (hold/resume); receiving continues.
func (s *Stream) SetSending(on bool) {
	s.mu.Lock()
	s.sending = on
	s.mu.Unlock()
}

// Stats returns a snapshot.
func (s *Stream) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	s.recv.Snapshot(&st)
	return st
}

// Run sends and receives until ctx is done, then stops its readers (by
// setting a past read deadline) and returns ctx's cause. A closed conn ends
// Run with ErrClosed.
func (s *Stream) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	readers := []net.PacketConn{s.conn}
	if s.rtcpConn != nil {
		readers = append(readers, s.rtcpConn)
	}
	for _, c := range readers {
		_ = c.SetReadDeadline(time.Time{}) // a previous Run left it in the past
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.readLoop(c); err != nil {
				cancel(err)
			}
		}()
	}
	err := s.sendLoop(ctx)
	cancel(err)
	for _, c := range readers {
		_ = c.SetReadDeadline(time.Unix(1, 0)) // unblock ReadFrom
	}
	wg.Wait()
	if err == nil {
		err = context.Cause(ctx)
	}
	return err
}

func (s *Stream) sendLoop(ctx context.Context) error {
	t := s.clock.NewTicker(Ptime)
	defer t.Stop()
	rtcpEvery := int(s.cfg.RTCPInterval / Ptime)
	var payload, pkt, enc []byte
	first := true
	for tick := 1; ; tick++ {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
		}
		s.mu.Lock()
		sending := s.sending && s.cfg.Source != nil
		s.mu.Unlock()
		if sending {
			var err error
			if payload, err = s.cfg.Source.Frame(payload[:0]); err != nil {
				return fmt.Errorf("rtp: source: %w", err)
			}
			s.mu.Lock()
			pkt = s.pk.Packet(pkt[:0], payload, first)
			_, ts := s.pk.Next()
			s.lastTS, s.lastSent = ts-s.pk.step, s.clock.Now()
			s.mu.Unlock()
			first = false
			out := pkt
			if s.prot != nil {
				if enc, err = s.prot.ProtectRTP(enc[:0], pkt); err != nil {
					if errors.Is(err, srtp.ErrKeyExpired) {
						return fmt.Errorf("rtp: %w", err)
					}
					s.log.Debug("rtp protect failed", "err", err)
					continue
				}
				out = enc
			}
			if err := s.write(s.conn, out, s.cfg.Remote); err != nil {
				return err
			}
			s.mu.Lock()
			s.stats.PacketsSent++
			s.stats.BytesSent += uint64(len(payload))
			s.mu.Unlock()
		}
		if s.cfg.RemoteRTCP != nil && tick%rtcpEvery == 0 {
			if err := s.sendRTCP(); err != nil {
				return err
			}
		}
	}
}

func (s *Stream) write(c net.PacketConn, b []byte, to net.Addr) error {
	if _, err := c.WriteTo(b, to); err != nil {
		if errors.Is(err, net.ErrClosed) {
			return fmt.Errorf("%w: %w", ErrClosed, err)
		}
		// ICMP unreachable and the like: the peer may come back.
		s.log.Debug("rtp write failed", "err", err)
	}
	return nil
}

func (s *Stream) sendRTCP() error {
	s.mu.Lock()
	now := s.clock.Now()
	var b []byte
	var err error
	if s.stats.PacketsSent > 0 {
		rtpTS := s.lastTS + uint32(now.Sub(s.lastSent)*time.Duration(s.cfg.Format.ClockRate)/time.Second)
		b, err = MarshalSR(SenderInfo{SSRC: s.cfg.SSRC, Now: now, RTPTime: rtpTS,
			PacketCount: uint32(s.stats.PacketsSent), OctetCount: uint32(s.stats.BytesSent)}, s.recv)
	} else {
		b, err = MarshalRR(s.cfg.SSRC, s.recv, now)
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if s.prot != nil {
		if b, err = s.prot.ProtectRTCP(nil, b); err != nil {
			s.log.Debug("rtcp protect failed", "err", err)
			return nil
		}
	}
	c := s.conn
	if s.rtcpConn != nil {
		c = s.rtcpConn
	}
	if err := s.write(c, b, s.cfg.RemoteRTCP); err != nil {
		return err
	}
	s.mu.Lock()
	s.stats.RTCPSent++
	s.mu.Unlock()
	return nil
}

// isRTCP tells RTCP from RTP on a shared socket (RFC 5761 §4: PT 64–95
// after masking the marker bit means RTCP types 192–223).
func isRTCP(b []byte) bool { return len(b) >= 2 && b[1] >= 192 && b[1] <= 223 }

func (s *Stream) readLoop(c net.PacketConn) error {
	buf := make([]byte, 1500)
	var dec []byte
	var hdr rtp.Header
	for {
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return nil // Run set the deadline to stop us
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("%w: %w", ErrClosed, err)
			}
			return fmt.Errorf("rtp: read: %w", err)
		}
		pkt := buf[:n]
		now := s.clock.Now()
		if isRTCP(pkt) {
			s.handleRTCP(pkt, now)
			continue
		}
		if s.prot != nil {
			if dec, err = s.prot.UnprotectRTP(dec[:0], pkt); err != nil {
				s.countSRTPError(err)
				continue
			}
			pkt = dec
		}
		hn, err := hdr.Unmarshal(pkt)
		if err != nil {
			s.mu.Lock()
			s.stats.Malformed++
			s.mu.Unlock()
			continue
		}
		s.mu.Lock()
		s.recv.Update(hdr.SSRC, hdr.SequenceNumber, hdr.Timestamp, len(pkt)-hn-int(hdr.PaddingSize), now)
		s.mu.Unlock()
	}
}

func (s *Stream) handleRTCP(pkt []byte, now time.Time) {
	if s.prot != nil {
		dec, err := s.prot.UnprotectRTCP(nil, pkt)
		if err != nil {
			s.countSRTPError(err)
			return
		}
		pkt = dec
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := HandleRTCP(pkt, s.recv, now); err != nil {
		s.stats.Malformed++
		return
	}
	s.stats.RTCPReceived++
}

func (s *Stream) countSRTPError(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case errors.Is(err, srtp.ErrReplay):
		s.stats.ReplayDrops++
	case errors.Is(err, srtp.ErrUnknownMKI):
		s.stats.MKIMismatches++
	case errors.Is(err, srtp.ErrAuth):
		s.stats.SRTPAuthFailures++
	default:
		s.stats.Malformed++
	}
}
