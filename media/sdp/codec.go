package sdp

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Codec is an RTP payload format (a=rtpmap plus a=fmtp).
type Codec struct {
	PT        uint8
	Name      string // encoding name, "" when only a=fmtp was given
	ClockRate int
	Channels  int // 0 when not written
	Fmtp      string
}

func (c Codec) rtpmap() string {
	s := fmt.Sprintf("%d %s/%d", c.PT, c.Name, c.ClockRate)
	if c.Channels > 0 {
		s += "/" + strconv.Itoa(c.Channels)
	}
	return s
}

// Same reports whether two codecs are the same format (name, clock and
// fmtp bitrate), ignoring the payload type number.
func (c Codec) Same(o Codec) bool {
	return strings.EqualFold(c.Name, o.Name) && c.ClockRate == o.ClockRate &&
		(!strings.EqualFold(c.Name, "G7221") || bitrate(c.Fmtp) == bitrate(o.Fmtp))
}

func bitrate(fmtp string) string {
	for _, p := range strings.Split(fmtp, ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(p), "bitrate="); ok {
			return v
		}
	}
	return ""
}

// Codecs the handset supports (RFC 3551 static types; G.722.1 per RFC 5577).
var (
	PCMU    = Codec{PT: 0, Name: "PCMU", ClockRate: 8000}
	PCMA    = Codec{PT: 8, Name: "PCMA", ClockRate: 8000}
	G722    = Codec{PT: 9, Name: "G722", ClockRate: 8000} // RFC 3551 §4.5.2: RTP clock 8000
	G729    = Codec{PT: 18, Name: "G729", ClockRate: 8000}
	G722124 = Codec{PT: 112, Name: "G7221", ClockRate: 16000, Fmtp: "bitrate=24000"}
	G722132 = Codec{PT: 113, Name: "G7221", ClockRate: 16000, Fmtp: "bitrate=32000"}
	// TelephoneEvent is RFC 4733 DTMF as Lync offers it.
	TelephoneEvent = Codec{PT: 101, Name: "telephone-event", ClockRate: 8000, Fmtp: "0-16"}
)

func staticCodec(pt uint8) (Codec, bool) {
	for _, c := range []Codec{PCMU, PCMA, G722, G729} {
		if c.PT == pt {
			return c, true
		}
	}
	return Codec{}, false
}

// CodecPref is one voice.codecPref.<Name> value: priority 1 is highest, 0
// disables the codec.
type CodecPref struct {
	Name     string // G711_Mu, G711_A, G722, G7221.24kbps, G7221.32kbps, G729_AB
	Priority int
}

// DefaultCodecPrefs are the handset defaults that matter for Lync
// (the seed sets G7221.24kbps=5 and G7221.32kbps=0).
func DefaultCodecPrefs() []CodecPref {
	return []CodecPref{{"G711_Mu", 6}, {"G711_A", 7}, {"G722", 4}, {"G7221.24kbps", 5}, {"G729_AB", 8}}
}

// CodecsFromPrefs maps voice.codecPref.* to codecs in preference order.
// g7221PT is voice.audioProfile.G7221.24kbps.payloadType (0 → 112).
// Unknown names are an error naming the parameter.
func CodecsFromPrefs(prefs []CodecPref, g7221PT uint8) ([]Codec, error) {
	if g7221PT == 0 {
		g7221PT = 112
	}
	if g7221PT > 127 {
		return nil, fmt.Errorf("%w: voice.audioProfile.G7221.24kbps.payloadType %d > 127", ErrConfig, g7221PT)
	}
	type pc struct {
		c Codec
		p int
	}
	var list []pc
	for _, p := range prefs {
		if p.Priority < 0 || p.Priority > 27 {
			return nil, fmt.Errorf("%w: voice.codecPref.%s=%d (permitted 0 to 27)", ErrConfig, p.Name, p.Priority)
		}
		var c Codec
		switch p.Name {
		case "G711_Mu", "G711Mu":
			c = PCMU
		case "G711_A", "G711A":
			c = PCMA
		case "G722":
			c = G722
		case "G7221.24kbps":
			c = G722124
			c.PT = g7221PT
		case "G7221.32kbps":
			c = G722132
		case "G729_AB", "G729":
			c = G729
		default:
			return nil, fmt.Errorf("%w: unknown codec voice.codecPref.%s", ErrConfig, p.Name)
		}
		if p.Priority > 0 {
			list = append(list, pc{c, p.Priority})
		}
	}
	slices.SortStableFunc(list, func(a, b pc) int { return cmp.Compare(a.p, b.p) })
	out := make([]Codec, len(list))
	for i, x := range list {
		out[i] = x.c
	}
	return out, nil
}
