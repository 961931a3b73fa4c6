package metrics

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// FuzzParseCriteria: parse, join the expressions back, parse again: the
// same criteria (round trip); errors are typed.
func FuzzParseCriteria(f *testing.F) {
	f.Add(DefaultCriteria)
	f.Add("signin_p95<=2s, failed_logons==0")
	f.Add("registered>=99.9%%")
	f.Add(">=1,,")
	f.Fuzz(func(t *testing.T, in string) {
		cs, err := ParseCriteria(in)
		if err != nil {
			if !errors.Is(err, ErrCriterion) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		exprs := make([]string, len(cs))
		for i, c := range cs {
			exprs[i] = c.Expr
		}
		again, err := ParseCriteria(strings.Join(exprs, ","))
		if err != nil || len(again) != len(cs) {
			t.Fatalf("round trip %q: %v", in, err)
		}
		for i := range cs {
			if again[i] != cs[i] && !math.IsNaN(cs[i].Value) { // NaN never equals itself
				t.Fatalf("round trip %q: %+v != %+v", in, again[i], cs[i])
			}
		}
	})
}
