package retry

import (
	"errors"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"120", 120 * s, true},
		{" 18000;duration=3600", 18000 * s, true},                        // RFC 3261 §20.33 example
		{"120 (I'm in a meeting)", 120 * s, true},                        // RFC 3261 §20.33 example
		{"5 (a (nested) \\) comment) ;duration=2 ", 5 * s, true},         // nested comment, quoted-pair
		{"99999999999999999999999", maxDeltaSeconds * time.Second, true}, // capped, not rejected
		{"", 0, false},
		{"abc", 0, false},
		{"-5", 0, false},
		{"10 (unterminated", 0, false},
		{"10 x", 0, false},
		{"1.5", 0, false},
	}
	for _, tc := range tests {
		got, err := ParseRetryAfter(tc.in)
		if tc.ok != (err == nil) || got != tc.want {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrRetryAfter) {
			t.Errorf("ParseRetryAfter(%q) error %v is not ErrRetryAfter", tc.in, err)
		}
	}
}

// FuzzParseRetryAfter checks that parsing never panics, errors are typed, the
// result is within [0, 2^32-1 s], and a parsed value survives a round trip
// through FormatRetryAfter.
func FuzzParseRetryAfter(f *testing.F) {
	for _, seed := range []string{"120", "18000;duration=3600", "120 (I'm in a meeting)", "5 ((x)\\))", "", "(", "1 (", "99999999999999999999"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		d, err := ParseRetryAfter(in)
		if err != nil {
			if !errors.Is(err, ErrRetryAfter) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if d < 0 || d > maxDeltaSeconds*time.Second {
			t.Fatalf("out of range: %v", d)
		}
		d2, err := ParseRetryAfter(FormatRetryAfter(d))
		if err != nil || d2 != d {
			t.Fatalf("round trip %v → %q → %v, %v", d, FormatRetryAfter(d), d2, err)
		}
	})
}
