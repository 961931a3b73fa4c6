package rtp

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/media/sdp"
	"github.com/handset-dev/handset/media/srtp"
)

// The whole media path as the call layer will wire it: SDP offer and answer
// (through their wire bytes), Negotiate on both sides, SRTP sessions from
// the negotiated crypto, and two streams exchanging G.711 for 2 s of fake
// time. Run with the handset's MKI answer and with a baresip-style answer
// that drops the MKI.
func TestNegotiatedSRTPCall(t *testing.T) {
	for _, tc := range []struct {
		name      string
		answerMKI bool
	}{{"mki", true}, {"answer drops mki", false}} {
		t.Run(tc.name, func(t *testing.T) { negotiatedCall(t, tc.answerMKI) })
	}
}

func negotiatedCall(t *testing.T, answerMKI bool) {
	counter, err := srtp.NewMKICounter(1, true)
	if err != nil {
		t.Fatal(err)
	}
	offer, err := sdp.Offer(sdp.OfferConfig{
		Address: "192.0.2.1", Port: 40000, RTCPPort: 40001, Codecs: []sdp.Codec{sdp.PCMU, sdp.PCMA},
		Policy: sdp.PolicyFromConfig(true, true, true), SRTP: sdp.SRTPConfig{MKI: counter.StartSession()},
		Rand: testutil.NewReader(7),
	})
	if err != nil {
		t.Fatal(err)
	}
	offerWire, err := sdp.Parse(offer.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	answer, err := sdp.Answer(offerWire, sdp.AnswerConfig{
		Address: "192.0.2.2", Port: 50000, Codecs: []sdp.Codec{sdp.PCMA, sdp.PCMU},
		Policy: sdp.PolicyFromConfig(true, false, false), SRTP: sdp.SRTPConfig{NoMKI: !answerMKI},
		Rand: testutil.NewReader(8),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !answerMKI {
		// baresip keeps our MKI tag but writes no MKI (peers.md).
		answer.Media[0].Crypto[0].Tag = 1
		answer.Media[0].Crypto[0].MKILen, answer.Media[0].Crypto[0].MKI = 0, 0
	}
	answerWire, err := sdp.Parse(answer.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	resA, err := sdp.Negotiate(offer, answerWire, sdp.Offerer, sdp.NegotiateConfig{})
	if err != nil {
		t.Fatal(err)
	}
	resB, err := sdp.Negotiate(offerWire, answer, sdp.Answerer, sdp.NegotiateConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if resA.Local.HasMKI() != answerMKI || resA.Codec.Name != "PCMA" || resB.RemotePort != 40000 || resB.RemoteRTCPPort != 40001 || resA.RemoteRTCPPort != 50001 {
		t.Fatalf("negotiated: A %+v B %+v", resA, resB)
	}
	cfgA, err := srtp.ConfigFor(resA.Local, resA.Remote)
	if err != nil {
		t.Fatal(err)
	}
	cfgB, err := srtp.ConfigFor(resB.Local, resB.Remote)
	if err != nil {
		t.Fatal(err)
	}
	sa, err := srtp.NewSession(cfgA)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := srtp.NewSession(cfgB)
	if err != nil {
		t.Fatal(err)
	}
	fmtA, err := FormatFor(resA.Codec.Name, resA.Codec.PT, resA.Codec.ClockRate, resA.Codec.Fmtp)
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		ca, cb := memPair()
		toneA, _ := NewTone(fmtA, 440, 0.2)
		toneB, _ := NewTone(fmtA, 660, 0.2)
		a, err := NewStream(ca, Config{Format: fmtA, SSRC: 1, Source: toneA, Remote: cb.addr, RemoteRTCP: cb.addr}, WithProtector(sa))
		if err != nil {
			t.Fatal(err)
		}
		b, err := NewStream(cb, Config{Format: fmtA, SSRC: 2, Source: toneB, Remote: ca.addr, RemoteRTCP: ca.addr}, WithProtector(sb))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 2)
		go func() { done <- a.Run(ctx) }()
		go func() { done <- b.Run(ctx) }()
		time.Sleep(5*time.Second + time.Millisecond)
		synctest.Wait()
		cancel()
		for range 2 {
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("Run: %v", err)
			}
		}
		for name, st := range map[string]Stats{"a": a.Stats(), "b": b.Stats()} {
			if st.PacketsSent != 250 || st.PacketsReceived != 250 || st.Lost != 0 || st.RTCPReceived != 1 ||
				st.SRTPAuthFailures+st.MKIMismatches+st.ReplayDrops+st.Malformed != 0 {
				t.Errorf("%s: %+v", name, st)
			}
		}
	})
}
