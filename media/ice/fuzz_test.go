package ice

import (
	"errors"
	"testing"
)

// FuzzParseCandidateLine: a parsed line writes back to a line that parses
// to the same value; errors are ErrMalformed.
func FuzzParseCandidateLine(f *testing.F) {
	for _, l := range ms2Lines {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCandidateLine(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("untyped %v", err)
			}
			return
		}
		c2, err := ParseCandidateLine(c.String())
		if err != nil {
			t.Fatalf("reparse %q: %v", c.String(), err)
		}
		if c2 != c {
			t.Fatalf("round trip %+v != %+v", c2, c)
		}
	})
}
