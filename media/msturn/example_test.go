package msturn_test

import (
	"fmt"

	"github.com/handset-dev/handset/media/msturn"
)

// An authenticated Allocate request as the handset sends it after the 401:
// MAGIC-COOKIE first, REALM under 0x0015, NONCE under 0x0014, and
// MESSAGE-INTEGRITY keyed with MD5(user:realm:password).
func ExampleNewMessage() {
	tid := msturn.NewTransactionID([]byte("0123456789ab"))
	m := msturn.NewMessage(msturn.TypeAllocateRequest, tid)
	m.AddUint32(msturn.AttrMSVersion, 1)
	m.AddString(msturn.AttrUsername, "alice")
	m.AddString(msturn.AttrRealm, "SIP")
	m.AddString(msturn.AttrNonce, "n0nce")
	m.AddIntegrity(msturn.LongTermKey("alice", "SIP", "secret"))
	b := m.Marshal()
	p, _ := msturn.Parse(b)
	for _, a := range p.Attributes {
		fmt.Printf("0x%04x %d\n", uint16(a.Type), len(a.Value))
	}
	fmt.Println(msturn.CheckIntegrity(b, msturn.LongTermKey("alice", "SIP", "secret")))
	// Output:
	// 0x000f 4
	// 0x8008 4
	// 0x0006 5
	// 0x0015 3
	// 0x0014 5
	// 0x0008 20
	// <nil>
}
