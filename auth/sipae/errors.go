package sipae

import (
	"errors"
	"fmt"
)

// Sentinels callers branch on.
var (
	// ErrBadSignature: an incoming message's response/rspauth does not verify
	// (SIPE tears the connection down: "Invalid message signature").
	ErrBadSignature = errors.New("sipae: bad message signature")
	// ErrReplay: a cnum/snum was already seen or is older than the window.
	ErrReplay = errors.New("sipae: replayed message number")
	// ErrMalformed is wrapped by every *ParseError.
	ErrMalformed = errors.New("sipae: malformed auth header")
	// ErrState: an SA operation that its current state does not allow (an
	// illegal transition is never silently ignored, STYLE rule 8).
	ErrState = errors.New("sipae: illegal security association transition")
	// ErrMismatch: a signed message names another SA (scheme, realm,
	// targetname or opaque differ).
	ErrMismatch = errors.New("sipae: auth parameters do not match the security association")
)

// ParseError reports where an auth header value could not be parsed.
type ParseError struct {
	Value  string // the header value (auth headers carry no secrets; gssapi-data is a public token)
	Offset int
	Reason string
}

func (e *ParseError) Error() string {
	v := e.Value
	if len(v) > 80 {
		v = v[:80] + "…"
	}
	return fmt.Sprintf("sipae: parse auth header at %d: %s (%q)", e.Offset, e.Reason, v)
}

// Unwrap makes errors.Is(err, ErrMalformed) true.
func (e *ParseError) Unwrap() error { return ErrMalformed }

// TransitionError names the refused (state, event) pair.
type TransitionError struct {
	From  State
	Event Event
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("sipae: event %v not allowed in state %v", e.Event, e.From)
}

// Unwrap makes errors.Is(err, ErrState) true.
func (e *TransitionError) Unwrap() error { return ErrState }
