package websvc_test

import (
	"context"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/handset-dev/handset/auth/certprov"
	"github.com/handset-dev/handset/auth/ntlm"
	"github.com/handset-dev/handset/auth/tlsdsk"
	"github.com/handset-dev/handset/auth/webticket"
	"github.com/handset-dev/handset/certrenew"
	"github.com/handset-dev/handset/configs"
	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/labfe/websvc"
)

// The handset's packages (webticket, certprov, tlsdsk client) against
// labfe's web services and the tlsdsk server pump: PIN → web ticket →
// certificate → TLS-DSK handshake → signed buffer verified.

func loadPair(t testing.TB, name string) *tls.Certificate {
	t.Helper()
	c, err := tls.LoadX509KeyPair("testdata/"+name+".crt", "testdata/"+name+".key")
	if err != nil {
		t.Fatal(err)
	}
	if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
		t.Fatal(err)
	}
	return &c
}

func userKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	b, err := os.ReadFile("testdata/user.key")
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PrivateKey)
}

type env struct {
	t     *testing.T
	svc   *websvc.Service
	srv   *httptest.Server
	ca    *tls.Certificate
	now   time.Time
	clock func() time.Time
}

func newEnv(t *testing.T, mod func(*websvc.Config)) *env {
	t.Helper()
	ca := loadPair(t, "ca")
	now := ca.Leaf.NotBefore.Add(48 * time.Hour)
	clock := func() time.Time { return now }
	cfg := websvc.Config{
		CA: ca,
		Users: []websvc.User{{
			Address: "sip:alice@lab.test", UserID: "alice", Domain: "LAB", Password: configs.NewSecret("Secret1!"),
			Extension: "4001", PIN: configs.NewSecret("135790"),
		}},
		CertLifetime: 90 * time.Minute, MaxPINFailures: 3,
		NbDomain: "LAB", NbComputer: "FE", DNSDomain: "lab.test", DNSComputer: "fe.lab.test",
	}
	if mod != nil {
		mod(&cfg)
	}
	svc, err := websvc.New(cfg, websvc.WithClock(clock), websvc.WithRand(testutil.NewReader(7)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(svc)
	t.Cleanup(srv.Close)
	return &env{t: t, svc: svc, srv: srv, ca: ca, now: now, clock: clock}
}

func (e *env) stsURI() string { return e.srv.URL + websvc.PathCertProv }

func (e *env) ticketClient(cred webticket.Credential) *webticket.Client {
	e.t.Helper()
	c, err := webticket.New(webticket.Config{CertProvURL: e.stsURI()}, cred,
		webticket.WithHTTPClient(e.srv.Client()), webticket.WithClock(e.clock), webticket.WithRand(testutil.NewReader(11)))
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) certClient(wt *webticket.Client, user string) *certprov.Client {
	e.t.Helper()
	md, err := wt.Metadata(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	key := userKey(e.t)
	c, err := certprov.New(certprov.Config{URL: md.AuthURL, User: user, DeviceID: "01234567-89ab-4cde-8f01-23456789abcd"}, wt,
		certprov.WithHTTPClient(e.srv.Client()), certprov.WithClock(e.clock), certprov.WithRand(testutil.NewReader(13)),
		certprov.WithKeyGenerator(func(io.Reader) (*rsa.PrivateKey, error) { return key, nil }))
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func TestPINToTLSDSK(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	e := newEnv(t, nil)
	ctx := context.Background()
	wt := e.ticketClient(&webticket.PIN{Extension: "4001", PIN: "135790"})
	ticket, err := wt.Ticket(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ticket.Subject != "sip:alice@lab.test" {
		t.Fatalf("ticket subject %q", ticket.Subject)
	}
	if s := ticket.String(); strings.Contains(s, string(ticket.Assertion)) || !strings.Contains(s, "[redacted]") {
		t.Errorf("ticket not redacted: %s", s)
	}
	user := strings.TrimPrefix(ticket.Subject, "sip:")
	var store certrenew.Store
	cert, err := e.certClient(wt, user).Provision(ctx, &store)
	if err != nil {
		t.Fatal(err)
	}
	if got := cert.Leaf.NotAfter.Sub(e.now); got != 90*time.Minute {
		t.Errorf("lifetime %v", got)
	}
	if e.svc.Issued() != 1 {
		t.Errorf("issued %d", e.svc.Issued())
	}

	// TLS-DSK with the new certificate: client pump (handset) ↔ server pump (labfe).
	c, err := tlsdsk.NewClient(tlsdsk.ClientConfig{ServerName: "fe.lab.test", RootCAs: e.svc.CertPool(), Store: &store},
		tlsdsk.WithClock(e.clock))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := tlsdsk.NewServer(tlsdsk.ServerConfig{Certificate: loadPair(t, "fe"), ClientCAs: e.svc.CertPool()},
		tlsdsk.WithClock(e.clock))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	flight, _, err := c.Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	for done := false; !done; {
		in, derr := tlsdsk.DecodeGSSAPIData(tlsdsk.EncodeGSSAPIData(flight))
		if derr != nil {
			t.Fatal(derr)
		}
		back, _, serr := s.Step(in)
		if serr != nil {
			t.Fatalf("server: %v", serr)
		}
		if flight, done, err = c.Step(back); err != nil {
			t.Fatalf("client: %v", err)
		}
	}
	peer, err := s.PeerCertificate()
	if err != nil || peer.Subject.CommonName != "alice@lab.test" {
		t.Fatalf("peer %v %v", peer, err)
	}
	cm, _ := c.Mechanism()
	sm, _ := s.Mechanism()
	buf := []byte("<TLS-DSK><0a1b2c3d><1><SIP Communications Service><fe.lab.test><cid><2><REGISTER><sip:alice@lab.test><tag><sip:alice@lab.test><><><><>")
	sig, _ := cm.Sign(buf)
	if err := sm.Verify(buf, sig); err != nil {
		t.Fatalf("signed REGISTER refused: %v", err)
	}
}

func TestNTLMTicket(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	e := newEnv(t, nil)
	ctx := context.Background()
	cred := func(pw string) *webticket.NTLM {
		return &webticket.NTLM{SIPURI: "sip:alice@lab.test", Config: ntlm.ClientConfig{
			Credentials: ntlm.Credentials{Domain: "LAB", User: "alice", Workstation: "HANDSET", Password: pw},
			Rand:        testutil.NewReader(5), Now: e.clock}}
	}
	wt := e.ticketClient(cred("Secret1!"))
	if _, err := e.certClient(wt, "alice@lab.test").Issue(ctx); err != nil {
		t.Fatal(err)
	}
	bad := e.ticketClient(cred("wrong"))
	_, err := bad.Ticket(ctx)
	var se *webticket.ServiceError
	if !errors.Is(err, webticket.ErrAuth) || !errors.As(err, &se) || se.Diagnostics == "" || se.FaultString == "" {
		t.Fatalf("wrong password: %v", err)
	}
	// A claim for another user is refused even with the right password.
	other := cred("Secret1!")
	other.SIPURI = "sip:bob@lab.test"
	if _, err := e.ticketClient(other).Ticket(ctx); !errors.As(err, &se) || se.Status != 403 {
		t.Fatalf("foreign claim: %v", err)
	}
}

func TestPINLockout(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	e := newEnv(t, nil)
	ctx := context.Background()
	for i := range 3 {
		_, err := e.ticketClient(&webticket.PIN{Extension: "4001", PIN: "000000"}).Ticket(ctx)
		var se *webticket.ServiceError
		if !errors.As(err, &se) || se.Status != 401 || !errors.Is(err, webticket.ErrAuth) {
			t.Fatalf("wrong PIN %d: %v", i, err)
		}
	}
	_, err := e.ticketClient(&webticket.PIN{Extension: "4001", PIN: "135790"}).Ticket(ctx)
	var se *webticket.ServiceError
	if !errors.As(err, &se) || se.Status != 403 || !strings.Contains(se.Diagnostics, "locked") {
		t.Fatalf("locked extension: %v", err)
	}
	e.svc.UnlockPIN("4001")
	if _, err := e.ticketClient(&webticket.PIN{Extension: "4001", PIN: "135790"}).Ticket(ctx); err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	if _, err := e.ticketClient(&webticket.PIN{Extension: "9999", PIN: "135790"}).Ticket(ctx); !errors.Is(err, webticket.ErrAuth) {
		t.Fatalf("unknown extension: %v", err)
	}
}

func TestCertificateRefusals(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	ctx := context.Background()
	t.Run("short lifetime refused by handset", func(t *testing.T) {
		e := newEnv(t, func(c *websvc.Config) { c.CertLifetime = 30 * time.Minute })
		wt := e.ticketClient(&webticket.PIN{Extension: "4001", PIN: "135790"})
		var short *certrenew.ShortCertificateError
		if _, err := e.certClient(wt, "alice@lab.test").Issue(ctx); !errors.As(err, &short) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("entity of another user", func(t *testing.T) {
		e := newEnv(t, nil)
		wt := e.ticketClient(&webticket.PIN{Extension: "4001", PIN: "135790"})
		var se *certprov.ServiceError
		if _, err := e.certClient(wt, "bob@lab.test").Issue(ctx); !errors.As(err, &se) || se.Status != 403 {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("tampered signature", func(t *testing.T) {
		e := newEnv(t, nil)
		wt := e.ticketClient(&webticket.PIN{Extension: "4001", PIN: "135790"})
		md, _ := wt.Metadata(ctx)
		key := userKey(t)
		c, _ := certprov.New(certprov.Config{URL: md.AuthURL, User: "alice@lab.test", DeviceID: "d"}, tamper{wt},
			certprov.WithHTTPClient(e.srv.Client()), certprov.WithClock(e.clock),
			certprov.WithKeyGenerator(func(io.Reader) (*rsa.PrivateKey, error) { return key, nil }))
		var se *certprov.ServiceError
		if _, err := c.Issue(ctx); !errors.As(err, &se) || se.Outcome() != certprov.OutcomeAuthRejected || !strings.Contains(se.Diagnostics, "28021") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ticket of another service", func(t *testing.T) {
		e1, e2 := newEnv(t, nil), newEnv(t, nil)
		wt := e1.ticketClient(&webticket.PIN{Extension: "4001", PIN: "135790"})
		md, _ := e2.ticketClient(&webticket.PIN{}).Metadata(ctx)
		key := userKey(t)
		c, _ := certprov.New(certprov.Config{URL: md.AuthURL, User: "alice@lab.test", DeviceID: "d"}, wt,
			certprov.WithHTTPClient(e2.srv.Client()), certprov.WithClock(e2.clock),
			certprov.WithKeyGenerator(func(io.Reader) (*rsa.PrivateKey, error) { return key, nil }))
		var se *certprov.ServiceError
		if _, err := c.Issue(ctx); !errors.As(err, &se) || !strings.Contains(se.Diagnostics, "28020") {
			t.Fatalf("err = %v", err)
		}
	})
}

// tamper flips one character of the signature value.
type tamper struct{ wt *webticket.Client }

func (t tamper) SecurityHeader(ctx context.Context) ([]byte, error) {
	h, err := t.wt.SecurityHeader(ctx)
	if err != nil {
		return nil, err
	}
	i := strings.Index(string(h), "<SignatureValue>") + len("<SignatureValue>")
	if h[i] == 'A' {
		h[i] = 'B'
	} else {
		h[i] = 'A'
	}
	return h, nil
}

func TestMalformedRequests(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	e := newEnv(t, nil)
	post := func(path, body string) *http.Response {
		resp, err := e.srv.Client().Post(e.srv.URL+path, "text/xml", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	for _, tc := range []struct {
		name, path, body string
		status           int
	}{
		{"bomb", websvc.PathWebTicketPIN, `<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>&b;</s:Body></s:Envelope>`, 400},
		{"oversized", websvc.PathCertProvProof, "<a>" + strings.Repeat("x", websvc.MaxRequest+1), 413},
		{"not xml", websvc.PathCertProvProof, "hello", 400},
		{"empty envelope", websvc.PathCertProvProof, `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>`, 400},
		{"ntlm without auth", websvc.PathWebTicketAuth, "<x/>", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := post(tc.path, tc.body)
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if resp.Header.Get("X-Ms-Diagnostics") == "" {
				t.Error("no X-Ms-Diagnostics")
			}
		})
	}
}

func configsSecret(s string) configs.Secret { return configs.NewSecret(s) }

func newTLSServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// A front end restart forgets every web ticket: the next GetAndPublishCert
// is refused (401), the handset drops its cached ticket, and the attempt
// after that succeeds with a fresh one.
func TestTicketForgottenAfterRestart(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	e := newEnv(t, nil)
	var cur atomic.Pointer[websvc.Service]
	cur.Store(e.svc)
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { cur.Load().ServeHTTP(w, r) }))
	e.srv = srv
	ctx := context.Background()
	wt := e.ticketClient(&webticket.PIN{Extension: "4001", PIN: "135790"})
	cp := e.certClient(wt, "alice@lab.test")
	if _, err := cp.Issue(ctx); err != nil {
		t.Fatal(err)
	}
	restarted := newEnv(t, nil).svc
	cur.Store(restarted)
	var se *certprov.ServiceError
	if _, err := cp.Issue(ctx); !errors.As(err, &se) || se.Outcome() != certprov.OutcomeAuthRejected {
		t.Fatalf("stale ticket: %v", err)
	}
	if _, err := cp.Issue(ctx); err != nil {
		t.Fatalf("after re-ticketing: %v", err)
	}
	if restarted.Issued() != 1 {
		t.Errorf("restarted service issued %d", restarted.Issued())
	}
}
