package sipua

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/labfe"
	"github.com/handset-dev/handset/labfe/labfetest"
	"github.com/handset-dev/handset/media"
	"github.com/handset-dev/handset/media/rtp"
	"github.com/handset-dev/handset/media/sdp"
)

// Calls between two handsets through labfe (which proxies INVITE, ACK,
// BYE, CANCEL and re-INVITE between registered flows and signs each hop),
// with a fake media leg and a manual clock: no sleeps.

// manualClock is a callClock that moves only when told.
type manualClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*manualTimer
}

type manualTimer struct {
	c    *manualClock
	at   time.Time
	f    func()
	done bool
}

func newManualClock() *manualClock { return &manualClock{now: fixedNow()} }

func (m *manualClock) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

func (m *manualClock) AfterFunc(d time.Duration, f func()) stopper {
	m.mu.Lock()
	t := &manualTimer{c: m, at: m.now.Add(d), f: f}
	if d <= 0 {
		t.done = true
		m.mu.Unlock()
		go f()
		return t
	}
	m.timers = append(m.timers, t)
	m.mu.Unlock()
	return t
}

func (t *manualTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.done
	t.done = true
	return was
}

// Advance moves the clock and runs the timers that came due, each on its
// own goroutine as time.AfterFunc does.
func (m *manualClock) Advance(d time.Duration) {
	m.mu.Lock()
	m.now = m.now.Add(d)
	var due []func()
	for _, t := range m.timers {
		if !t.done && !t.at.After(m.now) {
			t.done = true
			due = append(due, t.f)
		}
	}
	m.mu.Unlock()
	for _, f := range due {
		go f()
	}
}

// fakeMedia is a media leg that writes a minimal SDP and counts what the
// signalling asked of it; Stats are 50 packets/s each way from Start on
// the clock (20 ms G.711).
type fakeMedia struct {
	clock callClock
	rekey chan struct{}
	// reject makes Answer fail as an encryption mismatch (488, Warning 308).
	reject bool
	// offer, when set, is written instead of a valid offer (bad SDP tests).
	offer []byte

	mu                                sync.Mutex
	key                               int
	offers, newKeys, answers, accepts int
	lastLocal                         sdp.Direction
	started, stopped                  time.Time
	closed                            bool
	startCount                        int
	remoteOffers                      []sdp.Direction
	acceptedAnswers                   []sdp.Direction
}

func fakeSDP(dir sdp.Direction, key int) []byte {
	return fmt.Appendf(nil, "v=0\r\no=- 0 %d IN IP4 127.0.0.1\r\ns=session\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=x-test-key:%d\r\na=%s\r\n", key, key, dir)
}

func (f *fakeMedia) Offer(dir sdp.Direction) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.offers++
	f.lastLocal = dir
	if f.offer != nil {
		return f.offer, nil
	}
	return fakeSDP(dir, f.key), nil
}

func (f *fakeMedia) OfferNewKey(dir sdp.Direction) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.newKeys++
	f.key++
	f.lastLocal = dir
	return fakeSDP(dir, f.key), nil
}

func (f *fakeMedia) Answer(offer []byte) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.reject {
		return nil, &sdp.NegotiationError{Status: 488, Warning: sdp.WarningEncryption, Err: sdp.ErrEncryptionIncompatible}
	}
	if _, err := sdp.Parse(offer); err != nil {
		return nil, err
	}
	f.answers++
	d := sdpDirection(offer)
	f.remoteOffers = append(f.remoteOffers, d)
	f.lastLocal = d.Reverse()
	return fakeSDP(d.Reverse(), f.key), nil
}

func (f *fakeMedia) Accept(answer []byte) error {
	if _, err := sdp.Parse(answer); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.accepts++
	f.acceptedAnswers = append(f.acceptedAnswers, sdpDirection(answer))
	return nil
}

func (f *fakeMedia) Start(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.startCount++
	f.started = f.clock.Now()
	return nil
}

func (f *fakeMedia) RekeyDue() <-chan struct{} { return f.rekey }

func (f *fakeMedia) Stats() media.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.started.IsZero() {
		return media.Stats{}
	}
	end := f.stopped
	if end.IsZero() {
		end = f.clock.Now()
	}
	n := uint64(end.Sub(f.started) / (20 * time.Millisecond))
	return media.Stats{Stats: rtp.Stats{PacketsSent: n, PacketsReceived: n, BytesSent: n * 160, BytesReceived: n * 160}}
}

func (f *fakeMedia) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed && !f.started.IsZero() {
		f.stopped = f.clock.Now()
	}
	f.closed = true
	return nil
}

// mediaBox collects the fake media legs a handset created.
type mediaBox struct {
	clock  callClock
	reject bool
	offer  []byte
	mu     sync.Mutex
	all    []*fakeMedia
}

func (b *mediaBox) factory(netip.Addr) (mediaSession, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := &fakeMedia{clock: b.clock, rekey: make(chan struct{}, 1), reject: b.reject, offer: b.offer}
	b.all = append(b.all, m)
	return m, nil
}

func (b *mediaBox) last(t *testing.T) *fakeMedia {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.all) == 0 {
		t.Fatal("no media leg created")
	}
	return b.all[len(b.all)-1]
}

// callParty is one registered handset of a call test.
type callParty struct {
	h     *Handset
	rec   *recorder
	media *mediaBox
}

func startParty(t *testing.T, fe *labfe.Server, user string, clock callClock, cc CallConfig, opts ...Option) *callParty {
	t.Helper()
	p := &callParty{rec: newRecorder(), media: &mediaBox{clock: clock}}
	cfg := Config{Handset: user, AOR: user + "@contoso.test", AuthUser: user, AuthDomain: "CONTOSO",
		Password: "Passw0rd!", Server: "pool.contoso.test", TransactionTimeout: 5 * time.Second}
	base := []Option{
		WithTLSConfig(&tls.Config{RootCAs: fe.CAPool()}),
		WithDialAddr(fe.Addr()),
		WithObserver(p.rec),
		withMediaFactory(p.media.factory),
		withCallClock(clock),
		WithCalls(cc),
	}
	h, err := New(cfg, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	p.h = h
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = h.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = h.Close()
	})
	p.waitCall(t, func(ev Event) bool { return ev.Kind == EventRegistered })
	return p
}

// waitCall waits (with a deadline, no sleep) for an event matching ok.
func (p *callParty) waitCall(t *testing.T, ok func(Event) bool) Event {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		select {
		case ev := <-p.rec.ch:
			if ok(ev) {
				return ev
			}
		case <-deadline.C:
			t.Fatalf("%s: event not seen", p.h.cfg.Handset)
			return Event{}
		}
	}
}

func callState(s CallState) func(Event) bool {
	return func(ev Event) bool { return ev.Kind == EventCallState && ev.CallState == s }
}

func startFE(t *testing.T) *labfe.Server {
	return labfetest.Start(t, labfetest.WithServerOptions(labfe.WithRand(testutil.NewReader(7))))
}

// TestCall30sHoldResumeRekey: a 30 s call (manual clock) from alice to bob
// through labfe: auto-answer, hold and resume from alice, hold from bob,
// a rekey re-INVITE when alice's media says so, BYE from alice; every
// message signed (labfe counts no bad signature).
func TestCall30sHoldResumeRekey(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := startFE(t)
	clock := newManualClock()
	bob := startParty(t, fe, "bob", clock, CallConfig{AnswerDelay: -1, ShowDiversion: true})
	alice := startParty(t, fe, "alice", clock, CallConfig{})

	type placed struct {
		res CallResult
		err error
	}
	out := make(chan placed, 1)
	go func() {
		r, err := alice.h.PlaceCall(context.Background(), "bob@contoso.test", 30*time.Second)
		out <- placed{r, err}
	}()
	alice.waitCall(t, callState(CallEstablished))
	bob.waitCall(t, callState(CallEstablished))
	calls := alice.h.Calls()
	if len(calls) != 1 {
		t.Fatalf("alice has %d calls", len(calls))
	}
	ac := calls[0]
	bc := bob.h.Calls()[0]
	if bc.ID() != ac.ID() || !bc.Incoming() || ac.Incoming() {
		t.Fatalf("call ids %s %s", ac.ID(), bc.ID())
	}
	ctx := context.Background()

	// Hold and resume from alice.
	if err := ac.Hold(ctx); err != nil {
		t.Fatal(err)
	}
	bob.waitCall(t, callState(CallRemoteHeld))
	if ac.State() != CallHeld || bc.State() != CallRemoteHeld {
		t.Fatalf("after hold: alice %v bob %v", ac.State(), bc.State())
	}
	if d := bob.media.last(t).remoteOffers; d[len(d)-1] != sdp.SendOnly {
		t.Errorf("bob saw %v, want sendonly", d)
	}
	if err := ac.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	bob.waitCall(t, callState(CallEstablished))

	// Hold from bob (the callee side sends the re-INVITE).
	if err := bc.Hold(ctx); err != nil {
		t.Fatal(err)
	}
	alice.waitCall(t, callState(CallRemoteHeld))
	if err := bc.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	alice.waitCall(t, callState(CallEstablished))

	// Rekey: alice's media reports half the key lifetime used.
	am := alice.media.last(t)
	am.rekey <- struct{}{}
	alice.waitCall(t, func(ev Event) bool { return ev.Kind == EventCallState && ev.Step == "rekeyed" })
	am.mu.Lock()
	newKeys := am.newKeys
	am.mu.Unlock()
	if newKeys != 1 {
		t.Errorf("alice offered %d new keys", newKeys)
	}

	// The rest of the 30 s, then alice hangs up.
	clock.Advance(30 * time.Second)
	p := <-out
	if p.err != nil {
		t.Fatalf("PlaceCall: %v", p.err)
	}
	if !p.res.Established || p.res.Held != 30*time.Second || p.res.Reason != "local bye" {
		t.Errorf("result %+v", p.res)
	}
	if p.res.Stats.PacketsSent != 1500 || p.res.Stats.PacketsReceived != 1500 {
		t.Errorf("stats %+v", p.res.Stats)
	}
	bob.waitCall(t, callState(CallEnded))
	<-bc.Done()
	if bc.EndReason() != "remote bye" || bc.Err() != nil {
		t.Errorf("bob's call ended %q %v", bc.EndReason(), bc.Err())
	}
	for _, u := range []string{"alice@contoso.test", "bob@contoso.test"} {
		if st := fe.Stats().Users[u]; st.BadSignatures != 0 || st.Replays != 0 {
			t.Errorf("%s: labfe stats %+v", u, st)
		}
	}
	if n := len(alice.h.Calls()) + len(bob.h.Calls()); n != 0 {
		t.Errorf("%d calls left", n)
	}
}

// TestCallBusyAndCancel: bob rings without auto-answer and takes one call
// (call.callsPerLineKey=1): a second call gets 486 (OutcomeRejected), and
// cancelling the first sends CANCEL, bob answers 487.
func TestCallBusyAndCancel(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := startFE(t)
	clock := newManualClock()
	bob := startParty(t, fe, "bob", clock, CallConfig{NoAutoAnswer: true, MaxCalls: 1})
	alice := startParty(t, fe, "alice", clock, CallConfig{})

	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, err := alice.h.Call(ctx, "sip:bob@contoso.test", CallOptions{})
		first <- err
	}()
	alice.waitCall(t, callState(CallRinging))
	bob.waitCall(t, callState(CallRinging))

	_, err := alice.h.Call(context.Background(), "bob", CallOptions{})
	var e *Error
	if !errors.As(err, &e) || e.Status != 486 || e.Class != OutcomeRejected {
		t.Fatalf("second call: %v", err)
	}
	bob.waitCall(t, func(ev Event) bool { return ev.Kind == EventCallState && ev.Status == 486 })

	cancel()
	err = <-first
	if !errors.As(err, &e) || e.Why != "canceled" || e.Status != 487 {
		t.Fatalf("cancelled call: %v", err)
	}
	ev := bob.waitCall(t, callState(CallEnded))
	if ev.Reason != "canceled" || ev.Status != 487 {
		t.Errorf("bob's end %+v", ev)
	}
	if n := len(alice.h.Calls()) + len(bob.h.Calls()); n != 0 {
		t.Errorf("%d calls left", n)
	}
	for _, u := range []string{"alice@contoso.test", "bob@contoso.test"} {
		if st := fe.Stats().Users[u]; st.BadSignatures != 0 {
			t.Errorf("%s: labfe stats %+v", u, st)
		}
	}
}

// TestCall488: bob's media refuses the offer's encryption level: 488 with
// Lync's Warning 308 (protocols.md §10.1), OutcomeMedia at alice.
func TestCall488(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := startFE(t)
	clock := newManualClock()
	bob := startParty(t, fe, "bob", clock, CallConfig{AnswerDelay: -1})
	bob.media.reject = true
	alice := startParty(t, fe, "alice", clock, CallConfig{})
	_, err := alice.h.Call(context.Background(), "bob@contoso.test", CallOptions{})
	var e *Error
	if !errors.As(err, &e) || e.Status != 488 || e.Class != OutcomeMedia || !strings.Contains(e.Diag, "308 lcs.microsoft.com") {
		t.Fatalf("call: %v", err)
	}
	ev := alice.waitCall(t, callState(CallEnded))
	if ev.Outcome != OutcomeMedia || ev.Status != 488 {
		t.Errorf("alice's end %+v", ev)
	}
}

// TestCallRemoteByeAndDiversion: bob hangs up; alice's call ends with
// "remote bye" and no error. The INVITE's Diversion header is reported
// to bob's observer (voIpProt.SIP.header.diversion.enable=1).
func TestCallRemoteByeAndDiversion(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := startFE(t)
	clock := newManualClock()
	bob := startParty(t, fe, "bob", clock, CallConfig{AnswerDelay: -1, ShowDiversion: true})
	alice := startParty(t, fe, "alice", clock, CallConfig{})
	div := "<sip:carol@contoso.test>;reason=unconditional"
	ac, err := alice.h.Call(context.Background(), "bob@contoso.test", CallOptions{Headers: [][2]string{{"Diversion", div}}})
	if err != nil {
		t.Fatal(err)
	}
	ev := bob.waitCall(t, func(ev Event) bool { return ev.Kind == EventDiversion })
	if ev.Diversion != div {
		t.Errorf("diversion %q", ev.Diversion)
	}
	bob.waitCall(t, callState(CallEstablished))
	bc := bob.h.Calls()[0]
	if err := bc.Hangup(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ac.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("alice's call did not end")
	}
	if ac.EndReason() != "remote bye" || ac.Err() != nil {
		t.Errorf("alice's call ended %q %v", ac.EndReason(), ac.Err())
	}
	if bc.EndReason() != "local bye" {
		t.Errorf("bob's call ended %q", bc.EndReason())
	}
}

// TestCallRealMediaSRTP: alice and bob with real media legs (media.Session:
// SDES-SRTP with a 1-byte MKI on loopback) through labfe: audio flows both
// ways with no SRTP failure, across a hold and resume, then BYE.
func TestCallRealMediaSRTP(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := startFE(t)
	mc := media.Config{LocalIP: netip.MustParseAddr("127.0.0.1"), Codecs: []sdp.Codec{sdp.PCMU, sdp.PCMA},
		Policy: sdp.PolicyFromConfig(true, true, false), MKI: true, MKILength: 1, MKIStartSessionAtOne: true,
		KeyLifetime: 1 << 31}
	clock := realClock{}
	bob := startParty(t, fe, "bob", clock, CallConfig{AnswerDelay: -1}, WithMediaConfig(mc))
	alice := startParty(t, fe, "alice", clock, CallConfig{}, WithMediaConfig(mc))
	ctx := context.Background()
	ac, err := alice.h.Call(ctx, "bob@contoso.test", CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bob.waitCall(t, callState(CallEstablished))
	bc := bob.h.Calls()[0]
	flowing := func(min uint64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for range tick.C {
			a, b := ac.Stats(), bc.Stats()
			if a.PacketsReceived >= min && b.PacketsReceived >= min {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("media not flowing: alice %+v bob %+v", a.Stats, b.Stats)
			}
		}
	}
	flowing(25)
	if err := ac.Hold(ctx); err != nil {
		t.Fatal(err)
	}
	bob.waitCall(t, callState(CallRemoteHeld))
	if err := ac.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	bob.waitCall(t, callState(CallEstablished))
	before := bc.Stats().PacketsReceived
	flowing(before + 25)
	if err := ac.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	<-bc.Done()
	for name, st := range map[string]media.Stats{"alice": ac.Stats(), "bob": bc.Stats()} {
		if !st.Encrypted || !st.MKI || st.SRTPAuthFailures != 0 || st.ReplayDrops != 0 || st.MKIMismatches != 0 {
			t.Errorf("%s: %+v", name, st)
		}
		if st.PacketsSent == 0 || st.PacketsReceived == 0 {
			t.Errorf("%s: no media %+v", name, st.Stats)
		}
	}
}

// TestCallBadSDPAndNoCallWaiting: an offer the real media cannot parse is
// answered 400 (or 488) with a Warning naming the line (RELIABILITY.md P5,
// media.AnswerFailure); with
// call.callWaiting.enable=0 a second call while one is up gets 486.
func TestCallBadSDPAndNoCallWaiting(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := startFE(t)
	mc := media.Config{LocalIP: netip.MustParseAddr("127.0.0.1"), Codecs: []sdp.Codec{sdp.PCMU},
		Policy: sdp.PolicyFromConfig(true, true, false), MKI: true, MKILength: 1, MKIStartSessionAtOne: true}
	clock := newManualClock()
	startParty(t, fe, "bob", clock, CallConfig{AnswerDelay: -1, NoCallWaiting: true}, WithMediaConfig(mc))
	alice := startParty(t, fe, "alice", clock, CallConfig{})

	alice.media.offer = []byte("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nt=0 0\r\nm=audio 65536 RTP/AVP 0\r\n")
	_, err := alice.h.Call(context.Background(), "bob@contoso.test", CallOptions{})
	var e *Error
	if !errors.As(err, &e) || (e.Status != 400 && e.Status != 488) || !strings.HasPrefix(e.Diag, "399 ") || !strings.Contains(e.Diag, "line 5") {
		t.Fatalf("bad sdp: %v", err)
	}
	alice.media.offer = nil

	// Call waiting off: the second call while one is up is busy.
	first, err := alice.h.Call(context.Background(), "bob@contoso.test", CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = alice.h.Call(context.Background(), "bob@contoso.test", CallOptions{})
	if !errors.As(err, &e) || e.Status != 486 {
		t.Fatalf("second call with call waiting off: %v", err)
	}
	if err := first.Hangup(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestCallEndsWhenFlowLost: labfe closes alice's flow mid-call; her call
// ends with the reason "connection lost" (RELIABILITY.md F1).
func TestCallEndsWhenFlowLost(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := startFE(t)
	clock := newManualClock()
	startParty(t, fe, "bob", clock, CallConfig{AnswerDelay: -1})
	alice := startParty(t, fe, "alice", clock, CallConfig{})
	ac, err := alice.h.Call(context.Background(), "bob@contoso.test", CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := fe.CloseFlows("alice@contoso.test"); n == 0 {
		t.Fatal("no flow closed")
	}
	select {
	case <-ac.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("call did not end")
	}
	o, why := Classify(ac.Err())
	if o != OutcomeTransport || why != "connection lost" {
		t.Errorf("call ended %v %q (%v)", o, why, ac.Err())
	}
}

// fastClock runs media 20 times faster than real time (a 20 ms packet
// every 1 ms), so that a small sec.srtp.key.lifetime is reached in
// fractions of a second.
type fastClock struct{}

func (fastClock) Now() time.Time { return time.Now() }
func (fastClock) NewTicker(d time.Duration) rtp.Ticker {
	return fastTicker{time.NewTicker(max(d/20, time.Millisecond))}
}

type fastTicker struct{ t *time.Ticker }

func (t fastTicker) C() <-chan time.Time { return t.t.C }
func (t fastTicker) Stop()               { t.t.Stop() }

// TestCallRealMediaRekey: sec.srtp.key.lifetime=1024 with real SRTP: at
// half the lifetime the media asks for a new key and the handset sends the
// re-INVITE with it (protocols.md §10.3); audio goes on with the new key
// and no SRTP failure.
func TestCallRealMediaRekey(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := startFE(t)
	mc := media.Config{LocalIP: netip.MustParseAddr("127.0.0.1"), Codecs: []sdp.Codec{sdp.PCMU},
		Policy: sdp.PolicyFromConfig(true, true, false), MKI: true, MKILength: 1, MKIStartSessionAtOne: true,
		KeyLifetime: 1024}
	clock := realClock{}
	bob := startParty(t, fe, "bob", clock, CallConfig{AnswerDelay: -1}, WithMediaConfig(mc, media.WithClock(fastClock{})))
	alice := startParty(t, fe, "alice", clock, CallConfig{}, WithMediaConfig(mc, media.WithClock(fastClock{})))
	ctx := context.Background()
	ac, err := alice.h.Call(ctx, "bob@contoso.test", CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bob.waitCall(t, callState(CallEstablished))
	bc := bob.h.Calls()[0]
	rekeyed := func(ev Event) bool { return ev.Kind == EventCallState && ev.Step == "rekeyed" }
	// Either side may reach half the lifetime first (both send at the same
	// rate; a glare is resolved by 491 and a retry).
	stop := make(chan struct{})
	select {
	case <-waitAsync(alice, rekeyed, stop):
	case <-waitAsync(bob, rekeyed, stop):
	case <-time.After(10 * time.Second):
		t.Fatal("no rekey re-INVITE")
	}
	close(stop)
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for range tick.C {
		a, b := ac.Stats(), bc.Stats()
		if a.Rekeys+b.Rekeys >= 1 && a.PacketsReceived > 700 && b.PacketsReceived > 700 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no rekeyed media: alice %+v bob %+v", a, b)
		}
	}
	if err := ac.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	<-bc.Done()
	for name, st := range map[string]media.Stats{"alice": ac.Stats(), "bob": bc.Stats()} {
		if st.SRTPAuthFailures != 0 || st.MKIMismatches != 0 || st.ReplayDrops != 0 || !st.Encrypted {
			t.Errorf("%s: %+v", name, st)
		}
	}
}

// waitAsync waits for an event on its own goroutine until stop and closes
// the returned channel when it comes.
func waitAsync(p *callParty, ok func(Event) bool, stop <-chan struct{}) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		for {
			select {
			case ev := <-p.rec.ch:
				if ok(ev) {
					close(ch)
					return
				}
			case <-stop:
				return
			}
		}
	}()
	return ch
}

// TestCallRealMedia30s: a 30 s call of media time (the media clock runs
// 20x, so 1.5 s of wall time) with real SRTP through labfe, placed with
// PlaceCall as the load runner does: packets sent ≈ received on both
// sides, no SRTP failure.
func TestCallRealMedia30s(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := startFE(t)
	mc := media.Config{LocalIP: netip.MustParseAddr("127.0.0.1"), Codecs: []sdp.Codec{sdp.PCMU},
		Policy: sdp.PolicyFromConfig(true, true, false), MKI: true, MKILength: 1, MKIStartSessionAtOne: true,
		KeyLifetime: 1 << 31}
	clock := realClock{}
	bob := startParty(t, fe, "bob", clock, CallConfig{AnswerDelay: -1}, WithMediaConfig(mc, media.WithClock(fastClock{})))
	alice := startParty(t, fe, "alice", clock, CallConfig{}, WithMediaConfig(mc, media.WithClock(fastClock{})))
	stop := make(chan struct{})
	defer close(stop)
	up := waitAsync(bob, callState(CallEstablished), stop)
	calls := make(chan *Call, 1)
	go func() {
		select {
		case <-up:
			calls <- bob.h.Calls()[0]
		case <-stop:
		}
	}()
	res, err := alice.h.PlaceCall(context.Background(), "bob@contoso.test", 1500*time.Millisecond)
	if err != nil || !res.Established || res.Reason != "local bye" {
		t.Fatalf("PlaceCall: %+v %v", res, err)
	}
	bc := <-calls
	<-bc.Done()
	near := func(a, b uint64) bool { return a+a/50+5 >= b && b+b/50+5 >= a }
	a, b := res.Stats, bc.Stats()
	t.Logf("alice sent %d received %d; bob sent %d received %d", a.PacketsSent, a.PacketsReceived, b.PacketsSent, b.PacketsReceived)
	if a.PacketsSent < 300 || !near(a.PacketsSent, b.PacketsReceived) || !near(b.PacketsSent, a.PacketsReceived) {
		t.Errorf("packets: alice %+v bob %+v", a.Stats, b.Stats)
	}
	for name, st := range map[string]media.Stats{"alice": a, "bob": b} {
		if st.SRTPAuthFailures != 0 || st.MKIMismatches != 0 || st.ReplayDrops != 0 || !st.Encrypted || !st.MKI {
			t.Errorf("%s: %+v", name, st)
		}
	}
}

// TestHangupDuringSetupCancels: Hangup of an outgoing call that is still
// ringing (the graceful stop's hangupAll) CANCELs the INVITE and returns
// once the call ended, so the far end and labfe hold no dialog; Call
// returns the cancellation as context.Canceled (a load run counts it as
// aborted, not failed).
func TestHangupDuringSetupCancels(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := startFE(t)
	clock := newManualClock()
	bob := startParty(t, fe, "bob", clock, CallConfig{NoAutoAnswer: true})
	alice := startParty(t, fe, "alice", clock, CallConfig{})

	placed := make(chan error, 1)
	go func() {
		_, err := alice.h.Call(context.Background(), "sip:bob@contoso.test", CallOptions{})
		placed <- err
	}()
	alice.waitCall(t, callState(CallRinging))
	bob.waitCall(t, callState(CallRinging))
	calls := alice.h.Calls()
	if len(calls) != 1 {
		t.Fatalf("alice has %d calls", len(calls))
	}
	if err := calls[0].Hangup(t.Context()); err != nil {
		t.Fatalf("hangup while ringing: %v", err)
	}
	select {
	case <-calls[0].Done():
	default:
		t.Fatal("Hangup returned before the call ended")
	}
	err := <-placed
	var e *Error
	if !errors.As(err, &e) || e.Status != 487 || !errors.Is(err, context.Canceled) {
		t.Fatalf("Call: %v", err)
	}
	if ev := bob.waitCall(t, callState(CallEnded)); ev.Reason != "canceled" {
		t.Errorf("bob's end %+v", ev)
	}
	if n := len(alice.h.Calls()) + len(bob.h.Calls()); n != 0 {
		t.Errorf("%d calls left", n)
	}
	if st := fe.Stats(); st.Dialogs != 0 {
		t.Errorf("labfe holds %d dialogs", st.Dialogs)
	}
}

// TestNoCallsWhileSigningOut: once the graceful stop has begun ending the
// calls (before its un-REGISTER) no call starts: an outgoing one fails
// "signing out" without an INVITE, an incoming one is answered 480.
func TestNoCallsWhileSigningOut(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := startFE(t)
	clock := newManualClock()
	bob := startParty(t, fe, "bob", clock, CallConfig{AnswerDelay: -1})
	alice := startParty(t, fe, "alice", clock, CallConfig{AnswerDelay: -1})
	alice.h.endCallsBeforeUnregister(t.Context())

	_, err := alice.h.Call(t.Context(), "sip:bob@contoso.test", CallOptions{})
	var e *Error
	if !errors.As(err, &e) || e.Why != "signing out" {
		t.Fatalf("outgoing call while signing out: %v", err)
	}
	_, err = bob.h.Call(t.Context(), "sip:alice@contoso.test", CallOptions{})
	if !errors.As(err, &e) || e.Status != 480 {
		t.Fatalf("incoming call while signing out: %v", err)
	}
	if n := len(alice.h.Calls()) + len(bob.h.Calls()); n != 0 {
		t.Errorf("%d calls left", n)
	}
}
