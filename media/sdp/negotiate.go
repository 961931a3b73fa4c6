package sdp

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Policy is the line's SRTP policy, straight from reg.x.srtp.* (seed
// "Interop guide" table): Enable accepts SRTP on incoming calls (0 declines
// SRTP-offered calls), Offer adds a=crypto to outgoing offers, Require allows
// only secure media (and implies Offer).
type Policy struct {
	Enable  bool
	Offer   bool
	Require bool
}

// PolicyFromConfig builds a Policy from reg.x.srtp.enable/offer/require,
// applying the seed's rule that require=1 forces offer=1.
func PolicyFromConfig(enable, offer, require bool) Policy {
	return Policy{Enable: enable || require, Offer: offer || require, Require: require}
}

// level is the encryption level this policy offers.
func (p Policy) level() Encryption {
	switch {
	case p.Require:
		return EncryptionRequired
	case p.Offer && p.Enable:
		return EncryptionOptional
	case !p.Enable:
		return EncryptionRejected
	}
	return ""
}

// SRTPConfig holds sec.srtp.* for one key. The zero value is the handset
// default: MKI enabled, 1 byte, value 1, lifetime 2^31.
type SRTPConfig struct {
	NoMKI      bool   // sec.srtp.mki.enabled=0
	MKILength  int    // sec.srtp.mki.length, 1..4; 0 → 1
	MKI        uint32 // value for this key (srtp.MKICounter); 0 → 1
	Lifetime   uint64 // sec.srtp.key.lifetime; 0 → 2^31
	NoLifetime bool   // sec.srtp.key.lifetime=0: do not write a lifetime
}

func (c SRTPConfig) validate() error {
	if c.MKILength < 0 || c.MKILength > 4 {
		return fmt.Errorf("%w: sec.srtp.mki.length=%d (permitted 1 to 4)", ErrConfig, c.MKILength)
	}
	if c.Lifetime != 0 {
		if _, err := parseLifetime(strconv.FormatUint(c.Lifetime, 10)); err != nil {
			return fmt.Errorf("%w: sec.srtp.key.lifetime: %w", ErrConfig, err)
		}
	}
	if c.mkiLen() < 4 && uint64(c.mki()) >= 1<<(8*c.mkiLen()) {
		return fmt.Errorf("%w: mki %d does not fit %d byte(s)", ErrConfig, c.mki(), c.mkiLen())
	}
	return nil
}

func (c SRTPConfig) mkiLen() int {
	if c.MKILength == 0 {
		return 1
	}
	return c.MKILength
}

func (c SRTPConfig) mki() uint32 {
	if c.MKI == 0 {
		return 1
	}
	return c.MKI
}

func (c SRTPConfig) lifetime() uint64 {
	switch {
	case c.NoLifetime:
		return 0
	case c.Lifetime == 0:
		return DefaultLifetime
	}
	return c.Lifetime
}

func (c SRTPConfig) crypto(tag uint32, suite string, key []byte, withMKI bool) Crypto {
	cr := Crypto{Tag: tag, Suite: suite, Key: key, Lifetime: c.lifetime()}
	if withMKI && !c.NoMKI {
		cr.MKI, cr.MKILen = c.mki(), c.mkiLen()
	}
	return cr
}

// OfferConfig describes a local audio offer.
type OfferConfig struct {
	Address   string // local media address for o= and c=
	Port      int    // RTP port; 0 rejects the stream
	RTCPPort  int    // a=rtcp; 0 omits it
	SessionID uint64
	Version   uint64 // bump on every re-INVITE (RFC 3264 §8)
	Bandwidth string // e.g. "CT:99980" (SIPE); "" omits b=
	Codecs    []Codec
	DTMF      uint8 // telephone-event payload type, 0 for none
	Policy    Policy
	SRTP      SRTPConfig
	// Key is the 30-byte master key ‖ salt to offer; nil draws one from Rand.
	Key       []byte
	Rand      io.Reader
	Direction Direction // "" or SendRecv writes nothing; Inactive/SendOnly for hold
	SSRCRange [2]uint32 // a=x-ssrc-range when hi != 0
	// Attributes are extra media attributes (ICE candidates, ice-ufrag, …).
	Attributes []Attribute
}

func addrType(a string) string {
	if strings.Contains(a, ":") {
		return "IP6"
	}
	return "IP4"
}

// Offer builds an offer. With SRTP it writes two crypto lines for one key,
// tag 1 with MKI and tag 2 without (protocols.md §10.3), or one line without
// MKI when sec.srtp.mki.enabled=0.
func Offer(cfg OfferConfig) (*Session, error) {
	if cfg.Address == "" || cfg.Port < 0 || cfg.Port > 65535 || cfg.RTCPPort < 0 || cfg.RTCPPort > 65535 {
		return nil, fmt.Errorf("%w: offer needs an address and ports in 0..65535", ErrConfig)
	}
	if len(cfg.Codecs) == 0 {
		return nil, fmt.Errorf("%w: no codecs enabled", ErrConfig)
	}
	if err := cfg.SRTP.validate(); err != nil {
		return nil, err
	}
	conn := Conn{AddrType: addrType(cfg.Address), Address: cfg.Address}
	s := &Session{
		Origin: Origin{Username: "-", SessionID: cfg.SessionID, Version: cfg.Version, Conn: conn},
		Name:   "session", Connection: conn, Timing: "0 0",
	}
	if cfg.Bandwidth != "" {
		s.Bandwidth = []string{cfg.Bandwidth}
	}
	m := &Media{Type: "audio", Port: cfg.Port, Proto: "RTP/AVP", RTCPPort: cfg.RTCPPort,
		Attributes: slices.Clone(cfg.Attributes)}
	for _, c := range cfg.Codecs {
		m.Formats = append(m.Formats, strconv.Itoa(int(c.PT)))
		m.Codecs = append(m.Codecs, c)
	}
	if cfg.DTMF != 0 {
		te := TelephoneEvent
		te.PT = cfg.DTMF
		m.Formats = append(m.Formats, strconv.Itoa(int(te.PT)))
		m.Codecs = append(m.Codecs, te)
	}
	lvl := cfg.Policy.level()
	if lvl == EncryptionRequired || lvl == EncryptionOptional {
		key := cfg.Key
		if key == nil {
			if cfg.Rand == nil {
				return nil, fmt.Errorf("%w: srtp offer needs Key or Rand", ErrConfig)
			}
			var err error
			if key, err = NewKey(cfg.Rand); err != nil {
				return nil, err
			}
		} else if len(key) != KeyLen {
			return nil, fmt.Errorf("%w: key must be %d bytes", ErrConfig, KeyLen)
		}
		if cfg.SRTP.NoMKI {
			m.Crypto = []Crypto{cfg.SRTP.crypto(1, SuiteAES128SHA1_80, key, false)}
		} else {
			m.Crypto = []Crypto{
				cfg.SRTP.crypto(1, SuiteAES128SHA1_80, key, true),
				cfg.SRTP.crypto(2, SuiteAES128SHA1_80, key, false),
			}
		}
		if lvl == EncryptionRequired {
			m.Proto = "RTP/SAVP"
		}
	}
	m.Encryption = lvl
	if d := cfg.Direction; d != "" && d != SendRecv {
		m.Direction = d
	}
	if cfg.SSRCRange[1] != 0 {
		m.SSRCRange, m.HasSSRC = cfg.SSRCRange, true
	}
	sortAttrs(m.Attributes)
	s.Media = []*Media{m}
	return s, nil
}

// AnswerConfig describes the local side of an answer.
type AnswerConfig struct {
	Address   string
	Port      int
	RTCPPort  int
	SessionID uint64
	Version   uint64
	Bandwidth string
	Codecs    []Codec // local preference order
	DTMF      bool    // accept telephone-event when offered
	Policy    Policy
	SRTP      SRTPConfig
	Key       []byte // nil draws from Rand
	Rand      io.Reader
	// Direction is the local wish (hold); the answer is the intersection
	// with the offer (RFC 3264 §6.1).
	Direction  Direction
	SSRCRange  [2]uint32
	Attributes []Attribute
}

// offerLevel is how strongly the offer asks for SRTP: RTP/SAVP or
// a=encryption:required → required; a=crypto on RTP/AVP → optional
// (MS-SDPEXT); otherwise none.
func offerLevel(m *Media) Encryption {
	switch {
	case strings.Contains(m.Proto, "SAVP") || m.Encryption == EncryptionRequired:
		return EncryptionRequired
	case len(m.Crypto) > 0 && m.Encryption != EncryptionRejected:
		return EncryptionOptional
	}
	return ""
}

func audio(s *Session) (int, *Media) {
	for i, m := range s.Media {
		if m.Type == "audio" && m.Port != 0 {
			return i, m
		}
	}
	return -1, nil
}

// chooseCrypto picks the offered line to accept: a known suite (_80 before
// _32), then the MKI preference (with MKI when the handset uses MKI, without
// otherwise). Lync lists both forms (protocols.md §14 pitfall 8). Lines
// whose MKI length differs from sec.srtp.mki.length are not acceptable
// (RELIABILITY.md P6).
func chooseCrypto(offered []Crypto, wantMKI bool, mkiLen int) (Crypto, bool) {
	best, found, bestScore := Crypto{}, false, -1
	for _, c := range offered {
		if c.HasMKI() && c.MKILen != mkiLen {
			continue
		}
		score := 0
		if c.Suite == SuiteAES128SHA1_80 {
			score += 2
		}
		if c.HasMKI() == wantMKI {
			score++
		}
		if score > bestScore {
			best, found, bestScore = c, true, score
		}
	}
	return best, found
}

// Answer answers offer's first audio stream; other streams are rejected with
// port 0. Encryption mismatches and no common codec are *NegotiationError
// (488 with a Warning).
func Answer(offer *Session, cfg AnswerConfig) (*Session, error) {
	if cfg.Address == "" || cfg.Port <= 0 || cfg.Port > 65535 || cfg.RTCPPort < 0 || cfg.RTCPPort > 65535 {
		return nil, fmt.Errorf("%w: answer needs an address and a port in 1..65535", ErrConfig)
	}
	if err := cfg.SRTP.validate(); err != nil {
		return nil, err
	}
	ai, om := audio(offer)
	if om == nil {
		return nil, &NegotiationError{Status: 488, Warning: WarningMediaFormat, Err: ErrNoAudio}
	}
	pol := PolicyFromConfig(cfg.Policy.Enable, cfg.Policy.Offer, cfg.Policy.Require)
	lvl := offerLevel(om)
	var useCrypto *Crypto
	switch {
	case lvl == EncryptionRequired && !pol.Enable:
		return nil, errEncryption("offer requires srtp, reg.x.srtp.enable=0")
	case lvl == "" && pol.Require:
		return nil, errEncryption("offer has no srtp, reg.x.srtp.require=1")
	case lvl != "" && pol.Enable:
		c, ok := chooseCrypto(om.Crypto, !cfg.SRTP.NoMKI, cfg.SRTP.mkiLen())
		if !ok {
			if lvl == EncryptionRequired || pol.Require {
				return nil, errEncryption("no usable a=crypto offered (suite or mki length)")
			}
			break
		}
		useCrypto = &c
	}
	codecs := commonCodecs(om, cfg.Codecs)
	if len(codecs) == 0 {
		return nil, &NegotiationError{Status: 488, Warning: WarningMediaFormat, Err: ErrNoCommonCodec}
	}
	if cfg.DTMF {
		for _, pt := range om.PayloadTypes() {
			if c, ok := om.Codec(pt); ok && strings.EqualFold(c.Name, TelephoneEvent.Name) {
				codecs = append(codecs, c)
				break
			}
		}
	}
	conn := Conn{AddrType: addrType(cfg.Address), Address: cfg.Address}
	s := &Session{
		Origin: Origin{Username: "-", SessionID: cfg.SessionID, Version: cfg.Version, Conn: conn},
		Name:   "session", Connection: conn, Timing: "0 0",
	}
	if cfg.Bandwidth != "" {
		s.Bandwidth = []string{cfg.Bandwidth}
	}
	for i, om2 := range offer.Media {
		if i != ai {
			// RFC 3264 §6: a rejected stream keeps its m= line with port 0.
			s.Media = append(s.Media, &Media{Type: om2.Type, Port: 0, Proto: om2.Proto, Formats: slices.Clone(om2.Formats)})
			continue
		}
		m := &Media{Type: "audio", Port: cfg.Port, Proto: om.Proto, RTCPPort: cfg.RTCPPort,
			Attributes: slices.Clone(cfg.Attributes)}
		for _, c := range codecs {
			m.Formats = append(m.Formats, strconv.Itoa(int(c.PT)))
			m.Codecs = append(m.Codecs, c)
		}
		if useCrypto != nil {
			key := cfg.Key
			if key == nil {
				if cfg.Rand == nil {
					return nil, fmt.Errorf("%w: srtp answer needs Key or Rand", ErrConfig)
				}
				var err error
				if key, err = NewKey(cfg.Rand); err != nil {
					return nil, err
				}
			} else if len(key) != KeyLen {
				return nil, fmt.Errorf("%w: key must be %d bytes", ErrConfig, KeyLen)
			}
			// Answer with MKI only when the accepted line has one: some
			// Microsoft endpoints reject a key without MKI once they have
			// offered one (protocols.md §14 pitfall 8).
			m.Crypto = []Crypto{cfg.SRTP.crypto(useCrypto.Tag, useCrypto.Suite, key, useCrypto.HasMKI())}
		} else if strings.Contains(m.Proto, "SAVP") {
			m.Proto = strings.Replace(m.Proto, "SAVP", "AVP", 1)
		}
		if om.Encryption != "" {
			switch {
			case useCrypto != nil && lvl == EncryptionRequired:
				m.Encryption = EncryptionRequired
			case useCrypto != nil:
				m.Encryption = EncryptionOptional
			default:
				m.Encryption = EncryptionRejected
			}
		}
		m.Direction = answerDirection(om.Direction, cfg.Direction)
		if cfg.SSRCRange[1] != 0 {
			m.SSRCRange, m.HasSSRC = cfg.SSRCRange, true
		}
		sortAttrs(m.Attributes)
		s.Media = append(s.Media, m)
	}
	return s, nil
}

// answerDirection intersects the offered direction (reversed) with the local
// wish; "" when the result is sendrecv.
func answerDirection(offered, local Direction) Direction {
	r := offered.Reverse()
	l := local.Effective()
	canSend := (r == SendRecv || r == SendOnly) && (l == SendRecv || l == SendOnly)
	canRecv := (r == SendRecv || r == RecvOnly) && (l == SendRecv || l == RecvOnly)
	switch {
	case canSend && canRecv:
		return ""
	case canSend:
		return SendOnly
	case canRecv:
		return RecvOnly
	}
	return Inactive
}

// commonCodecs returns the local codecs (local preference order) present in
// the offer, with the offer's payload type numbers.
func commonCodecs(om *Media, local []Codec) []Codec {
	var out []Codec
	for _, lc := range local {
		for _, pt := range om.PayloadTypes() {
			oc, ok := om.Codec(pt)
			if ok && oc.Same(lc) {
				out = append(out, oc)
				break
			}
		}
	}
	return out
}

// Role says which side of an exchange the local party is.
type Role uint8

// Roles.
const (
	Offerer Role = iota
	Answerer
)

// NegotiateConfig tunes Negotiate.
type NegotiateConfig struct {
	// RequireMKI rejects an answer that drops the MKI of the accepted line.
	// Off by default: baresip answers without MKI (peers.md).
	RequireMKI bool
	// MKILength is sec.srtp.mki.length; when non-zero, a remote MKI of
	// another length is rejected with ErrMKILengthMismatch.
	MKILength int
}

// Result is what the media layer needs from a completed exchange. Local is
// the key this side sends with, Remote the key it receives with.
type Result struct {
	Encrypted       bool
	Local, Remote   Crypto
	Codec           Codec
	DTMF            uint8 // telephone-event payload type, 0 when not negotiated
	RemoteAddress   string
	RemotePort      int
	RemoteRTCPPort  int
	LocalDirection  Direction
	RemoteDirection Direction
}

// Negotiate reads a completed offer/answer for the first audio stream.
// The answer must carry at most one a=crypto whose tag and suite were
// offered; if it drops the offered MKI, the offerer's key is used without
// MKI in both directions (unless cfg.RequireMKI).
func Negotiate(offer, answer *Session, role Role, cfg NegotiateConfig) (*Result, error) {
	ai, om := audio(offer)
	if om == nil {
		return nil, ErrNoAudio
	}
	if ai >= len(answer.Media) || answer.Media[ai].Port == 0 {
		return nil, &NegotiationError{Status: 488, Warning: WarningMediaFormat, Err: fmt.Errorf("%w: audio stream rejected", ErrNoAudio)}
	}
	am := answer.Media[ai]
	r := &Result{}
	var ocr, acr Crypto
	switch len(am.Crypto) {
	case 0:
		if offerLevel(om) == EncryptionRequired {
			return nil, errEncryption("offer required srtp, answer has no a=crypto")
		}
	case 1:
		acr = am.Crypto[0]
		i := slices.IndexFunc(om.Crypto, func(c Crypto) bool { return c.Tag == acr.Tag })
		if i < 0 || om.Crypto[i].Suite != acr.Suite {
			return nil, fmt.Errorf("%w: tag %d %s", ErrCryptoMismatch, acr.Tag, acr.Suite)
		}
		ocr = om.Crypto[i]
		for _, c := range []Crypto{ocr, acr} {
			if cfg.MKILength != 0 && c.HasMKI() && c.MKILen != cfg.MKILength {
				return nil, &CryptoError{Tag: strconv.FormatUint(uint64(c.Tag), 10), Field: "mki",
					Err: fmt.Errorf("%w: %d byte(s), configured %d", ErrMKILengthMismatch, c.MKILen, cfg.MKILength)}
			}
		}
		if ocr.HasMKI() && !acr.HasMKI() {
			if cfg.RequireMKI {
				return nil, ErrMKIRequired
			}
			ocr.MKI, ocr.MKILen = 0, 0
		}
		r.Encrypted = true
	default:
		return nil, fmt.Errorf("%w: answer has %d a=crypto lines", ErrCryptoMismatch, len(am.Crypto))
	}
	pts := am.PayloadTypes()
	for _, pt := range pts {
		c, ok := am.Codec(pt)
		if !ok {
			c, ok = om.Codec(pt)
		}
		if !ok {
			continue
		}
		if strings.EqualFold(c.Name, TelephoneEvent.Name) {
			if r.DTMF == 0 {
				r.DTMF = pt
			}
			continue
		}
		if r.Codec.Name == "" {
			r.Codec = c
		}
	}
	if r.Codec.Name == "" {
		return nil, &NegotiationError{Status: 488, Warning: WarningMediaFormat, Err: ErrNoCommonCodec}
	}
	local, remote, lm, rm, rs := om, am, ocr, acr, answer
	if role == Answerer {
		local, remote, lm, rm, rs = am, om, acr, ocr, offer
	}
	r.Local, r.Remote = lm, rm
	r.LocalDirection, r.RemoteDirection = local.Direction.Effective(), remote.Direction.Effective()
	conn := remote.Connection
	if conn.IsZero() {
		conn = rs.Connection
	}
	r.RemoteAddress, r.RemotePort = conn.Address, remote.Port
	r.RemoteRTCPPort = remote.RTCPPort
	if r.RemoteRTCPPort == 0 {
		r.RemoteRTCPPort = remote.Port + 1 // RFC 3550 §11
	}
	return r, nil
}

// IsNegotiationError returns the *NegotiationError in err's chain, if any.
func IsNegotiationError(err error) (*NegotiationError, bool) {
	var ne *NegotiationError
	ok := errors.As(err, &ne)
	return ne, ok
}
