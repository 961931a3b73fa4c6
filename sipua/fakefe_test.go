package sipua

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/handset-dev/handset/auth/ntlm"
	"github.com/handset-dev/handset/auth/sipae"
	"github.com/handset-dev/handset/internal/testutil"
)

// This file is a small strict registrar for the package's own tests, used
// until (and besides) labfe: TLS with a test CA, the three-REGISTER flow with a
// fake "NTLM" (HMAC over a server nonce), signing and verification.

// fakeSigner signs with HMAC-SHA256 (client key) and verifies with the
// server key; the fake server does the mirror image.
type fakeSigner struct{ signKey, verifyKey []byte }

func (s fakeSigner) Sign(buf []byte) (string, error) { return macHex(s.signKey, buf), nil }

func (s fakeSigner) Verify(buf []byte, sig string) error {
	if !hmac.Equal([]byte(strings.ToLower(sig)), []byte(macHex(s.verifyKey, buf))) {
		return errors.New("fake: bad signature")
	}
	return nil
}

func macHex(key, buf []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(buf)
	return hex.EncodeToString(m.Sum(nil)[:16])
}

func fakeKeys(password string, nonce []byte) (proof, client, server []byte) {
	d := func(label string) []byte {
		m := hmac.New(sha256.New, []byte(password))
		m.Write([]byte(label))
		m.Write(nonce)
		return m.Sum(nil)
	}
	return d("proof"), d("client"), d("server")
}

// fakeAuth is the client half.
func fakeAuth(password string) authenticator {
	return authenticatorFunc(func(nonce []byte) ([]byte, signer, error) {
		p, c, s := fakeKeys(password, nonce)
		return p, fakeSigner{signKey: c, verifyKey: s}, nil
	})
}

type testCA struct {
	pool     *x509.CertPool
	cert     tls.Certificate
	caPEMDER []byte
}

func newTestCA(t *testing.T, hosts ...string) *testCA {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: hosts[0]}, DNSNames: hosts,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return &testCA{pool: pool, cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, caPEMDER: caDER}
}

type fakeFE struct {
	t        *testing.T
	addr     string
	ca       *testCA
	password string
	expires  int
	kaSecs   int

	mu          sync.Mutex
	sas         map[string]signer // opaque → server-side signer
	realNTLM    bool              // auth/ntlm acceptor instead of the HMAC stand-in
	challenges  map[string]*ntlm.ServerChallenge
	nonces      map[string][]byte
	registers   int
	authFails   int
	unregisters int
	reAuths     int
	redirectTo  string // answer every REGISTER with 301 to this host:port
	fail503     int    // answer this many first REGISTERs with 503 Retry-After
	reject401   int    // answer this many signed re-REGISTERs with 401
	tamper      bool   // corrupt our signatures
	snum        int
	keepalives  int
	rand        io.Reader // nonces; seeded for golden transcripts
	tags        int
}

func startFakeFE(t *testing.T, host string) *fakeFE {
	t.Helper()
	return startFakeFEWithCA(t, newTestCA(t, host))
}

func startFakeFEWithCA(t *testing.T, ca *testCA) *fakeFE {
	t.Helper()
	fe := &fakeFE{t: t, ca: ca, password: "Passw0rd!", expires: 3600, kaSecs: 300,
		sas: map[string]signer{}, challenges: map[string]*ntlm.ServerChallenge{}, nonces: map[string][]byte{}, rand: testutil.NewReader(7)}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("RTC/5.0"), sipgo.WithUserAgentParser(NewParser()),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerReadFilter(func(p sip.TransportReadProps, b []byte) ([]byte, error) {
			if string(b) == "\r\n\r\n" {
				fe.mu.Lock()
				fe.keepalives++
				fe.mu.Unlock()
			}
			return b, nil
		})))
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := sipgo.NewServer(ua)
	srv.OnRegister(fe.onRegister)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tl := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{fe.ca.cert}, MinVersion: tls.VersionTLS12})
	fe.addr = ln.Addr().String()
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.ServeTLS(tl) }()
	t.Cleanup(func() {
		_ = tl.Close()
		<-done
		_ = ua.Close()
	})
	return fe
}

func (fe *fakeFE) respond(req *sip.Request, tx sip.ServerTransaction, code int, reason string, hdrs ...sip.Header) *sip.Response {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	fe.tags++
	res.To().Params.Add("tag", fmt.Sprintf("fe%04d", fe.tags))
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	return res
}

func (fe *fakeFE) onRegister(req *sip.Request, tx sip.ServerTransaction) {
	fe.mu.Lock()
	defer fe.mu.Unlock()
	fe.registers++
	defer func() {
		if r := recover(); r != nil {
			fe.t.Errorf("fake FE panic: %v", r)
		}
	}()
	const realm, tn = "SIP Communications Service", "pool.contoso.test"
	authz := req.GetHeader("Authorization")
	if fe.redirectTo != "" {
		_ = tx.Respond(fe.respond(req, tx, 301, "Moved Permanently", sip.NewHeader("Contact", "<sip:"+fe.redirectTo+";transport=tls>")))
		return
	}
	if authz == nil && fe.fail503 > 0 {
		fe.fail503--
		_ = tx.Respond(fe.respond(req, tx, 503, "Service Unavailable", sip.NewHeader("Retry-After", "1"),
			sip.NewHeader("ms-diagnostics", `1008;reason="Unable to resolve DNS SRV record"`)))
		return
	}
	if authz == nil {
		res := fe.respond(req, tx, 401, "Unauthorized",
			sip.NewHeader("WWW-Authenticate", `Kerberos realm="SIP Communications Service", targetname="sip/pool.contoso.test", version=4`),
			sip.NewHeader("WWW-Authenticate", `NTLM realm="SIP Communications Service", targetname="pool.contoso.test", version=4`))
		_ = tx.Respond(res)
		return
	}
	p, err := sipae.Parse(authz.Value())
	if err != nil {
		_ = tx.Respond(fe.respond(req, tx, 400, "Bad Request"))
		return
	}
	if p.HasGssapi && p.GssapiData == "" {
		nonce := make([]byte, 8)
		_, _ = io.ReadFull(fe.rand, nonce)
		opaque := fmt.Sprintf("%08X", len(fe.nonces)+1)
		fe.nonces[opaque] = nonce
		if fe.realNTLM {
			sc, msg, err := ntlm.NewChallenge(ntlm.AcceptorConfig{NbDomain: "CONTOSO", NbComputer: "POOL", DNSDomain: "contoso.test",
				DNSComputer: "pool.contoso.test", Rand: fe.rand, Now: fixedNow}, true)
			if err != nil {
				fe.t.Errorf("ntlm challenge: %v", err)
				return
			}
			fe.challenges[opaque] = sc
			nonce = msg
		}
		_ = tx.Respond(fe.respond(req, tx, 401, "Unauthorized", sip.NewHeader("WWW-Authenticate",
			fmt.Sprintf(`NTLM opaque="%s", gssapi-data="%s", targetname="%s", realm="%s", version=4`, opaque, base64.StdEncoding.EncodeToString(nonce), tn, realm))))
		return
	}
	opaque := p.Opaque
	sa, haveSA := fe.sas[opaque]
	if gd := p.GssapiData; gd != "" && fe.realNTLM {
		got, _ := base64.StdEncoding.DecodeString(gd)
		sc := fe.challenges[opaque]
		if sc == nil {
			_ = tx.Respond(fe.respond(req, tx, 401, "Unauthorized"))
			return
		}
		sess, _, err := sc.Accept(got, func(domain, user string) (string, bool) { return fe.password, user == "alice" })
		if err != nil {
			fe.authFails++
			_ = tx.Respond(fe.respond(req, tx, 401, "Unauthorized", sip.NewHeader("ms-diagnostics", `1000;reason="Final handshake failed"`)))
			return
		}
		sa = sipae.NTLMMechanism(sess)
		fe.sas[opaque] = sa
		fe.reAuths++
	} else if gd != "" {
		nonce := fe.nonces[opaque]
		proof, c, s := fakeKeys(fe.password, nonce)
		got, _ := base64.StdEncoding.DecodeString(gd)
		if nonce == nil || !hmac.Equal(got, proof) {
			fe.authFails++
			_ = tx.Respond(fe.respond(req, tx, 401, "Unauthorized", sip.NewHeader("ms-diagnostics", `1000;reason="Final handshake failed"`)))
			return
		}
		sa = fakeSigner{signKey: s, verifyKey: c}
		fe.sas[opaque] = sa
		fe.reAuths++
	} else if !haveSA {
		_ = tx.Respond(fe.respond(req, tx, 401, "Unauthorized"))
		return
	}
	f := messageFields(req)
	f.Scheme, f.Rand, f.Num, f.Realm, f.TargetName = "NTLM", p.Crand, p.Cnum, realm, tn
	if err := sa.Verify(sipae.Buffer(4, f), p.Response); err != nil {
		_ = tx.Respond(fe.respond(req, tx, 401, "Unauthorized", sip.NewHeader("ms-diagnostics", `1001;reason="bad signature"`)))
		return
	}
	if p.GssapiData == "" && fe.reject401 > 0 {
		fe.reject401--
		delete(fe.sas, opaque)
		_ = tx.Respond(fe.respond(req, tx, 401, "Unauthorized",
			sip.NewHeader("WWW-Authenticate", `NTLM realm="SIP Communications Service", targetname="pool.contoso.test", version=4`)))
		return
	}
	exp := fe.expires
	if e := req.GetHeader("Expires"); e != nil {
		if n, _ := strconv.Atoi(e.Value()); n < exp {
			exp = n
		}
	}
	if exp == 0 {
		fe.unregisters++
	}
	user, domain := "alice", "contoso.test"
	from := req.From()
	epid, _ := from.Params.Get("epid")
	ct := req.GetHeader("Contact").Value()
	res := fe.respond(req, tx, 200, "OK",
		sip.NewHeader("Contact", `<sip:other@10.0.0.9:5061;transport=tls>;expires=99;+sip.instance="<urn:uuid:00000000-0000-5000-8000-000000000000>";gruu="sip:alice@contoso.test;opaque=user:epid:OTHER;gruu"`),
		sip.NewHeader("Contact", fmt.Sprintf(`%s;expires=%d;gruu="sip:%s@%s;opaque=user:epid:%s;gruu"`, ct, exp, user, domain, epid)),
		sip.NewHeader("Expires", strconv.Itoa(exp)),
		sip.NewHeader("ms-keep-alive", fmt.Sprintf("UAS; tcp=no; hop-hop=yes; end-end=no; timeout=%d", fe.kaSecs)),
		sip.NewHeader("Server", "RTC/5.0"))
	fe.snum++
	rf := messageFields(res)
	srand := fmt.Sprintf("%08X", fe.snum*7919)
	rf.Scheme, rf.Rand, rf.Num, rf.Realm, rf.TargetName = "NTLM", srand, strconv.Itoa(fe.snum), realm, tn
	sig, _ := sa.Sign(sipae.Buffer(4, rf))
	if fe.tamper {
		sig = strings.Repeat("0", len(sig))
	}
	res.AppendHeader(sip.NewHeader("Authentication-Info",
		fmt.Sprintf(`NTLM rspauth="%s", srand="%s", snum="%d", opaque="%s", qop="auth", targetname="%s", realm="%s"`, strings.ToUpper(sig), srand, fe.snum, opaque, tn, realm)))
	if err := tx.Respond(res); err != nil {
		fe.t.Errorf("fake FE respond: %v", err)
	}
}

func (fe *fakeFE) counts() (registers, authFails, unregisters, reAuths, keepalives int) {
	fe.mu.Lock()
	defer fe.mu.Unlock()
	return fe.registers, fe.authFails, fe.unregisters, fe.reAuths, fe.keepalives
}

// fixedNow is the clock of golden runs.
func fixedNow() time.Time { return time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC) }
