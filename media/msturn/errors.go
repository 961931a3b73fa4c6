package msturn

import (
	"errors"
	"fmt"
)

// Sentinels callers branch on.
var (
	// ErrMalformed is a message that does not parse as MS-TURN.
	ErrMalformed = errors.New("msturn: malformed message")
	// ErrNoMagicCookie is a message whose first attribute is not MAGIC-COOKIE;
	// [MS-TURN] 3.1.10 says such messages are ignored.
	ErrNoMagicCookie = errors.New("msturn: first attribute is not MAGIC-COOKIE")
	// ErrIntegrity is a MESSAGE-INTEGRITY that is missing or does not verify.
	ErrIntegrity = errors.New("msturn: message integrity check failed")
	// ErrAttribute is an attribute that is missing or has a bad value.
	ErrAttribute = errors.New("msturn: bad or missing attribute")
)

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, a...)...)
}

// ResponseError is a TURN error response ([MS-TURN] 2.2.2, STUN draft-02 11.2.9).
// It is also returned by the client when the server answers with one.
type ResponseError struct {
	Code   int // 300..699
	Reason string
	// Alternate is the ALTERNATE-SERVER the response carried, if any.
	Alternate string
}

func (e *ResponseError) Error() string {
	s := fmt.Sprintf("msturn: error response %d %s", e.Code, e.Reason)
	if e.Alternate != "" {
		s += " (alternate server " + e.Alternate + ")"
	}
	return s
}

// Well-known error codes ([MS-TURN] 2.2.2.9 and draft-02).
const (
	CodeTryAlternate     = 300
	CodeBadRequest       = 400
	CodeUnauthorized     = 401
	CodeUnknownAttribute = 420
	CodeStaleNonce       = 438
	CodeServerError      = 500
	CodeInsufficientCap  = 508
)
