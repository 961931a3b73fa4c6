package sipua_test

import (
	"bytes"
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	pice "github.com/pion/ice/v4"

	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/media/ice"
	"github.com/handset-dev/handset/media/msturn"
	"github.com/handset-dev/handset/sipua"
)

// relayLeg is one handset's media leg behind the relay-only "NAT".
type relayLeg struct {
	h     *sipua.Handset
	agent *ice.Agent
	user  string // the MRAS user name the relay uses now
	conn  net.Conn
}

// relayFromInBand allocates on the relay the in-band layer names
// (tcpIpApp.ice.turn.server and .udpPort/.tcpPort, .username, .password).
func relayFromInBand(t *testing.T, ctx context.Context, h *sipua.Handset, network string, seed uint64) *msturn.Client {
	t.Helper()
	p := h.InBand().Params
	cfg, err := msturn.ConfigFromParams(func(k string) string { return p[k] }, network)
	if err != nil {
		t.Fatal(err)
	}
	c, err := msturn.New(cfg, msturn.WithRand(testutil.NewReader(seed)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := c.Allocate(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestTwoHandsetsThroughRelayWithRenewal is issue #9's end-to-end case
// without SIP call signalling (the SIP call API has no ICE hook yet): two
// signed-in handsets behind a NAT that only lets the relay through get
// relay credentials from labfe's MRAS (WithMRAS, in-band layer), allocate
// on labfe's MS-TURN relay (alice over UDP, bob over TCP), connect with ICE
// relay to relay and send 20 ms media both ways while, time-scaled, MRAS
// renews the credentials every ~0.9 s; each renewal is applied to the live
// allocation, and not one packet is lost.
func TestTwoHandsetsThroughRelayWithRenewal(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	lab := startMRASLab(t, 8*time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bob := aliceConfig()
	bob.AOR, bob.AuthUser, bob.Handset, bob.Epid = "bob@contoso.test", "bob", "0004f2000002", "0b0b0b0b0b"
	legs := make([]*relayLeg, 2)
	for i, cfg := range []sipua.Config{aliceConfig(), bob} {
		cfg.TimeScale = 480 // 8 min of MRAS duration -> 1 s
		h := newHandset(t, lab.fe, cfg, nil, sipua.WithSelfSubscriptions(true), sipua.WithMRAS(true))
		if err := h.Register(ctx); err != nil {
			t.Fatal(err)
		}
		rc, err := h.WaitRelayCredentials(ctx)
		if err != nil {
			t.Fatal(err)
		}
		network := []string{"udp", "tcp"}[i]
		relayClient := relayFromInBand(t, ctx, h, network, uint64(40+i))
		ag, err := ice.New(ice.Config{Controlling: i == 0, NoHost: true, NoActiveDestination: true}, ice.WithRelay(relayClient))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ag.Close() })
		legs[i] = &relayLeg{h: h, agent: ag, user: rc.Username}
	}
	// Offer/answer of candidates in MS-ICE2 lines.
	cands := make([][]pice.Candidate, 2)
	for i, l := range legs {
		var err error
		if cands[i], err = l.agent.Gather(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for i, l := range legs {
		for _, c := range cands[1-i] {
			pc, err := ice.ParseCandidateLine(ice.CandidateLine(c))
			if err != nil {
				t.Fatal(err)
			}
			if err := l.agent.AddRemote(pc); err != nil {
				t.Fatal(err)
			}
		}
	}
	done := make(chan error, 1)
	go func() {
		u, p := legs[0].agent.Credentials()
		c, err := legs[1].agent.Connect(ctx, u, p)
		legs[1].conn = c
		done <- err
	}()
	u, p := legs[1].agent.Credentials()
	c, err := legs[0].agent.Connect(ctx, u, p)
	if err != nil {
		t.Fatal(err)
	}
	legs[0].conn = c
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, l := range legs {
		if loc, _, err := l.agent.Selected(); err != nil || loc.Type() != pice.CandidateTypeRelay {
			t.Fatalf("selected %v %v", loc, err)
		}
	}

	// 20 ms media until each handset has renewed twice mid-call.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	renewals, sent := 0, 0
	buf := make([]byte, 1500)
	for renewals < 4 {
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("only %d renewals applied after %d packets", renewals, sent)
		}
		for i, l := range legs {
			if rc := l.h.RelayCredentials(); rc != nil && rc.Username != l.user {
				if err := l.agent.RenewRelay(ctx, rc.Username, string(rc.Password)); err != nil {
					t.Fatalf("leg %d renew: %v", i, err)
				}
				l.user = rc.Username
				renewals++
			}
		}
		for i, l := range legs {
			pkt := []byte("rtp " + strconv.Itoa(i) + " " + strconv.Itoa(sent))
			if _, err := l.conn.Write(pkt); err != nil {
				t.Fatal(err)
			}
			other := legs[1-i].conn
			_ = other.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, err := other.Read(buf)
			if err != nil || !bytes.Equal(buf[:n], pkt) {
				t.Fatalf("packet %d from leg %d: got %q %v", sent, i, buf[:n], err)
			}
		}
		sent++
	}
	st := lab.relay.Stats()
	if st.Rejected != 0 || st.Allocations != 2 {
		t.Fatalf("relay stats %+v", st)
	}
	if lab.mras.Issued() < 6 {
		t.Fatalf("MRAS issued %d", lab.mras.Issued())
	}
	t.Logf("%d packets each way, %d renewals applied mid-call, relay %+v", sent, renewals, st)
}
