package tlsdsk

import (
	"errors"
	"fmt"
)

var (
	// ErrHandshake is matched (errors.Is) by every failure of the TLS
	// handshake itself: a bad or tampered record, a refused client
	// certificate, a failed Finished check.
	ErrHandshake = errors.New("tlsdsk: handshake failed")

	// ErrNotDone means keys were asked for before the handshake completed.
	ErrNotDone = errors.New("tlsdsk: handshake not complete")

	// ErrBadSignature means a received signature (response/rspauth) does not
	// match the signature buffer.
	ErrBadSignature = errors.New("tlsdsk: invalid message signature")

	// ErrClosed means the pump was closed.
	ErrClosed = errors.New("tlsdsk: closed")

	errNoEMS        = errors.New("no extended master secret and no captured master secret")
	errSuite        = errors.New("cipher suite has no MD5 or SHA-1 MAC")
	errVersion      = errors.New("TLS-DSK needs TLS 1.0-1.2")
	errEmptyStep    = errors.New("tlsdsk: server step needs the client's flight")
	errNoCert       = errors.New("tlsdsk: config: no certificate")
	errBadHex       = errors.New("tlsdsk: signature is not hex")
	errTokenTooLong = errors.New("tlsdsk: gssapi-data too long")
)

// RecordError reports malformed TLS record framing in gssapi-data
// (protocols.md §5.1: whole records, 5-byte headers included).
type RecordError struct {
	Offset int    // byte offset of the offending record header
	Reason string // fixed short reason
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("tlsdsk: gssapi-data record at offset %d: %s", e.Offset, e.Reason)
}
