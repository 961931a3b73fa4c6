package rtp

import (
	"fmt"
	"time"

	"github.com/pion/rtcp"
)

// ntpEpochOffset is seconds from 1900-01-01 to 1970-01-01 (RFC 868).
const ntpEpochOffset = 2208988800

// NTP converts a wall-clock time to the 64-bit NTP format of RFC 3550 §4.
func NTP(t time.Time) uint64 {
	s := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return s<<32 | frac
}

// ReportBlock returns the RFC 3550 §6.4.1 reception report for this
// source at now and starts a new A.3 interval. ok is false before any packet.
func (r *Receiver) ReportBlock(now time.Time) (rtcp.ReceptionReport, bool) {
	if !r.started {
		return rtcp.ReceptionReport{}, false
	}
	expected := r.expected()
	expInt := expected - r.expectedPrior
	recvInt := r.spaceRecv - r.receivedPrior
	r.expectedPrior, r.receivedPrior = expected, r.spaceRecv
	var fraction uint8
	if expInt > 0 && recvInt < expInt {
		fraction = uint8((expInt - recvInt) << 8 / expInt)
	}
	lost := r.Lost()
	if lost > 0x7FFFFF { // 24-bit signed field, clamp (RFC 3550 §6.4.1)
		lost = 0x7FFFFF
	}
	rb := rtcp.ReceptionReport{
		SSRC: r.ssrc, FractionLost: fraction, TotalLost: uint32(lost),
		LastSequenceNumber: r.extMax(), Jitter: uint32(r.jitter >> 4),
	}
	if !r.lastSRAt.IsZero() {
		rb.LastSenderReport = r.lastSR
		rb.Delay = uint32(now.Sub(r.lastSRAt) * 65536 / time.Second) // units of 1/65536 s
	}
	return rb, true
}

// SenderInfo is what a sender report says about our own stream.
type SenderInfo struct {
	SSRC        uint32
	Now         time.Time
	RTPTime     uint32 // RTP timestamp corresponding to Now
	PacketCount uint32
	OctetCount  uint32
}

// MarshalSR builds an SR with the report block of recv, if any. A receiver
// that has not sent yet would use MarshalRR instead (RFC 3550 §6.4).
func MarshalSR(si SenderInfo, recv *Receiver) ([]byte, error) {
	sr := &rtcp.SenderReport{SSRC: si.SSRC, NTPTime: NTP(si.Now), RTPTime: si.RTPTime,
		PacketCount: si.PacketCount, OctetCount: si.OctetCount}
	if recv != nil {
		if rb, ok := recv.ReportBlock(si.Now); ok {
			sr.Reports = []rtcp.ReceptionReport{rb}
		}
	}
	b, err := sr.Marshal()
	if err != nil {
		return nil, fmt.Errorf("rtp: marshal sr: %w", err)
	}
	return b, nil
}

// MarshalRR builds a receiver report from ssrc about recv.
func MarshalRR(ssrc uint32, recv *Receiver, now time.Time) ([]byte, error) {
	rr := &rtcp.ReceiverReport{SSRC: ssrc}
	if recv != nil {
		if rb, ok := recv.ReportBlock(now); ok {
			rr.Reports = []rtcp.ReceptionReport{rb}
		}
	}
	b, err := rr.Marshal()
	if err != nil {
		return nil, fmt.Errorf("rtp: marshal rr: %w", err)
	}
	return b, nil
}

// HandleRTCP parses a received compound RTCP packet and records sender
// reports in recv. It returns the reception reports about us, if any.
func HandleRTCP(b []byte, recv *Receiver, arrival time.Time) ([]rtcp.ReceptionReport, error) {
	pkts, err := rtcp.Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("rtp: rtcp: %w", err)
	}
	var reports []rtcp.ReceptionReport
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.SenderReport:
			if recv != nil {
				recv.OnSR(p.NTPTime, arrival)
			}
			reports = append(reports, p.Reports...)
		case *rtcp.ReceiverReport:
			reports = append(reports, p.Reports...)
		}
	}
	return reports, nil
}
