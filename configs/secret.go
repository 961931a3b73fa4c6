package configs

import (
	"fmt"
	"log/slog"
)

// redacted is what every printed form of a Secret shows.
const redacted = "[redacted]"

// Secret holds a password or PIN (reg.x.auth.password, reg.x.auth.pin,
// tcpIpApp.ice.password). Its String, GoString, Format (%v %s %q %#v …),
// LogValue (slog) and MarshalJSON forms all print "[redacted]", so a log line,
// an error or a JSON dump can never leak a credential. Reveal is the only way
// to read the clear text (STYLE.md: secrets print [redacted]).
type Secret struct {
	s string
}

// NewSecret wraps s.
func NewSecret(s string) Secret { return Secret{s: s} }

// Reveal returns the clear text; call it only where the protocol needs it.
func (s Secret) Reveal() string { return s.s }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.s == "" }

// String implements fmt.Stringer.
func (Secret) String() string { return redacted }

// GoString implements fmt.GoStringer.
func (Secret) GoString() string { return redacted }

// Format implements fmt.Formatter so every verb, including %x and %q, is redacted.
func (Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		_, _ = f.Write([]byte(`"` + redacted + `"`))
		return
	}
	_, _ = f.Write([]byte(redacted))
}

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON implements json.Marshaler.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler (used by slog's text handler
// and encoding/xml).
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
