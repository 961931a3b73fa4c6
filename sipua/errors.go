package sipua

import (
	"errors"
	"fmt"
	"time"
)

// Sentinels callers branch on.
var (
	// ErrClosed is returned by methods of a Handset after Close.
	ErrClosed = errors.New("sipua: handset closed")
	// ErrNotRegistered is returned by Unregister when there is no registration.
	ErrNotRegistered = errors.New("sipua: not registered")
)

// Error is the classified error that ends a registration attempt. Every
// failure of Register, Run and Unregister is (or wraps) an *Error, so the load
// runner can count outcomes without parsing messages (STYLE.md rule 6).
type Error struct {
	Op         string        // operation, e.g. "register alice@contoso.test"
	Class      Outcome       // outcome bucket
	Why        string        // short fixed reason, e.g. "401 after AUTHENTICATE"
	Status     int           // SIP status code, if a response caused it
	Diag       string        // ms-diagnostics / Warning text from the server, if any
	RetryAfter time.Duration // server's Retry-After (503), 0 if none
	Final      bool          // true when retrying would be wrong (wrong password: accounts lock out)
	Err        error         // underlying cause, may be nil
}

func (e *Error) Error() string {
	msg := "sipua: " + e.Op + ": " + e.Why
	if e.Diag != "" {
		msg += " (" + e.Diag + ")"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Outcome implements Classified.
func (e *Error) Outcome() Outcome { return e.Class }

// Reason implements Classified.
func (e *Error) Reason() string { return e.Why }

// Compile-time check.
var _ Classified = (*Error)(nil)

// IsFinal reports whether err must not be retried with the same credentials
// (NTLM rejection: RELIABILITY.md B.2 "a wrong password must never turn into a
// retry loop").
func IsFinal(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Final
}

// ConfigError reports an invalid Config field.
type ConfigError struct {
	Field string
	Value string
	Msg   string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("sipua: config %s=%q: %s", e.Field, e.Value, e.Msg)
}

// Outcome implements Classified.
func (e *ConfigError) Outcome() Outcome { return OutcomeConfig }

// Reason implements Classified.
func (e *ConfigError) Reason() string { return "config " + e.Field }
