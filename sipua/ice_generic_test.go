package sipua

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/handset-dev/handset/internal/peers/coturn"
	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/media"
	"github.com/handset-dev/handset/media/ice"
	"github.com/handset-dev/handset/media/sdp"
	"github.com/handset-dev/handset/sipua/mras"
)

// startCoturn runs Debian's coturn (internal/peers/coturn) with long-term
// credentials for alice and bob and returns its port.
func startCoturn(t *testing.T) int {
	t.Helper()
	return coturn.Start(t)
}

// giveRelay stores relay credentials as an MRAS answer would (the in-band
// tcpIpApp.ice.* values), here naming coturn with its static users.
func (h *Handset) giveRelay(r mras.Response) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.relay.creds = &RelayCredentials{Response: r}
	ib := *h.subs.inband
	ib.Params = h.withRelayParamsLocked(ib.Params)
	h.subs.inband = &ib
}

// TestICECallGenericCoturn: tcpIpApp.ice.mode=GENERIC, the call's media
// leg gathers an RFC 5766 relay candidate on coturn (pion/turn, long-term
// credentials from the in-band tcpIpApp.ice.* values), and the call
// through labfe carries SRTP with MKI both ways over coturn's relays.
func TestICECallGenericCoturn(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	port := startCoturn(t)
	fe := startFE(t)
	mc := media.Config{LocalIP: netip.MustParseAddr("127.0.0.1"), Codecs: []sdp.Codec{sdp.PCMU},
		Policy: sdp.PolicyFromConfig(true, true, false), MKI: true, MKILength: 1, MKIStartSessionAtOne: true}
	clock := realClock{}
	opts := func() []Option {
		return []Option{WithMediaConfig(mc), WithSelfSubscriptions(true),
			WithICE(ICEConfig{Mode: ice.ModeGeneric, NoHost: true, Timeout: 10 * time.Second})}
	}
	bob := startParty(t, fe, "bob", clock, CallConfig{AnswerDelay: -1}, opts()...)
	alice := startParty(t, fe, "alice", clock, CallConfig{}, opts()...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for user, p := range map[string]*callParty{"alice": alice, "bob": bob} {
		if _, err := p.h.WaitInBand(ctx); err != nil {
			t.Fatal(err)
		}
		pw := map[string]string{"alice": "secret", "bob": "secret2"}[user]
		p.h.giveRelay(mras.Response{Username: user, Password: mras.Password(pw),
			Relays: []mras.Relay{{HostName: "127.0.0.1", UDPPort: port, TCPPort: port}}})
	}
	ac, err := alice.h.Call(ctx, "bob@contoso.test", CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bob.waitCall(t, callState(CallEstablished))
	bc := bob.h.Calls()[0]
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for range tick.C {
		if ac.Stats().PacketsReceived >= 50 && bc.Stats().PacketsReceived >= 50 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no media over coturn: alice %+v bob %+v", ac.Stats().Stats, bc.Stats().Stats)
		}
	}
	im, ok := ac.media.(*iceMedia)
	if !ok {
		t.Fatalf("alice's call does not use ICE: %T", ac.media)
	}
	if l, _, err := im.ag.Selected(); err != nil || l.Type().String() != "relay" {
		t.Fatalf("selected %v %v", l, err)
	}
	if err := ac.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	<-bc.Done()
	for name, st := range map[string]media.Stats{"alice": ac.Stats(), "bob": bc.Stats()} {
		if !st.Encrypted || !st.MKI || st.SRTPAuthFailures != 0 {
			t.Errorf("%s: %+v", name, st)
		}
	}
}
