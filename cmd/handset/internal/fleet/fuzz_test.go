package fleet

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// FuzzReadUsers: any input either parses into rows that all match the
// header width and whose Row maps have every header name, or fails with
// ErrBadUsers; never a panic.
func FuzzReadUsers(f *testing.F) {
	f.Add("SEQUENTIAL\nreg.1.address,reg.1.auth.password\na@lab,pw\n")
	f.Add("RANDOM\nreg.1.address\n\"quoted, name\"@lab\n")
	f.Add("a,a\n1,2\n")
	f.Add("# comment\nx\ny\n")
	f.Fuzz(func(t *testing.T, in string) {
		u, err := ReadUsers(strings.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrBadUsers) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		for i := range u.Rows {
			row := u.Row(i)
			if len(row) != len(u.Header) {
				t.Fatalf("row %d: %d values for %d header names", i, len(row), len(u.Header))
			}
		}
		for _, j := range u.Assign(2*len(u.Rows)+1, nil) {
			if j < 0 || j >= len(u.Rows) {
				t.Fatalf("assigned row %d of %d", j, len(u.Rows))
			}
		}
	})
}

// FuzzParseMACRange: a parsed range round-trips through its first MAC and
// its length, and its MACs are consecutive.
func FuzzParseMACRange(f *testing.F) {
	f.Add("0004f2000000+500")
	f.Add("00:04:F2:00:00:FE+3")
	f.Add("ffffffffffff+1")
	f.Fuzz(func(t *testing.T, in string) {
		if len(in) > 40 {
			return // bound the count the fuzzer can ask for
		}
		macs, err := ParseMACRange(in)
		if err != nil {
			if !errors.Is(err, ErrBadMACRange) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(macs) > 1_000_000 {
			return
		}
		again, err := ParseMACRange(fmt.Sprintf("%s+%d", macs[0], len(macs)))
		if err != nil || len(again) != len(macs) || again[len(again)-1] != macs[len(macs)-1] {
			t.Fatalf("round trip of %q: %v", in, err)
		}
	})
}
