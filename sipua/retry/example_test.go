package retry_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/handset-dev/handset/sipua/retry"
)

// The registration loop keeps one Backoff per server: each failure gives the
// wait before the next REGISTER, a success resets the count.
func ExampleBackoff() {
	b, err := retry.NewBackoff(retry.DefaultBase, retry.DefaultMax, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		fmt.Println(err)
		return
	}
	for range 6 {
		lo, hi := b.Bounds()
		d := b.Failure()
		fmt.Printf("failure %d: wait in [%v, %v], ok=%v\n", b.Failures(), lo, hi, d >= lo && d <= hi)
	}
	b.Success()
	// Output:
	// failure 1: wait in [10s, 20s], ok=true
	// failure 2: wait in [20s, 40s], ok=true
	// failure 3: wait in [40s, 1m20s], ok=true
	// failure 4: wait in [1m20s, 2m40s], ok=true
	// failure 5: wait in [1m30s, 3m0s], ok=true
	// failure 6: wait in [1m30s, 3m0s], ok=true
}
