package sipua_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/media"
	"github.com/handset-dev/handset/media/ice"
	"github.com/handset-dev/handset/media/sdp"
	"github.com/handset-dev/handset/sipua"
)

// iceMediaConfig is Lync's SRTP with a 1-byte MKI (protocols.md §10.3).
func iceMediaConfig() media.Config {
	return media.Config{LocalIP: netip.MustParseAddr("127.0.0.1"), Codecs: []sdp.Codec{sdp.PCMU, sdp.PCMA},
		Policy: sdp.PolicyFromConfig(true, true, false), MKI: true, MKILength: 1, MKIStartSessionAtOne: true,
		RequireMKI: true}
}

func bobConfig() sipua.Config {
	bob := aliceConfig()
	bob.AOR, bob.AuthUser, bob.Handset, bob.Epid = "bob@contoso.test", "bob", "0004f2000002", "0b0b0b0b0b"
	return bob
}

// iceHandset signs in a handset behind the relay-only "NAT" (ICE with
// the relay candidate only) and waits for its MRAS credentials.
func iceHandset(t *testing.T, ctx context.Context, lab *mrasLab, cfg sipua.Config, network string, timeout time.Duration) *sipua.Handset {
	t.Helper()
	h := newHandset(t, lab.fe, cfg, nil, sipua.WithSelfSubscriptions(true), sipua.WithMRAS(true),
		sipua.WithMediaConfig(iceMediaConfig()), sipua.WithCalls(sipua.CallConfig{AnswerDelay: -1}),
		sipua.WithICE(sipua.ICEConfig{Mode: ice.ModeMSOCS, RelayNetwork: network, NoHost: true, Timeout: timeout}))
	if err := h.Register(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := h.WaitRelayCredentials(ctx); err != nil {
		t.Fatal(err)
	}
	return h
}

// waitFor polls cond every 10 ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for range tick.C {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v", what, d)
		}
	}
}

func onlyCall(h *sipua.Handset) *sipua.Call {
	if cs := h.Calls(); len(cs) == 1 {
		return cs[0]
	}
	return nil
}

// TestICECallThroughRelay is issue #9's end-to-end call: two signed-in
// handsets behind the relay-only "NAT" (alice reaches labfe's MS-TURN relay
// over UDP, bob over TCP) get MRAS credentials, alice INVITEs bob through
// labfe with ICE candidates in the offer, both run ICE after the answer and
// the call's SRTP (with MKI) flows both ways over the relay, across a hold
// and resume; alice's BYE ends it and frees both allocations.
func TestICECallThroughRelay(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	lab := startMRASLab(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	alice := iceHandset(t, ctx, lab, aliceConfig(), "udp", 10*time.Second)
	bob := iceHandset(t, ctx, lab, bobConfig(), "tcp", 10*time.Second)
	ac, err := alice.Call(ctx, "bob@contoso.test", sipua.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var bc *sipua.Call
	waitFor(t, 10*time.Second, "bob's call", func() bool { bc = onlyCall(bob); return bc != nil })
	waitFor(t, 20*time.Second, "media both ways over the relay", func() bool {
		return ac.Stats().PacketsReceived >= 50 && bc.Stats().PacketsReceived >= 50
	})
	if st := lab.relay.Stats(); st.Allocations != 2 || st.Rejected != 0 || st.RelayedToUser < 100 {
		t.Fatalf("relay stats %+v", st)
	}
	// Hold and resume re-INVITE over the same pair (the candidates are
	// repeated, ICE is not restarted).
	if err := ac.Hold(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "bob held", func() bool { return bc.State() == sipua.CallRemoteHeld })
	if err := ac.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "bob resumed", func() bool { return bc.State() == sipua.CallEstablished })
	before := bc.Stats().PacketsReceived
	waitFor(t, 20*time.Second, "media after resume", func() bool { return bc.Stats().PacketsReceived >= before+25 })
	if err := ac.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-bc.Done():
	case <-ctx.Done():
		t.Fatal("bob's call did not end")
	}
	if bc.EndReason() != "remote bye" || ac.EndReason() != "local bye" {
		t.Errorf("ended: alice %q, bob %q", ac.EndReason(), bc.EndReason())
	}
	for name, st := range map[string]media.Stats{"alice": ac.Stats(), "bob": bc.Stats()} {
		if !st.Encrypted || !st.MKI || st.SRTPAuthFailures != 0 || st.MKIMismatches != 0 || st.PacketsReceived < 50 {
			t.Errorf("%s: %+v", name, st)
		}
	}
	waitFor(t, 10*time.Second, "allocations freed", func() bool { return lab.relay.Stats().Allocations == 0 })
	t.Logf("alice %+v, relay %+v", ac.Stats().Stats, lab.relay.Stats())
}

// TestICECallRelayDown (RELIABILITY.md F8): the relay stops during a
// relay-only call; both calls end with "no relay" within the ICE timeout,
// a new call is refused with "no relay" at once, and both handsets stay
// registered.
func TestICECallRelayDown(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	lab := startMRASLab(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	alice := iceHandset(t, ctx, lab, aliceConfig(), "udp", 2*time.Second)
	bob := iceHandset(t, ctx, lab, bobConfig(), "tcp", 2*time.Second)
	ac, err := alice.Call(ctx, "bob@contoso.test", sipua.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var bc *sipua.Call
	waitFor(t, 10*time.Second, "bob's call", func() bool { bc = onlyCall(bob); return bc != nil })
	waitFor(t, 20*time.Second, "media both ways", func() bool {
		return ac.Stats().PacketsReceived >= 10 && bc.Stats().PacketsReceived >= 10
	})
	start := time.Now()
	_ = lab.relay.Close()
	for name, c := range map[string]*sipua.Call{"alice": ac, "bob": bc} {
		select {
		case <-c.Done():
		case <-ctx.Done():
			t.Fatalf("%s: the call outlived the relay", name)
		}
		// One side ends with "no relay" and BYEs; the other may see that
		// BYE first ("remote bye").
		if r := c.EndReason(); r != "no relay" && r != "remote bye" {
			t.Errorf("%s: ended %q (%v)", name, r, c.Err())
		}
	}
	if ac.EndReason() != "no relay" && bc.EndReason() != "no relay" {
		t.Errorf("no call ended for the relay: %q %q", ac.EndReason(), bc.EndReason())
	}
	took := time.Since(start)
	t.Logf("calls ended %v after the relay stopped", took.Round(100*time.Millisecond))
	if limit := 2*time.Second + 2*2*time.Second + 5*time.Second; took > limit { // keep-alive + 2×timeout + slack for -race
		t.Errorf("calls ended %v after the relay stopped (limit %v)", took, limit)
	}
	_, err = alice.Call(ctx, "bob@contoso.test", sipua.CallOptions{})
	var e *sipua.Error
	if !errors.As(err, &e) || e.Why != "no relay" || !errors.Is(err, sipua.ErrNoRelay) {
		t.Fatalf("call without a relay: %v", err)
	}
	for name, h := range map[string]*sipua.Handset{"alice": alice, "bob": bob} {
		if st := h.State(); st != sipua.StateRegistered {
			t.Errorf("%s: %v after the relay went down", name, st)
		}
	}
}

// TestICECallFallbacks: a peer that does not do ICE (alice with plain
// media) calls bob, whose ICE may use host candidates: bob answers with
// plain media and the call's SRTP flows (his relay allocation is freed).
// A relay-only handset without relay credentials (no MRAS) refuses to call
// with "no relay" and stays registered.
func TestICECallFallbacks(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	lab := startMRASLab(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	alice := newHandset(t, lab.fe, aliceConfig(), nil, sipua.WithSelfSubscriptions(true),
		sipua.WithMediaConfig(iceMediaConfig()), sipua.WithCalls(sipua.CallConfig{AnswerDelay: -1}))
	if err := alice.Register(ctx); err != nil {
		t.Fatal(err)
	}
	bob := newHandset(t, lab.fe, bobConfig(), nil, sipua.WithSelfSubscriptions(true), sipua.WithMRAS(true),
		sipua.WithMediaConfig(iceMediaConfig()), sipua.WithCalls(sipua.CallConfig{AnswerDelay: -1}),
		sipua.WithICE(sipua.ICEConfig{Mode: ice.ModeMSOCS, Timeout: 5 * time.Second}))
	if err := bob.Register(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.WaitRelayCredentials(ctx); err != nil {
		t.Fatal(err)
	}
	ac, err := alice.Call(ctx, "bob@contoso.test", sipua.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var bc *sipua.Call
	waitFor(t, 10*time.Second, "bob's call", func() bool { bc = onlyCall(bob); return bc != nil })
	waitFor(t, 20*time.Second, "plain media both ways", func() bool {
		return ac.Stats().PacketsReceived >= 25 && bc.Stats().PacketsReceived >= 25
	})
	if st := bc.Stats(); !st.Encrypted || !st.MKI || st.SRTPAuthFailures != 0 {
		t.Errorf("bob: %+v", st)
	}
	if err = ac.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	<-bc.Done()
	waitFor(t, 10*time.Second, "bob's allocation freed", func() bool { return lab.relay.Stats().Allocations == 0 })

	// A relay-only handset without MRAS: no credentials, no call.
	carol := aliceConfig()
	carol.Epid = "0c0c0c0c0c"
	relayOnly := newHandset(t, lab.fe, carol, nil, sipua.WithSelfSubscriptions(true),
		sipua.WithMediaConfig(iceMediaConfig()),
		sipua.WithICE(sipua.ICEConfig{Mode: ice.ModeMSOCS, NoHost: true}))
	if err = relayOnly.Register(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err = relayOnly.WaitInBand(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = relayOnly.Call(ctx, "bob@contoso.test", sipua.CallOptions{})
	var e *sipua.Error
	if !errors.As(err, &e) || e.Why != "no relay" || !errors.Is(err, sipua.ErrNoRelay) {
		t.Fatalf("relay-only call without credentials: %v", err)
	}
	if st := relayOnly.State(); st != sipua.StateRegistered {
		t.Errorf("relay-only handset %v", st)
	}
}

// TestICECallRenewsRelayCredentials: time-scaled (8 min of MRAS duration
// → 1 s), both handsets renew their relay credentials several times during
// a relayed call; each renewal refreshes the call's allocation with the new
// user name, nothing is rejected and the media keeps flowing.
func TestICECallRenewsRelayCredentials(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	lab := startMRASLab(t, 8*time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ac, bc := aliceConfig(), bobConfig()
	ac.TimeScale, bc.TimeScale = 480, 480
	alice := iceHandset(t, ctx, lab, ac, "udp", 10*time.Second)
	bob := iceHandset(t, ctx, lab, bc, "tcp", 10*time.Second)
	call, err := alice.Call(ctx, "bob@contoso.test", sipua.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var bcall *sipua.Call
	waitFor(t, 10*time.Second, "bob's call", func() bool { bcall = onlyCall(bob); return bcall != nil })
	waitFor(t, 20*time.Second, "media both ways", func() bool {
		return call.Stats().PacketsReceived >= 10 && bcall.Stats().PacketsReceived >= 10
	})
	issued := lab.mras.Issued()
	// Two initial allocations plus at least two refreshes with renewed
	// credentials per handset.
	waitFor(t, 30*time.Second, "renewals applied", func() bool { return lab.relay.Stats().Allocated >= 6 })
	before := [2]uint64{call.Stats().PacketsReceived, bcall.Stats().PacketsReceived}
	waitFor(t, 20*time.Second, "media after the renewals", func() bool {
		return call.Stats().PacketsReceived >= before[0]+25 && bcall.Stats().PacketsReceived >= before[1]+25
	})
	if st := lab.relay.Stats(); st.Rejected != 0 || st.Allocations != 2 {
		t.Fatalf("relay %+v", st)
	}
	if lab.mras.Issued() < issued+4 {
		t.Fatalf("MRAS issued %d, %d before", lab.mras.Issued(), issued)
	}
	select {
	case <-call.Done():
		t.Fatalf("the call ended: %q %v", call.EndReason(), call.Err())
	default:
	}
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	<-bcall.Done()
	t.Logf("relay %+v, MRAS issued %d", lab.relay.Stats(), lab.mras.Issued())
}
