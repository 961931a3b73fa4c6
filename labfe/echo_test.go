package labfe_test

import (
	"bytes"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/labfe"
	"github.com/handset-dev/handset/labfe/internal/sipmsg"
	"github.com/handset-dev/handset/labfe/labfetest"
	"github.com/handset-dev/handset/media/sdp"
)

const echoURI = "sip:echo@contoso.test"

// caller is a test handset placing calls to the echo bot: raw SIP on its
// labfe flow, RTP on a loopback UDP socket, SRTP with pion/srtp.
type caller struct {
	*client
	t      *testing.T
	udp    *net.UDPConn
	callID string
	cseq   int
	tag    string
	botTag string
	offer  *sdp.Session
	res    *sdp.Result
	enc    *srtp.Context // caller's key
	dec    *srtp.Context // bot's key
	seq    uint16
	ssrc   uint32
	key    []byte
	rnd    *testutil.Reader
}

func newCaller(t *testing.T, fe *labfe.Server, callID string) *caller {
	t.Helper()
	c := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	c.mustRegister("alice", pw)
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = udp.Close() })
	return &caller{client: c, t: t, udp: udp, callID: callID, tag: "a-" + callID, ssrc: 0x11223344, seq: 1000,
		rnd: testutil.NewReader(7)}
}

func (c *caller) makeOffer(pol sdp.Policy, srtpCfg sdp.SRTPConfig, dir sdp.Direction, version uint64) *sdp.Session {
	c.t.Helper()
	if c.key == nil {
		k, err := sdp.NewKey(c.rnd)
		if err != nil {
			c.t.Fatal(err)
		}
		c.key = k
	}
	off, err := sdp.Offer(sdp.OfferConfig{Address: "127.0.0.1", Port: c.udp.LocalAddr().(*net.UDPAddr).Port, RTCPPort: 0,
		SessionID: 42, Version: version, Codecs: []sdp.Codec{sdp.PCMU, sdp.PCMA}, DTMF: 101, Policy: pol, SRTP: srtpCfg,
		Key: c.key, Direction: dir})
	if err != nil {
		c.t.Fatal(err)
	}
	return off
}

func (c *caller) invite(body []byte, ctype string) *sipmsg.Message {
	c.cseq++
	to := "<" + echoURI + ">"
	ruri := echoURI
	if c.botTag != "" {
		to += ";tag=" + c.botTag
		ruri = "sip:echo@contoso.test;opaque=app:testcall;gruu"
	}
	m := request("INVITE", ruri, "<sip:alice@contoso.test>;tag="+c.tag, to, c.callID, c.cseq, "")
	m.Set("Via", sprintf("SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bKinv%s%d", c.callID, c.cseq))
	if c.botTag != "" {
		m.Add("Route", labfeRR)
	}
	if body != nil {
		m.Add("Content-Type", ctype)
		m.Body = body
	}
	c.sign(m)
	c.send(m)
	return m
}

// final reads past 100 Trying to the final response.
func (c *caller) final() *sipmsg.Message {
	c.t.Helper()
	for {
		r := c.read()
		if r == nil {
			c.t.Fatal("flow closed")
		}
		if r.IsRequest() {
			c.t.Fatalf("unexpected %s", r.Method)
		}
		if r.StatusCode >= 200 {
			if err := c.verifyServer(r); err != nil {
				c.t.Fatalf("%d not signed: %v", r.StatusCode, err)
			}
			return r
		}
	}
}

func (c *caller) inDialog(method string) *sipmsg.Message {
	if method != "ACK" {
		c.cseq++
	}
	m := inDialog(method, "sip:echo@contoso.test;opaque=app:testcall;gruu", "<sip:alice@contoso.test>;tag="+c.tag,
		"<"+echoURI+">;tag="+c.botTag, c.callID, c.cseq)
	c.sign(m)
	return m
}

// call offers off and completes the exchange, setting up the SRTP contexts.
func (c *caller) call(off *sdp.Session) {
	c.t.Helper()
	c.invite(off.Marshal(), "application/sdp")
	r := c.final()
	if r.StatusCode != 200 {
		c.t.Fatalf("INVITE: %d %q", r.StatusCode, r.Value("Warning"))
	}
	if r.Value("Record-Route") != labfeRR || !strings.Contains(r.Value("Contact"), "echo@contoso.test") {
		c.t.Errorf("200: RR %q Contact %q", r.Value("Record-Route"), r.Value("Contact"))
	}
	_, tp := sipmsg.NameAddr(r.Value("To"))
	c.botTag = tp["tag"]
	c.answered(off, r)
	c.send(c.inDialog("ACK"))
}

func (c *caller) answered(off *sdp.Session, r *sipmsg.Message) {
	c.t.Helper()
	ans, err := sdp.Parse(r.Body)
	if err != nil {
		c.t.Fatalf("answer: %v\n%s", err, r.Body)
	}
	res, err := sdp.Negotiate(off, ans, sdp.Offerer, sdp.NegotiateConfig{RequireMKI: true})
	if err != nil {
		c.t.Fatalf("negotiate: %v\n%s", err, r.Body)
	}
	c.offer, c.res = off, res
	if !res.Encrypted {
		c.enc, c.dec = nil, nil
		return
	}
	c.enc = ctxFor(c.t, res.Local, false)
	c.dec = ctxFor(c.t, res.Remote, true)
}

func ctxFor(t *testing.T, cr sdp.Crypto, receive bool) *srtp.Context {
	t.Helper()
	var opts []srtp.ContextOption
	if cr.HasMKI() {
		opts = append(opts, srtp.MasterKeyIndicator(cr.MKIBytes()))
	}
	if receive {
		opts = append(opts, srtp.SRTPReplayProtection(64))
	}
	ctx, err := srtp.CreateContext(cr.MasterKey(), cr.MasterSalt(), srtp.ProtectionProfileAes128CmHmacSha1_80, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return ctx
}

func (c *caller) botAddr() *net.UDPAddr {
	return &net.UDPAddr{IP: net.ParseIP(c.res.RemoteAddress), Port: c.res.RemotePort}
}

// sendRTP sends one packet with payload p and returns its wire bytes.
func (c *caller) sendRTP(p []byte) []byte {
	c.t.Helper()
	c.seq++
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: c.seq, Timestamp: uint32(c.seq) * 160, SSRC: c.ssrc}, Payload: p}
	raw, err := pkt.Marshal()
	if err != nil {
		c.t.Fatal(err)
	}
	if c.enc != nil {
		if raw, err = c.enc.EncryptRTP(nil, raw, nil); err != nil {
			c.t.Fatal(err)
		}
	}
	if _, err := c.udp.WriteTo(raw, c.botAddr()); err != nil {
		c.t.Fatal(err)
	}
	return raw
}

// recvRTP reads the next reflected packet (deadline, not a sleep).
func (c *caller) recvRTP() *rtp.Packet {
	c.t.Helper()
	buf := make([]byte, 1500)
	_ = c.udp.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _, err := c.udp.ReadFrom(buf)
	if err != nil {
		c.t.Fatalf("no reflected packet: %v", err)
	}
	raw := buf[:n]
	if c.dec != nil {
		if raw, err = c.dec.DecryptRTP(nil, raw, nil); err != nil {
			c.t.Fatalf("reflected packet does not decrypt with the bot's key: %v", err)
		}
	}
	var p rtp.Packet
	if err := p.Unmarshal(raw); err != nil {
		c.t.Fatal(err)
	}
	return &p
}

// poll waits for cond (state another goroutine changes) with a deadline.
func poll(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached before the deadline")
		}
		runtime.Gosched()
	}
}

func startEcho(t *testing.T, edit func(*labfe.Config)) *labfe.Server {
	return labfetest.Start(t, labfetest.WithConfig(func(c *labfe.Config) {
		c.EchoAnswerDelay = 10 * time.Millisecond
		if edit != nil {
			edit(c)
		}
	}), labfetest.WithServerOptions(labfe.WithRand(testutil.NewReader(99))))
}

// TestEchoBot: a call to the test-call bot with SRTP and MKI, media
// reflected (decrypted with the offer's key, re-encrypted with the
// answer's), tampered and replayed packets refused, hold stops the echo,
// a rekey re-INVITE switches both keys (next MKI), BYE ends it all.
func TestEchoBot(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := startEcho(t, nil)
	c := newCaller(t, fe, "echo-1")
	required := sdp.Policy{Enable: true, Offer: true, Require: true}
	off := c.makeOffer(required, sdp.SRTPConfig{}, "", 1)
	c.call(off)
	if !c.res.Encrypted || !c.res.Remote.HasMKI() || c.res.Remote.MKI != 1 || c.res.Local.Tag != 1 {
		t.Fatalf("negotiated %+v", c.res)
	}
	if bytes.Equal(c.res.Remote.Key, c.key) {
		t.Fatal("bot answered with the caller's key")
	}

	const n = 20
	for i := range n {
		payload := bytes.Repeat([]byte{byte(i)}, 160)
		c.sendRTP(payload)
		p := c.recvRTP()
		if !bytes.Equal(p.Payload, payload) || p.SequenceNumber != c.seq || p.SSRC == c.ssrc {
			t.Fatalf("packet %d: seq %d ssrc %x payload %x…", i, p.SequenceNumber, p.SSRC, p.Payload[:4])
		}
	}
	st := fe.Stats().Echo
	if st.Calls != 1 || st.Active != 1 || st.PacketsIn != n || st.PacketsOut != n || st.AuthFailures != 0 {
		t.Fatalf("stats %+v", st)
	}

	// Tampered and replayed packets are counted and not reflected: the next
	// reflection is the good packet sent after them.
	raw := c.sendRTP([]byte("tamper me"))
	raw[len(raw)-1] ^= 1
	if _, err := c.udp.WriteTo(raw, c.botAddr()); err != nil {
		t.Fatal(err)
	}
	_ = c.recvRTP() // the untampered original
	raw[len(raw)-1] ^= 1
	if _, err := c.udp.WriteTo(raw, c.botAddr()); err != nil { // replay
		t.Fatal(err)
	}
	c.sendRTP([]byte("after"))
	if p := c.recvRTP(); string(p.Payload) != "after" {
		t.Fatalf("reflected %q", p.Payload)
	}
	if st := fe.Stats().Echo; st.AuthFailures != 2 {
		t.Errorf("auth failures %d, want 2 (tampered, replayed)", st.AuthFailures)
	}

	// Hold: sendonly offer, recvonly answer, nothing reflected.
	hold := c.makeOffer(required, sdp.SRTPConfig{}, sdp.SendOnly, 2)
	c.invite(hold.Marshal(), "application/sdp")
	r := c.final()
	if r.StatusCode != 200 {
		t.Fatalf("hold: %d", r.StatusCode)
	}
	before := c.res.Remote
	c.answered(hold, r)
	c.send(c.inDialog("ACK"))
	if c.res.RemoteDirection != sdp.RecvOnly || !bytes.Equal(c.res.Remote.Key, before.Key) {
		t.Fatalf("hold answer: direction %q, key changed %v", c.res.RemoteDirection, !bytes.Equal(c.res.Remote.Key, before.Key))
	}
	// Keep the caller's send context (same key) so its rollover state
	// carries on; the answer kept the bot's key too.
	c.enc = ctxFor(t, c.res.Local, false)
	c.dec = ctxFor(t, c.res.Remote, true)
	held := fe.Stats().Echo
	for range 3 {
		c.sendRTP([]byte("on hold"))
	}
	// The bot must have taken them in (on hold) before the resume.
	poll(t, func() bool { return fe.Stats().Echo.PacketsIn == held.PacketsIn+3 })
	// Resume with a new key (a rekey re-INVITE: MKI 2).
	c.key = nil
	resume := c.makeOffer(required, sdp.SRTPConfig{MKI: 2}, "", 3)
	c.invite(resume.Marshal(), "application/sdp")
	if r = c.final(); r.StatusCode != 200 {
		t.Fatalf("resume: %d", r.StatusCode)
	}
	c.answered(resume, r)
	c.send(c.inDialog("ACK"))
	if c.res.Remote.MKI != 2 || bytes.Equal(c.res.Remote.Key, before.Key) {
		t.Fatalf("rekey answer: bot MKI %d, key changed %v", c.res.Remote.MKI, !bytes.Equal(c.res.Remote.Key, before.Key))
	}
	c.sendRTP([]byte("resumed"))
	if p := c.recvRTP(); string(p.Payload) != "resumed" {
		t.Fatalf("first packet after resume %q (echoed while on hold?)", p.Payload)
	}
	if st := fe.Stats().Echo; st.PacketsOut != held.PacketsOut+1 || st.AuthFailures != 2 {
		t.Errorf("after hold/resume: %+v (out before hold %d)", st, held.PacketsOut)
	}

	bye := c.inDialog("BYE")
	if r := c.roundTrip(bye); r.StatusCode != 200 || c.verifyServer(r) != nil {
		t.Fatalf("BYE: %d", r.StatusCode)
	}
	if st := fe.Stats(); st.Echo.Active != 0 || st.Dialogs != 0 {
		t.Errorf("after BYE: %+v", st)
	}
	if r := c.roundTrip(c.inDialog("BYE")); r.StatusCode != 481 {
		t.Errorf("second BYE: %d", r.StatusCode)
	}
}

// TestEchoPolicy: the bot's encryption level decides (Lync names);
// incompatible offers get 488 with Warning 308, plain RTP is reflected
// when encryption is only supported.
func TestEchoPolicy(t *testing.T) {
	plain := sdp.Policy{Enable: false}
	required := sdp.Policy{Enable: true, Offer: true, Require: true}
	for name, tc := range map[string]struct {
		level  string
		offer  sdp.Policy
		status int
	}{
		"plain to require":        {labfe.RequireEncryption, plain, 488},
		"savp to do-not-support":  {labfe.DoNotSupportEncryption, required, 488},
		"plain to support":        {labfe.SupportEncryption, plain, 200},
		"srtp to support":         {labfe.SupportEncryption, required, 200},
		"optional to do-not-supp": {labfe.DoNotSupportEncryption, sdp.Policy{Enable: true, Offer: true}, 200},
	} {
		t.Run(name, func(t *testing.T) {
			fe := startEcho(t, func(c *labfe.Config) { c.EchoEncryption = tc.level })
			c := newCaller(t, fe, "pol")
			off := c.makeOffer(tc.offer, sdp.SRTPConfig{}, "", 1)
			c.invite(off.Marshal(), "application/sdp")
			r := c.final()
			if r.StatusCode != tc.status {
				t.Fatalf("got %d %q, want %d", r.StatusCode, r.Value("Warning"), tc.status)
			}
			if tc.status == 488 {
				if r.Value("Warning") != sdp.WarningEncryption {
					t.Errorf("Warning %q", r.Value("Warning"))
				}
				if fe.Stats().Echo.Rejected != 1 {
					t.Errorf("rejected %d", fe.Stats().Echo.Rejected)
				}
				return
			}
			_, tp := sipmsg.NameAddr(r.Value("To"))
			c.botTag = tp["tag"]
			c.answered(off, r)
			c.send(c.inDialog("ACK"))
			c.sendRTP([]byte("x"))
			if p := c.recvRTP(); string(p.Payload) != "x" {
				t.Fatalf("reflected %q", p.Payload)
			}
		})
	}
}

// TestEchoBadOffers: RELIABILITY.md P5/P6 at the bot: each refused with a
// status and a Warning naming the problem; the flow stays usable.
func TestEchoBadOffers(t *testing.T) {
	fe := startEcho(t, nil)
	c := newCaller(t, fe, "bad")
	good := string(c.makeOffer(sdp.Policy{Enable: true, Offer: true, Require: true}, sdp.SRTPConfig{}, "", 1).Marshal())
	for name, tc := range map[string]struct {
		body, ctype string
		status      int
		warn        string
	}{
		"no body":        {"", "application/sdp", 488, "305"},
		"not sdp":        {"hello", "text/plain", 415, ""},
		"garbage":        {"this is not sdp\r\n", "application/sdp", 400, "399 pool.contoso.test"},
		"no c= line":     {strings.Replace(good, "c=IN IP4 127.0.0.1\r\n", "", 1), "application/sdp", 400, "399"},
		"port 65536":     {strings.Replace(good, "m=audio ", "m=audio 65536", 1), "application/sdp", 400, "399"},
		"pt 128":         {strings.Replace(good, "SAVP 0 8", "SAVP 128 8", 1), "application/sdp", 400, "399"},
		"bad key b64":    {strings.ReplaceAll(good, "inline:", "inline:!!"), "application/sdp", 400, "399"},
		"dup crypto tag": {strings.Replace(good, "a=crypto:2", "a=crypto:1", 1), "application/sdp", 400, "399"},
		"mki len 5":      {strings.Replace(good, "|1:1", "|1:5", 1), "application/sdp", 400, "399"},
		"no audio": {"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=s\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video 5000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n",
			"application/sdp", 488, "305"},
	} {
		var body []byte
		if tc.body != "" {
			body = []byte(tc.body)
		}
		c.callID = "bad-" + name
		c.invite(body, tc.ctype)
		r := c.final()
		if r.StatusCode != tc.status || !strings.HasPrefix(r.Value("Warning"), tc.warn) {
			t.Errorf("%s: %d %q, want %d %q", name, r.StatusCode, r.Value("Warning"), tc.status, tc.warn)
		}
	}
	if st := fe.Stats().Echo; st.Calls != 0 || st.Active != 0 || st.Rejected != 10 {
		t.Errorf("stats %+v", st)
	}
	// The flow is still fine: a good call goes through.
	c.callID = "good"
	c.call(c.makeOffer(sdp.Policy{Enable: true, Offer: true, Require: true}, sdp.SRTPConfig{}, "", 1))
}

// TestEchoCancel: CANCEL while the bot lets it ring: 200 to the CANCEL,
// 487 to the INVITE, nothing left behind.
func TestEchoCancel(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := startEcho(t, func(c *labfe.Config) { c.EchoAnswerDelay = time.Hour })
	c := newCaller(t, fe, "cancel")
	inv := c.invite(c.makeOffer(sdp.Policy{Enable: true, Offer: true, Require: true}, sdp.SRTPConfig{}, "", 1).Marshal(), "application/sdp")
	expect(t, c.client, "100", false)
	cancel := request("CANCEL", echoURI, inv.Value("From"), inv.Value("To"), c.callID, c.cseq, "")
	cancel.Set("Via", inv.Value("Via"))
	c.sign(cancel)
	c.send(cancel)
	if r := expect(t, c.client, "200", true); r.Value("CSeq") != "1 CANCEL" {
		t.Fatalf("CANCEL answer CSeq %q", r.Value("CSeq"))
	}
	r := expect(t, c.client, "487", true)
	if st := fe.Stats().Echo; st.Active != 0 || st.Calls != 0 {
		t.Errorf("after CANCEL: %+v", st)
	}
	ack := request("ACK", echoURI, inv.Value("From"), r.Value("To"), c.callID, c.cseq, "")
	ack.Set("Via", inv.Value("Via"))
	c.sign(ack)
	c.send(ack)
	// A later request on the flow is served: the ACK was consumed.
	m := c.newRegister(3600)
	c.sign(m)
	if r := c.roundTrip(m); r.StatusCode != 200 {
		t.Fatalf("re-REGISTER after the cancelled call: %d", r.StatusCode)
	}
}

// TestEchoCallerVanishes: the caller's flow closes mid-call; the bot's
// call, sockets and goroutines go with it. Server.Close also ends calls.
func TestEchoCallerVanishes(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	dropped := make(chan struct{}, 4)
	fe := labfetest.Start(t, labfetest.WithConfig(func(c *labfe.Config) { c.EchoAnswerDelay = -1 }),
		labfetest.WithServerOptions(labfe.WithDropHook(func() { dropped <- struct{}{} })))
	c := newCaller(t, fe, "gone")
	c.call(c.makeOffer(sdp.Policy{Enable: true, Offer: true, Require: true}, sdp.SRTPConfig{}, "", 1))
	c.sendRTP([]byte("x"))
	c.recvRTP()
	_ = c.conn.Close()
	select {
	case <-dropped:
	case <-time.After(10 * time.Second):
		t.Fatal("flow not dropped")
	}
	if st := fe.Stats(); st.Echo.Active != 0 || st.Dialogs != 0 {
		t.Errorf("after the caller vanished: %+v", st)
	}

	// A call still up when the server closes ends with it (leak check).
	c2 := newCaller(t, fe, "open")
	c2.call(c2.makeOffer(sdp.Policy{Enable: true, Offer: true, Require: true}, sdp.SRTPConfig{}, "", 1))
	if fe.Stats().Echo.Active != 1 {
		t.Fatal("second call not active")
	}
}

// TestEchoAdvertisedInBand: provisioning-v2 names the bot as
// botSipUriForTestCall.
func TestEchoAdvertisedInBand(t *testing.T) {
	fe := startEcho(t, func(c *labfe.Config) { c.EchoURI = "sip:testcall@contoso.test" })
	c := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	c.mustRegister("alice", pw)
	sub := selfSubscribe("vnd-microsoft-provisioning-v2", "prov-1", 1)
	c.sign(sub)
	r := c.roundTrip(sub)
	if !strings.Contains(string(r.Body), "<botSipUriForTestCall>sip:testcall@contoso.test</botSipUriForTestCall>") {
		t.Errorf("in-band body lacks the bot: %s", r.Body)
	}
}

func TestEchoConfig(t *testing.T) {
	for name, cfg := range map[string]labfe.Config{
		"bad level":    {EchoEncryption: "Sometimes"},
		"bad uri":      {EchoURI: "echo"},
		"bad addr":     {EchoMediaAddr: "nowhere"},
		"user is echo": {EchoURI: "sip:alice@contoso.test"},
	} {
		if _, err := labfe.New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	fe, err := labfe.New(labfe.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer fe.Close()
	if c := fe.Config(); c.EchoURI != echoURI || c.EchoEncryption != labfe.RequireEncryption || c.EchoMediaAddr != "127.0.0.1" {
		t.Errorf("defaults %q %q %q", c.EchoURI, c.EchoEncryption, c.EchoMediaAddr)
	}
}

// TestEchoNoAck: a 2xx never ACKed ends the bot's call after 64*T1 (here
// shortened): its state, sockets and goroutines go.
func TestEchoNoAck(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	t.Cleanup(labfe.SetEchoAckTimeout(50 * time.Millisecond))
	fe := startEcho(t, nil)
	c := newCaller(t, fe, "noack")
	c.invite(c.makeOffer(sdp.Policy{Enable: true, Offer: true, Require: true}, sdp.SRTPConfig{}, "", 1).Marshal(), "application/sdp")
	if r := c.final(); r.StatusCode != 200 {
		t.Fatalf("INVITE: %d", r.StatusCode)
	}
	poll(t, func() bool { st := fe.Stats(); return st.Echo.Active == 0 && st.Dialogs == 0 })
}

// TestEchoMaxCalls: the bot's calls are bounded; one more INVITE is 486.
func TestEchoMaxCalls(t *testing.T) {
	fe := startEcho(t, func(c *labfe.Config) { c.EchoMaxCalls = 1 })
	c := newCaller(t, fe, "one")
	c.call(c.makeOffer(sdp.Policy{Enable: true, Offer: true, Require: true}, sdp.SRTPConfig{}, "", 1))
	c2 := newCaller(t, fe, "two")
	c2.invite(c2.makeOffer(sdp.Policy{Enable: true, Offer: true, Require: true}, sdp.SRTPConfig{}, "", 1).Marshal(), "application/sdp")
	if r := c2.final(); r.StatusCode != 486 {
		t.Fatalf("second call: %d", r.StatusCode)
	}
	if st := fe.Stats().Echo; st.Active != 1 || st.Rejected != 1 {
		t.Errorf("stats %+v", st)
	}
}
