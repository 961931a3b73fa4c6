package ntlm

import (
	"bytes"
	"encoding/binary"
	"unicode/utf16"
)

// signature starts every NTLM message (MS-NLMP 2.2.1).
var signature = []byte("NTLMSSP\x00")

// Message types (MS-NLMP 2.2.1).
const (
	typeNegotiate    = 1
	typeChallenge    = 2
	typeAuthenticate = 3
)

// maxMessage bounds what the parsers accept; real messages are well under
// 2 KiB, and gssapi-data comes from the network.
const maxMessage = 64 << 10

// Version is the VERSION structure (MS-NLMP 2.2.2.10). It is informational.
type Version struct {
	Major, Minor uint8
	Build        uint16
	Revision     uint8 // NTLMSSP revision, 0x0F (NTLMSSP_REVISION_W2K3)
}

// defaultVersion is what SIPE sends: 5.1.2600, revision 15 (protocols.md §4.3).
var defaultVersion = Version{Major: 5, Minor: 1, Build: 2600, Revision: 0x0F}

func (v Version) append(b []byte) []byte {
	b = append(b, v.Major, v.Minor)
	b = binary.LittleEndian.AppendUint16(b, v.Build)
	return append(b, 0, 0, 0, v.Revision)
}

func parseVersion(b []byte) *Version {
	return &Version{Major: b[0], Minor: b[1], Build: binary.LittleEndian.Uint16(b[2:]), Revision: b[7]}
}

// NegotiateMessage is MS-NLMP 2.2.1.1. Domain and Workstation are OEM bytes.
type NegotiateMessage struct {
	Flags       Flags
	Domain      []byte
	Workstation []byte
	Version     *Version
}

// ChallengeMessage is MS-NLMP 2.2.1.2. TargetName is kept as sent (UTF-16LE
// when UNICODE is negotiated); TargetInfo is the raw AV_PAIR list.
type ChallengeMessage struct {
	Flags           Flags
	TargetName      []byte
	ServerChallenge [8]byte
	TargetInfo      []byte
	Version         *Version
}

// AuthenticateMessage is MS-NLMP 2.2.1.3. Name fields are kept as sent
// (UTF-16LE when UNICODE is negotiated, else OEM); see Identity for decoded
// names. MIC is nil or 16 bytes.
type AuthenticateMessage struct {
	Flags                     Flags
	LmChallengeResponse       []byte
	NtChallengeResponse       []byte
	Domain                    []byte
	User                      []byte
	Workstation               []byte
	EncryptedRandomSessionKey []byte
	Version                   *Version
	MIC                       []byte
}

// field is a (len, maxlen, offset) descriptor (MS-NLMP 2.2.1).
type field struct {
	b   []byte
	off int // where the descriptor sits
}

// writePayload lays the fields out after a fixed header of size hdr, in the
// given order, and fills each descriptor. Empty fields point at the end of
// the header (gss-ntlmssp rejects offset 0, peers.md).
func writePayload(hdr []byte, fields []field) []byte {
	out := hdr
	pos := len(hdr)
	for _, f := range fields {
		binary.LittleEndian.PutUint16(out[f.off:], uint16(len(f.b)))
		binary.LittleEndian.PutUint16(out[f.off+2:], uint16(len(f.b)))
		binary.LittleEndian.PutUint32(out[f.off+4:], uint32(pos))
		out = append(out, f.b...)
		pos += len(f.b)
	}
	return out
}

// readField decodes a descriptor at off and returns a copy of its bytes, or
// nil when empty, plus the payload offset (-1 when empty).
func readField(msg []byte, off int, name, what string) ([]byte, int, error) {
	if len(msg) < off+8 {
		return nil, -1, &ParseError{Message: name, Field: what, Reason: "truncated descriptor"}
	}
	n := int(binary.LittleEndian.Uint16(msg[off:]))
	at := int(binary.LittleEndian.Uint32(msg[off+4:]))
	if n == 0 {
		return nil, -1, nil
	}
	if at < 0 || at > len(msg) || n > len(msg)-at {
		return nil, -1, &ParseError{Message: name, Field: what, Reason: "payload outside message"}
	}
	return bytes.Clone(msg[at : at+n]), at, nil
}

func checkHeader(msg []byte, want uint32, name string, minLen int) error {
	if len(msg) > maxMessage {
		return &ParseError{Message: name, Reason: "message too long"}
	}
	if len(msg) < minLen {
		return &ParseError{Message: name, Reason: "message too short"}
	}
	if !bytes.Equal(msg[:8], signature) {
		return &ParseError{Message: name, Field: "Signature", Reason: "not NTLMSSP"}
	}
	if got := binary.LittleEndian.Uint32(msg[8:]); got != want {
		return &ParseError{Message: name, Field: "MessageType", Reason: "wrong message type"}
	}
	return nil
}

func header(typ uint32, size int) []byte {
	b := make([]byte, size)
	copy(b, signature)
	binary.LittleEndian.PutUint32(b[8:], typ)
	return b
}

// Marshal encodes the NEGOTIATE. The VERSION field is written when Version
// is non-nil.
func (m *NegotiateMessage) Marshal() []byte {
	size := 32
	if m.Version != nil {
		size = 40
	}
	h := header(typeNegotiate, size)
	binary.LittleEndian.PutUint32(h[12:], uint32(m.Flags))
	if m.Version != nil {
		m.Version.append(h[32:32])
	}
	return writePayload(h, []field{{m.Domain, 16}, {m.Workstation, 24}})
}

// ParseNegotiate decodes a NEGOTIATE message.
func ParseNegotiate(msg []byte) (*NegotiateMessage, error) {
	const name = "NEGOTIATE"
	if err := checkHeader(msg, typeNegotiate, name, 16); err != nil {
		return nil, err
	}
	m := &NegotiateMessage{Flags: Flags(binary.LittleEndian.Uint32(msg[12:]))}
	if len(msg) < 32 {
		return m, nil // pre-NT4 form without name fields
	}
	var err error
	minOff := len(msg)
	var at int
	if m.Domain, at, err = readField(msg, 16, name, "DomainName"); err != nil {
		return nil, err
	} else if at >= 0 {
		minOff = min(minOff, at)
	}
	if m.Workstation, at, err = readField(msg, 24, name, "Workstation"); err != nil {
		return nil, err
	} else if at >= 0 {
		minOff = min(minOff, at)
	}
	if m.Flags.Has(FlagVersion) && minOff >= 40 && len(msg) >= 40 {
		m.Version = parseVersion(msg[32:40])
	}
	return m, nil
}

// Marshal encodes the CHALLENGE.
func (m *ChallengeMessage) Marshal() []byte {
	size := 48
	if m.Version != nil {
		size = 56
	}
	h := header(typeChallenge, size)
	binary.LittleEndian.PutUint32(h[20:], uint32(m.Flags))
	copy(h[24:32], m.ServerChallenge[:])
	if m.Version != nil {
		m.Version.append(h[48:48])
	}
	return writePayload(h, []field{{m.TargetName, 12}, {m.TargetInfo, 40}})
}

// ParseChallenge decodes a CHALLENGE message (what arrives in gssapi-data).
func ParseChallenge(msg []byte) (*ChallengeMessage, error) {
	const name = "CHALLENGE"
	if err := checkHeader(msg, typeChallenge, name, 32); err != nil {
		return nil, err
	}
	m := &ChallengeMessage{Flags: Flags(binary.LittleEndian.Uint32(msg[20:]))}
	copy(m.ServerChallenge[:], msg[24:32])
	var err error
	minOff := len(msg)
	var at int
	if m.TargetName, at, err = readField(msg, 12, name, "TargetName"); err != nil {
		return nil, err
	} else if at >= 0 {
		minOff = min(minOff, at)
	}
	if len(msg) < 48 {
		return m, nil // no TargetInfo descriptor (pre-NTLMv2 servers)
	}
	if m.TargetInfo, at, err = readField(msg, 40, name, "TargetInfo"); err != nil {
		return nil, err
	} else if at >= 0 {
		minOff = min(minOff, at)
	}
	if m.TargetInfo != nil {
		if _, err := ParseAVPairs(m.TargetInfo); err != nil {
			return nil, err
		}
	}
	if m.Flags.Has(FlagVersion) && minOff >= 56 && len(msg) >= 56 {
		m.Version = parseVersion(msg[48:56])
	}
	return m, nil
}

// Marshal encodes the AUTHENTICATE in SIPE's payload order: domain, user,
// workstation, LM, NT, session key (protocols.md §4.3). A 16-byte MIC is
// written only together with a Version.
func (m *AuthenticateMessage) Marshal() []byte {
	size := 64
	if m.Version != nil {
		size = 72
		if len(m.MIC) == 16 {
			size = 88
		}
	}
	h := header(typeAuthenticate, size)
	binary.LittleEndian.PutUint32(h[60:], uint32(m.Flags))
	if m.Version != nil {
		m.Version.append(h[64:64])
		if len(m.MIC) == 16 {
			copy(h[72:88], m.MIC)
		}
	}
	return writePayload(h, []field{
		{m.Domain, 28}, {m.User, 36}, {m.Workstation, 44},
		{m.LmChallengeResponse, 12}, {m.NtChallengeResponse, 20},
		{m.EncryptedRandomSessionKey, 52},
	})
}

// micOffset is where the MIC sits in an AUTHENTICATE with VERSION.
const micOffset = 72

// ParseAuthenticate decodes an AUTHENTICATE message.
func ParseAuthenticate(msg []byte) (*AuthenticateMessage, error) {
	const name = "AUTHENTICATE"
	if err := checkHeader(msg, typeAuthenticate, name, 64); err != nil {
		return nil, err
	}
	m := &AuthenticateMessage{Flags: Flags(binary.LittleEndian.Uint32(msg[60:]))}
	minOff := len(msg)
	for _, f := range []struct {
		dst  *[]byte
		off  int
		what string
	}{
		{&m.LmChallengeResponse, 12, "LmChallengeResponse"},
		{&m.NtChallengeResponse, 20, "NtChallengeResponse"},
		{&m.Domain, 28, "DomainName"},
		{&m.User, 36, "UserName"},
		{&m.Workstation, 44, "Workstation"},
		{&m.EncryptedRandomSessionKey, 52, "EncryptedRandomSessionKey"},
	} {
		b, at, err := readField(msg, f.off, name, f.what)
		if err != nil {
			return nil, err
		}
		*f.dst = b
		if at >= 0 {
			minOff = min(minOff, at)
		}
	}
	if m.Flags.Has(FlagVersion) && minOff >= 72 {
		m.Version = parseVersion(msg[64:72])
		if minOff >= 88 {
			m.MIC = bytes.Clone(msg[72:88])
		}
	}
	return m, nil
}

// AV_PAIR ids (MS-NLMP 2.2.2.1).
const (
	AvEOL             uint16 = 0
	AvNbComputerName  uint16 = 1
	AvNbDomainName    uint16 = 2
	AvDNSComputerName uint16 = 3
	AvDNSDomainName   uint16 = 4
	AvDNSTreeName     uint16 = 5
	AvFlags           uint16 = 6
	AvTimestamp       uint16 = 7
	AvSingleHost      uint16 = 8
	AvTargetName      uint16 = 9
	AvChannelBindings uint16 = 10
)

// AVPair is one MS-NLMP 2.2.2.1 entry.
type AVPair struct {
	ID    uint16
	Value []byte
}

// ParseAVPairs decodes an AV_PAIR list up to (excluding) MsvAvEOL. A list
// without EOL is malformed.
func ParseAVPairs(b []byte) ([]AVPair, error) {
	var out []AVPair
	for {
		if len(b) < 4 {
			return nil, &ParseError{Message: "AV_PAIR", Reason: "missing MsvAvEOL"}
		}
		id := binary.LittleEndian.Uint16(b)
		n := int(binary.LittleEndian.Uint16(b[2:]))
		if id == AvEOL {
			return out, nil
		}
		if len(b)-4 < n {
			return nil, &ParseError{Message: "AV_PAIR", Reason: "value outside list"}
		}
		out = append(out, AVPair{ID: id, Value: bytes.Clone(b[4 : 4+n])})
		b = b[4+n:]
	}
}

// MarshalAVPairs encodes pairs and the terminating MsvAvEOL.
func MarshalAVPairs(pairs []AVPair) []byte {
	var b []byte
	for _, p := range pairs {
		b = binary.LittleEndian.AppendUint16(b, p.ID)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(p.Value)))
		b = append(b, p.Value...)
	}
	return append(b, 0, 0, 0, 0)
}

func findAV(pairs []AVPair, id uint16) ([]byte, bool) {
	for _, p := range pairs {
		if p.ID == id {
			return p.Value, true
		}
	}
	return nil, false
}

// utf16le encodes s as UTF-16LE (MS-NLMP: all strings when UNICODE).
func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

// fromUTF16LE decodes UTF-16LE; an odd trailing byte is dropped.
func fromUTF16LE(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// decodeName turns a name field into a string per the UNICODE flag.
func decodeName(b []byte, f Flags) string {
	if f.Has(FlagUnicode) {
		return fromUTF16LE(b)
	}
	return string(b)
}

func encodeName(s string, f Flags) []byte {
	if s == "" {
		return nil
	}
	if f.Has(FlagUnicode) {
		return utf16le(s)
	}
	return []byte(s)
}
