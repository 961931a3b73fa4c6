package sdp

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinels for errors.Is; the typed errors below wrap them.
var (
	// ErrSyntax is a line that does not follow the RFC 4566 grammar.
	ErrSyntax = errors.New("sdp: syntax error")
	// ErrMissingConnection is a media stream without c= at media or session level.
	ErrMissingConnection = errors.New("sdp: missing connection (c=) line")
	// ErrBadPort is an m= port outside 0..65535 (or an a=rtcp port outside 1..65535).
	ErrBadPort = errors.New("sdp: bad port")
	// ErrUnknownProto is an m= transport protocol the handset does not speak.
	ErrUnknownProto = errors.New("sdp: unknown transport protocol")
	// ErrTooManyMedia is more than MaxMedia m= lines.
	ErrTooManyMedia = errors.New("sdp: too many media lines")
	// ErrBadPayloadType is a payload type outside 0..127.
	ErrBadPayloadType = errors.New("sdp: bad payload type")
	// ErrDuplicateCryptoTag is a crypto tag used twice in a=crypto / a=cryptoscale.
	ErrDuplicateCryptoTag = errors.New("sdp: duplicate crypto tag")
	// ErrBadCandidate is a malformed a=candidate line.
	ErrBadCandidate = errors.New("sdp: malformed candidate")
	// ErrMissingICECredentials is ICE candidates without a=ice-ufrag/a=ice-pwd.
	ErrMissingICECredentials = errors.New("sdp: missing ice-ufrag or ice-pwd")
	// ErrTooLarge is an SDP body over MaxSize bytes.
	ErrTooLarge = errors.New("sdp: body too large")

	// ErrCryptoSyntax is an a=crypto value that does not follow RFC 4568 §9.1.
	ErrCryptoSyntax = errors.New("sdp: crypto syntax error")
	// ErrUnknownSuite is a crypto suite other than AES_CM_128_HMAC_SHA1_80/32.
	ErrUnknownSuite = errors.New("sdp: unknown crypto suite")
	// ErrKeyEncoding is an inline key that is not base64.
	ErrKeyEncoding = errors.New("sdp: inline key is not base64")
	// ErrKeyLength is an inline key that is not 30 bytes (16 key + 14 salt).
	ErrKeyLength = errors.New("sdp: inline key must be 30 bytes")
	// ErrMKILength is an MKI length outside 1..4 (sec.srtp.mki.length range).
	ErrMKILength = errors.New("sdp: mki length must be 1..4")
	// ErrMKIValue is an MKI value that does not fit its length.
	ErrMKIValue = errors.New("sdp: mki value does not fit its length")
	// ErrLifetime is a key lifetime that is not a power of two in 2^10..2^48.
	ErrLifetime = errors.New("sdp: key lifetime must be a power of 2 from 2^10 to 2^48")

	// ErrEncryptionIncompatible is a local/remote SRTP policy mismatch (488, Warning 308).
	ErrEncryptionIncompatible = errors.New("sdp: encryption levels not compatible")
	// ErrNoCommonCodec means no offered codec is enabled locally (488, Warning 305).
	ErrNoCommonCodec = errors.New("sdp: no common codec")
	// ErrNoAudio means the offer has no audio stream.
	ErrNoAudio = errors.New("sdp: no audio stream")
	// ErrCryptoMismatch is an answer whose crypto tag or suite was not offered.
	ErrCryptoMismatch = errors.New("sdp: answer crypto does not match the offer")
	// ErrMKILengthMismatch is an MKI whose length differs from
	// sec.srtp.mki.length (RELIABILITY.md P6: "|1:4" against a 1-byte config).
	ErrMKILengthMismatch = errors.New("sdp: mki length differs from sec.srtp.mki.length")
	// ErrMKIRequired is an answer without MKI when NegotiateConfig.RequireMKI is set.
	ErrMKIRequired = errors.New("sdp: answer has no mki but one is required")
	// ErrConfig is an invalid OfferConfig/AnswerConfig.
	ErrConfig = errors.New("sdp: invalid config")
)

// WarningEncryption is the SIP Warning value Lync (and SIPE 1.14) send with
// a 488 when the encryption levels do not match (protocols.md §10.1).
const WarningEncryption = `308 lcs.microsoft.com "Encryption Levels not compatible"`

// WarningMediaFormat is the RFC 3261 §20.43 warning for no common codec.
const WarningMediaFormat = `305 handset "Incompatible media format"`

// ParseError locates a bad SDP line (RELIABILITY.md P5).
type ParseError struct {
	Line int    // 1-based line number
	Text string // the offending line, truncated
	Err  error  // one of the sentinels above, possibly wrapped
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("sdp: line %d %q: %v", e.Line, e.Text, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// CryptoError names a rejected a=crypto attribute (RELIABILITY.md P6).
// The inline key is never included.
type CryptoError struct {
	Tag   string // the tag field as written, "" when unparsable
	Field string // "tag", "suite", "key", "lifetime", "mki", "syntax"
	Err   error
}

func (e *CryptoError) Error() string {
	return fmt.Sprintf("sdp: a=crypto tag %q %s: %v", e.Tag, e.Field, e.Err)
}

func (e *CryptoError) Unwrap() error { return e.Err }

// NegotiationError is an offer/answer failure the SIP layer turns into a
// response: Status (488) and Warning (RFC 3261 §20.43 value).
type NegotiationError struct {
	Status  int
	Warning string
	Err     error
}

func (e *NegotiationError) Error() string {
	return fmt.Sprintf("sdp: negotiation failed (%d %s): %v", e.Status, e.Warning, e.Err)
}

func (e *NegotiationError) Unwrap() error { return e.Err }

func errEncryption(detail string) error {
	return &NegotiationError{Status: 488, Warning: WarningEncryption,
		Err: fmt.Errorf("%w: %s", ErrEncryptionIncompatible, detail)}
}

// redactLine hides key material in a line quoted by a ParseError: the
// inline keys of a=crypto/a=cryptoscale (RFC 4568 §9.1) and k= lines
// (RFC 4566 §5.12), which are secrets that must not reach logs.
func redactLine(s string) string {
	if strings.HasPrefix(s, "k=") {
		return "k=[redacted]"
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "inline:")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i+len("inline:")])
		b.WriteString("[redacted]")
		s = s[i+len("inline:"):]
		if j := strings.IndexAny(s, "| ;"); j >= 0 {
			s = s[j:]
		} else {
			s = ""
		}
	}
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
