package labfe_test

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/labfe"
	"github.com/handset-dev/handset/labfe/internal/ntlmsrv"
	"github.com/handset-dev/handset/labfe/internal/sipmsg"
)

// client is a scripted handset that speaks to labfe over raw TLS, built on
// the test-only NTLM initiator: it shares no code with sipua.
// tb is the part of testing.TB the client needs, so that goroutines of a
// concurrency test can run clients with their own failure recorder.
type tb interface {
	Helper()
	Fatalf(format string, args ...any)
	Fatal(args ...any)
	Cleanup(func())
}

type client struct {
	t        tb
	fe       *labfe.Server
	conn     *tls.Conn
	r        *bufio.Reader
	aor      string
	epid     string
	instance string // "" → derived from epid
	callID   string
	cseq     int
	tag      string
	sess     *ntlmsrv.Session
	opaque   string
	cnum     int
	rand     *testutil.Reader
	fqdn     string
	proxy    bool // OCS 2007 407 / Proxy-* family
}

func (c *client) authHeader() string {
	if c.proxy {
		return "Proxy-Authorization"
	}
	return "Authorization"
}

func dial(t tb, fe *labfe.Server, aor, epid string) *client {
	t.Helper()
	conn, err := tls.Dial("tcp", fe.Addr(), &tls.Config{RootCAs: fe.CAPool(), ServerName: "pool.contoso.test", MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &client{t: t, fe: fe, conn: conn, r: bufio.NewReader(conn), aor: aor, epid: epid,
		callID: "cid-" + epid, tag: "tag" + epid, rand: testutil.NewReader(uint64(len(aor) + len(epid))), fqdn: "pool.contoso.test"}
}

func (c *client) instanceUUID() string {
	if c.instance != "" {
		return c.instance
	}
	return labfe.InstanceFromEpid(c.epid)
}

func (c *client) newRegister(expires int) *sipmsg.Message {
	c.cseq++
	m := &sipmsg.Message{Method: "REGISTER", RequestURI: "sip:contoso.test"}
	m.Add("Via", "SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bK"+strconv.Itoa(c.cseq)+c.epid)
	m.Add("Max-Forwards", "70")
	m.Add("From", "<sip:"+c.aor+">;tag="+c.tag+";epid="+c.epid)
	m.Add("To", "<sip:"+c.aor+">")
	m.Add("Call-ID", c.callID)
	m.Add("CSeq", strconv.Itoa(c.cseq)+" REGISTER")
	m.Add("Contact", `<sip:127.0.0.1:5061;transport=tls;ms-opaque=d3470f2e1d>;methods="INVITE, MESSAGE, INFO, SUBSCRIBE, OPTIONS, BYE, CANCEL, NOTIFY, ACK, REFER, BENOTIFY";proxy=replace;+sip.instance="<urn:uuid:`+c.instanceUUID()+`>"`)
	m.Add("Supported", "gruu-10, adhoclist, msrtc-event-categories, com.microsoft.msrtc.presence")
	m.Add("Event", "registration")
	m.Add("ms-keep-alive", "UAC;hop-hop=yes")
	if expires >= 0 {
		m.Add("Expires", strconv.Itoa(expires))
	}
	return m
}

func (c *client) send(m *sipmsg.Message) {
	c.t.Helper()
	if _, err := c.conn.Write(m.Marshal()); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// read returns the next message, or nil when the flow was closed.
func (c *client) read() *sipmsg.Message {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	m, _, err := sipmsg.Read(c.r)
	if err != nil {
		return nil
	}
	return m
}

func (c *client) roundTrip(m *sipmsg.Message) *sipmsg.Message {
	c.t.Helper()
	c.send(m)
	r := c.read()
	if r == nil {
		c.t.Fatalf("%s: flow closed, no response", m.Method)
	}
	return r
}

// sign adds a client signature (version 4 buffer) with the given cnum.
func (c *client) signWith(m *sipmsg.Message, cnum int, gssapi string) {
	crand := fmt.Sprintf("%08x", cnum*7919)
	buf := labfe.SignatureBuffer(m, "NTLM", crand, strconv.Itoa(cnum), c.fqdn)
	sig := c.sess.Sign(buf, ntlmsrv.SIPSeqNum)
	gd := ""
	if gssapi != "" {
		gd = fmt.Sprintf(`, gssapi-data="%s"`, gssapi)
	}
	m.Set(c.authHeader(), fmt.Sprintf(`NTLM qop="auth", opaque="%s", realm="SIP Communications Service", targetname="%s"%s, version=4, crand="%s", cnum="%d", response="%s"`,
		c.opaque, c.fqdn, gd, crand, cnum, hex.EncodeToString(sig)))
}

func (c *client) sign(m *sipmsg.Message) {
	c.cnum++
	c.signWith(m, c.cnum, "")
}

// verifyServer checks the Authentication-Info of a labfe message.
func (c *client) verifyServer(m *sipmsg.Message) error {
	info := "Authentication-Info"
	if c.proxy {
		info = "Proxy-Authentication-Info"
	}
	v, ok := m.Get(info)
	if !ok {
		return fmt.Errorf("unsigned %s %d", m.Method, m.StatusCode)
	}
	p := params(v)
	buf := labfe.SignatureBuffer(m, "NTLM", p["srand"], p["snum"], c.fqdn)
	sig, err := hex.DecodeString(p["rspauth"])
	if err != nil {
		return err
	}
	return c.sess.Verify(buf, sig, ntlmsrv.SIPSeqNum)
}

func params(v string) map[string]string {
	out := map[string]string{}
	_, rest, _ := strings.Cut(v, " ")
	for _, kv := range strings.Split(rest, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(kv), "=")
		out[strings.ToLower(k)] = strings.Trim(val, `"`)
	}
	return out
}

// handshake runs steps 1 and 2 and returns the CHALLENGE bytes.
func (c *client) handshake() []byte {
	c.t.Helper()
	code, chHdr := 401, "WWW-Authenticate"
	if c.proxy {
		code, chHdr = 407, "Proxy-Authenticate"
	}
	r := c.roundTrip(c.newRegister(-1))
	if r.StatusCode != code || !strings.HasPrefix(r.Value(chHdr), "NTLM ") {
		c.t.Fatalf("step 1: %d %q", r.StatusCode, r.Value(chHdr))
	}
	m := c.newRegister(-1)
	m.Add(c.authHeader(), `NTLM qop="auth", realm="SIP Communications Service", targetname="pool.contoso.test", gssapi-data="", version=4`)
	r = c.roundTrip(m)
	p := params(r.Value(chHdr))
	if r.StatusCode != code || p["opaque"] == "" || p["gssapi-data"] == "" {
		c.t.Fatalf("step 2: %d %q", r.StatusCode, r.Value(chHdr))
	}
	c.opaque = p["opaque"]
	chal, err := base64.StdEncoding.DecodeString(p["gssapi-data"])
	if err != nil {
		c.t.Fatal(err)
	}
	return chal
}

// authRegister runs step 3 and returns the response; tamper corrupts the
// signature.
func (c *client) authRegister(user, domain, password string, tamper bool) *sipmsg.Message {
	c.t.Helper()
	chal := c.handshake()
	auth, sess, err := ntlmsrv.Authenticate(chal, user, domain, password, "HANDSET", c.rand, time.Now())
	if err != nil {
		c.t.Fatal(err)
	}
	c.sess = sess
	m := c.newRegister(3600)
	c.cnum = 1
	c.signWith(m, 1, base64.StdEncoding.EncodeToString(auth))
	if tamper {
		v := m.Value(c.authHeader())
		i := strings.Index(v, `response="`) + len(`response="`)
		flip := byte('0')
		if v[i] == '0' {
			flip = '1'
		}
		m.Set(c.authHeader(), v[:i]+string(flip)+v[i+1:])
	}
	return c.roundTrip(m)
}

func (c *client) mustRegister(user, password string) *sipmsg.Message {
	c.t.Helper()
	r := c.authRegister(user, "CONTOSO", password, false)
	if r.StatusCode != 200 {
		c.t.Fatalf("register %s: %d %s %s", c.aor, r.StatusCode, r.Reason, r.Value("ms-diagnostics"))
	}
	if err := c.verifyServer(r); err != nil {
		c.t.Fatalf("200 OK signature: %v", err)
	}
	return r
}

func ntlmAuthenticate(chal []byte, user, domain, password string, c *client) (string, *ntlmsrv.Session, error) {
	auth, sess, err := ntlmsrv.Authenticate(chal, user, domain, password, "HANDSET", c.rand, time.Now())
	return base64.StdEncoding.EncodeToString(auth), sess, err
}
