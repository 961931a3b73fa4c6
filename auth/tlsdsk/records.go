package tlsdsk

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
)

// MaxToken caps one decoded gssapi-data token. A TLS-DSK flight is a few
// kilobytes (a certificate chain at most); a cap keeps a hostile peer from
// making the pump buffer without bound.
const MaxToken = 64 << 10

// maxRecordPayload is the TLSCiphertext limit of RFC 5246 §6.2.3
// (2^14 + 2048).
const maxRecordPayload = 1<<14 + 2048

// Record content types (RFC 5246 §6.2.1).
const (
	RecordChangeCipherSpec uint8 = 20
	RecordAlert            uint8 = 21
	RecordHandshake        uint8 = 22
	RecordApplicationData  uint8 = 23
)

// Record is one raw TLS record as carried in gssapi-data.
type Record struct {
	Type    uint8
	Version uint16 // 0x0301 (TLS 1.0) … 0x0303 (TLS 1.2)
	Payload []byte
}

// ParseRecords splits a gssapi-data token into whole TLS records. Every
// record must be complete (protocols.md §5.1: one whole flight per SIP round
// trip). Payloads alias b.
func ParseRecords(b []byte) ([]Record, error) {
	if len(b) > MaxToken {
		return nil, fmt.Errorf("%w: %d bytes", errTokenTooLong, len(b))
	}
	var recs []Record
	for off := 0; off < len(b); {
		if len(b)-off < 5 {
			return nil, &RecordError{Offset: off, Reason: "truncated header"}
		}
		h := b[off : off+5]
		typ, ver, n := h[0], binary.BigEndian.Uint16(h[1:3]), int(binary.BigEndian.Uint16(h[3:5]))
		switch {
		case typ < RecordChangeCipherSpec || typ > RecordApplicationData:
			return nil, &RecordError{Offset: off, Reason: "unknown content type"}
		case ver>>8 != 3 || ver&0xff > 3:
			return nil, &RecordError{Offset: off, Reason: "unsupported record version"}
		case n == 0 && typ != RecordApplicationData:
			return nil, &RecordError{Offset: off, Reason: "empty record"}
		case n > maxRecordPayload:
			return nil, &RecordError{Offset: off, Reason: "record too long"}
		case len(b)-off-5 < n:
			return nil, &RecordError{Offset: off, Reason: "truncated record"}
		}
		recs = append(recs, Record{Type: typ, Version: ver, Payload: b[off+5 : off+5+n]})
		off += 5 + n
	}
	return recs, nil
}

// AppendRecords appends the wire form of recs to b.
func AppendRecords(b []byte, recs []Record) []byte {
	for _, r := range recs {
		b = append(b, r.Type)
		b = binary.BigEndian.AppendUint16(b, r.Version)
		b = binary.BigEndian.AppendUint16(b, uint16(len(r.Payload)))
		b = append(b, r.Payload...)
	}
	return b
}

// DecodeGSSAPIData decodes a gssapi-data parameter value (standard base64)
// and checks that it holds whole TLS records.
func DecodeGSSAPIData(s string) ([]byte, error) {
	if base64.StdEncoding.DecodedLen(len(s)) > MaxToken+3 {
		return nil, fmt.Errorf("%w: %d characters", errTokenTooLong, len(s))
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("tlsdsk: gssapi-data: %w", err)
	}
	if _, err := ParseRecords(b); err != nil {
		return nil, err
	}
	return b, nil
}

// EncodeGSSAPIData is the gssapi-data parameter value for a flight.
func EncodeGSSAPIData(flight []byte) string { return base64.StdEncoding.EncodeToString(flight) }
