package labfe_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/labfe"
	"github.com/handset-dev/handset/labfe/internal/sipmsg"
	"github.com/handset-dev/handset/labfe/labfetest"
)

const (
	labfeRR = "<sip:pool.contoso.test:5061;transport=tls;lr>"
	offer   = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=session\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd|2^31|1:1\r\n"
)

// pair signs alice and bob in on their own flows and returns them with
// their GRUUs.
func pair(t *testing.T, fe *labfe.Server) (a, b *client, aGRUU, bGRUU string) {
	t.Helper()
	a = dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	aGRUU = gruuOf(t, a.mustRegister("alice", pw))
	b = dial(t, fe, "bob@contoso.test", "2ebb6f264f")
	bGRUU = gruuOf(t, b.mustRegister("bob", pw))
	return a, b, aGRUU, bGRUU
}

// expect reads the next message and checks it is the request method (or
// the response status when method is a number string), optionally signed
// for c.
func expect(t *testing.T, c *client, what string, signed bool) *sipmsg.Message {
	t.Helper()
	m := c.read()
	if m == nil {
		t.Fatalf("%s: %s: flow closed, nothing read", c.aor, what)
	}
	got := m.Method
	if !m.IsRequest() {
		got = sprintf("%d", m.StatusCode)
	}
	if got != what {
		t.Fatalf("%s: got %s (%s), want %s", c.aor, got, m.Value("ms-diagnostics"), what)
	}
	if signed {
		if err := c.verifyServer(m); err != nil {
			t.Fatalf("%s: %s not signed for it: %v", c.aor, what, err)
		}
	} else if _, ok := m.Get("Authentication-Info"); ok && m.StatusCode < 200 && !m.IsRequest() {
		t.Errorf("%s: provisional %s signed", c.aor, what)
	}
	return m
}

// inDialog builds an in-dialog request along a route set.
func inDialog(method, ruri, from, to, callID string, cseq int) *sipmsg.Message {
	m := request(method, ruri, from, to, callID, cseq, "")
	m.Set("Via", "SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bK"+method+callID+sprintf("%d", cseq))
	m.Add("Route", labfeRR)
	return m
}

// TestCallRouting: INVITE with SDP → 100 Trying from labfe, INVITE at bob
// Record-Routed and signed for him, his 100 absorbed, 180 (unsigned) and
// 200 relayed, ACK along the route set, a re-INVITE (hold) in the dialog,
// then BYE from the callee; a second call ends with BYE from the caller.
// Every hop is signed with the SA of the flow it travels on.
func TestCallRouting(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := labfetest.Start(t)
	a, b, aGRUU, bGRUU := pair(t, fe)
	const from, to = "<sip:alice@contoso.test>;tag=a1", "<sip:bob@contoso.test>"

	inv := request("INVITE", "sip:bob@contoso.test", from+";epid=8248ca9ebb", to, "call-1", 1, aGRUU)
	inv.Add("Content-Type", "application/sdp")
	inv.Body = []byte(offer)
	a.sign(inv)
	a.send(inv)
	expect(t, a, "100", false)
	in := expect(t, b, "INVITE", true)
	if string(in.Body) != offer || in.Value("Record-Route") != labfeRR || in.Value("Max-Forwards") != "69" {
		t.Fatalf("forwarded INVITE: RR %q MF %q body %q", in.Value("Record-Route"), in.Value("Max-Forwards"), in.Body)
	}
	if vias := in.All("Via"); len(vias) != 2 || !strings.Contains(vias[0], "pool.contoso.test:5061") {
		t.Fatalf("Vias %q", vias)
	}
	b.send(answer(in, 100, "Trying", "b1", ""))
	b.send(answer(in, 180, "Ringing", "b1", ""))
	r := expect(t, a, "180", false) // labfe's 100 was the only one: bob's stopped at labfe
	if len(r.All("Via")) != 1 {
		t.Errorf("180 Vias %q", r.All("Via"))
	}
	ok := answer(in, 200, "OK", "b1", bGRUU)
	ok.Add("Record-Route", in.Value("Record-Route"))
	ok.Add("Content-Type", "application/sdp")
	ok.Body = []byte(offer)
	b.sign(ok)
	b.send(ok)
	r = expect(t, a, "200", true)
	if r.Value("Record-Route") != labfeRR || string(r.Body) != offer {
		t.Fatalf("200: RR %q body %q", r.Value("Record-Route"), r.Body)
	}
	if got := fe.Stats(); got.Dialogs != 1 || got.Pending != 0 {
		t.Fatalf("after 200: %d dialogs, %d pending", got.Dialogs, got.Pending)
	}
	to1 := to + ";tag=b1"
	ack := inDialog("ACK", bGRUU, from, to1, "call-1", 1)
	a.sign(ack)
	a.send(ack)
	got := expect(t, b, "ACK", true)
	if _, has := got.Get("Route"); has || got.RequestURI != bGRUU {
		t.Errorf("ACK at bob: Route %q, R-URI %q", got.Value("Route"), got.RequestURI)
	}

	// re-INVITE (hold) from alice, answered by bob.
	reinv := inDialog("INVITE", bGRUU, from, to1, "call-1", 2)
	reinv.Body = []byte(strings.Replace(offer, "t=0 0\r\n", "t=0 0\r\na=sendonly\r\n", 1))
	a.sign(reinv)
	a.send(reinv)
	expect(t, a, "100", false)
	in = expect(t, b, "INVITE", true)
	if _, has := in.Get("Record-Route"); has {
		t.Error("re-INVITE Record-Routed again")
	}
	ok = answer(in, 200, "OK", "", bGRUU)
	ok.Set("To", in.Value("To"))
	b.sign(ok)
	b.send(ok)
	expect(t, a, "200", true)
	ack = inDialog("ACK", bGRUU, from, to1, "call-1", 2)
	a.sign(ack)
	a.send(ack)
	expect(t, b, "ACK", true)

	// BYE from the callee.
	bye := inDialog("BYE", aGRUU, "<sip:bob@contoso.test>;tag=b1", "<sip:alice@contoso.test>;tag=a1", "call-1", 1)
	b.sign(bye)
	b.send(bye)
	in = expect(t, a, "BYE", true)
	done := answer(in, 200, "OK", "", "")
	done.Set("To", in.Value("To"))
	a.sign(done)
	a.send(done)
	expect(t, b, "200", true)
	// The dialog is gone: a second BYE is 481.
	bye = inDialog("BYE", aGRUU, "<sip:bob@contoso.test>;tag=b1", "<sip:alice@contoso.test>;tag=a1", "call-1", 2)
	b.sign(bye)
	if r := b.roundTrip(bye); r.StatusCode != 481 || b.verifyServer(r) != nil {
		t.Fatalf("BYE after BYE: %d", r.StatusCode)
	}

	// Second call: BYE from the caller.
	inv = request("INVITE", "sip:bob@contoso.test", "<sip:alice@contoso.test>;tag=a2", to, "call-2", 1, aGRUU)
	a.sign(inv)
	a.send(inv)
	expect(t, a, "100", false)
	in = expect(t, b, "INVITE", true)
	ok = answer(in, 200, "OK", "b2", bGRUU)
	b.sign(ok)
	b.send(ok)
	expect(t, a, "200", true)
	bye = inDialog("BYE", bGRUU, "<sip:alice@contoso.test>;tag=a2", to+";tag=b2", "call-2", 2)
	a.sign(bye)
	a.send(bye)
	in = expect(t, b, "BYE", true)
	done = answer(in, 200, "OK", "", "")
	done.Set("To", in.Value("To"))
	b.sign(done)
	b.send(done)
	expect(t, a, "200", true)

	// An unsigned final response from a handset is not relayed.
	inv = request("INVITE", "sip:bob@contoso.test", "<sip:alice@contoso.test>;tag=a3", to, "call-3", 1, aGRUU)
	a.sign(inv)
	a.send(inv)
	expect(t, a, "100", false)
	in = expect(t, b, "INVITE", true)
	b.send(answer(in, 486, "Busy Here", "b3", "")) // unsigned: dropped and counted
	busy := answer(in, 486, "Busy Here", "b3", "")
	b.sign(busy)
	b.send(busy)
	expect(t, a, "486", true)
	if got := fe.Stats().Users["bob@contoso.test"].BadSignatures; got != 1 {
		t.Errorf("unsigned final from bob counted %d", got)
	}
	ack = request("ACK", "sip:bob@contoso.test", "<sip:alice@contoso.test>;tag=a3", to+";tag=b3", "call-3", 1, "")
	ack.Set("Via", inv.Value("Via"))
	a.sign(ack)
	a.send(ack)
	if got := expect(t, b, "ACK", true); got.All("Via")[0] != in.All("Via")[0] {
		t.Errorf("non-2xx ACK branch %q, INVITE had %q", got.All("Via")[0], in.All("Via")[0])
	}
	if st := fe.Stats(); st.Dialogs != 0 || st.Pending != 0 {
		t.Errorf("state left: %d dialogs, %d pending", st.Dialogs, st.Pending)
	}
}

// TestCancelHopByHop: labfe answers the caller's CANCEL 200 itself and
// sends its own CANCEL (the INVITE's branch) to the callee, whose 200
// stops at labfe; 487 and the ACK follow (RFC 3261 §9, §16.10).
func TestCancelHopByHop(t *testing.T) {
	fe := labfetest.Start(t)
	a, b, aGRUU, _ := pair(t, fe)

	inv := request("INVITE", "sip:bob@contoso.test", "<sip:alice@contoso.test>;tag=a1", "<sip:bob@contoso.test>", "call-c", 1, aGRUU)
	a.sign(inv)
	a.send(inv)
	expect(t, a, "100", false)
	in := expect(t, b, "INVITE", true)
	invVia := in.All("Via")[0]
	b.send(answer(in, 180, "Ringing", "b1", ""))
	expect(t, a, "180", false)

	cancel := request("CANCEL", "sip:bob@contoso.test", "<sip:alice@contoso.test>;tag=a1", "<sip:bob@contoso.test>", "call-c", 1, "")
	cancel.Set("Via", inv.Value("Via"))
	a.sign(cancel)
	a.send(cancel)
	if r := expect(t, a, "200", true); r.Value("CSeq") != "1 CANCEL" {
		t.Fatalf("200 to CANCEL: CSeq %q", r.Value("CSeq"))
	}
	cin := expect(t, b, "CANCEL", true)
	if cin.All("Via")[0] != invVia || len(cin.All("Via")) != 1 || cin.Value("CSeq") != "1 CANCEL" {
		t.Fatalf("bob CANCEL Vias %q (INVITE had %q)", cin.All("Via"), invVia)
	}
	cok := answer(cin, 200, "OK", "b1", "")
	b.sign(cok)
	b.send(cok) // absorbed by labfe
	term := answer(in, 487, "Request Terminated", "b1", "")
	b.sign(term)
	b.send(term)
	expect(t, a, "487", true) // the next thing alice sees: no second 200 CANCEL
	ack := request("ACK", "sip:bob@contoso.test", "<sip:alice@contoso.test>;tag=a1", "<sip:bob@contoso.test>;tag=b1", "call-c", 1, "")
	ack.Set("Via", inv.Value("Via"))
	a.sign(ack)
	a.send(ack)
	if got := expect(t, b, "ACK", true); got.All("Via")[0] != invVia {
		t.Fatalf("bob ACK Via %q", got.All("Via")[0])
	}

	// A CANCEL that matches no INVITE in progress: 481, nothing forwarded.
	cancel = request("CANCEL", "sip:bob@contoso.test", "<sip:alice@contoso.test>;tag=a1", "<sip:bob@contoso.test>", "call-c", 1, "")
	cancel.Set("Via", inv.Value("Via"))
	a.sign(cancel)
	if r := a.roundTrip(cancel); r.StatusCode != 481 || a.verifyServer(r) != nil {
		t.Fatalf("stale CANCEL: %d", r.StatusCode)
	}
	// Bob is still served in order: a MESSAGE reaches him next.
	m := request("MESSAGE", "sip:bob@contoso.test", "<sip:alice@contoso.test>;tag=m", "<sip:bob@contoso.test>", "im", 1, "")
	a.sign(m)
	a.send(m)
	expect(t, b, "MESSAGE", true)
}

// TestCallTargetsAndHops: 480 for a known user without a binding, 404 for
// an unknown one, 483 at Max-Forwards 0, 400 for a bad Max-Forwards, 482
// for a request that already passed labfe.
func TestCallTargetsAndHops(t *testing.T) {
	fe := labfetest.Start(t)
	a := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	a.mustRegister("alice", pw)
	for name, tc := range map[string]struct {
		ruri string
		edit func(*sipmsg.Message)
		want int
	}{
		"not registered": {"sip:bob@contoso.test", nil, 480},
		"unknown user":   {"sip:nobody@contoso.test", nil, 404},
		"max-forwards 0": {"sip:bob@contoso.test", func(m *sipmsg.Message) { m.Set("Max-Forwards", "0") }, 483},
		"bad max-fwd":    {"sip:bob@contoso.test", func(m *sipmsg.Message) { m.Set("Max-Forwards", "x") }, 400},
		"loop": {"sip:bob@contoso.test", func(m *sipmsg.Message) {
			m.Add("Via", "SIP/2.0/TLS pool.contoso.test:5061;branch=z9hG4bKold")
		}, 482},
	} {
		inv := request("INVITE", tc.ruri, "<sip:alice@contoso.test>;tag=t", "<"+tc.ruri+">", "c-"+name, 1, "")
		if tc.edit != nil {
			tc.edit(inv)
		}
		a.sign(inv)
		r := a.roundTrip(inv)
		if r.StatusCode == 100 {
			r = a.read()
		}
		if r == nil || r.StatusCode != tc.want || a.verifyServer(r) != nil {
			t.Errorf("%s: got %+v, want %d", name, r, tc.want)
		}
	}
}

// TestInDialogStrict: in-dialog requests must be signed, belong to a
// known dialog, come from one of its two flows, and not replay a cnum.
func TestInDialogStrict(t *testing.T) {
	fe := labfetest.Start(t)
	a, b, aGRUU, bGRUU := pair(t, fe)
	inv := request("INVITE", "sip:bob@contoso.test", "<sip:alice@contoso.test>;tag=a1", "<sip:bob@contoso.test>", "call-s", 1, aGRUU)
	a.sign(inv)
	a.send(inv)
	expect(t, a, "100", false)
	in := expect(t, b, "INVITE", true)
	ok := answer(in, 200, "OK", "b1", bGRUU)
	b.sign(ok)
	b.send(ok)
	expect(t, a, "200", true)

	// Unsigned BYE: challenged, not forwarded.
	bye := inDialog("BYE", bGRUU, "<sip:alice@contoso.test>;tag=a1", "<sip:bob@contoso.test>;tag=b1", "call-s", 2)
	if r := a.roundTrip(bye); r.StatusCode != 401 {
		t.Fatalf("unsigned BYE: %d", r.StatusCode)
	}
	// Unknown dialog (wrong tag): 481.
	bad := inDialog("BYE", bGRUU, "<sip:alice@contoso.test>;tag=a1", "<sip:bob@contoso.test>;tag=zz", "call-s", 2)
	a.sign(bad)
	if r := a.roundTrip(bad); r.StatusCode != 481 || a.verifyServer(r) != nil {
		t.Fatalf("unknown dialog: %d", r.StatusCode)
	}
	// A second endpoint of alice is not a party of the dialog: 481.
	a2 := dial(t, fe, "alice@contoso.test", "0a0a0a0a0a")
	a2.mustRegister("alice", pw)
	other := inDialog("BYE", bGRUU, "<sip:alice@contoso.test>;tag=a1", "<sip:bob@contoso.test>;tag=b1", "call-s", 3)
	a2.sign(other)
	if r := a2.roundTrip(other); r.StatusCode != 481 {
		t.Fatalf("BYE from a non-party flow: %d", r.StatusCode)
	}
	// Replay of a signed BYE (same cnum): 403, not forwarded.
	bye = inDialog("BYE", bGRUU, "<sip:alice@contoso.test>;tag=a1", "<sip:bob@contoso.test>;tag=b1", "call-s", 4)
	a.signWith(bye, a.cnum, "")
	if r := a.roundTrip(bye); r.StatusCode != 403 || !strings.HasPrefix(r.Value("ms-diagnostics"), "1011") {
		t.Fatalf("replayed BYE: %d %q", r.StatusCode, r.Value("ms-diagnostics"))
	}
	// The real BYE still works, and is what bob gets next.
	a.sign(bye)
	a.send(bye)
	in = expect(t, b, "BYE", true)
	if in.Value("CSeq") != "4 BYE" {
		t.Errorf("bob got CSeq %q", in.Value("CSeq"))
	}
	if st := fe.Stats().Users["alice@contoso.test"]; st.Replays != 1 {
		t.Errorf("replays %d", st.Replays)
	}
}

// TestCalleeVanishes: a callee whose flow closes with an INVITE pending
// makes labfe answer the caller 480; a confirmed dialog of a closed flow
// is forgotten (the survivor's BYE gets 481) and no state or goroutine
// is left.
func TestCalleeVanishes(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	dropped := make(chan struct{}, 8)
	fe := labfetest.Start(t, labfetest.WithServerOptions(labfe.WithDropHook(func() { dropped <- struct{}{} })))
	a, b, aGRUU, _ := pair(t, fe)
	inv := request("INVITE", "sip:bob@contoso.test", "<sip:alice@contoso.test>;tag=a1", "<sip:bob@contoso.test>", "call-v1", 1, aGRUU)
	a.sign(inv)
	a.send(inv)
	expect(t, a, "100", false)
	expect(t, b, "INVITE", true)
	_ = b.conn.Close()
	if r := expect(t, a, "480", true); !strings.HasPrefix(r.Value("ms-diagnostics"), "1025") {
		t.Errorf("480 diagnostics %q", r.Value("ms-diagnostics"))
	}
	<-dropped

	b = dial(t, fe, "bob@contoso.test", "2ebb6f264f")
	bGRUU := gruuOf(t, b.mustRegister("bob", pw))
	inv = request("INVITE", "sip:bob@contoso.test", "<sip:alice@contoso.test>;tag=a2", "<sip:bob@contoso.test>", "call-v2", 1, aGRUU)
	a.sign(inv)
	a.send(inv)
	expect(t, a, "100", false)
	in := expect(t, b, "INVITE", true)
	ok := answer(in, 200, "OK", "b2", bGRUU)
	b.sign(ok)
	b.send(ok)
	expect(t, a, "200", true)
	_ = b.conn.Close()
	// labfe ends the call for alice on bob's behalf, saying why.
	bye0 := expect(t, a, "BYE", true)
	if bye0.RequestURI != aGRUU || bye0.Value("CSeq") != "1 BYE" || bye0.Value("Call-ID") != "call-v2" ||
		!strings.HasPrefix(bye0.Value("From"), "<sip:bob@contoso.test>;tag=b2") || !strings.HasPrefix(bye0.Value("To"), "<sip:alice@contoso.test>;tag=a2") ||
		!strings.HasPrefix(bye0.Value("ms-diagnostics"), "1027") {
		t.Errorf("BYE from labfe: %s", bye0.Marshal())
	}
	done := answer(bye0, 200, "OK", "", "")
	done.Set("To", bye0.Value("To"))
	a.sign(done)
	a.send(done) // absorbed by labfe
	select {
	case <-dropped:
	case <-time.After(10 * time.Second):
		t.Fatal("closed flow never dropped")
	}
	if fe.Stats().Dialogs != 0 {
		t.Fatal("dialog of a closed flow not forgotten")
	}
	bye := inDialog("BYE", bGRUU, "<sip:alice@contoso.test>;tag=a2", "<sip:bob@contoso.test>;tag=b2", "call-v2", 2)
	a.sign(bye)
	if r := a.roundTrip(bye); r.StatusCode != 481 {
		t.Fatalf("BYE to a vanished callee: %d", r.StatusCode)
	}
	if st := fe.Stats(); st.Pending != 0 || st.Dialogs != 0 {
		t.Errorf("left: %+v", st)
	}
}

// TestCallsPerFlowBounded: a flow cannot hold more than the documented
// number of calls in progress; the excess INVITE gets 503.
func TestCallsPerFlowBounded(t *testing.T) {
	fe := labfetest.Start(t)
	a, b, aGRUU, _ := pair(t, fe)
	const limit = 32
	for i := range limit {
		inv := request("INVITE", "sip:bob@contoso.test", sprintf("<sip:alice@contoso.test>;tag=a%d", i), "<sip:bob@contoso.test>", sprintf("many-%d", i), 1, aGRUU)
		a.sign(inv)
		a.send(inv)
		expect(t, a, "100", false)
		expect(t, b, "INVITE", true)
	}
	inv := request("INVITE", "sip:bob@contoso.test", "<sip:alice@contoso.test>;tag=over", "<sip:bob@contoso.test>", "many-over", 1, aGRUU)
	a.sign(inv)
	if r := a.roundTrip(inv); r.StatusCode != 503 || a.verifyServer(r) != nil {
		t.Fatalf("INVITE over the limit: %d", r.StatusCode)
	}
	if st := fe.Stats(); st.Pending != limit {
		t.Errorf("pending %d", st.Pending)
	}
	// The callee is bounded too: another caller reaching bob's full flow
	// gets 486.
	a2 := dial(t, fe, "alice@contoso.test", "0a0a0a0a0a")
	a2.mustRegister("alice", pw)
	inv = request("INVITE", "sip:bob@contoso.test", "<sip:alice@contoso.test>;tag=a2", "<sip:bob@contoso.test>", "busy", 1, "")
	a2.sign(inv)
	if r := a2.roundTrip(inv); r.StatusCode != 486 || !strings.HasPrefix(r.Value("ms-diagnostics"), "1028") {
		t.Fatalf("INVITE to a full callee: %d %q", r.StatusCode, r.Value("ms-diagnostics"))
	}
}

// TestCallerVanishes: a caller whose flow closes while its INVITE rings
// gets it cancelled at the callee (labfe's CANCEL, the INVITE's branch);
// after the 2xx, the callee gets a BYE instead.
func TestCallerVanishes(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := labfetest.Start(t)
	a, b, aGRUU, bGRUU := pair(t, fe)
	inv := request("INVITE", "sip:bob@contoso.test", "<sip:alice@contoso.test>;tag=a1", "<sip:bob@contoso.test>", "call-r", 7, aGRUU)
	a.sign(inv)
	a.send(inv)
	expect(t, a, "100", false)
	in := expect(t, b, "INVITE", true)
	_ = a.conn.Close()
	c := expect(t, b, "CANCEL", true)
	if c.All("Via")[0] != in.All("Via")[0] || c.Value("CSeq") != "7 CANCEL" {
		t.Fatalf("CANCEL %s", c.Marshal())
	}

	a = dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	aGRUU = gruuOf(t, a.mustRegister("alice", pw))
	inv = request("INVITE", "sip:bob@contoso.test", "<sip:alice@contoso.test>;tag=a2", "<sip:bob@contoso.test>", "call-r2", 3, aGRUU)
	a.sign(inv)
	a.send(inv)
	expect(t, a, "100", false)
	in = expect(t, b, "INVITE", true)
	ok := answer(in, 200, "OK", "b2", bGRUU)
	b.sign(ok)
	b.send(ok)
	expect(t, a, "200", true)
	reinv := inDialog("INVITE", bGRUU, "<sip:alice@contoso.test>;tag=a2", "<sip:bob@contoso.test>;tag=b2", "call-r2", 4)
	a.sign(reinv)
	a.send(reinv)
	expect(t, a, "100", false)
	expect(t, b, "INVITE", true)
	_ = a.conn.Close()
	bye := expect(t, b, "BYE", true)
	if bye.RequestURI != bGRUU || bye.Value("CSeq") != "5 BYE" || !strings.HasPrefix(bye.Value("From"), "<sip:alice@contoso.test>;tag=a2") {
		t.Errorf("BYE from labfe: %s", bye.Marshal())
	}
}

// TestMalformedCallRequest: an INVITE without Call-ID (RFC 3261 §8.1.1
// mandatory header) cannot be framed as a transaction: labfe counts it
// and closes that flow (it no longer trusts the stream); the other
// handset's flow is untouched.
func TestMalformedCallRequest(t *testing.T) {
	fe := labfetest.Start(t)
	a, b, aGRUU, _ := pair(t, fe)
	inv := request("INVITE", "sip:bob@contoso.test", "<sip:alice@contoso.test>;tag=a1", "<sip:bob@contoso.test>", "x", 1, aGRUU)
	inv.Del("Call-ID")
	a.sign(inv)
	a.send(inv)
	if m := a.read(); m != nil {
		t.Fatalf("answered %d instead of closing", m.StatusCode)
	}
	if got := fe.Stats().Unattributed.Malformed; got != 1 {
		t.Errorf("malformed %d", got)
	}
	m := b.newRegister(3600)
	b.sign(m)
	if r := b.roundTrip(m); r.StatusCode != 200 {
		t.Errorf("bob's flow affected: %d", r.StatusCode)
	}
}

// TestGoldenCallTranscript pins what labfe puts on the wire for a call
// (STYLE.md rule 13): the INVITE with SDP as bob receives it (labfe's Via,
// Record-Route, Max-Forwards), the 100 Trying it answers, the 200 and
// BYE relayed. Signatures and labfe's random branches are normalised; run
// with -update to rewrite testdata/golden/call-through-labfe.txt.
func TestGoldenCallTranscript(t *testing.T) {
	fe := labfetest.Start(t, labfetest.WithServerOptions(labfe.WithRand(testutil.NewReader(3))))
	a, b, aGRUU, bGRUU := pair(t, fe)
	var out strings.Builder
	branch := regexp.MustCompile(`branch=z9hG4bK[0-9a-f]{16}`)
	record := func(who string, m *sipmsg.Message) {
		out.WriteString("==> " + who + "\n")
		for _, line := range strings.Split(string(m.Marshal()), "\r\n") {
			name, _, _ := strings.Cut(line, ":")
			switch name {
			case "Authentication-Info", "Authorization":
				line = name + ": <signature>"
			}
			out.WriteString(branch.ReplaceAllString(line, "branch=z9hG4bK<labfe>") + "\n")
		}
	}
	inv := request("INVITE", "sip:bob@contoso.test", "<sip:alice@contoso.test>;tag=a1;epid=8248ca9ebb", "<sip:bob@contoso.test>", "golden-1", 1, aGRUU)
	inv.Add("Content-Type", "application/sdp")
	inv.Body = []byte(offer)
	a.sign(inv)
	a.send(inv)
	record("alice", expect(t, a, "100", false))
	in := expect(t, b, "INVITE", true)
	record("bob", in)
	ok := answer(in, 200, "OK", "b1", bGRUU)
	ok.Add("Record-Route", in.Value("Record-Route"))
	ok.Add("Content-Type", "application/sdp")
	ok.Body = []byte(offer)
	b.sign(ok)
	b.send(ok)
	record("alice", expect(t, a, "200", true))
	ack := inDialog("ACK", bGRUU, "<sip:alice@contoso.test>;tag=a1", "<sip:bob@contoso.test>;tag=b1", "golden-1", 1)
	a.sign(ack)
	a.send(ack)
	record("bob", expect(t, b, "ACK", true))
	bye := inDialog("BYE", aGRUU, "<sip:bob@contoso.test>;tag=b1", "<sip:alice@contoso.test>;tag=a1", "golden-1", 1)
	b.sign(bye)
	b.send(bye)
	in = expect(t, a, "BYE", true)
	record("alice", in)
	done := answer(in, 200, "OK", "", "")
	done.Set("To", in.Value("To"))
	a.sign(done)
	a.send(done)
	record("bob", expect(t, b, "200", true))
	testutil.Golden(t, "testdata/golden/call-through-labfe.txt", []byte(out.String()))
}
