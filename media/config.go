package media

import (
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/handset-dev/handset/configs"
	"github.com/handset-dev/handset/media/rtp"
	"github.com/handset-dev/handset/media/sdp"
)

// DefaultDSCP is Expedited Forwarding, the seed's voice marking when
// qos.ip.rtp.dscp is Null.
const DefaultDSCP = 46

// DefaultDTMF is the telephone-event payload type Lync offers (RFC 4733).
const DefaultDTMF = 101

// SourceFunc builds the payload source for the negotiated format. It is
// called once per stream (again when a re-negotiation changes the codec).
type SourceFunc func(f rtp.Format) (rtp.Source, error)

// Config is everything a call's media leg needs, read from .cfg parameters
// by [ConfigFromParams] (plus LocalIP and Source, which the caller sets).
// The zero value of each field means its default; Config is not modified
// after NewSession.
type Config struct {
	// LocalIP is the address written in c= and o= and bound for RTP/RTCP.
	LocalIP netip.Addr
	// PortMin and PortMax bound the RTP port (RTCP uses RTP+1). 0 binds
	// ephemeral ports. The handset's registry has no media port range
	// parameter, so ConfigFromParams leaves them 0.
	PortMin, PortMax int
	// Codecs in preference order (voice.codecPref.*).
	Codecs []sdp.Codec
	// DTMF is the telephone-event payload type to offer; 0 offers none.
	DTMF uint8
	// Policy is reg.x.srtp.enable/offer/require (falling back to
	// sec.srtp.*).
	Policy sdp.Policy
	// MKI is sec.srtp.mki.enabled: send an MKI in our a=crypto lines.
	MKI bool
	// MKILength is sec.srtp.mki.length (1..4); 0 means 1.
	MKILength int
	// MKIStartSessionAtOne is sec.srtp.mki.startSessionAtOne.
	MKIStartSessionAtOne bool
	// RequireMKI rejects answers that drop the MKI. Not a handset
	// parameter: the handset accepts MKI-less answers (baresip sends them).
	RequireMKI bool
	// KeyLifetime is sec.srtp.key.lifetime in packets; 0 writes none and
	// never re-keys.
	KeyLifetime uint64
	// HoldWithNewKey and ResumeWithNewKey are sec.srtp.holdWithNewKey and
	// sec.srtp.resumeWithNewKey.
	HoldWithNewKey, ResumeWithNewKey bool
	// DSCP is qos.ip.rtp.dscp; 0 leaves packets unmarked.
	DSCP int
	// Ptime is the packet time; only 20 ms (the handset's) is supported,
	// 0 means 20 ms.
	Ptime time.Duration
	// Bandwidth is the session b= line ("CT:99980" as SIPE writes); ""
	// writes none.
	Bandwidth string
	// RTCPInterval is the RTCP report interval; 0 means 5 s.
	RTCPInterval time.Duration
	// Source makes the payload source; nil sends a 440 Hz tone for G.711
	// and silent frames for the other codecs ([ToneSource]).
	Source SourceFunc
}

// Validate checks the config.
func (c Config) Validate() error {
	if !c.LocalIP.IsValid() || c.LocalIP.IsUnspecified() {
		return fmt.Errorf("%w: LocalIP %v is not a usable address", ErrConfig, c.LocalIP)
	}
	if c.PortMin < 0 || c.PortMax > 65535 || c.PortMin > c.PortMax || (c.PortMin == 0) != (c.PortMax == 0) ||
		(c.PortMin != 0 && c.PortMax-c.PortMin < 1) {
		return fmt.Errorf("%w: rtp port range %d-%d", ErrConfig, c.PortMin, c.PortMax)
	}
	if len(c.Codecs) == 0 {
		return fmt.Errorf("%w: voice.codecPref.*: no supported codec enabled", ErrConfig)
	}
	for _, cd := range c.Codecs {
		if _, err := rtp.FormatFor(cd.Name, cd.PT, cd.ClockRate, cd.Fmtp); err != nil {
			return fmt.Errorf("%w: codec %s: %w", ErrConfig, cd.Name, err)
		}
	}
	if c.MKILength < 0 || c.MKILength > 4 {
		return fmt.Errorf("%w: sec.srtp.mki.length=%d (permitted 1 to 4)", ErrConfig, c.MKILength)
	}
	if c.KeyLifetime != 0 {
		if _, err := configs.ParseLifetime(strconv.FormatUint(c.KeyLifetime, 10)); err != nil {
			return fmt.Errorf("%w: sec.srtp.key.lifetime: %w", ErrConfig, err)
		}
	}
	if c.DSCP < 0 || c.DSCP > 63 {
		return fmt.Errorf("%w: qos.ip.rtp.dscp=%d (permitted 0 to 63)", ErrConfig, c.DSCP)
	}
	if c.Ptime != 0 && c.Ptime != rtp.Ptime {
		return fmt.Errorf("%w: ptime %v (only %v)", ErrConfig, c.Ptime, rtp.Ptime)
	}
	if c.RTCPInterval < 0 {
		return fmt.Errorf("%w: rtcp interval %v", ErrConfig, c.RTCPInterval)
	}
	return nil
}

func (c Config) mkiLength() int {
	if c.MKILength == 0 {
		return 1
	}
	return c.MKILength
}

// sdpCodecPrefs are the voice.codecPref.* names media/sdp can offer (the
// registry also knows Siren, Lin16, iLBC and G.722.1C, which the emulator
// does not send).
var sdpCodecPrefs = []string{"G711_Mu", "G711_A", "G722", "G7221.24kbps", "G7221.32kbps", "G729_AB"}

// ConfigFromParams reads one line's media configuration from the effective
// .cfg values: voice.codecPref.*, voice.audioProfile.G7221.24kbps.payloadType,
// reg.<line>.srtp.enable/offer/require (each falling back to sec.srtp.* when
// no layer sets the per-line value), sec.srtp.mki.*, sec.srtp.key.lifetime,
// sec.srtp.holdWithNewKey, sec.srtp.resumeWithNewKey and qos.ip.rtp.dscp
// (Null → 46). LocalIP, the port range and Source are left for the caller.
// Errors name the parameter.
func ConfigFromParams(e *configs.Effective, line int) (Config, error) {
	if e == nil {
		return Config{}, fmt.Errorf("%w: no configuration", ErrConfig)
	}
	if line < 1 || line > 34 {
		return Config{}, fmt.Errorf("%w: line %d (permitted 1 to 34)", ErrConfig, line)
	}
	var prefs []sdp.CodecPref
	for _, n := range sdpCodecPrefs {
		prefs = append(prefs, sdp.CodecPref{Name: n, Priority: e.Int("voice.codecPref." + n)})
	}
	pt := e.Int("voice.audioProfile.G7221.24kbps.payloadType")
	if pt < 0 || pt > 127 {
		return Config{}, fmt.Errorf("%w: voice.audioProfile.G7221.24kbps.payloadType=%d (permitted 0 to 127)", ErrConfig, pt)
	}
	codecs, err := sdp.CodecsFromPrefs(prefs, uint8(pt))
	if err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if len(codecs) == 0 {
		return Config{}, fmt.Errorf("%w: voice.codecPref.*: none of %v is enabled", ErrConfig, sdpCodecPrefs)
	}
	srtpBool := func(name string) bool {
		per := "reg." + strconv.Itoa(line) + ".srtp." + name
		if v, ok := e.Lookup(per); ok && v.Source.Kind != configs.Default {
			return e.Bool(per)
		}
		return e.Bool("sec.srtp." + name)
	}
	c := Config{
		Codecs:               codecs,
		DTMF:                 DefaultDTMF,
		Policy:               sdp.PolicyFromConfig(srtpBool("enable"), srtpBool("offer"), srtpBool("require")),
		MKI:                  e.Bool("sec.srtp.mki.enabled"),
		MKILength:            e.Int("sec.srtp.mki.length"),
		MKIStartSessionAtOne: e.Bool("sec.srtp.mki.startSessionAtOne"),
		HoldWithNewKey:       e.Bool("sec.srtp.holdWithNewKey"),
		ResumeWithNewKey:     e.Bool("sec.srtp.resumeWithNewKey"),
		DSCP:                 DefaultDSCP,
		Ptime:                rtp.Ptime,
	}
	if c.MKILength < 1 || c.MKILength > 4 {
		return Config{}, fmt.Errorf("%w: sec.srtp.mki.length=%q (permitted 1 to 4)", ErrConfig, e.String("sec.srtp.mki.length"))
	}
	if v, ok := e.Lookup("sec.srtp.key.lifetime"); ok && v.Raw != "" {
		n, err := configs.ParseLifetime(v.Raw)
		if err != nil {
			return Config{}, fmt.Errorf("%w: sec.srtp.key.lifetime=%q: %w", ErrConfig, v.Raw, err)
		}
		c.KeyLifetime = n
	}
	if v, ok := e.Lookup("qos.ip.rtp.dscp"); ok && v.Raw != "" {
		d, err := strconv.Atoi(v.Raw)
		if err != nil || d < 0 || d > 63 {
			return Config{}, fmt.Errorf("%w: qos.ip.rtp.dscp=%q (permitted 0 to 63 or Null)", ErrConfig, v.Raw)
		}
		c.DSCP = d
	}
	return c, nil
}
