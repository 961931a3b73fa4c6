package dialplan

import (
	"strings"
	"testing"
)

// FuzzCompile: whatever the rule string, compiling never panics, every
// intermediate string stays within Limit, and every surviving rule
// normalizes its own digit-map strings' worth of input without panicking.
func FuzzCompile(f *testing.F) {
	f.Add(lisbon.String(), "911", "112;999", "80471")
	f.Add(`^9(\d*)$@$1@0|^(\d{4})$@+1425555$1@1`, "", "", "1234")
	f.Add(alternation(31, 2)+"@$1@0", "112", "", "07")
	f.Add(strings.Repeat(`^(1|2|3)(4|5)\d{0,9}$@$1@0|`, 60)+"^1$@1@0", "9", "9;9", "14")
	f.Add("((((((", "*", "#", "")
	f.Fuzz(func(t *testing.T, original, ds, mask, number string) {
		rules, err := ParseOriginal(original)
		if err != nil {
			return
		}
		p := Compile(rules, Emergency{DialString: ds, DialMask: mask}, nil)
		for name, s := range map[string]string{"original": p.Original, "emergency": p.WithEmergency, "expanded": p.Expanded, "digitmap": p.DigitMap} {
			if len(s) > Limit {
				t.Fatalf("%s is %d characters", name, len(s))
			}
		}
		r := p.Normalize(number)
		if !r.Matched && r.Number != number {
			t.Fatalf("unmatched number changed: %q → %q", number, r.Number)
		}
	})
}

// FuzzToDigitMap: the converter never panics and never returns an empty
// string without an error, nor anything outside the RFC 3435 alphabet.
func FuzzToDigitMap(f *testing.F) {
	for _, s := range []string{`^(8047[0-9])$`, `^\+?(\d{2,5})$`, `^[^1]$`, `^(?:1|(2|3)){2}$`, `^\d{32}$`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		dm, err := ToDigitMap(pattern)
		if err != nil {
			return
		}
		if dm == "" {
			t.Fatal("empty digit map without error")
		}
		if i := strings.IndexFunc(dm, func(r rune) bool { return !strings.ContainsRune("0123456789*#x.T[]-|", r) }); i >= 0 {
			t.Fatalf("%q → %q: character %q outside the digit-map alphabet", pattern, dm, dm[i])
		}
	})
}
