package msturn

import (
	"encoding/binary"
	"fmt"
	"io"
)

// FrameType is the first byte of the 4-byte MS-TURN TCP frame header
// (protocols.md §9 "TCP framing").
type FrameType byte

// Frame types.
const (
	FrameControl FrameType = 0x02 // a TURN message
	FrameData    FrameType = 0x03 // end-to-end data after Set Active Destination
)

// FrameHeaderLen is the size of the TCP frame header: type, a zero byte and
// a 16-bit big-endian length.
const FrameHeaderLen = 4

// AppendFrame appends one framed payload to b.
func AppendFrame(b []byte, t FrameType, payload []byte) ([]byte, error) {
	if len(payload) > 0xFFFF {
		return b, fmt.Errorf("msturn: frame payload %d bytes exceeds 65535", len(payload))
	}
	b = append(b, byte(t), 0)
	b = binary.BigEndian.AppendUint16(b, uint16(len(payload)))
	return append(b, payload...), nil
}

// ParseFrame splits the first frame off b. It returns the frame type, the
// payload, the number of bytes consumed, or n == 0 when b does not hold a
// whole frame yet.
func ParseFrame(b []byte) (t FrameType, payload []byte, n int, err error) {
	if len(b) < FrameHeaderLen {
		return 0, nil, 0, nil
	}
	t = FrameType(b[0])
	if (t != FrameControl && t != FrameData) || b[1] != 0 {
		return 0, nil, 0, malformed("tcp frame header %x", b[:FrameHeaderLen])
	}
	l := int(binary.BigEndian.Uint16(b[2:4]))
	if len(b) < FrameHeaderLen+l {
		return 0, nil, 0, nil
	}
	return t, b[FrameHeaderLen : FrameHeaderLen+l], FrameHeaderLen + l, nil
}

// ReadFrame reads one frame from r into a new slice.
func ReadFrame(r io.Reader) (FrameType, []byte, error) {
	var h [FrameHeaderLen]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	t := FrameType(h[0])
	if (t != FrameControl && t != FrameData) || h[1] != 0 {
		return 0, nil, malformed("tcp frame header %x", h)
	}
	p := make([]byte, binary.BigEndian.Uint16(h[2:4]))
	if _, err := io.ReadFull(r, p); err != nil {
		return 0, nil, fmt.Errorf("msturn: tcp frame body: %w", err)
	}
	return t, p, nil
}
