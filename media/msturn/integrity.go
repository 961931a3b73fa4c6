package msturn

import (
	"crypto/hmac"
	"crypto/md5"  //nolint:gosec // MS-TURN's long-term key is MD5 by definition ([MS-TURN] 3.1.5).
	"crypto/sha1" //nolint:gosec // MESSAGE-INTEGRITY is HMAC-SHA1 by definition.
	"encoding/binary"
	"log/slog"
)

// Key is the long-term credential key MD5(username ":" realm ":" password)
// ([MS-TURN] 3.1.5, protocols.md §9). It prints redacted.
type Key [16]byte

// LongTermKey derives the MESSAGE-INTEGRITY key. The realm is the value of
// REALM (0x0015), not of 0x0014 (NONCE in MS-TURN).
func LongTermKey(username, realm, password string) Key {
	return Key(md5.Sum([]byte(username + ":" + realm + ":" + password))) //nolint:gosec // protocol-mandated
}

func (Key) String() string { return "[redacted]" }

// LogValue keeps the key out of logs.
func (Key) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// AddIntegrity appends MESSAGE-INTEGRITY computed with key. It must be the
// last attribute added.
func (m *Message) AddIntegrity(key Key) { _ = m.MarshalIntegrity(key) }

// MarshalIntegrity appends MESSAGE-INTEGRITY computed with key and returns
// the encoded message, encoding it once (the per-packet path of Send).
func (m *Message) MarshalIntegrity(key Key) []byte {
	b := m.marshal(attrHdr + miLen)
	mac := integrity(b, key)
	m.Add(AttrMessageIntegrity, mac)
	b = append(b, 0, byte(AttrMessageIntegrity), 0, miLen)
	b = append(b, mac...)
	binary.BigEndian.PutUint16(b[2:4], uint16(len(b)-HeaderLen))
	return b
}

var zeros [64]byte

// integrity computes HMAC-SHA1 over pre (the encoded message without
// MESSAGE-INTEGRITY) with the header length set to end after the
// MESSAGE-INTEGRITY attribute, zero-padded to a multiple of 64 bytes: the
// RFC 3489 form MS-TURN keeps (protocols.md §9, libnice's OC2007 "padding").
func integrity(pre []byte, key Key) []byte {
	var hdr [4]byte
	copy(hdr[:2], pre[:2])
	binary.BigEndian.PutUint16(hdr[2:4], uint16(len(pre)-HeaderLen+attrHdr+miLen))
	h := hmac.New(sha1.New, key[:])
	h.Write(hdr[:])
	h.Write(pre[4:])
	if r := len(pre) % 64; r != 0 {
		h.Write(zeros[:64-r])
	}
	return h.Sum(make([]byte, 0, miLen))
}

// CheckIntegrity verifies MESSAGE-INTEGRITY of the encoded message raw (as
// received) with key. Attributes after MESSAGE-INTEGRITY are not covered.
func CheckIntegrity(raw []byte, key Key) error {
	off, ok := findAttr(raw, AttrMessageIntegrity)
	if !ok {
		return ErrIntegrity
	}
	if binary.BigEndian.Uint16(raw[off+2:]) != miLen || len(raw) < off+attrHdr+miLen {
		return ErrIntegrity
	}
	want := integrity(raw[:off], key)
	if !hmac.Equal(want, raw[off+attrHdr:off+attrHdr+miLen]) {
		return ErrIntegrity
	}
	return nil
}

// findAttr returns the offset of the first attribute of type t in a message
// that already parsed.
func findAttr(raw []byte, t AttrType) (int, bool) {
	for off := HeaderLen; off+attrHdr <= len(raw); {
		at := AttrType(binary.BigEndian.Uint16(raw[off:]))
		l := int(binary.BigEndian.Uint16(raw[off+2:]))
		if at == t {
			return off, true
		}
		off += attrHdr + l
	}
	return 0, false
}
