package rtp

import (
	"fmt"
	"strings"
	"time"
)

// Ptime is the handset's packet time (20 ms).
const Ptime = 20 * time.Millisecond

// Format is a codec's framing for 20 ms packets.
type Format struct {
	Name       string // PCMU, PCMA, G722, G7221, G729
	PT         uint8
	ClockRate  int // RTP clock (8000 for G.722, RFC 3551 §4.5.2)
	FrameBytes int // payload bytes per 20 ms
}

// Samples is the RTP timestamp increment per packet.
func (f Format) Samples() uint32 { return uint32(f.ClockRate / 50) }

// FormatFor returns the 20 ms framing for an SDP codec (name, payload type,
// clock rate and fmtp bitrate for G.722.1).
func FormatFor(name string, pt uint8, clockRate int, fmtp string) (Format, error) {
	f := Format{Name: strings.ToUpper(name), PT: pt, ClockRate: clockRate}
	switch f.Name {
	case "PCMU", "PCMA":
		f.FrameBytes = 160
	case "G722":
		f.FrameBytes = 160 // 64 kbit/s
	case "G729":
		f.FrameBytes = 20 // 2 × 10-byte frames
	case "G7221":
		switch {
		case strings.Contains(fmtp, "bitrate=32000"):
			f.FrameBytes = 80
		default:
			f.FrameBytes = 60 // 24 kbit/s (RFC 5577)
		}
	default:
		return Format{}, fmt.Errorf("%w: unsupported codec %q", ErrConfig, name)
	}
	if clockRate <= 0 || clockRate%50 != 0 {
		return Format{}, fmt.Errorf("%w: clock rate %d", ErrConfig, clockRate)
	}
	return f, nil
}

// Formats for the static G.711 types.
var (
	FormatPCMU = Format{Name: "PCMU", PT: 0, ClockRate: 8000, FrameBytes: 160}
	FormatPCMA = Format{Name: "PCMA", PT: 8, ClockRate: 8000, FrameBytes: 160}
)
