package media

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/media/sdp"
	"github.com/handset-dev/handset/media/srtp"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// testConfig is a handset line as the Lync base profile sets it (seed
// Appendix A): SRTP with a 1-byte MKI starting at 1.
func testConfig() Config {
	return Config{
		LocalIP: loopback, Codecs: []sdp.Codec{sdp.PCMU, sdp.PCMA}, DTMF: DefaultDTMF,
		Policy: sdp.PolicyFromConfig(true, true, false), MKI: true, MKILength: 1, MKIStartSessionAtOne: true,
		KeyLifetime: 1 << 31, DSCP: DefaultDSCP,
	}
}

type pair struct {
	a, b  *Session
	clock *fakeClock
}

func newPair(t *testing.T, ca, cb Config) *pair {
	t.Helper()
	p := &pair{clock: newFakeClock()}
	var err error
	if p.a, err = NewSession(ca, WithRand(testutil.NewReader(1)), WithClock(p.clock)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.a.Close() })
	if p.b, err = NewSession(cb, WithRand(testutil.NewReader(2)), WithClock(p.clock)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.b.Close() })
	return p
}

// call runs the initial exchange (a offers, b answers) through the wire
// bytes, optionally rewriting the answer, and starts both sides.
func (p *pair) call(t *testing.T, rewrite func([]byte) []byte) {
	t.Helper()
	offer, err := p.a.Offer(sdp.SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	answer, err := p.b.Answer(offer)
	if err != nil {
		t.Fatal(err)
	}
	if rewrite != nil {
		answer = rewrite(answer)
	}
	if err := p.a.Accept(answer); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Session{p.a, p.b} {
		if err := s.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := s.Start(t.Context()); err != nil { // idempotent
			t.Fatal(err)
		}
	}
	p.clock.waitTickers(t, 2)
}

// reoffer runs a re-INVITE from `from` to `to`; newKey uses OfferNewKey.
func (p *pair) reoffer(t *testing.T, from, to *Session, dir sdp.Direction, newKey bool, between func()) (offer []byte) {
	t.Helper()
	var err error
	if newKey {
		offer, err = from.OfferNewKey(dir)
	} else {
		offer, err = from.Offer(dir)
	}
	if err != nil {
		t.Fatal(err)
	}
	answer, err := to.Answer(offer)
	if err != nil {
		t.Fatal(err)
	}
	if between != nil {
		between()
	}
	if err := from.Accept(answer); err != nil {
		t.Fatal(err)
	}
	return offer
}

// flow ticks n packets and waits until each side has received what the
// other sent, in batches that fit a loopback socket buffer (a starved
// reader would otherwise see the kernel drop datagrams).
func (p *pair) flow(t *testing.T, n int) {
	t.Helper()
	for n > 0 {
		k := min(n, 32)
		p.clock.Tick(k)
		p.settle(t)
		n -= k
	}
}

func (p *pair) settle(t *testing.T) {
	t.Helper()
	for _, x := range [][2]*Session{{p.a, p.b}, {p.b, p.a}} {
		tx, rx := x[0], x[1]
		eventually(t, func() bool {
			st, sr := tx.Stats(), rx.Stats()
			return sr.PacketsReceived+sr.SRTPAuthFailures+sr.MKIMismatches+sr.ReplayDrops+sr.Malformed >= st.PacketsSent
		}, "delivery")
	}
}

func noSRTPErrors(t *testing.T, name string, st Stats) {
	t.Helper()
	if st.SRTPAuthFailures+st.MKIMismatches+st.ReplayDrops+st.Malformed != 0 {
		t.Errorf("%s: srtp errors: %+v", name, st)
	}
}

func TestCallBothWays(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	noMKI := testConfig()
	noMKI.MKI = false
	plain := testConfig()
	plain.Policy = sdp.PolicyFromConfig(true, false, false)
	for _, tc := range []struct {
		name       string
		a, b       Config
		rewrite    func([]byte) []byte
		encrypted  bool
		mkiA, mkiB bool
	}{
		{"mki", testConfig(), testConfig(), nil, true, true, true},
		{"answerer mki disabled", testConfig(), noMKI, nil, true, false, false},
		// baresip keeps the MKI line's tag but answers without an MKI
		// (peers.md); sec.srtp.mki.enabled=1 still accepts it.
		{"answer drops mki", testConfig(), noMKI, func(b []byte) []byte {
			return bytes.Replace(b, []byte("a=crypto:2 "), []byte("a=crypto:1 "), 1)
		}, true, false, false},
		{"plain rtp", plain, testConfig(), nil, false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPair(t, tc.a, tc.b)
			p.call(t, tc.rewrite)
			p.flow(t, 60)
			for name, s := range map[string]*Session{"a": p.a, "b": p.b} {
				st := s.Stats()
				if st.PacketsSent != 60 || st.PacketsReceived != 60 || st.Lost != 0 || st.Codec != "PCMU" ||
					st.Encrypted != tc.encrypted || !st.Sending {
					t.Errorf("%s: %+v", name, st)
				}
				noSRTPErrors(t, name, st)
			}
			if got := p.a.Stats().MKI; got != tc.mkiA {
				t.Errorf("a mki = %v, want %v", got, tc.mkiA)
			}
			if got := p.b.Stats().MKI; got != tc.mkiB {
				t.Errorf("b mki = %v, want %v", got, tc.mkiB)
			}
			if err := p.a.Close(); err != nil {
				t.Fatal(err)
			}
			if err := p.b.Close(); err != nil {
				t.Fatal(err)
			}
			if st := p.a.Stats(); st.PacketsSent != 60 { // Stats stay valid after Close
				t.Errorf("after close: %+v", st)
			}
		})
	}
}

func origin(t *testing.T, b []byte) sdp.Origin {
	t.Helper()
	s, err := sdp.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return s.Origin
}

func cryptoLine(t *testing.T, b []byte) sdp.Crypto {
	t.Helper()
	s, err := sdp.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Media) == 0 || len(s.Media[0].Crypto) == 0 {
		t.Fatalf("no a=crypto in\n%s", b)
	}
	return s.Media[0].Crypto[0]
}

func TestHoldResume(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	for _, newKey := range []bool{false, true} {
		name := "same key"
		if newKey {
			name = "holdWithNewKey resumeWithNewKey"
		}
		t.Run(name, func(t *testing.T) {
			ca := testConfig()
			ca.HoldWithNewKey, ca.ResumeWithNewKey = newKey, newKey
			p := newPair(t, ca, testConfig())
			first, err := p.a.Offer(sdp.SendRecv)
			if err != nil {
				t.Fatal(err)
			}
			answer, err := p.b.Answer(first)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.a.Accept(answer); err != nil {
				t.Fatal(err)
			}
			for _, s := range []*Session{p.a, p.b} {
				if err := s.Start(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			p.clock.waitTickers(t, 2)
			p.flow(t, 10)

			// Hold with a=sendonly: a may send, b must not (RFC 3264 §6.1).
			hold := p.reoffer(t, p.a, p.b, sdp.SendOnly, false, nil)
			o0, o1 := origin(t, first), origin(t, hold)
			if o1.SessionID != o0.SessionID || o1.Version != o0.Version+1 {
				t.Errorf("re-offer o= %d %d after %d %d (RFC 3264 §8)", o1.SessionID, o1.Version, o0.SessionID, o0.Version)
			}
			if c0, c1 := cryptoLine(t, first), cryptoLine(t, hold); bytes.Equal(c0.Key, c1.Key) == newKey || (c1.MKI == c0.MKI) == newKey {
				t.Errorf("hold key changed = %v, want %v (mki %d → %d)", !bytes.Equal(c0.Key, c1.Key), newKey, c0.MKI, c1.MKI)
			}
			bBefore, aBefore := p.b.Stats(), p.a.Stats()
			p.flow(t, 10)
			if got := p.b.Stats().PacketsSent - bBefore.PacketsSent; got != 0 {
				t.Errorf("held peer sent %d packets", got)
			}
			if got := p.a.Stats().PacketsSent - aBefore.PacketsSent; got != 10 {
				t.Errorf("sendonly side sent %d packets, want 10", got)
			}

			// a=inactive: nobody sends.
			p.reoffer(t, p.a, p.b, sdp.Inactive, false, nil)
			bBefore, aBefore = p.b.Stats(), p.a.Stats()
			p.clock.Tick(10)
			if p.a.Stats().PacketsSent != aBefore.PacketsSent || p.b.Stats().PacketsSent != bBefore.PacketsSent || p.a.Stats().Sending {
				t.Errorf("inactive: a %+v b %+v", p.a.Stats(), p.b.Stats())
			}

			// Resume.
			resume := p.reoffer(t, p.a, p.b, sdp.SendRecv, false, nil)
			if o := origin(t, resume); o.Version != o0.Version+3 {
				t.Errorf("resume o= version %d, want %d", o.Version, o0.Version+3)
			}
			bBefore, aBefore = p.b.Stats(), p.a.Stats()
			p.flow(t, 10)
			for name, d := range map[string]uint64{"a": p.a.Stats().PacketsSent - aBefore.PacketsSent, "b": p.b.Stats().PacketsSent - bBefore.PacketsSent} {
				if d != 10 {
					t.Errorf("%s sent %d after resume, want 10", name, d)
				}
			}
			wantRekeys := uint64(0)
			if newKey {
				wantRekeys = 2 // hold and resume; inactive after sendonly is no new hold
			}
			for name, s := range map[string]*Session{"a": p.a, "b": p.b} {
				st := s.Stats()
				noSRTPErrors(t, name, st)
				if st.PacketsReceived == 0 || st.Lost != 0 {
					t.Errorf("%s: %+v", name, st)
				}
			}
			if got := p.a.Stats().Rekeys; got != wantRekeys {
				t.Errorf("a rekeys = %d, want %d", got, wantRekeys)
			}
		})
	}
}

// wantDirection is the direction of our last accepted offer (what a
// rekey re-offer repeats).
func (s *Session) wantDirection() sdp.Direction {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wantDir
}

// rekeyDue takes a pending RekeyDue signal, if any.
func rekeyDue(s *Session) bool {
	select {
	case <-s.RekeyDue():
		return true
	default:
		return false
	}
}

// Rekey at half of a tiny sec.srtp.key.lifetime, with packets flowing
// between the answer and Accept (the peer already holds the new key, we
// still send with the old one): no auth failure across the switch, with and
// without MKI, from either side.
func TestRekey(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	for _, mki := range []bool{true, false} {
		t.Run(map[bool]string{true: "mki", false: "no mki"}[mki], func(t *testing.T) {
			c := testConfig()
			c.KeyLifetime = 1024
			c.MKI = mki
			p := newPair(t, c, c)
			p.call(t, nil)
			if rekeyDue(p.a) {
				t.Fatal("rekey due before any packet")
			}
			p.flow(t, 511)
			if rekeyDue(p.a) {
				t.Fatal("rekey due before half the lifetime")
			}
			p.flow(t, 1)
			for _, s := range []*Session{p.a, p.b} {
				if !rekeyDue(s) {
					t.Fatal("rekey not due at half the lifetime (512 packets)")
				}
			}
			// a re-keys; 5 packets cross the switch.
			off := p.reoffer(t, p.a, p.b, sdp.SendRecv, true, func() { p.flow(t, 5) })
			if mki {
				if c := cryptoLine(t, off); c.MKI != 2 {
					t.Errorf("rekey offer mki %d, want 2", c.MKI)
				}
			}
			p.flow(t, 20)
			// b re-keys from the answerer side of the first exchange.
			p.reoffer(t, p.b, p.a, sdp.SendRecv, true, func() { p.flow(t, 5) })
			p.flow(t, 20)
			for name, s := range map[string]*Session{"a": p.a, "b": p.b} {
				st := s.Stats()
				noSRTPErrors(t, name, st)
				if st.Rekeys != 1 || st.PacketsSent != 562 || st.PacketsReceived != 562 || st.Lost != 0 {
					t.Errorf("%s: %+v", name, st)
				}
				if err := s.Err(); err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}
			// Re-armed for the new key: due again after 512 more packets.
			if rekeyDue(p.a) {
				t.Fatal("stale rekey signal")
			}
			// a has sent 45 packets with its new key.
			p.flow(t, 512-45-1)
			if rekeyDue(p.a) {
				t.Fatal("rekey due early for the new key")
			}
			p.flow(t, 1)
			if !rekeyDue(p.a) {
				t.Fatal("rekey not re-armed")
			}
		})
	}
}

func TestEncryptionMismatch488(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	required := testConfig()
	required.Policy = sdp.PolicyFromConfig(true, true, true)
	declines := testConfig()
	declines.Policy = sdp.PolicyFromConfig(false, false, false)
	plain := testConfig()
	plain.Policy = sdp.PolicyFromConfig(true, false, false)
	for _, tc := range []struct {
		name string
		a, b Config
	}{
		{"RTP/SAVP offered, srtp disabled", required, declines},
		{"no crypto offered, srtp required", plain, required},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPair(t, tc.a, tc.b)
			offer, err := p.a.Offer(sdp.SendRecv)
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.b.Answer(offer)
			code, warn, ok := AnswerFailure(err)
			if !ok || code != 488 || warn != sdp.WarningEncryption || !errors.Is(err, sdp.ErrEncryptionIncompatible) {
				t.Fatalf("AnswerFailure(%v) = %d %q %v", err, code, warn, ok)
			}
			if p.b.State() != StateIdle {
				t.Errorf("state after a failed answer: %v", p.b.State())
			}
			if err := p.b.Start(t.Context()); !errors.Is(err, ErrState) {
				t.Errorf("Start without media: %v", err)
			}
		})
	}
}

// RELIABILITY.md P5/P6: bad SDP and bad a=crypto lines are errors with a
// 400 or 488 and a Warning naming the problem, never panics; the session
// stays usable.
func TestBadOffers(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	p := newPair(t, testConfig(), testConfig())
	good, err := p.a.Offer(sdp.SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	g := string(good)
	key := regexp.MustCompile(`inline:[^|\r]+`).FindString(g)
	cases := map[string]string{
		"empty":           "",
		"garbage":         "\x00\xff not sdp",
		"no c=":           regexp.MustCompile(`c=IN IP4 127.0.0.1\r\n`).ReplaceAllString(g, ""),
		"port 65536":      regexp.MustCompile(`m=audio \d+`).ReplaceAllString(g, "m=audio 65536"),
		"unknown proto":   strings.Replace(g, "RTP/AVP", "RTP/XYZ", 1),
		"pt 128":          strings.Replace(g, "RTP/AVP 0", "RTP/AVP 128", 1),
		"100 m-lines":     g + strings.Repeat("m=audio 9 RTP/AVP 0\r\n", 100),
		"no audio":        strings.Replace(g, "m=audio", "m=video", 1),
		"no common codec": regexp.MustCompile(`RTP/AVP [0-9 ]+`).ReplaceAllString(g, "RTP/AVP 18"),
		"non-base64 key":  strings.ReplaceAll(g, key, "inline:!!!!"),
		"short key":       strings.ReplaceAll(g, key, "inline:QUJDRA=="),
		"unknown suite":   strings.ReplaceAll(g, "AES_CM_128_HMAC_SHA1_80", "F8_128_HMAC_SHA1_80"),
		"mki length 0":    strings.Replace(g, "|1:1", "|1:0", 1),
		"mki length 5":    strings.Replace(g, "|1:1", "|1:5", 1),
		"mki value 256":   strings.Replace(g, "|1:1", "|256:1", 1),
		"lifetime 3^10":   strings.Replace(g, "|2^31|", "|3^10|", 1),
		"lifetime 1000":   strings.Replace(g, "|2^31|", "|1000|", 1),
		"duplicate tag":   strings.Replace(g, "a=crypto:2", "a=crypto:1", 1),
		// RTP/SAVP: with optional SRTP the answer falls back to plain RTP.
		"mki 1:4 vs len 1": strings.Replace(strings.ReplaceAll(regexp.MustCompile(`a=crypto:2[^\n]*\n`).ReplaceAllString(g, ""), "|1:1", "|1:4"), "RTP/AVP", "RTP/SAVP", 1),
	}
	negotiation := map[string]bool{"no audio": true, "no common codec": true, "mki 1:4 vs len 1": true}
	for name, offer := range cases {
		t.Run(name, func(t *testing.T) {
			ans, err := p.b.Answer([]byte(offer))
			if err == nil {
				t.Fatalf("accepted:\n%s\nanswer:\n%s", offer, ans)
			}
			code, warn, ok := AnswerFailure(err)
			want := 400 // unparsable: labfe and RELIABILITY.md P5 answer 400 with a 399 Warning
			if negotiation[name] {
				want = 488
			}
			if !ok || code != want || warn == "" {
				t.Fatalf("AnswerFailure(%v) = %d %q %v, want %d", err, code, warn, ok, want)
			}
			if strings.Contains(err.Error(), strings.TrimPrefix(key, "inline:")) || strings.Contains(warn, strings.TrimPrefix(key, "inline:")) {
				t.Errorf("error shows the key: %v / %s", err, warn)
			}
		})
	}
	// Still usable: the good offer is answered.
	if _, err := p.b.Answer(good); err != nil {
		t.Fatal(err)
	}
	// Bad answers to our offer are errors, and the offer stays pending.
	for name, ans := range map[string]string{
		"garbage":      "v=0\r\nbogus",
		"unknown tag":  strings.Replace(g, "a=crypto:1", "a=crypto:9", 1),
		"two crypto":   g, // an offer is not an answer: two a=crypto lines
		"rejected m=":  regexp.MustCompile(`m=audio \d+`).ReplaceAllString(g, "m=audio 0"),
		"hostname c= ": strings.ReplaceAll(g, "IN IP4 127.0.0.1", "IN IP4 example.com"),
	} {
		if err := p.a.Accept([]byte(ans)); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if p.a.State() != StateOfferSent {
			t.Errorf("%s: state %v", name, p.a.State())
		}
	}
}

func TestStateMachine(t *testing.T) {
	for _, tc := range []struct {
		from State
		ev   event
		to   State
		ok   bool
	}{
		{StateIdle, evOffer, StateOfferSent, true},
		{StateIdle, evAnswer, StateActive, true},
		{StateIdle, evAccept, StateIdle, false},
		{StateOfferSent, evOffer, StateOfferSent, true},
		{StateOfferSent, evAnswer, StateActive, true},
		{StateOfferSent, evAccept, StateActive, true},
		{StateActive, evOffer, StateOfferSent, true},
		{StateActive, evAnswer, StateActive, true},
		{StateActive, evAccept, StateActive, false},
		{StateClosed, evOffer, StateClosed, false},
		{StateClosed, evAnswer, StateClosed, false},
		{StateClosed, evAccept, StateClosed, false},
		{StateActive, evClose, StateClosed, true},
		{StateClosed, evClose, StateClosed, true},
	} {
		got, err := transition(tc.from, tc.ev)
		if got != tc.to || (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrState)) {
			t.Errorf("%v --%v--> %v, %v; want %v ok=%v", tc.from, tc.ev, got, err, tc.to, tc.ok)
		}
	}
}

func TestCloseStopsAndRejects(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	p := newPair(t, testConfig(), testConfig())
	p.call(t, nil)
	p.flow(t, 3)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if err := p.a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.a.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	if _, err := p.a.Offer(sdp.SendRecv); !errors.Is(err, ErrState) {
		t.Errorf("Offer after Close: %v", err)
	}
	if err := p.a.Start(ctx); !errors.Is(err, ErrState) {
		t.Errorf("Start after Close: %v", err)
	}
	if st := p.a.Stats(); st.PacketsSent != 3 {
		t.Errorf("stats after close: %+v", st)
	}
}

// Cancelling Start's context stops the media; Start runs it again.
func TestStartContext(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	p := newPair(t, testConfig(), testConfig())
	offer, _ := p.a.Offer(sdp.SendRecv)
	answer, err := p.b.Answer(offer)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.a.Accept(answer); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	for _, s := range []*Session{p.a, p.b} {
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	p.clock.waitTickers(t, 2)
	p.flow(t, 5)
	cancel()
	p.clock.waitTickers(t, 0)
	for _, s := range []*Session{p.a, p.b} {
		eventually(t, func() bool { s.mu.Lock(); defer s.mu.Unlock(); return !s.runningLocked() }, "stop")
		if err := s.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := s.Err(); err != nil {
			t.Errorf("Err after a plain cancel: %v", err)
		}
	}
	p.clock.waitTickers(t, 2)
	p.flow(t, 5)
	for name, s := range map[string]*Session{"a": p.a, "b": p.b} {
		if st := s.Stats(); st.PacketsSent != 10 || st.PacketsReceived != 10 {
			t.Errorf("%s: %+v", name, st)
		}
	}
}

func TestPortRange(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	c := testConfig()
	// Find a free even pair first, then ask for exactly that range.
	probe, err := NewSession(c)
	if err != nil {
		t.Fatal(err)
	}
	base := int(probe.LocalAddr().Port()) &^ 1
	probe.Close()
	c.PortMin, c.PortMax = base, base+3
	s, err := NewSession(c, WithRand(testutil.NewReader(3)))
	if err != nil {
		t.Skipf("range %d-%d busy: %v", base, base+3, err)
	}
	defer s.Close()
	rtpPort, rtcpPort := int(s.LocalAddr().Port()), int(s.LocalRTCPAddr().Port())
	if rtpPort%2 != 0 || rtcpPort != rtpPort+1 || rtpPort < base || rtcpPort > base+3 {
		t.Errorf("bound %d/%d in %d-%d", rtpPort, rtcpPort, base, base+3)
	}
	for _, bad := range [][2]int{{10, 0}, {0, 10}, {20, 10}, {70000, 70002}, {11, 11}} {
		c.PortMin, c.PortMax = bad[0], bad[1]
		if _, err := NewSession(c); !errors.Is(err, ErrConfig) && !errors.Is(err, ErrBind) {
			t.Errorf("range %v: %v", bad, err)
		}
	}
}

// Lync's own offer (RTP/SAVP, an MKI line and a plain line, candidates,
// many codecs): the handset answers RTP/SAVP with the MKI line's tag, or
// the plain line's tag when sec.srtp.mki.enabled=0 (protocols.md §14
// pitfall 8).
func TestAnswerLyncOffer(t *testing.T) {
	offer, err := os.ReadFile("sdp/testdata/lync-offer.sdp")
	if err != nil {
		t.Fatal(err)
	}
	offer = bytes.ReplaceAll(offer, []byte("10.0.0.5"), []byte("127.0.0.1"))
	for _, mki := range []bool{true, false} {
		c := testConfig()
		c.MKI = mki
		s, err := NewSession(c, WithRand(testutil.NewReader(9)))
		if err != nil {
			t.Fatal(err)
		}
		ans, err := s.Answer(offer)
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		a, err := sdp.Parse(ans)
		if err != nil {
			t.Fatal(err)
		}
		m := a.Media[0]
		wantTag := map[bool]uint32{true: 2, false: 3}[mki]
		if m.Proto != "RTP/SAVP" || len(m.Crypto) != 1 || m.Crypto[0].Tag != wantTag || m.Crypto[0].HasMKI() != mki ||
			m.Codecs[0].Name != "PCMU" || m.Port != int(s.LocalAddr().Port()) || m.RTCPPort != int(s.LocalRTCPAddr().Port()) {
			t.Errorf("mki=%v: answer\n%s", mki, ans)
		}
		if st := s.Stats(); !st.Encrypted || st.MKI != mki || st.Codec != "PCMU" {
			t.Errorf("mki=%v: %+v", mki, st)
		}
	}
}

// A re-negotiation that changes the codec replaces the running stream:
// counters carry over, the sequence continues (the peer sees no loss and its
// SRTP replay window no repeat) and the old stream's goroutines end.
func TestCodecChangeSwapsStream(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	p := newPair(t, testConfig(), testConfig())
	p.call(t, nil)
	p.flow(t, 20)
	offer, err := p.a.Offer(sdp.SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	answer, err := p.b.Answer(offer)
	if err != nil {
		t.Fatal(err)
	}
	// The peer now prefers PCMA (first format of the answer).
	answer = bytes.Replace(answer, []byte("RTP/AVP 0 8 101"), []byte("RTP/AVP 8 0 101"), 1)
	if err := p.a.Accept(answer); err != nil {
		t.Fatal(err)
	}
	p.clock.waitTickers(t, 2)
	p.flow(t, 20)
	st := p.a.Stats()
	if st.Codec != "PCMA" || st.PacketsSent != 40 || st.PacketsReceived != 40 {
		t.Errorf("a: %+v", st)
	}
	if sb := p.b.Stats(); sb.PacketsReceived != 40 || sb.Lost != 0 || sb.Late != 0 {
		t.Errorf("b: %+v", sb)
	}
	noSRTPErrors(t, "a", st)
	noSRTPErrors(t, "b", p.b.Stats())
}

// SDP bodies are logged at Debug without their keys.
func TestDebugLogRedactsKeys(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := NewSession(testConfig(), WithLogger(log), WithRand(testutil.NewReader(4)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	off, err := s.Offer(sdp.SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	key := cryptoLine(t, off).Value()
	key = key[strings.Index(key, "inline:")+7 : strings.Index(key, "|")]
	if !strings.Contains(buf.String(), "inline:[redacted]") || strings.Contains(buf.String(), key) {
		t.Errorf("log:\n%s", buf.String())
	}
}

// The default clock: a short real-time call, polled with a deadline.
func TestSystemClockCall(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	a, err := NewSession(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := NewSession(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	off, err := a.Offer(sdp.SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(off, []byte("a=x-ssrc-range:")) {
		t.Errorf("offer without a=x-ssrc-range:\n%s", off)
	}
	ans, err := b.Answer(off)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Accept(ans); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Session{a, b} {
		if err := s.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, func() bool { return a.Stats().PacketsReceived >= 10 && b.Stats().PacketsReceived >= 10 }, "10 packets each way")
	a.Close()
	b.Close()
	for name, s := range map[string]*Session{"a": a, "b": b} {
		noSRTPErrors(t, name, s.Stats())
	}
}

// sec.srtp.mki.startSessionAtOne: 1 starts every call at MKI 1; 0 keeps
// counting across the calls that share the handset's counter.
func TestMKIAcrossCalls(t *testing.T) {
	for _, atOne := range []bool{true, false} {
		c := testConfig()
		c.MKIStartSessionAtOne = atOne
		counter, err := srtp.NewMKICounter(1, atOne)
		if err != nil {
			t.Fatal(err)
		}
		var got []uint32
		for call := range 2 {
			s, err := NewSession(c, WithMKICounter(counter), WithRand(testutil.NewReader(uint64(call))))
			if err != nil {
				t.Fatal(err)
			}
			off, err := s.Offer(sdp.SendRecv)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, cryptoLine(t, off).MKI)
			if off, err = s.OfferNewKey(sdp.SendRecv); err != nil {
				t.Fatal(err)
			}
			got = append(got, cryptoLine(t, off).MKI)
			s.Close()
		}
		want := []uint32{1, 2, 1, 2}
		if !atOne {
			want = []uint32{1, 2, 3, 4}
		}
		if !slices.Equal(got, want) {
			t.Errorf("startSessionAtOne=%v: mki %v, want %v", atOne, got, want)
		}
	}
	c := testConfig()
	four, _ := srtp.NewMKICounter(4, true)
	if _, err := NewSession(c, WithMKICounter(four)); !errors.Is(err, ErrConfig) {
		t.Errorf("length mismatch: %v", err)
	}
}

// The peer holds us (its re-INVITE says sendonly, then inactive): our answer
// is recvonly/inactive and we stop sending; its resume restores both ways.
func TestRemoteHold(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	p := newPair(t, testConfig(), testConfig())
	p.call(t, nil)
	p.flow(t, 5)
	for _, tc := range []struct {
		dir            sdp.Direction
		aSends, bSends bool
	}{
		{sdp.SendOnly, false, true},
		{sdp.Inactive, false, false},
		{sdp.SendRecv, true, true},
	} {
		offer, err := p.b.Offer(tc.dir)
		if err != nil {
			t.Fatal(err)
		}
		answer, err := p.a.Answer(offer)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[sdp.Direction]string{sdp.SendOnly: "a=recvonly", sdp.Inactive: "a=inactive"}[tc.dir]; want != "" && !bytes.Contains(answer, []byte(want)) {
			t.Errorf("%s: answer lacks %s:\n%s", tc.dir, want, answer)
		}
		if err := p.b.Accept(answer); err != nil {
			t.Fatal(err)
		}
		a0, b0 := p.a.Stats().PacketsSent, p.b.Stats().PacketsSent
		p.flow(t, 5)
		if got := p.a.Stats().PacketsSent - a0; (got == 5) != tc.aSends || (got != 0 && got != 5) {
			t.Errorf("%s: a sent %d", tc.dir, got)
		}
		if got := p.b.Stats().PacketsSent - b0; (got == 5) != tc.bSends || (got != 0 && got != 5) {
			t.Errorf("%s: b sent %d", tc.dir, got)
		}
		if p.a.Stats().Sending != tc.aSends {
			t.Errorf("%s: a Sending=%v", tc.dir, p.a.Stats().Sending)
		}
	}
	noSRTPErrors(t, "a", p.a.Stats())
	noSRTPErrors(t, "b", p.b.Stats())
}

// Junk arriving on the media port (RELIABILITY.md: bad input is counted,
// never fatal): short datagrams, random RTP-looking packets and fake RTCP
// are dropped and counted while the call goes on.
func TestJunkPackets(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	p := newPair(t, testConfig(), testConfig())
	p.call(t, nil)
	p.flow(t, 5)
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := testutil.Rand(8)
	var junk [][]byte
	junk = append(junk, []byte{0x80}, []byte{0x80, 0x00, 0x00})
	for range 5 {
		b := make([]byte, 40+r.IntN(200))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		b[0], b[1] = 0x80, 0x00 // RTP v2, PCMU
		junk = append(junk, b)
	}
	junk = append(junk, []byte{0x80, 200, 0, 6, 1, 2, 3, 4}) // RTCP SR header, nothing else
	for _, b := range junk {
		if _, err := c.WriteTo(b, net.UDPAddrFromAddrPort(p.a.LocalAddr())); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, func() bool {
		st := p.a.Stats()
		return st.SRTPAuthFailures+st.MKIMismatches+st.ReplayDrops+st.Malformed >= uint64(len(junk))
	}, "junk counted (%+v)", p.a.Stats())
	p.clock.Tick(5) // not flow: the junk counts would satisfy its settle early
	eventually(t, func() bool { return p.a.Stats().PacketsReceived >= 10 }, "10 packets after junk (%+v)", p.a.Stats())
	if st := p.a.Stats(); st.PacketsReceived != 10 || st.Lost != 0 {
		t.Errorf("after junk: %+v", st)
	}
}

// A 30 s call the way the call layer drives it (issue #4: hold, resume and
// rekey with a small sec.srtp.key.lifetime, zero auth failures, packets
// sent = received): 1,500 ticks, each side re-keying whenever RekeyDue
// fires, a holds (sendonly) and resumes, b holds (inactive) and resumes,
// with new keys on hold and resume.
func TestLongCallScenario(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	c := testConfig()
	c.KeyLifetime = 1024
	c.HoldWithNewKey, c.ResumeWithNewKey = true, true
	p := newPair(t, c, c)
	p.call(t, nil)
	events := map[int]func(){
		300:  func() { p.reoffer(t, p.a, p.b, sdp.SendOnly, false, func() { p.flow(t, 2) }) },
		600:  func() { p.reoffer(t, p.a, p.b, sdp.SendRecv, false, func() { p.flow(t, 2) }) },
		900:  func() { p.reoffer(t, p.b, p.a, sdp.Inactive, false, func() { p.flow(t, 2) }) },
		1000: func() { p.reoffer(t, p.b, p.a, sdp.SendRecv, false, func() { p.flow(t, 2) }) },
	}
	for tick := 0; tick < 1500; tick += 10 {
		if ev := events[tick]; ev != nil {
			ev()
		}
		p.flow(t, 10)
		for _, x := range [][2]*Session{{p.a, p.b}, {p.b, p.a}} {
			if rekeyDue(x[0]) {
				p.reoffer(t, x[0], x[1], x[0].wantDirection(), true, func() { p.flow(t, 3) })
			}
		}
	}
	sa, sb := p.a.Stats(), p.b.Stats()
	noSRTPErrors(t, "a", sa)
	noSRTPErrors(t, "b", sb)
	if sa.PacketsSent != sb.PacketsReceived || sb.PacketsSent != sa.PacketsReceived || sa.Lost+sb.Lost != 0 {
		t.Errorf("sent/received: a %+v\nb %+v", sa, sb)
	}
	// a: hold + resume + ≥1 lifetime rekey; b likewise.
	if sa.Rekeys < 3 || sb.Rekeys < 3 || !sa.Sending || !sb.Sending {
		t.Errorf("rekeys a %d b %d, sending %v %v", sa.Rekeys, sb.Rekeys, sa.Sending, sb.Sending)
	}
	t.Logf("a: sent %d received %d rekeys %d; b: sent %d received %d rekeys %d",
		sa.PacketsSent, sa.PacketsReceived, sa.Rekeys, sb.PacketsSent, sb.PacketsReceived, sb.Rekeys)
}
