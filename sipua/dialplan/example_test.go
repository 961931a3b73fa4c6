package dialplan_test

import (
	"fmt"

	"github.com/handset-dev/handset/sipua/dialplan"
)

// The seed's Appendix C example: the Lisbon rule, the emergency string 112
// with mask 911, and what the handset makes of them.
func Example() {
	plan := dialplan.Compile([]dialplan.Rule{{
		Name:        "Lisbon 5 digit 2",
		Pattern:     `^((8047[0-9])|(8063[0-9]))$`,
		Translation: `+3512131$1`,
		Internal:    true,
	}}, dialplan.Emergency{DialString: "112", DialMask: "911"}, nil)
	fmt.Println(plan.Original)
	fmt.Println(plan.Expanded)
	fmt.Println(plan.DigitMap)
	r := plan.Normalize("80471")
	fmt.Println(r.Number, r.Rule.Expanded)
	// Output:
	// ^((8047[0-9])|(8063[0-9]))$@+3512131$1@1
	// ^(8047[0-9])$@+3512131$1@1|^(8063[0-9])$@+3512131$1@1|^112$@112@0|^911$@112@0
	// 8047x|8063x|112|911
	// +351213180471 ^(8047[0-9])$@+3512131$1@1
}
