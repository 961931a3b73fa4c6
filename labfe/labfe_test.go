package labfe_test

import (
	"crypto/rsa"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/handset-dev/handset/configs"
	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/labfe"
	"github.com/handset-dev/handset/labfe/internal/sipmsg"
	"github.com/handset-dev/handset/labfe/labfetest"
)

const pw = "Passw0rd!"

func TestSignIn(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := labfetest.Start(t)
	c := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	r := c.mustRegister("alice", pw)
	ct := r.Value("Contact")
	for _, want := range []string{";expires=3600", `+sip.instance="<urn:uuid:4233FD41-093B-5FD6-B5D2-651ED55969E6>"`, `gruu="sip:alice@contoso.test;opaque=user:epid:`, `;gruu"`} {
		if !strings.Contains(ct, want) {
			t.Errorf("Contact %q lacks %q", ct, want)
		}
	}
	for h, want := range map[string]string{
		"Expires":       "3600",
		"ms-keep-alive": "UAS; tcp=no; hop-hop=yes; end-end=no; timeout=300",
		"Server":        "RTC/5.0",
	} {
		if got := r.Value(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if !strings.Contains(r.Value("Allow-Events"), "vnd-microsoft-provisioning-v2") {
		t.Errorf("Allow-Events = %q", r.Value("Allow-Events"))
	}
	if got := strings.Join(r.All("Supported"), ","); !strings.Contains(got, "msrtc-event-categories") {
		t.Errorf("Supported = %q", got)
	}
	ai := params(r.Value("Authentication-Info"))
	if ai["snum"] != "1" || ai["opaque"] != c.opaque || len(ai["srand"]) != 8 || len(ai["rspauth"]) != 32 {
		t.Errorf("Authentication-Info = %q", r.Value("Authentication-Info"))
	}
	st := fe.Stats().Users["alice@contoso.test"]
	if diff := cmp.Diff(labfe.UserStats{Registrations: 1, ActiveBindings: 1}, st); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}

	// Signed re-REGISTER on the same SA, then un-REGISTER.
	m := c.newRegister(3600)
	c.sign(m)
	if r2 := c.roundTrip(m); r2.StatusCode != 200 || c.verifyServer(r2) != nil {
		t.Fatalf("re-REGISTER: %d %v", r2.StatusCode, c.verifyServer(r2))
	}
	m = c.newRegister(0)
	c.sign(m)
	r = c.roundTrip(m)
	if r.StatusCode != 200 || c.verifyServer(r) != nil || strings.Contains(r.Value("Contact"), "8248") {
		t.Fatalf("un-REGISTER: %d %q", r.StatusCode, r.Value("Contact"))
	}
	if got := fe.Stats().Users["alice@contoso.test"]; got.ActiveBindings != 0 || got.Unregistrations != 1 || got.Registrations != 2 {
		t.Errorf("after un-REGISTER: %+v", got)
	}
}

func TestWrongPasswordRejected(t *testing.T) {
	fe := labfetest.Start(t)
	c := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	r := c.authRegister("alice", "CONTOSO", "wrong", false)
	if r.StatusCode != 401 || !strings.HasPrefix(r.Value("ms-diagnostics"), `1000;reason="Final handshake failed"`) {
		t.Fatalf("got %d %q", r.StatusCode, r.Value("ms-diagnostics"))
	}
	if _, ok := r.Get("Authentication-Info"); ok {
		t.Error("a failed handshake must not carry a signature")
	}
	st := fe.Stats()
	if st.Users["alice@contoso.test"].AuthFailures != 1 || st.Total.ActiveBindings != 0 || st.SAs != 0 {
		t.Errorf("stats %+v", st)
	}
	// Unknown account and wrong domain are rejected the same way.
	c2 := dial(t, fe, "alice@contoso.test", "8248ca9ebc")
	if r := c2.authRegister("mallory", "CONTOSO", pw, false); r.StatusCode != 401 {
		t.Errorf("unknown user: %d", r.StatusCode)
	}
	c3 := dial(t, fe, "alice@contoso.test", "8248ca9ebd")
	if r := c3.authRegister("alice", "FABRIKAM", pw, false); r.StatusCode != 401 {
		t.Errorf("wrong domain: %d", r.StatusCode)
	}
}

func TestTamperedSignatureClosesFlow(t *testing.T) {
	fe := labfetest.Start(t)
	c := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	r := c.authRegister("alice", "CONTOSO", pw, true)
	if r.StatusCode != 403 || !strings.HasPrefix(r.Value("ms-diagnostics"), "1010;") {
		t.Fatalf("got %d %q", r.StatusCode, r.Value("ms-diagnostics"))
	}
	if c.read() != nil {
		t.Fatal("flow still open after a bad signature")
	}
	if got := fe.Stats().Users["alice@contoso.test"]; got.BadSignatures != 1 || got.ActiveBindings != 0 {
		t.Errorf("stats %+v", got)
	}

	// Tampering with a signed field after signing on an established SA.
	c = dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	c.mustRegister("alice", pw)
	m := c.newRegister(3600)
	c.sign(m)
	m.Set("Expires", "60") // Expires is in the signed buffer
	r = c.roundTrip(m)
	if r.StatusCode != 403 || c.verifyServer(r) != nil {
		t.Fatalf("tampered Expires: %d (%v)", r.StatusCode, c.verifyServer(r))
	}
	if c.read() != nil {
		t.Fatal("flow still open")
	}
	if fe.Stats().Users["alice@contoso.test"].ActiveBindings != 0 {
		t.Error("binding survives its flow")
	}
}

func TestReplayedCnumRejected(t *testing.T) {
	fe := labfetest.Start(t)
	c := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	c.mustRegister("alice", pw)
	m := c.newRegister(3600)
	c.sign(m) // cnum 2
	if r := c.roundTrip(m); r.StatusCode != 200 {
		t.Fatalf("cnum 2: %d", r.StatusCode)
	}
	replay := c.newRegister(3600)
	replay.Headers = m.Headers // the very same signed message again
	r := c.roundTrip(replay)
	if r.StatusCode != 403 || !strings.HasPrefix(r.Value("ms-diagnostics"), "1011;") || c.verifyServer(r) != nil {
		t.Fatalf("replay: %d %q", r.StatusCode, r.Value("ms-diagnostics"))
	}
	// A lower cnum, freshly signed, is rejected too; a higher one works.
	m = c.newRegister(3600)
	c.signWith(m, 1, "")
	if r := c.roundTrip(m); r.StatusCode != 403 {
		t.Fatalf("cnum 1: %d", r.StatusCode)
	}
	m = c.newRegister(3600)
	c.signWith(m, 10, "")
	if r := c.roundTrip(m); r.StatusCode != 200 {
		t.Fatalf("cnum 10: %d", r.StatusCode)
	}
	if got := fe.Stats().Users["alice@contoso.test"].Replays; got != 2 {
		t.Errorf("replays = %d", got)
	}
	// Out of order within the window (two requests signed concurrently):
	// both accepted once; the same number again, or one older than the
	// window, is a replay.
	for _, tc := range []struct {
		cnum, want int
	}{{12, 200}, {11, 200}, {11, 403}, {12, 403}, {100, 200}, {36, 403}, {37, 200}, {37, 403}} {
		m = c.newRegister(3600)
		c.signWith(m, tc.cnum, "")
		if r := c.roundTrip(m); r.StatusCode != tc.want {
			t.Errorf("cnum %d: %d, want %d", tc.cnum, r.StatusCode, tc.want)
		}
	}
}

func TestInstanceMustMatchEpid(t *testing.T) {
	fe := labfetest.Start(t)
	c := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	c.instance = "124841E4-264D-52E8-96C5-D22AA8CDC316" // belongs to epid 2ebb6f264f
	r := c.authRegister("alice", "CONTOSO", pw, false)
	if r.StatusCode != 403 || !strings.HasPrefix(r.Value("ms-diagnostics"), "4002;") || c.verifyServer(r) != nil {
		t.Fatalf("got %d %q", r.StatusCode, r.Value("ms-diagnostics"))
	}
	if got := fe.Stats().Users["alice@contoso.test"]; got.InstanceMismatches != 1 || got.ActiveBindings != 0 {
		t.Errorf("stats %+v", got)
	}
}

func TestCredentialsForAnotherUser(t *testing.T) {
	fe := labfetest.Start(t)
	c := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	r := c.authRegister("bob", "CONTOSO", pw, false) // bob's valid credentials, alice's From
	if r.StatusCode != 403 || !strings.HasPrefix(r.Value("ms-diagnostics"), "4000;") {
		t.Fatalf("got %d %q", r.StatusCode, r.Value("ms-diagnostics"))
	}
}

func TestMalformedAuthorization(t *testing.T) {
	fe := labfetest.Start(t)
	for _, h := range []string{
		`NTLM qop="auth", realm="SIP Communications Service`,
		`NTLM realm="SIP Communications Service", realm="x", targetname="pool.contoso.test", gssapi-data=""`,
		`NTLM realm="Other", targetname="pool.contoso.test", gssapi-data=""`,
		`NTLM realm="SIP Communications Service", targetname="evil.example", gssapi-data=""`,
		`= "x"`,
	} {
		c := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
		m := c.newRegister(-1)
		m.Add("Authorization", h)
		r := c.roundTrip(m)
		if r.StatusCode != 400 || !strings.HasPrefix(r.Value("ms-diagnostics"), "1002;") {
			t.Errorf("%s: %d %q", h, r.StatusCode, r.Value("ms-diagnostics"))
		}
	}
	// A garbage AUTHENTICATE token.
	c := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	c.handshake()
	m := c.newRegister(3600)
	m.Add("Authorization", `NTLM qop="auth", opaque="`+c.opaque+`", realm="SIP Communications Service", targetname="pool.contoso.test", gssapi-data="TlRMTVNTUAADAAAA", version=4, crand="1", cnum="1", response="00"`)
	if r := c.roundTrip(m); r.StatusCode != 401 || !strings.HasPrefix(r.Value("ms-diagnostics"), "1000;") {
		t.Errorf("garbage AUTHENTICATE: %d %q", r.StatusCode, r.Value("ms-diagnostics"))
	}
	// Malformed SIP closes the flow.
	c = dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	if _, err := c.conn.Write([]byte("REGISTER sip:contoso.test SIP/2.0\r\nFrom: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	if c.read() != nil {
		t.Error("flow open after malformed SIP")
	}
}

func TestAuthenticateIsSingleUse(t *testing.T) {
	fe := labfetest.Start(t)
	c := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	c.mustRegister("alice", pw)
	// Another flow cannot use alice's SA (opaque) even with her signature.
	other := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	other.sess, other.opaque, other.cnum = c.sess, c.opaque, 50
	m := other.newRegister(3600)
	other.sign(m)
	if r := other.roundTrip(m); r.StatusCode != 401 || !strings.HasPrefix(r.Value("ms-diagnostics"), "1001;") {
		t.Errorf("SA from another flow: %d %q", r.StatusCode, r.Value("ms-diagnostics"))
	}
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (f *fakeClock) Now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }
func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func TestTimeScaledExpiryAndSALifetime(t *testing.T) {
	clk := &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	fe := labfetest.Start(t, labfetest.WithConfig(func(c *labfe.Config) {
		c.RegisterExpiry, c.KeepAliveTimeout, c.SALifetime = 30*time.Second, 10*time.Second, time.Minute
	}), labfetest.WithServerOptions(labfe.WithClock(clk.Now), labfe.WithRand(testutil.NewReader(7))))
	c := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	r := c.mustRegister("alice", pw)
	if r.Value("Expires") != "30" || !strings.Contains(r.Value("ms-keep-alive"), "timeout=10") {
		t.Fatalf("Expires %q, ms-keep-alive %q", r.Value("Expires"), r.Value("ms-keep-alive"))
	}
	clk.Advance(31 * time.Second)
	if n := fe.Bindings("alice@contoso.test"); n != 0 {
		t.Errorf("bindings after expiry = %d", n)
	}
	clk.Advance(30 * time.Second) // SA lifetime passed
	m := c.newRegister(3600)
	c.sign(m)
	r = c.roundTrip(m)
	if r.StatusCode != 401 || !strings.HasPrefix(r.Value("ms-diagnostics"), "1001;") || !strings.HasPrefix(r.Value("WWW-Authenticate"), "NTLM ") {
		t.Fatalf("expired SA: %d %q", r.StatusCode, r.Value("ms-diagnostics"))
	}
	c.mustRegister("alice", pw) // full re-authentication works
}

func TestFaultInjection(t *testing.T) {
	fe := labfetest.Start(t)
	fe.InjectFault(503, 1)
	c := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	r := c.roundTrip(c.newRegister(-1))
	if r.StatusCode != 503 || r.Value("Retry-After") == "" || r.Value("ms-diagnostics") == "" {
		t.Fatalf("got %d", r.StatusCode)
	}
	c.mustRegister("alice", pw)
	if n := fe.CloseFlows("alice@contoso.test"); n != 1 {
		t.Errorf("CloseFlows = %d", n)
	}
	if c.read() != nil {
		t.Error("flow not closed")
	}
}

// TestRouting: alice sends MESSAGE to bob; bob gets it signed with his SA
// over his own flow; his signed 200 OK returns to alice signed with hers.
func TestRouting(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := labfetest.Start(t)
	a := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	a.mustRegister("alice", pw)
	b := dial(t, fe, "bob@contoso.test", "2ebb6f264f")
	reg := b.mustRegister("bob", pw)
	_, cp := sipmsg.NameAddr(reg.Value("Contact"))
	bobGRUU := strings.Trim(cp["gruu"], `"`)

	for _, ruri := range []string{"sip:bob@contoso.test", bobGRUU} {
		msg := &sipmsg.Message{Method: "MESSAGE", RequestURI: ruri, Body: []byte("hello")}
		msg.Add("Via", "SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bKmsg")
		msg.Add("Max-Forwards", "70")
		msg.Add("From", "<sip:alice@contoso.test>;tag=a1;epid=8248ca9ebb")
		msg.Add("To", "<sip:bob@contoso.test>")
		msg.Add("Call-ID", "im-1")
		msg.Add("CSeq", "1 MESSAGE")
		msg.Add("Content-Type", "text/plain")
		a.sign(msg)
		a.send(msg)

		in := b.read()
		if in == nil || in.Method != "MESSAGE" || string(in.Body) != "hello" {
			t.Fatalf("bob got %+v", in)
		}
		if err := b.verifyServer(in); err != nil {
			t.Fatalf("forwarded MESSAGE not signed for bob: %v", err)
		}
		if _, ok := in.Get("Authorization"); ok {
			t.Error("caller's Authorization leaked to the callee")
		}
		ok := &sipmsg.Message{StatusCode: 200, Reason: "OK"}
		for _, h := range in.Headers {
			switch h.Name {
			case "Via", "From", "Call-ID", "CSeq":
				ok.Add(h.Name, h.Value)
			case "To":
				ok.Add(h.Name, h.Value+";tag=b1")
			}
		}
		b.sign(ok)
		b.send(ok)
		res := a.read()
		if res == nil || res.StatusCode != 200 {
			t.Fatalf("alice got %+v", res)
		}
		if err := a.verifyServer(res); err != nil {
			t.Fatalf("relayed 200 not signed for alice: %v", err)
		}
		if got := res.All("Via"); len(got) != 1 {
			t.Errorf("Via on relayed response: %q", got)
		}
	}

	// Unregistered and unknown targets.
	for ruri, code := range map[string]int{"sip:nobody@contoso.test": 404} {
		m := &sipmsg.Message{Method: "MESSAGE", RequestURI: ruri}
		m.Add("Via", "SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bKx")
		m.Add("From", "<sip:alice@contoso.test>;tag=a2")
		m.Add("To", "<"+ruri+">")
		m.Add("Call-ID", "im-2")
		m.Add("CSeq", "1 MESSAGE")
		a.sign(m)
		if r := a.roundTrip(m); r.StatusCode != code || a.verifyServer(r) != nil {
			t.Errorf("%s: %d", ruri, r.StatusCode)
		}
	}
}

func TestGenerateUsersAndCSV(t *testing.T) {
	u := labfe.GenerateUsers(3, "contoso.test")
	if len(u) != 3 || u[0].Address != "user0001@contoso.test" || u[2].UserID != "user0003" || u[0].Domain != "CONTOSO" ||
		u[0].Password.Reveal() != labfe.GeneratedPassword("user0001").Reveal() {
		t.Fatalf("%+v", u)
	}
	csv := "reg.1.address,reg.1.auth.userId,reg.1.auth.domain,reg.1.auth.password,mac\nsip:Carol@contoso.test,carol,CONTOSO,pw,0004f2000003\n"
	got, err := labfe.LoadUsersCSV(strings.NewReader(csv))
	if err != nil || len(got) != 1 || got[0].AOR() != "carol@contoso.test" {
		t.Fatalf("%+v %v", got, err)
	}
	for _, bad := range []string{"", "a,b\n1,2\n", "reg.1.address,reg.1.auth.userId,reg.1.auth.password\nnoat,u,p\n",
		"reg.1.address,reg.1.auth.userId,reg.1.auth.password\na@b,u,p\nA@b,v,p\n"} {
		if _, err := labfe.LoadUsersCSV(strings.NewReader(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	if len(labfe.DefaultUsers()) != 2 {
		t.Error("DefaultUsers")
	}
	// Generated users sign in.
	fe := labfetest.Start(t, labfetest.WithUsers(labfe.GenerateUsers(2, "contoso.test")...))
	c := dial(t, fe, "user0002@contoso.test", "0a0b0c0d0e")
	c.mustRegister("user0002", labfe.GeneratedPassword("user0002").Reveal())
}

func TestSecretRedacted(t *testing.T) {
	u := labfe.User{Address: "a@b", Password: configs.NewSecret("hunter2"), PIN: configs.NewSecret("1234")}
	for _, s := range []string{
		strings.Join([]string{u.Password.String()}, ""),
		sprintf("%v %+v %#v", u, u, u),
	} {
		if strings.Contains(s, "hunter2") || strings.Contains(s, "1234") {
			t.Errorf("secret leaked: %s", s)
		}
	}
}

// TestAuthenticateReplay: the step-3 REGISTER (AUTHENTICATE + signature)
// sent again is refused: its challenge was single-use.
func TestAuthenticateReplay(t *testing.T) {
	fe := labfetest.Start(t)
	c := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	chal := c.handshake()
	auth, sess, err := ntlmAuthenticate(chal, "alice", "CONTOSO", pw, c)
	if err != nil {
		t.Fatal(err)
	}
	c.sess = sess
	m := c.newRegister(3600)
	c.signWith(m, 1, auth)
	if r := c.roundTrip(m); r.StatusCode != 200 {
		t.Fatalf("first: %d", r.StatusCode)
	}
	if r := c.roundTrip(m); r.StatusCode != 401 || !strings.HasPrefix(r.Value("ms-diagnostics"), "1001;") {
		t.Fatalf("replayed AUTHENTICATE: %d %q", r.StatusCode, r.Value("ms-diagnostics"))
	}
}

// TestIdleFlowClosed: a flow silent for twice the ms-keep-alive timeout is
// closed, as the FE does to handsets that stop sending CRLF keep-alives.
func TestIdleFlowClosed(t *testing.T) {
	fe := labfetest.Start(t, labfetest.WithConfig(func(c *labfe.Config) { c.KeepAliveTimeout = 50 * time.Millisecond }))
	c := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	c.mustRegister("alice", pw)
	if c.read() != nil { // blocks until the server closes the flow (10 s cap)
		t.Fatal("unexpected message")
	}
	if n := fe.Bindings("alice@contoso.test"); n != 0 {
		t.Errorf("bindings after the flow closed: %d", n)
	}
}

// TestProxyAuthFamily: with ProxyAuth labfe speaks OCS 2007's 407 family
// (pitfall 4) and signs with Proxy-Authentication-Info.
func TestProxyAuthFamily(t *testing.T) {
	fe := labfetest.Start(t, labfetest.WithConfig(func(c *labfe.Config) { c.ProxyAuth = true }))
	c := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	c.proxy = true
	r := c.mustRegister("alice", pw)
	if _, ok := r.Get("Authentication-Info"); ok {
		t.Error("401-family header in 407 mode")
	}
	m := c.newRegister(3600)
	c.sign(m)
	if r := c.roundTrip(m); r.StatusCode != 200 || c.verifyServer(r) != nil {
		t.Fatalf("re-REGISTER: %d", r.StatusCode)
	}
}

func gruuOf(t *testing.T, reg *sipmsg.Message) string {
	t.Helper()
	_, cp := sipmsg.NameAddr(reg.Value("Contact"))
	g := strings.Trim(cp["gruu"], `"`)
	if g == "" {
		t.Fatalf("no gruu in %q", reg.Value("Contact"))
	}
	return g
}

func request(method, ruri, from, to, callID string, cseq int, contact string) *sipmsg.Message {
	m := &sipmsg.Message{Method: method, RequestURI: ruri}
	m.Add("Via", "SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bK"+method+callID)
	m.Add("Max-Forwards", "70")
	m.Add("From", from)
	m.Add("To", to)
	m.Add("Call-ID", callID)
	m.Add("CSeq", sprintf("%d %s", cseq, method))
	if contact != "" {
		m.Add("Contact", "<"+contact+">")
	}
	return m
}

func answer(req *sipmsg.Message, code int, reason, toTag, contact string) *sipmsg.Message {
	r := &sipmsg.Message{StatusCode: code, Reason: reason}
	for _, h := range req.Headers {
		switch h.Name {
		case "Via", "From", "Call-ID", "CSeq":
			r.Add(h.Name, h.Value)
		case "To":
			r.Add(h.Name, h.Value+";tag="+toTag)
		}
	}
	if contact != "" {
		r.Add("Contact", "<"+contact+">")
	}
	return r
}

func TestLocalHook(t *testing.T) {
	var got labfe.LocalRequest
	fe := labfetest.Start(t, labfetest.WithConfig(func(c *labfe.Config) {
		c.Local = func(r labfe.LocalRequest) (labfe.LocalResponse, bool) {
			if r.Event != "vnd-microsoft-provisioning-v2" {
				return labfe.LocalResponse{}, false
			}
			got = r
			return labfe.LocalResponse{ContentType: "application/vnd-microsoft-roaming-provisioning-v2+xml",
				Body: []byte("<provisionGroupList/>"), Headers: [][2]string{{"Expires", "0"}}}, true
		}
	}))
	c := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	c.mustRegister("alice", pw)
	sub := request("SUBSCRIBE", "sip:alice@contoso.test", "<sip:alice@contoso.test>;tag=s1", "<sip:alice@contoso.test>", "sub-1", 1, "")
	sub.Add("Event", "vnd-microsoft-provisioning-v2")
	sub.Body = []byte("<provisioningGroupList/>")
	c.sign(sub)
	r := c.roundTrip(sub)
	if r.StatusCode != 200 || string(r.Body) != "<provisionGroupList/>" || c.verifyServer(r) != nil || r.Value("Expires") != "0" {
		t.Fatalf("got %d %q", r.StatusCode, r.Body)
	}
	if got.User.AOR() != "alice@contoso.test" || string(got.Body) != "<provisioningGroupList/>" {
		t.Errorf("hook saw %+v", got)
	}
	// Other self-subscriptions fall back to labfe's own (strict) handling.
	sub = selfSubscribe("vnd-microsoft-roaming-contacts", "sub-2", 1)
	c.sign(sub)
	if r := c.roundTrip(sub); r.StatusCode != 200 || !strings.Contains(string(r.Body), "<contactList") {
		t.Fatalf("fallback: %d %s", r.StatusCode, r.Body)
	}
}

func TestSetFault(t *testing.T) {
	fe := labfetest.Start(t)
	fe.SetFault(labfe.Fault{Status: 503, RetryAfter: 30 * time.Second, Count: -1})
	c := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	for range 3 {
		if r := c.roundTrip(c.newRegister(-1)); r.StatusCode != 503 || r.Value("Retry-After") != "30" {
			t.Fatalf("got %d %q", r.StatusCode, r.Value("Retry-After"))
		}
	}
	fe.SetFault(labfe.Fault{Status: 0, Count: 1}) // black hole once
	c.send(c.newRegister(-1))
	opts := c.newRegister(-1) // the next one is answered: proves the first got none
	c.send(opts)
	r := c.read()
	if r == nil || r.StatusCode != 401 || r.Value("CSeq") != opts.Value("CSeq") {
		t.Fatalf("after black hole: %+v", r)
	}
	fe.SetFault(labfe.Fault{})
	c.mustRegister("alice", pw)
}

func TestRSACert(t *testing.T) {
	fe := labfetest.Start(t, labfetest.WithConfig(func(c *labfe.Config) { c.RSACert = true }))
	c := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	if _, ok := c.conn.ConnectionState().PeerCertificates[0].PublicKey.(*rsa.PublicKey); !ok {
		t.Error("not an RSA certificate")
	}
	c.mustRegister("alice", pw)
}

// TestOversizedInputClosesFlow: RELIABILITY.md P4 caps (64 KiB per
// message, sane Content-Length); other flows keep working.
func TestOversizedInputClosesFlow(t *testing.T) {
	fe := labfetest.Start(t)
	keep := dial(t, fe, "bob@contoso.test", "2ebb6f264f")
	keep.mustRegister("bob", pw)
	for name, in := range map[string]string{
		"64KiB header": "REGISTER sip:contoso.test SIP/2.0\r\nX-Big: " + strings.Repeat("a", 70<<10) + "\r\n\r\n",
		"huge length":  "REGISTER sip:contoso.test SIP/2.0\r\nVia: v\r\nFrom: f\r\nTo: t\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\nContent-Length: 9223372036854775807\r\n\r\n",
		"neg length":   "REGISTER sip:contoso.test SIP/2.0\r\nVia: v\r\nFrom: f\r\nTo: t\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\nContent-Length: -5\r\n\r\n",
	} {
		c := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
		go func() { _, _ = c.conn.Write([]byte(in)) }()
		if m := c.read(); m != nil {
			t.Errorf("%s: answered %d instead of closing", name, m.StatusCode)
		}
	}
	m := keep.newRegister(3600)
	keep.sign(m)
	if r := keep.roundTrip(m); r.StatusCode != 200 {
		t.Errorf("other flow affected: %d", r.StatusCode)
	}
	if got := fe.Stats().Unattributed.Malformed; got != 3 {
		t.Errorf("malformed = %d", got)
	}
}

func TestChallengeDateIsGMT(t *testing.T) {
	clk := &fakeClock{now: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	fe := labfetest.Start(t, labfetest.WithServerOptions(labfe.WithClock(clk.Now)))
	c := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	if got := c.roundTrip(c.newRegister(-1)).Value("Date"); got != "Wed, 04 Mar 2026 05:06:07 GMT" {
		t.Errorf("Date = %q", got)
	}
}

func TestInBandProvisioning(t *testing.T) {
	fe := labfetest.Start(t)
	c := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	c.mustRegister("alice", pw)
	sub := selfSubscribe("vnd-microsoft-provisioning-v2", "prov-1", 1)
	c.sign(sub)
	r := c.roundTrip(sub)
	if r.StatusCode != 200 || c.verifyServer(r) != nil || r.Value("Content-Type") != "application/vnd-microsoft-roaming-provisioning-v2+xml" {
		t.Fatalf("got %d %q", r.StatusCode, r.Value("Content-Type"))
	}
	if !strings.Contains(string(r.Body), "<provisionGroupList") || !strings.Contains(string(r.Body), "locationPolicy") {
		t.Errorf("body %s", r.Body)
	}
}

// goTB runs a client in a plain goroutine: Fatalf records and ends that
// goroutine only (runtime.Goexit), Cleanup funcs run at the end.
type goTB struct {
	mu       sync.Mutex
	errs     []string
	cleanups []func()
}

func (g *goTB) Helper() {}
func (g *goTB) Fatalf(format string, args ...any) {
	g.mu.Lock()
	g.errs = append(g.errs, sprintf(format, args...))
	g.mu.Unlock()
	runtime.Goexit()
}
func (g *goTB) Fatal(args ...any) { g.Fatalf("%v", args...) }
func (g *goTB) Cleanup(f func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cleanups = append(g.cleanups, f)
}

// TestConcurrentSignIns: many handsets sign in, re-register and exchange
// MESSAGEs at once (race detector, lock order, counters).
func TestConcurrentSignIns(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	const n = 60
	users := labfe.GenerateUsers(n, "contoso.test")
	fe := labfetest.Start(t, labfetest.WithUsers(users...))
	g := &goTB{}
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Go(func() {
			c := dial(g, fe, u.AOR(), sprintf("%010x", i))
			c.mustRegister(u.UserID, u.Password.Reveal())
			m := c.newRegister(3600)
			c.sign(m)
			if r := c.roundTrip(m); r.StatusCode != 200 {
				g.Fatalf("%s re-REGISTER %d", u.AOR(), r.StatusCode)
			}
		})
	}
	wg.Wait()
	st := fe.Stats()
	for _, f := range g.cleanups {
		f()
	}
	if len(g.errs) > 0 {
		t.Fatalf("%d failures, first: %s", len(g.errs), g.errs[0])
	}
	if st.Total.Registrations != 2*n || st.Total.ActiveBindings != n || st.Total.AuthFailures != 0 {
		t.Errorf("stats %+v", st.Total)
	}
}

// TestEndpointIdentifiersConsistent: after REGISTER, requests on the flow
// must carry this endpoint's epid, +sip.instance and GRUU (MS-SIPAE
// 3.3.5.2), not another endpoint's or user's.
func TestEndpointIdentifiersConsistent(t *testing.T) {
	fe := labfetest.Start(t)
	b := dial(t, fe, "bob@contoso.test", "2ebb6f264f")
	bGRUU := gruuOf(t, b.mustRegister("bob", pw))
	a := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	aGRUU := gruuOf(t, a.mustRegister("alice", pw))
	for name, tc := range map[string]struct {
		from, contact string
		want          int
	}{
		"own ids":        {"<sip:alice@contoso.test>;tag=x;epid=8248ca9ebb", "<" + aGRUU + ">", 200},
		"no ids":         {"<sip:alice@contoso.test>;tag=x", "", 200},
		"other epid":     {"<sip:alice@contoso.test>;tag=x;epid=2ebb6f264f", "", 403},
		"other instance": {"<sip:alice@contoso.test>;tag=x", `<sip:127.0.0.1>;+sip.instance="<urn:uuid:124841E4-264D-52E8-96C5-D22AA8CDC316>"`, 403},
		"bob's gruu":     {"<sip:alice@contoso.test>;tag=x", "<" + bGRUU + ">", 403},
		"forged gruu":    {"<sip:alice@contoso.test>;tag=x", "<sip:alice@contoso.test;opaque=user:epid:AAAA;gruu>", 403},
	} {
		// SERVICE: the identifier checks apply to every request, and a
		// self-SUBSCRIBE would also insist on a Contact.
		m := request("SERVICE", "sip:alice@contoso.test", tc.from, "<sip:alice@contoso.test>", "id-"+name, 1, "")
		if tc.contact != "" {
			m.Add("Contact", tc.contact)
		}
		a.sign(m)
		r := a.roundTrip(m)
		if r.StatusCode != tc.want {
			t.Errorf("%s: %d %q, want %d", name, r.StatusCode, r.Value("ms-diagnostics"), tc.want)
		}
	}
}

// TestGRUURoutesToThatEndpoint: alice has two endpoints; a request to the
// older one's GRUU reaches it, while her AOR reaches the newest.
func TestGRUURoutesToThatEndpoint(t *testing.T) {
	fe := labfetest.Start(t)
	a1 := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	g1 := gruuOf(t, a1.mustRegister("alice", pw))
	a2 := dial(t, fe, "alice@contoso.test", "0a0a0a0a0a")
	r2 := a2.mustRegister("alice", pw)
	if n := len(r2.All("Contact")); n != 2 {
		t.Fatalf("200 OK lists %d contacts, want both endpoints", n)
	}
	b := dial(t, fe, "bob@contoso.test", "2ebb6f264f")
	b.mustRegister("bob", pw)
	for ruri, want := range map[string]*client{g1: a1, "sip:alice@contoso.test": a2} {
		m := request("MESSAGE", ruri, "<sip:bob@contoso.test>;tag=b", "<sip:alice@contoso.test>", "g-"+ruri, 1, "")
		b.sign(m)
		b.send(m)
		in := want.read()
		if in == nil || in.Method != "MESSAGE" || in.RequestURI != ruri || want.verifyServer(in) != nil {
			t.Fatalf("%s: %+v", ruri, in)
		}
		ok := answer(in, 200, "OK", "t", "")
		want.sign(ok)
		want.send(ok)
		if r := b.read(); r == nil || r.StatusCode != 200 {
			t.Fatalf("%s: bob got %+v", ruri, r)
		}
	}
}

func TestServeAfterClose(t *testing.T) {
	fe, err := labfe.New(labfe.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := fe.Close(); err != nil {
		t.Fatal(err)
	}
	if err := fe.Serve(t.Context()); !errors.Is(err, labfe.ErrClosed) {
		t.Errorf("Serve after Close = %v", err)
	}
	if err := fe.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestKeepAlivesCounted(t *testing.T) {
	fe := labfetest.Start(t)
	c := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	c.mustRegister("alice", pw)
	if _, err := c.conn.Write([]byte("\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	m := c.newRegister(3600) // a request after the ping orders the check
	c.sign(m)
	if r := c.roundTrip(m); r.StatusCode != 200 {
		t.Fatal(r.StatusCode)
	}
	if got := fe.Stats().Users["alice@contoso.test"].KeepAlives; got != 1 {
		t.Errorf("keep-alives = %d", got)
	}
}
