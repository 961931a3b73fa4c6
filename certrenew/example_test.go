package certrenew_test

import (
	"fmt"
	"time"

	"github.com/handset-dev/handset/certrenew"
)

// ExamplePolicy_Plan prints the worked example of the package comment: the
// attempts for 1-year, 90-day, 8-hour and 1-hour certificates when every
// attempt fails.
func ExamplePolicy_Plan() {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, life := range []time.Duration{365 * 24 * time.Hour, 90 * 24 * time.Hour, 8 * time.Hour, time.Hour} {
		v := certrenew.Validity{NotBefore: t0, NotAfter: t0.Add(life)}
		plan := certrenew.Policy{}.Plan(v, t0, -1)
		fmt.Printf("%v certificate: lead %v, %d attempts\n", life, certrenew.Policy{}.Lead(v), len(plan))
		for i, a := range plan {
			if i < 8 || i == len(plan)-1 {
				fmt.Printf("  %3d %s  %-14s %v before expiry\n", i+1, a.At.Format(time.RFC3339), fmt.Sprint("T+", a.At.Sub(t0)), v.NotAfter.Sub(a.At))
			}
		}
	}
	// Output:
	// 8760h0m0s certificate: lead 720h0m0s, 723 attempts
	//     1 2026-12-02T00:00:00Z  T+8040h0m0s    720h0m0s before expiry
	//     2 2026-12-02T00:10:00Z  T+8040h10m0s   719h50m0s before expiry
	//     3 2026-12-02T00:30:00Z  T+8040h30m0s   719h30m0s before expiry
	//     4 2026-12-02T01:00:00Z  T+8041h0m0s    719h0m0s before expiry
	//     5 2026-12-02T01:40:00Z  T+8041h40m0s   718h20m0s before expiry
	//     6 2026-12-02T02:30:00Z  T+8042h30m0s   717h30m0s before expiry
	//     7 2026-12-02T03:30:00Z  T+8043h30m0s   716h30m0s before expiry
	//     8 2026-12-02T04:30:00Z  T+8044h30m0s   715h30m0s before expiry
	//   723 2026-12-31T23:30:00Z  T+8759h30m0s   30m0s before expiry
	// 2160h0m0s certificate: lead 540h0m0s, 543 attempts
	//     1 2026-03-09T12:00:00Z  T+1620h0m0s    540h0m0s before expiry
	//     2 2026-03-09T12:10:00Z  T+1620h10m0s   539h50m0s before expiry
	//     3 2026-03-09T12:30:00Z  T+1620h30m0s   539h30m0s before expiry
	//     4 2026-03-09T13:00:00Z  T+1621h0m0s    539h0m0s before expiry
	//     5 2026-03-09T13:40:00Z  T+1621h40m0s   538h20m0s before expiry
	//     6 2026-03-09T14:30:00Z  T+1622h30m0s   537h30m0s before expiry
	//     7 2026-03-09T15:30:00Z  T+1623h30m0s   536h30m0s before expiry
	//     8 2026-03-09T16:30:00Z  T+1624h30m0s   535h30m0s before expiry
	//   543 2026-03-31T23:30:00Z  T+2159h30m0s   30m0s before expiry
	// 8h0m0s certificate: lead 2h0m0s, 5 attempts
	//     1 2026-01-01T06:00:00Z  T+6h0m0s       2h0m0s before expiry
	//     2 2026-01-01T06:10:00Z  T+6h10m0s      1h50m0s before expiry
	//     3 2026-01-01T06:30:00Z  T+6h30m0s      1h30m0s before expiry
	//     4 2026-01-01T07:00:00Z  T+7h0m0s       1h0m0s before expiry
	//     5 2026-01-01T07:40:00Z  T+7h40m0s      20m0s before expiry
	// 1h0m0s certificate: lead 15m0s, 2 attempts
	//     1 2026-01-01T00:45:00Z  T+45m0s        15m0s before expiry
	//     2 2026-01-01T00:55:00Z  T+55m0s        5m0s before expiry
}
