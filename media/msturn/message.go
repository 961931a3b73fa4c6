package msturn

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// MessageType is the 16-bit TURN message type ([MS-TURN] 2.2.1).
type MessageType uint16

// Message types of [MS-TURN] 2.2.1 (protocols.md §9 table).
const (
	TypeAllocateRequest       MessageType = 0x0003
	TypeAllocateResponse      MessageType = 0x0103
	TypeAllocateError         MessageType = 0x0113
	TypeSendRequest           MessageType = 0x0004
	TypeDataIndication        MessageType = 0x0115
	TypeSetActiveDestRequest  MessageType = 0x0006
	TypeSetActiveDestResponse MessageType = 0x0106
	TypeSetActiveDestError    MessageType = 0x0116
)

func (t MessageType) String() string {
	switch t {
	case TypeAllocateRequest:
		return "Allocate request"
	case TypeAllocateResponse:
		return "Allocate response"
	case TypeAllocateError:
		return "Allocate error response"
	case TypeSendRequest:
		return "Send request"
	case TypeDataIndication:
		return "Data Indication"
	case TypeSetActiveDestRequest:
		return "Set Active Destination request"
	case TypeSetActiveDestResponse:
		return "Set Active Destination response"
	case TypeSetActiveDestError:
		return "Set Active Destination error response"
	}
	return fmt.Sprintf("MessageType(0x%04x)", uint16(t))
}

func (t MessageType) known() bool { return t.String()[0] != 'M' }

// AttrType is a TURN attribute type ([MS-TURN] 2.2.2).
type AttrType uint16

// Attribute types. Mandatory ones are from [MS-TURN] 2.2.2; the optional
// (>= 0x8000) ones are the Microsoft extensions protocols.md §9 lists.
const (
	AttrMappedAddress          AttrType = 0x0001
	AttrUsername               AttrType = 0x0006
	AttrMessageIntegrity       AttrType = 0x0008
	AttrErrorCode              AttrType = 0x0009
	AttrUnknownAttributes      AttrType = 0x000A
	AttrLifetime               AttrType = 0x000D
	AttrAlternateServer        AttrType = 0x000E
	AttrMagicCookie            AttrType = 0x000F
	AttrBandwidth              AttrType = 0x0010
	AttrDestinationAddress     AttrType = 0x0011
	AttrRemoteAddress          AttrType = 0x0012
	AttrData                   AttrType = 0x0013
	AttrNonce                  AttrType = 0x0014 // RFC 5389 has REALM here
	AttrRealm                  AttrType = 0x0015 // RFC 5389 has NONCE here
	AttrRequestedAddressFamily AttrType = 0x0017
	AttrMSVersion              AttrType = 0x8008
	AttrMSXORMappedAddress     AttrType = 0x8020
	AttrMSSequenceNumber       AttrType = 0x8050
)

// MagicCookie is the value of the MAGIC-COOKIE attribute ([MS-TURN] 2.2.2.6).
const MagicCookie uint32 = 0x72C64BC6

// HeaderLen is the size of the message header; a transaction ID is 16 bytes
// because draft-02 has no cookie in the header.
const (
	HeaderLen = 20
	attrHdr   = 4
	miLen     = 20
	// MaxMessage bounds what Parse accepts (a TCP frame length is 16 bits).
	MaxMessage = 0xFFFF
)

// Attribute is one TLV as it appears on the wire.
type Attribute struct {
	Type  AttrType
	Value []byte
}

// Message is one MS-TURN message. Attributes keep wire order; the codec adds
// MAGIC-COOKIE first on Marshal when it is missing.
type Message struct {
	Type          MessageType
	TransactionID [16]byte
	Attributes    []Attribute
}

// MS-TURN attributes are not padded: STUN draft-02 has no attribute
// alignment (padding came with draft-ietf-behave-rfc3489bis-04), so an
// attribute's value is followed directly by the next attribute header.
// Wireshark's dissector documents the same ("MS-TURN: No Attribute Pad"),
// and libnice runs its OC2007 TURN agent without aligned attributes.

// Parse decodes one message. It returns ErrNoMagicCookie (wrapped) when the
// message is well formed but its first attribute is not MAGIC-COOKIE, so the
// caller can treat it as non-TURN data.
func Parse(b []byte) (*Message, error) {
	if len(b) < HeaderLen {
		return nil, malformed("%d bytes, header needs %d", len(b), HeaderLen)
	}
	if b[0]&0xC0 != 0 {
		return nil, malformed("top bits of type set (not STUN)")
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if HeaderLen+n != len(b) {
		return nil, malformed("length field %d, have %d bytes of attributes", n, len(b)-HeaderLen)
	}
	m := &Message{Type: MessageType(binary.BigEndian.Uint16(b[0:2]))}
	copy(m.TransactionID[:], b[4:20])
	for off := HeaderLen; off < len(b); {
		if len(b)-off < attrHdr {
			return nil, malformed("truncated attribute header at %d", off)
		}
		t := AttrType(binary.BigEndian.Uint16(b[off:]))
		l := int(binary.BigEndian.Uint16(b[off+2:]))
		off += attrHdr
		if len(b)-off < l {
			return nil, malformed("attribute 0x%04x length %d overruns message", uint16(t), l)
		}
		v := make([]byte, l)
		copy(v, b[off:off+l])
		m.Attributes = append(m.Attributes, Attribute{Type: t, Value: v})
		off += l
	}
	if len(m.Attributes) == 0 || m.Attributes[0].Type != AttrMagicCookie ||
		len(m.Attributes[0].Value) != 4 || binary.BigEndian.Uint32(m.Attributes[0].Value) != MagicCookie {
		return m, ErrNoMagicCookie
	}
	return m, nil
}

// IsMessage reports whether b looks like an MS-TURN message (a header whose
// length matches, then MAGIC-COOKIE first). It lets a socket that also
// carries raw relayed data (after Set Active Destination) tell the two apart;
// RTP, SRTP and RFC 5389 STUN fail the check.
func IsMessage(b []byte) bool {
	if len(b) < HeaderLen+8 || b[0]&0xC0 != 0 {
		return false
	}
	if HeaderLen+int(binary.BigEndian.Uint16(b[2:4])) != len(b) {
		return false
	}
	return binary.BigEndian.Uint16(b[20:]) == uint16(AttrMagicCookie) &&
		binary.BigEndian.Uint16(b[22:]) == 4 && binary.BigEndian.Uint32(b[24:]) == MagicCookie
}

// Marshal encodes the message. MAGIC-COOKIE is put first if the attribute
// list does not start with it. MESSAGE-INTEGRITY values are written as given;
// use [Message.AddIntegrity] to compute one.
func (m *Message) Marshal() []byte { return m.marshal(0) }

// marshal encodes with extra spare capacity (for MESSAGE-INTEGRITY).
func (m *Message) marshal(extra int) []byte {
	m.ensureCookie()
	size := HeaderLen
	for _, a := range m.Attributes {
		size += attrHdr + len(a.Value)
	}
	b := make([]byte, HeaderLen, size+extra)
	binary.BigEndian.PutUint16(b[0:2], uint16(m.Type))
	binary.BigEndian.PutUint16(b[2:4], uint16(size-HeaderLen))
	copy(b[4:20], m.TransactionID[:])
	for _, a := range m.Attributes {
		b = appendAttr(b, a)
	}
	return b
}

func appendAttr(b []byte, a Attribute) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(a.Type))
	b = binary.BigEndian.AppendUint16(b, uint16(len(a.Value)))
	return append(b, a.Value...)
}

func (m *Message) ensureCookie() {
	if len(m.Attributes) > 0 && m.Attributes[0].Type == AttrMagicCookie &&
		len(m.Attributes[0].Value) == 4 && binary.BigEndian.Uint32(m.Attributes[0].Value) == MagicCookie {
		return
	}
	v := binary.BigEndian.AppendUint32(nil, MagicCookie)
	m.Attributes = append([]Attribute{{Type: AttrMagicCookie, Value: v}}, m.Attributes...)
}

// rfc5389Cookie is the fixed first word of an RFC 5389 transaction.
const rfc5389Cookie uint32 = 0x2112A442

// NewTransactionID builds a 16-byte MS-TURN transaction ID from 12 random
// bytes, with 0x2112A442 as its first 4 bytes. MS-TURN treats the ID as
// opaque, but Lync captures carry the RFC 5389 cookie there, and Wireshark's
// STUN dissector only takes (and then auto-detects MS-TURN in) messages that
// do; the MS XOR-MAPPED-ADDRESS key is then the same as RFC 5389's.
func NewTransactionID(random []byte) [16]byte {
	var t [16]byte
	binary.BigEndian.PutUint32(t[:4], rfc5389Cookie)
	copy(t[4:], random)
	return t
}

// NewMessage returns a message of type t with the given transaction ID and the
// MAGIC-COOKIE attribute already in place.
func NewMessage(t MessageType, tid [16]byte) *Message {
	m := &Message{Type: t, TransactionID: tid}
	m.ensureCookie()
	return m
}

// Get returns the value of the first attribute of type t.
func (m *Message) Get(t AttrType) ([]byte, bool) {
	for _, a := range m.Attributes {
		if a.Type == t {
			return a.Value, true
		}
	}
	return nil, false
}

// Add appends an attribute.
func (m *Message) Add(t AttrType, v []byte) { m.Attributes = append(m.Attributes, Attribute{t, v}) }

// AddString appends a string-valued attribute (USERNAME, REALM, NONCE).
func (m *Message) AddString(t AttrType, s string) { m.Add(t, []byte(s)) }

// AddUint32 appends a 32-bit attribute (LIFETIME, MS-VERSION, BANDWIDTH).
func (m *Message) AddUint32(t AttrType, v uint32) { m.Add(t, binary.BigEndian.AppendUint32(nil, v)) }

// Uint32 reads a 32-bit attribute.
func (m *Message) Uint32(t AttrType) (uint32, error) {
	v, ok := m.Get(t)
	if !ok || len(v) != 4 {
		return 0, fmt.Errorf("%w: 0x%04x not a 32-bit value", ErrAttribute, uint16(t))
	}
	return binary.BigEndian.Uint32(v), nil
}

// Text reads a string attribute.
func (m *Message) Text(t AttrType) (string, bool) {
	v, ok := m.Get(t)
	return string(v), ok
}

// Address families of STUN draft-02 address attributes.
const (
	familyIPv4 = 0x01
	familyIPv6 = 0x02
)

// AddAddress appends an address attribute (MAPPED-ADDRESS,
// DESTINATION-ADDRESS, REMOTE-ADDRESS, ALTERNATE-SERVER): a zero byte, the
// family, the port and the address ([IETFDRAFT-STUN-02] 11.2.1).
func (m *Message) AddAddress(t AttrType, ap netip.AddrPort) {
	m.Add(t, encodeAddr(ap, nil))
}

// AddXORAddress appends MS XOR-MAPPED-ADDRESS: port and address XORed with
// the first bytes of the transaction ID, which stand in for RFC 5389's magic
// cookie ([MS-TURN] 2.2.2.13).
func (m *Message) AddXORAddress(t AttrType, ap netip.AddrPort) {
	m.Add(t, encodeAddr(ap, m.TransactionID[:]))
}

func encodeAddr(ap netip.AddrPort, key []byte) []byte {
	a := ap.Addr().Unmap()
	fam := byte(familyIPv4)
	if a.Is6() {
		fam = familyIPv6
	}
	v := []byte{0, fam}
	v = binary.BigEndian.AppendUint16(v, ap.Port())
	v = append(v, a.AsSlice()...)
	if key != nil {
		xorAddr(v, key)
	}
	return v
}

// xorAddr XORs the port with the first two bytes of key and the address
// with its first 4 (IPv4) or 16 (IPv6) bytes, as RFC 5389 does with
// cookie+transaction ID; MS-TURN's key is the 16-byte transaction ID.
func xorAddr(v, key []byte) {
	v[2] ^= key[0]
	v[3] ^= key[1]
	for i := 4; i < len(v); i++ {
		v[i] ^= key[i-4]
	}
}

// Address reads an address attribute.
func (m *Message) Address(t AttrType) (netip.AddrPort, error) {
	return m.address(t, nil)
}

// XORAddress reads MS XOR-MAPPED-ADDRESS.
func (m *Message) XORAddress(t AttrType) (netip.AddrPort, error) {
	return m.address(t, m.TransactionID[:])
}

func (m *Message) address(t AttrType, key []byte) (netip.AddrPort, error) {
	v, ok := m.Get(t)
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("%w: 0x%04x missing", ErrAttribute, uint16(t))
	}
	return decodeAddr(t, v, key)
}

func decodeAddr(t AttrType, v, key []byte) (netip.AddrPort, error) {
	if len(v) != 8 && len(v) != 20 {
		return netip.AddrPort{}, fmt.Errorf("%w: 0x%04x address length %d", ErrAttribute, uint16(t), len(v))
	}
	w := append([]byte(nil), v...)
	if key != nil {
		xorAddr(w, key)
	}
	port := binary.BigEndian.Uint16(w[2:4])
	switch {
	case w[1] == familyIPv4 && len(w) == 8:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(w[4:8])), port), nil
	case w[1] == familyIPv6 && len(w) == 20:
		return netip.AddrPortFrom(netip.AddrFrom16([16]byte(w[4:20])), port), nil
	}
	return netip.AddrPort{}, fmt.Errorf("%w: 0x%04x family %d with length %d", ErrAttribute, uint16(t), w[1], len(w))
}

// SequenceNumber is MS-SEQUENCE-NUMBER: a 20-byte connection ID the server
// hands out in the Allocate response and a counter the client increments for
// each Send and Set Active Destination ([MS-TURN] 2.2.2.15).
type SequenceNumber struct {
	ConnectionID [20]byte
	Seq          uint32
}

// AddSequenceNumber appends MS-SEQUENCE-NUMBER.
func (m *Message) AddSequenceNumber(s SequenceNumber) {
	m.Add(AttrMSSequenceNumber, binary.BigEndian.AppendUint32(append([]byte(nil), s.ConnectionID[:]...), s.Seq))
}

// SequenceNumber reads MS-SEQUENCE-NUMBER.
func (m *Message) SequenceNumber() (SequenceNumber, error) {
	v, ok := m.Get(AttrMSSequenceNumber)
	if !ok || len(v) != 24 {
		return SequenceNumber{}, fmt.Errorf("%w: MS-SEQUENCE-NUMBER missing or not 24 bytes", ErrAttribute)
	}
	var s SequenceNumber
	copy(s.ConnectionID[:], v[:20])
	s.Seq = binary.BigEndian.Uint32(v[20:])
	return s, nil
}

// AddErrorCode appends ERROR-CODE: two zero bytes, the class (hundreds), the
// number (code mod 100) and a reason phrase.
func (m *Message) AddErrorCode(code int, reason string) {
	v := []byte{0, 0, byte(code / 100), byte(code % 100)}
	m.Add(AttrErrorCode, append(v, reason...))
}

// ErrorCode reads ERROR-CODE and ALTERNATE-SERVER into a *ResponseError.
func (m *Message) ErrorCode() (*ResponseError, error) {
	v, ok := m.Get(AttrErrorCode)
	if !ok || len(v) < 4 || v[2]&0x07 < 3 || v[2]&0x07 > 6 || v[3] > 99 {
		return nil, fmt.Errorf("%w: ERROR-CODE missing or bad", ErrAttribute)
	}
	e := &ResponseError{Code: int(v[2]&0x07)*100 + int(v[3]), Reason: string(v[4:])}
	if alt, err := m.Address(AttrAlternateServer); err == nil {
		e.Alternate = alt.String()
	}
	return e, nil
}
