package rtp

import (
	"fmt"

	"github.com/pion/rtp"
)

// Packetizer builds RTP packets for one SSRC (RFC 3550 §5.1). It is not
// safe for concurrent use.
type Packetizer struct {
	hdr  rtp.Header
	step uint32
}

// NewPacketizer starts at seq0/ts0 (random per RFC 3550 §5.1; the caller
// draws them from its injected rand) and advances the timestamp by step
// per packet (Format.Samples).
func NewPacketizer(ssrc uint32, pt uint8, seq0 uint16, ts0, step uint32) (*Packetizer, error) {
	if pt > 127 {
		return nil, fmt.Errorf("%w: payload type %d", ErrConfig, pt)
	}
	return &Packetizer{hdr: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq0, Timestamp: ts0, SSRC: ssrc}, step: step}, nil
}

// Packet appends the next packet (header + payload) to dst. marker is set
// on the first packet of a talkspurt (RFC 3551 §4.1).
func (p *Packetizer) Packet(dst, payload []byte, marker bool) []byte {
	p.hdr.Marker = marker
	n := p.hdr.MarshalSize()
	start := len(dst)
	dst = append(dst, make([]byte, n)...)
	_, _ = p.hdr.MarshalTo(dst[start:]) // cannot fail: buffer sized by MarshalSize
	dst = append(dst, payload...)
	p.hdr.SequenceNumber++
	p.hdr.Timestamp += p.step
	return dst
}

// Skip advances sequence number and timestamp without a packet (to model
// loss in tests or silence suppression).
func (p *Packetizer) Skip() {
	p.hdr.SequenceNumber++
	p.hdr.Timestamp += p.step
}

// Next returns the next sequence number and timestamp.
func (p *Packetizer) Next() (uint16, uint32) { return p.hdr.SequenceNumber, p.hdr.Timestamp }

// SSRC is the packetizer's source identifier.
func (p *Packetizer) SSRC() uint32 { return p.hdr.SSRC }
