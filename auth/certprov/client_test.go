package certprov

import (
	"context"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/handset-dev/handset/certrenew"
	"github.com/handset-dev/handset/internal/testutil"
)

var t0 = time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)

func readKey(t testing.TB, name string) *rsa.PrivateKey {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM", name)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PrivateKey)
}

type testCA struct {
	cert *x509.Certificate
	key  *rsa.PrivateKey
}

func loadCA(t testing.TB) testCA {
	t.Helper()
	pair, err := tls.LoadX509KeyPair("testdata/ca.crt", "testdata/ca.key")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return testCA{leaf, pair.PrivateKey.(*rsa.PrivateKey)}
}

// sign issues a certificate for csr valid [from, from+life).
func (ca testCA) sign(t testing.TB, csr *x509.CertificateRequest, from time.Time, life time.Duration) []byte {
	t.Helper()
	der, err := x509.CreateCertificate(testutil.NewReader(9), &x509.Certificate{
		SerialNumber: big.NewInt(from.Unix()),
		Subject:      pkix.Name{CommonName: csr.Subject.CommonName},
		NotBefore:    from, NotAfter: from.Add(life),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, ca.cert, csr.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

type staticAuth string

func (s staticAuth) SecurityHeader(context.Context) ([]byte, error) { return []byte(s), nil }

// invalidating counts Invalidate calls (auth/webticket's Client has one).
type invalidating struct{ n int }

func (a *invalidating) SecurityHeader(context.Context) ([]byte, error) {
	return []byte(testSecurity), nil
}
func (a *invalidating) Invalidate() { a.n++ }

const testSecurity = `<wsse:Security><wsu:Timestamp wsu:Id="timestamp"></wsu:Timestamp></wsse:Security>`

// parsedRequest is what the fake service reads (by local names).
type parsedRequest struct {
	Action   string `xml:"Header>Action"`
	Security struct {
		ID string `xml:"Id,attr"`
	} `xml:"Header>Security>Timestamp"`
	Body struct {
		Req struct {
			DeviceID string `xml:"DeviceId,attr"`
			Entity   string `xml:"Entity,attr"`
			Token    struct {
				ValueType string `xml:"ValueType,attr"`
				Data      string `xml:",chardata"`
			} `xml:"RequestSecurityToken>BinarySecurityToken"`
		} `xml:"GetAndPublishCert"`
	} `xml:"Body"`
}

func parseCSR(t testing.TB, body []byte) (*parsedRequest, *x509.CertificateRequest, []byte) {
	t.Helper()
	var pr parsedRequest
	if err := xml.Unmarshal(body, &pr); err != nil {
		t.Errorf("request is not XML: %v", err)
		return nil, nil, nil
	}
	der, err := base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(pr.Body.Req.Token.Data))
	if err != nil {
		t.Errorf("csr base64: %v", err)
		return nil, nil, nil
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Errorf("csr: %v", err)
		return nil, nil, nil
	}
	return &pr, csr, der
}

func newClient(t testing.TB, h http.HandlerFunc, opts ...Option) (*Client, *httptest.Server) {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	key := readKey(t, "user.key")
	base := []Option{WithHTTPClient(srv.Client()), WithRand(testutil.NewReader(3)),
		WithClock(func() time.Time { return t0 }),
		WithKeyGenerator(func(io.Reader) (*rsa.PrivateKey, error) { return key, nil })}
	c, err := New(Config{URL: srv.URL + "/CertProv/CertProvisioningService.svc/WebTicket_Proof_SHA1",
		User: "alice@lab.test", DeviceID: "01234567-89ab-4cde-8f01-23456789abcd"},
		staticAuth(testSecurity), append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

func issuing(t *testing.T, ca testCA, from time.Duration, life time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if got := r.Header.Get("SOAPAction"); got != `"`+ActionGetAndPublishCert+`"` {
			t.Errorf("SOAPAction %q", got)
		}
		pr, csr, _ := parseCSR(t, body)
		if csr == nil {
			http.Error(w, "bad", 400)
			return
		}
		if pr.Action != ActionGetAndPublishCert || pr.Security.ID != "timestamp" ||
			pr.Body.Req.Entity != "alice@lab.test" || pr.Body.Req.DeviceID != "{01234567-89ab-4cde-8f01-23456789abcd}" ||
			pr.Body.Req.Token.ValueType != ValueTypePKCS10 {
			t.Errorf("request fields: %+v", pr)
		}
		if err := csr.CheckSignature(); err != nil || csr.Subject.CommonName != "alice@lab.test" {
			t.Errorf("csr: %v %q", err, csr.Subject.CommonName)
		}
		if k, ok := csr.PublicKey.(*rsa.PublicKey); !ok || k.N.BitLen() != KeyBits {
			t.Errorf("csr key is not RSA-2048")
		}
		_, _ = w.Write(MarshalResponse(ca.sign(t, csr, t0.Add(from), life)))
	}
}

func TestIssue(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	ca := loadCA(t)
	c, _ := newClient(t, issuing(t, ca, -time.Minute, 8*time.Hour))
	var store certrenew.Store
	cert, err := c.Provision(context.Background(), &store)
	if err != nil {
		t.Fatal(err)
	}
	if store.Leaf() == nil || store.Leaf().Subject.CommonName != "alice@lab.test" {
		t.Fatalf("store: %v", store.Leaf())
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	if _, err := cert.Leaf.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: t0,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("issued certificate does not verify: %v", err)
	}
}

func TestIssueRefusals(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	ca := loadCA(t)
	t.Run("short", func(t *testing.T) {
		c, _ := newClient(t, issuing(t, ca, -time.Minute, 59*time.Minute))
		_, err := c.Issue(context.Background())
		var short *certrenew.ShortCertificateError
		if !errors.As(err, &short) || short.Min != time.Hour {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("expired", func(t *testing.T) {
		c, _ := newClient(t, issuing(t, ca, -2*time.Hour, time.Hour))
		var short *certrenew.ShortCertificateError
		if _, err := c.Issue(context.Background()); !errors.As(err, &short) || short.Remaining >= 0 {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("not yet valid", func(t *testing.T) {
		c, _ := newClient(t, issuing(t, ca, time.Hour, 8*time.Hour))
		if _, err := c.Issue(context.Background()); !errors.Is(err, errNotYetValid) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("min validity configurable", func(t *testing.T) {
		c, _ := newClient(t, issuing(t, ca, -time.Minute, 59*time.Minute))
		c.cfg.MinValidity = 10 * time.Minute
		if _, err := c.Issue(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("key mismatch", func(t *testing.T) {
		other := readKey(t, "other.key")
		c, _ := newClient(t, func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			_, csr, _ := parseCSR(t, body)
			csr.PublicKey = &other.PublicKey
			_, _ = w.Write(MarshalResponse(ca.sign(t, csr, t0, 8*time.Hour)))
		})
		if _, err := c.Issue(context.Background()); !errors.Is(err, ErrKeyMismatch) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("soap fault", func(t *testing.T) {
		c, _ := newClient(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Ms-Diagnostics", `28020;source="fe.lab.test";reason="Invalid web ticket"`)
			w.WriteHeader(500)
			_, _ = io.WriteString(w, `<s:Envelope xmlns:s="`+NSSoap+`"><s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>Invalid web ticket</faultstring></s:Fault></s:Body></s:Envelope>`)
		})
		_, err := c.Issue(context.Background())
		var se *ServiceError
		if !errors.As(err, &se) {
			t.Fatalf("err = %v", err)
		}
		want := ServiceError{Status: 500, FaultCode: "s:Client", FaultString: "Invalid web ticket",
			Diagnostics: `28020;source="fe.lab.test";reason="Invalid web ticket"`}
		if *se != want || se.Outcome() != OutcomeServerError {
			t.Errorf("got %+v", *se)
		}
	})
	t.Run("401", func(t *testing.T) {
		c, _ := newClient(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(401) })
		auth := &invalidating{}
		c.auth = auth
		var se *ServiceError
		if _, err := c.Issue(context.Background()); !errors.As(err, &se) || se.Outcome() != OutcomeAuthRejected {
			t.Fatalf("err = %v", err)
		}
		if auth.n != 1 {
			t.Errorf("refused ticket invalidated %d times, want 1", auth.n)
		}
	})
	t.Run("oversized", func(t *testing.T) {
		c, _ := newClient(t, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "<a>"+strings.Repeat("x", MaxResponse+10))
		})
		if _, err := c.Issue(context.Background()); !errors.Is(err, errTooLarge) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("xml bomb", func(t *testing.T) {
		c, _ := newClient(t, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><s:Envelope xmlns:s="`+NSSoap+`"><s:Body>&lol2;</s:Body></s:Envelope>`)
		})
		if _, err := c.Issue(context.Background()); err == nil {
			t.Fatal("bomb accepted")
		}
	})
	t.Run("cancel", func(t *testing.T) {
		arrived := make(chan struct{})
		c, _ := newClient(t, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.ReadAll(r.Body) // the server watches the connection only once the body is read
			close(arrived)
			<-r.Context().Done()
		})
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-arrived; cancel() }()
		if _, err := c.Issue(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	for _, cfg := range []Config{
		{URL: "ftp://x", User: "a@b", DeviceID: "d"},
		{URL: "https://x/y", User: "sip:a@b", DeviceID: "d"},
		{URL: "https://x/y", User: "a@b"},
	} {
		if _, err := New(cfg, staticAuth("")); !errors.Is(err, errConfig) {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
}

func TestRequestCSRWrapping(t *testing.T) {
	r := Request{To: "https://x/&", CSR: make([]byte, 300), Security: []byte(testSecurity), DeviceID: "d", Entity: "a@b"}
	s := string(r.Marshal())
	if !strings.Contains(s, "https://x/&amp;") {
		t.Error("To not escaped")
	}
	i := strings.Index(s, `Base64Binary">`) + len(`Base64Binary">`)
	j := strings.Index(s, "</wsse:BinarySecurityToken>")
	lines := strings.Split(s[i:j], "\r\n")
	if lines[0] != "" || len(lines[1]) != 76 || lines[len(lines)-1] != "" {
		t.Errorf("wrapping: %q", lines)
	}
}
