package bench

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/handset-dev/handset/auth/ntlm"
	"github.com/handset-dev/handset/auth/sipae"
	"github.com/handset-dev/handset/sipua/provision"
)

// bareClient is B4b's baseline (PERFORMANCE.md §6, the "regtls-style"
// client kept in the bench package): crypto/tls, SIP as text on one
// connection, auth/ntlm and auth/sipae for the NTLM sign-in and signatures,
// no SIP stack, no transactions, no timers. It does the same exchanges as a
// handset: three REGISTERs and the three self-SUBSCRIBEs, verifying the
// server's signatures. What sipua costs above it is the stack's overhead.
type bareClient struct {
	conn  net.Conn
	r     *bufio.Reader
	aor   string
	dom   string
	user  string
	pw    string
	epid  string
	local string
	sa    *sipae.SA
	cseq  int
	rand  io.Reader
	now   func() time.Time
}

var errBare = errors.New("bench: bare client")

// bareSignIn dials addr and signs in as aor, then makes the self-subscriptions.
// The connection stays open (for B5's floor-free accounting it is closed by
// the caller).
func bareSignIn(addr string, tc *tls.Config, aor, dom, user, pw, epid string, rnd io.Reader) (*bareClient, error) {
	conn, err := tls.Dial("tcp", addr, tc)
	if err != nil {
		return nil, fmt.Errorf("%w: dial: %w", errBare, err)
	}
	c := &bareClient{conn: conn, r: bufio.NewReaderSize(conn, 4096), aor: aor, dom: dom, user: user, pw: pw, epid: epid,
		local: conn.LocalAddr().String(), rand: rnd, now: time.Now}
	if err := c.signIn(); err != nil {
		_ = conn.Close()
		return nil, err
	}
	if err := c.subscribe(); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return c, nil
}

func (c *bareClient) close() { _ = c.conn.Close() }

type bareMsg struct {
	status  int
	headers map[string][]string
	body    []byte
}

func (m *bareMsg) get(name string) string {
	if v := m.headers[strings.ToLower(name)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (c *bareClient) read() (*bareMsg, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("%w: read: %w", errBare, err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			continue // keep-alive CRLFs
		}
		m := &bareMsg{headers: map[string][]string{}}
		f := strings.Fields(line)
		if len(f) < 2 || !strings.HasPrefix(f[0], "SIP/") {
			return nil, fmt.Errorf("%w: unexpected %q", errBare, line)
		}
		m.status, _ = strconv.Atoi(f[1])
		for {
			h, err := c.r.ReadString('\n')
			if err != nil {
				return nil, fmt.Errorf("%w: read: %w", errBare, err)
			}
			h = strings.TrimRight(h, "\r\n")
			if h == "" {
				break
			}
			k, v, _ := strings.Cut(h, ":")
			k = strings.ToLower(strings.TrimSpace(k))
			m.headers[k] = append(m.headers[k], strings.TrimSpace(v))
		}
		if n, _ := strconv.Atoi(m.get("content-length")); n > 0 {
			m.body = make([]byte, n)
			if _, err := io.ReadFull(c.r, m.body); err != nil {
				return nil, fmt.Errorf("%w: body: %w", errBare, err)
			}
		}
		return m, nil
	}
}

// request renders one request; auth is the Authorization value or "".
func (c *bareClient) request(method, ruri, callID, fromTag, toTag string, extra []provision.Header, body []byte, auth string) []byte {
	c.cseq++
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\n", method, ruri)
	fmt.Fprintf(&b, "Via: SIP/2.0/TLS %s;branch=z9hG4bK%x%d\r\n", c.local, c.cseq, time.Now().UnixNano())
	b.WriteString("Max-Forwards: 70\r\n")
	fmt.Fprintf(&b, "From: <sip:%s>;tag=%s;epid=%s\r\n", c.aor, fromTag, c.epid)
	if toTag != "" {
		fmt.Fprintf(&b, "To: <sip:%s>;tag=%s\r\n", c.aor, toTag)
	} else {
		fmt.Fprintf(&b, "To: <sip:%s>\r\n", c.aor)
	}
	fmt.Fprintf(&b, "Call-ID: %s\r\nCSeq: %d %s\r\n", callID, c.cseq, method)
	fmt.Fprintf(&b, "Contact: <sip:%s;transport=tls;ms-opaque=d3470f2e1d>;methods=\"INVITE, MESSAGE, INFO, SUBSCRIBE, OPTIONS, BYE, CANCEL, NOTIFY, ACK, REFER, BENOTIFY\";proxy=replace;+sip.instance=\"<urn:uuid:%s>\"\r\n",
		c.local, sipae.InstanceFromEpid(c.epid))
	for _, h := range extra {
		fmt.Fprintf(&b, "%s: %s\r\n", h.Name, h.Value)
	}
	if auth != "" {
		fmt.Fprintf(&b, "Authorization: %s\r\n", auth)
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(body))
	b.Write(body)
	return []byte(b.String())
}

func (c *bareClient) fields(method, callID, fromTag, toTag, expires string, status int) sipae.SignedFields {
	return sipae.SignedFields{CallID: callID, CSeqNum: strconv.Itoa(c.cseq), CSeqMethod: method,
		FromURI: "sip:" + c.aor, FromTag: fromTag, ToURI: "sip:" + c.aor, ToTag: toTag, Expires: expires, StatusCode: status}
}

func (c *bareClient) roundTrip(msg []byte) (*bareMsg, error) {
	if _, err := c.conn.Write(msg); err != nil {
		return nil, fmt.Errorf("%w: write: %w", errBare, err)
	}
	return c.read()
}

// verify checks the server's signature on a final response.
func (c *bareClient) verify(m *bareMsg, f sipae.SignedFields) error {
	p, err := sipae.Parse(m.get("authentication-info"))
	if err != nil {
		return fmt.Errorf("%w: %d unsigned: %w", errBare, m.status, err)
	}
	if err := c.sa.Verify(f, p); err != nil {
		return fmt.Errorf("%w: %w", errBare, err)
	}
	return nil
}

func toTag(m *bareMsg) string {
	_, p, _ := strings.Cut(m.get("to"), ";tag=")
	t, _, _ := strings.Cut(p, ";")
	return t
}

func (c *bareClient) signIn() error {
	_, domain, _ := strings.Cut(c.aor, "@")
	callID, tag := fmt.Sprintf("bare%s", c.epid), "t"+c.epid
	reg := []provision.Header{{Name: "Supported", Value: "gruu-10, adhoclist, msrtc-event-categories, com.microsoft.msrtc.presence"},
		{Name: "Event", Value: "registration"}, {Name: "ms-keep-alive", Value: "UAC;hop-hop=yes"}, {Name: "Expires", Value: "3600"}}
	res, err := c.roundTrip(c.request("REGISTER", "sip:"+domain, callID, tag, "", reg, nil, ""))
	if err != nil {
		return err
	}
	var ch sipae.Params
	for _, h := range res.headers["www-authenticate"] {
		if p, perr := sipae.Parse(h); perr == nil && strings.EqualFold(string(p.Scheme), "NTLM") {
			ch = p
		}
	}
	if res.status != 401 || ch.Scheme == "" {
		return fmt.Errorf("%w: REGISTER 1: %d", errBare, res.status)
	}
	p2 := sipae.Params{Scheme: ch.Scheme, Qop: "auth", Realm: ch.Realm, TargetName: ch.TargetName, HasGssapi: true, Version: ch.Version}
	res, err = c.roundTrip(c.request("REGISTER", "sip:"+domain, callID, tag, "", reg, nil, p2.String()))
	if err != nil {
		return err
	}
	for _, h := range res.headers["www-authenticate"] {
		if p, perr := sipae.Parse(h); perr == nil && p.GssapiData != "" {
			ch = p
		}
	}
	token, err := base64.StdEncoding.DecodeString(ch.GssapiData)
	if res.status != 401 || err != nil || len(token) == 0 {
		return fmt.Errorf("%w: REGISTER 2: %d", errBare, res.status)
	}
	authMsg, sess, err := ntlm.Authenticate(ntlm.ClientConfig{
		Credentials: ntlm.Credentials{Domain: c.dom, User: c.user, Workstation: "HANDSET", Password: c.pw}, Rand: c.rand, Now: c.now,
	}, token)
	if err != nil {
		return fmt.Errorf("%w: %w", errBare, err)
	}
	c.sa = sipae.NewClientSA(sipae.SAConfig{Rand: c.rand})
	if berr := c.sa.Begin(ch); berr != nil {
		return fmt.Errorf("%w: %w", errBare, berr)
	}
	if eerr := c.sa.Establish(sipae.NTLMMechanism(sess), ch.Opaque); eerr != nil {
		return fmt.Errorf("%w: %w", errBare, eerr)
	}
	c.cseq++ // the signed fields carry the CSeq request() is about to use
	f := c.fields("REGISTER", callID, tag, "", "3600", 0)
	c.cseq--
	p3, err := c.sa.Sign(f)
	if err != nil {
		return fmt.Errorf("%w: %w", errBare, err)
	}
	p3.GssapiData, p3.HasGssapi = base64.StdEncoding.EncodeToString(authMsg), true
	res, err = c.roundTrip(c.request("REGISTER", "sip:"+domain, callID, tag, "", reg, nil, p3.String()))
	if err != nil {
		return err
	}
	if res.status != 200 {
		return fmt.Errorf("%w: REGISTER 3: %d %s", errBare, res.status, res.get("ms-diagnostics"))
	}
	return c.verify(res, c.fields("REGISTER", callID, tag, toTag(res), res.get("expires"), 200))
}

func (c *bareClient) subscribe() error {
	for i, s := range provision.SelfSubscriptions() {
		callID, tag := fmt.Sprintf("bs%d%s", i, c.epid), fmt.Sprintf("s%d", i)
		hs := s.Headers
		expires := "0"
		if s.Event != provision.Event {
			expires = "3600"
			hs = append(append([]provision.Header(nil), hs...), provision.Header{Name: "Expires", Value: expires})
		}
		c.cseq++
		p, err := c.sa.Sign(c.fields("SUBSCRIBE", callID, tag, "", expires, 0))
		c.cseq--
		if err != nil {
			return fmt.Errorf("%w: %w", errBare, err)
		}
		res, err := c.roundTrip(c.request("SUBSCRIBE", "sip:"+c.aor, callID, tag, "", hs, s.Body, p.String()))
		if err != nil {
			return err
		}
		if res.status != 200 {
			return fmt.Errorf("%w: SUBSCRIBE %s: %d %s", errBare, s.Event, res.status, res.get("ms-diagnostics"))
		}
		if err := c.verify(res, c.fields("SUBSCRIBE", callID, tag, toTag(res), res.get("expires"), 200)); err != nil {
			return err
		}
	}
	return nil
}
