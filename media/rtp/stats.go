package rtp

import (
	"time"
)

// Stats is a per-call snapshot. Counters are totals; the load runner adds
// snapshots with Add (jitter: the maximum).
type Stats struct {
	PacketsSent     uint64
	BytesSent       uint64 // RTP payload bytes
	PacketsReceived uint64
	BytesReceived   uint64
	// Lost is expected − received (RFC 3550 A.3), never negative.
	Lost uint64
	// Late counts packets that arrived after a higher sequence number
	// (reordered) or twice; they are not counted as lost.
	Late uint64
	// Jitter is the RFC 3550 A.8 interarrival jitter estimate.
	Jitter           time.Duration
	SRTPAuthFailures uint64
	ReplayDrops      uint64
	MKIMismatches    uint64
	Malformed        uint64 // undecodable RTP/RTCP
	RTCPSent         uint64
	RTCPReceived     uint64
}

// Add sums counters and keeps the larger jitter.
func (s Stats) Add(o Stats) Stats {
	s.PacketsSent += o.PacketsSent
	s.BytesSent += o.BytesSent
	s.PacketsReceived += o.PacketsReceived
	s.BytesReceived += o.BytesReceived
	s.Lost += o.Lost
	s.Late += o.Late
	s.Jitter = max(s.Jitter, o.Jitter)
	s.SRTPAuthFailures += o.SRTPAuthFailures
	s.ReplayDrops += o.ReplayDrops
	s.MKIMismatches += o.MKIMismatches
	s.Malformed += o.Malformed
	s.RTCPSent += o.RTCPSent
	s.RTCPReceived += o.RTCPReceived
	return s
}

// Receiver tracks one remote SSRC: sequence (RFC 3550 A.1), loss (A.3) and
// jitter (A.8). It is a pure core; the caller supplies arrival times.
// Not safe for concurrent use.
type Receiver struct {
	clockRate int
	started   bool
	ssrc      uint32
	maxSeq    uint16
	cycles    uint32 // seq wraps << 16
	baseSeq   uint32
	received  uint64 // all accepted packets (every sequence space)
	spaceRecv uint64 // accepted packets in the current sequence space
	lostPrior uint64 // loss of earlier sequence spaces
	bytes     uint64
	late      uint64

	// A.8 jitter in timestamp units ×16 (fixed point as in the RFC's code).
	jitter      int64
	lastTransit int64
	haveTransit bool
	epoch       time.Time

	// A.3 interval state for the RR fraction lost.
	expectedPrior, receivedPrior uint64

	// Last SR from this source, for LSR/DLSR (RFC 3550 §6.4.1).
	lastSR   uint32
	lastSRAt time.Time
}

// NewReceiver creates a receiver for a clock rate (8000 for G.711).
func NewReceiver(clockRate int) *Receiver {
	return &Receiver{clockRate: clockRate}
}

// maxDropout/maxMisorder per RFC 3550 A.1.
const (
	maxDropout  = 3000
	maxMisorder = 100
)

func (r *Receiver) restart(seq uint16) {
	if r.started {
		r.lostPrior += r.spaceLost()
	}
	r.maxSeq, r.cycles, r.baseSeq = seq, 0, uint32(seq)
	r.spaceRecv, r.expectedPrior, r.receivedPrior = 0, 0, 0
}

// Update records a packet (ssrc, seq, RTP timestamp, payload size) that
// arrived at arrival. A new SSRC or a jump beyond RFC 3550 A.1's
// MAX_DROPOUT starts a new sequence space.
func (r *Receiver) Update(ssrc uint32, seq uint16, ts uint32, payload int, arrival time.Time) {
	switch {
	case !r.started || ssrc != r.ssrc:
		if !r.started {
			r.epoch = arrival
		}
		r.restart(seq)
		r.started, r.ssrc = true, ssrc
		r.haveTransit = false
	default:
		delta := seq - r.maxSeq
		switch {
		case delta == 0:
			r.late++ // duplicate: not received twice, not lost
			return
		case delta < maxDropout:
			if seq < r.maxSeq {
				r.cycles += 1 << 16
			}
			r.maxSeq = seq
		case delta <= 65535-maxMisorder:
			r.restart(seq)
		default:
			// Older than the highest seen: late (reordered). It still counts
			// as received, so it is not lost, but it feeds no jitter.
			r.late++
			r.received++
			r.spaceRecv++
			r.bytes += uint64(payload)
			return
		}
	}
	r.received++
	r.spaceRecv++
	r.bytes += uint64(payload)
	// A.8: transit = arrival (RTP units) − timestamp; J += (|D| − J)/16.
	arr := int64(arrival.Sub(r.epoch) * time.Duration(r.clockRate) / time.Second)
	transit := arr - int64(ts)
	if r.haveTransit {
		d := transit - r.lastTransit
		if d < 0 {
			d = -d
		}
		r.jitter += d - ((r.jitter + 8) >> 4)
	}
	r.lastTransit, r.haveTransit = transit, true
}

func (r *Receiver) extMax() uint32 { return r.cycles + uint32(r.maxSeq) }

func (r *Receiver) expected() uint64 {
	if !r.started {
		return 0
	}
	return uint64(r.extMax()-r.baseSeq) + 1
}

func (r *Receiver) spaceLost() uint64 {
	if e := r.expected(); r.started && e > r.spaceRecv {
		return e - r.spaceRecv
	}
	return 0
}

// Lost is expected − received over all sequence spaces (RFC 3550 A.3),
// never negative.
func (r *Receiver) Lost() uint64 { return r.lostPrior + r.spaceLost() }

// Jitter is the A.8 estimate as a duration.
func (r *Receiver) Jitter() time.Duration {
	if r.clockRate == 0 {
		return 0
	}
	return time.Duration(r.jitter>>4) * time.Second / time.Duration(r.clockRate)
}

// Snapshot fills the receive side of Stats.
func (r *Receiver) Snapshot(s *Stats) {
	s.PacketsReceived = r.received
	s.BytesReceived = r.bytes
	s.Lost = r.Lost()
	s.Late = r.late
	s.Jitter = r.Jitter()
}

// OnSR records a received sender report's NTP time for LSR/DLSR.
func (r *Receiver) OnSR(ntp uint64, arrival time.Time) {
	r.lastSR = uint32(ntp >> 16) // middle 32 bits (RFC 3550 §6.4.1)
	r.lastSRAt = arrival
}
