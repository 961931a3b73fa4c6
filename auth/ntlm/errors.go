package ntlm

import (
	"errors"
	"fmt"
)

// Sentinels callers branch on (sipua maps them to outcomes, labfe to
// responses).
var (
	// ErrAuthFailed: the AUTHENTICATE does not prove knowledge of the
	// password (wrong password, unknown user, NTLMv1 response, stale
	// timestamp). labfe answers it with a final 401/403.
	ErrAuthFailed = errors.New("ntlm: authentication failed")
	// ErrBadSignature: a message signature (MAC) does not verify.
	ErrBadSignature = errors.New("ntlm: bad message signature")
	// ErrMalformed is wrapped by every *ParseError.
	ErrMalformed = errors.New("ntlm: malformed message")
	// ErrUnsupported: the peer asks for something this package refuses to
	// do, such as NTLMv1 (no extended session security) or a datagram
	// CHALLENGE without KEY_EXCH; wrapped by *FlagError.
	ErrUnsupported = errors.New("ntlm: unsupported negotiation")
	// ErrChallengeUsed: Accept was called twice on one ServerChallenge.
	// Each CHALLENGE is good for exactly one AUTHENTICATE, so a replayed
	// AUTHENTICATE cannot be accepted twice.
	ErrChallengeUsed = errors.New("ntlm: server challenge already used")
)

// ParseError says which message and field could not be decoded.
type ParseError struct {
	Message string // "NEGOTIATE", "CHALLENGE", "AUTHENTICATE", "AV_PAIR"
	Field   string
	Reason  string
}

func (e *ParseError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("ntlm: parse %s: %s", e.Message, e.Reason)
	}
	return fmt.Sprintf("ntlm: parse %s: %s: %s", e.Message, e.Field, e.Reason)
}

// Unwrap makes errors.Is(err, ErrMalformed) true.
func (e *ParseError) Unwrap() error { return ErrMalformed }

// FlagError reports negotiate flags that are missing (or present) and make
// the exchange unacceptable.
type FlagError struct {
	Missing Flags
	Reason  string
}

func (e *FlagError) Error() string {
	return fmt.Sprintf("ntlm: %s (missing flags %v)", e.Reason, e.Missing)
}

// Unwrap makes errors.Is(err, ErrUnsupported) true.
func (e *FlagError) Unwrap() error { return ErrUnsupported }
