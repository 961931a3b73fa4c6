package media_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/handset-dev/handset/media"
	"github.com/handset-dev/handset/media/sdp"
)

// The call layer's use of two media legs: the caller offers, the callee
// answers, both start; hold is a re-offer with a=sendonly.
func Example() {
	cfg := media.Config{
		LocalIP: netip.MustParseAddr("127.0.0.1"),
		Codecs:  []sdp.Codec{sdp.PCMU, sdp.PCMA},
		Policy:  sdp.PolicyFromConfig(true, true, true),         // reg.x.srtp.require=1: RTP/SAVP
		MKI:     true, MKILength: 1, MKIStartSessionAtOne: true, // the Lync base profile
	}
	caller, err := media.NewSession(cfg)
	if err != nil {
		panic(err)
	}
	defer caller.Close()
	callee, err := media.NewSession(cfg)
	if err != nil {
		panic(err)
	}
	defer callee.Close()

	offer, _ := caller.Offer(sdp.SendRecv) // INVITE body
	answer, err := callee.Answer(offer)    // 200 OK body
	if code, warning, ok := media.AnswerFailure(err); ok {
		fmt.Println("reject with", code, warning) // 488 + Warning
		return
	}
	if err := caller.Accept(answer); err != nil {
		panic(err)
	}
	ctx := context.Background()
	_ = caller.Start(ctx)
	_ = callee.Start(ctx)

	hold, _ := caller.Offer(sdp.SendOnly) // re-INVITE
	holdAnswer, _ := callee.Answer(hold)
	_ = caller.Accept(holdAnswer)

	st := caller.Stats()
	fmt.Println(st.Codec, st.Encrypted, st.MKI)
	// Output: PCMU true true
}
