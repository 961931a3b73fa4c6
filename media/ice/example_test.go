package ice_test

import (
	"fmt"

	"github.com/handset-dev/handset/media/ice"
)

// A Lync TCP-ACT candidate read from SDP and written back for pion.
func ExampleParseCandidateLine() {
	c, err := ice.ParseCandidateLine("candidate:3 1 TCP-ACT 174846975 192.168.1.20 50042 typ host")
	if err != nil {
		fmt.Println(err)
		return
	}
	pc, _ := c.Pion()
	fmt.Println(pc.NetworkType(), pc.TCPType())
	fmt.Println(ice.CandidateLine(pc))
	// Output:
	// tcp4 active
	// candidate:3 1 TCP-ACT 174846975 192.168.1.20 50042 typ host
}
