package retry

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxDeltaSeconds caps delta-seconds the way RFC 3261 §20.19 does for
// Expires (2^32-1); a larger value is taken as the cap rather than rejected.
const maxDeltaSeconds = 1<<32 - 1

// ParseRetryAfter parses the value of a Retry-After header field (RFC 3261
// §20.33):
//
//	Retry-After  =  "Retry-After" HCOLON delta-seconds
//	                [ comment ] *( SEMI retry-param )
//
// and returns delta-seconds as a duration. The comment and parameters (such
// as duration=) are checked for shape and otherwise ignored: only the delay
// decides when the server may be tried again.
func ParseRetryAfter(v string) (time.Duration, error) {
	s := strings.TrimLeft(v, " \t")
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	if n == 0 {
		return 0, fmt.Errorf("%w: %q: want delta-seconds", ErrRetryAfter, v)
	}
	secs, err := strconv.ParseUint(s[:n], 10, 64)
	if err != nil || secs > maxDeltaSeconds {
		secs = maxDeltaSeconds // only overflow can fail here: all digits
	}
	rest := strings.TrimLeft(s[n:], " \t")
	if strings.HasPrefix(rest, "(") {
		end, ok := commentEnd(rest)
		if !ok {
			return 0, fmt.Errorf("%w: %q: unterminated comment", ErrRetryAfter, v)
		}
		rest = strings.TrimLeft(rest[end:], " \t")
	}
	rest = strings.TrimRight(rest, " \t")
	if rest != "" && rest[0] != ';' {
		return 0, fmt.Errorf("%w: %q: unexpected %q after delta-seconds", ErrRetryAfter, v, rest)
	}
	return time.Duration(secs) * time.Second, nil
}

// FormatRetryAfter renders d as delta-seconds (rounded down to a second,
// clamped to [0, 2^32-1]) for a Retry-After header field.
func FormatRetryAfter(d time.Duration) string {
	secs := int64(d / time.Second)
	if secs < 0 {
		secs = 0
	}
	if secs > maxDeltaSeconds {
		secs = maxDeltaSeconds
	}
	return strconv.FormatInt(secs, 10)
}

// commentEnd returns the index just past the comment that starts s (s[0] is
// '('), honouring nested comments and quoted-pairs (RFC 3261 §25.1).
func commentEnd(s string) (int, bool) {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++ // quoted-pair: skip the next byte
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i + 1, true
			}
		}
	}
	return 0, false
}
