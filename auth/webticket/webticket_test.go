package webticket

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/handset-dev/handset/internal/testutil"
)

// PSHA1 of a known input (computed by hand from RFC 2246 §5: A(1) = HMAC(s, seed),
// out = HMAC(s, A(1)‖seed) ‖ …); cross-checked with OpenSSL in psha1_peer_test.go.
func TestPSHA1Lengths(t *testing.T) {
	s, seed := []byte("secret"), []byte("seed")
	a1 := hmacSum(s, seed)
	first := hmacSum(s, append(append([]byte{}, a1...), seed...))
	got := PSHA1(s, seed, 32)
	if len(got) != 32 || string(got[:20]) != string(first) {
		t.Fatalf("PSHA1 first block %x, want %x", got[:20], first)
	}
	if string(PSHA1(s, seed, 10)) != string(got[:10]) {
		t.Error("PSHA1 prefix property")
	}
}

func hmacSum(k, m []byte) []byte {
	h := hmac.New(sha1.New, k)
	h.Write(m)
	return h.Sum(nil)
}

func testTicket() *Ticket {
	return &Ticket{
		Assertion:   []byte(`<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:1.0:assertion" AssertionID="uuid-1"></saml:Assertion>`),
		AssertionID: "uuid-1", Subject: "sip:alice@lab.test",
		Created: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), Expires: time.Date(2027, 1, 1, 8, 0, 0, 0, time.UTC),
		ProofKey: []byte("0123456789abcdef0123456789abcdef"),
	}
}

// The signature covers the Timestamp bytes exactly as sent.
func TestSecurityHeaderSignature(t *testing.T) {
	tk := testTicket()
	h := string(SecurityHeader(tk))
	ts := string(SignedTimestamp(tk))
	if !strings.Contains(h, ts) || !strings.Contains(h, string(tk.Assertion)) {
		t.Fatal("header lacks timestamp or assertion verbatim")
	}
	if want := `<wsu:Created>2027-01-01T00:00:00.000Z</wsu:Created><wsu:Expires>2027-01-01T08:00:00.000Z</wsu:Expires>`; !strings.Contains(ts, want) {
		t.Errorf("timestamp %s", ts)
	}
	d := sha1.Sum([]byte(ts))
	si := string(SignedInfo(d[:]))
	if !strings.Contains(h, si) {
		t.Fatal("signed info not verbatim")
	}
	sv := base64.StdEncoding.EncodeToString(hmacSum(tk.ProofKey, []byte(si)))
	if !strings.Contains(h, "<SignatureValue>"+sv+"</SignatureValue>") {
		t.Error("signature value")
	}
	if !strings.Contains(h, `ValueType="`+ValueTypeSAMLID+`">uuid-1</wsse:KeyIdentifier>`) {
		t.Error("key identifier")
	}
}

func TestRedaction(t *testing.T) {
	tk := testTicket()
	p := &PIN{Extension: "4001", PIN: "135790"}
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Info("x", "ticket", tk, "pin", p)
	for _, s := range []string{fmt.Sprint(tk), fmt.Sprintf("%v %+v %s", p, p, p), b.String()} {
		if strings.Contains(s, "135790") || strings.Contains(s, "0123456789abcdef") || strings.Contains(s, "Assertion") {
			t.Errorf("secret leaked: %s", s)
		}
	}
}

func TestPINNeedsHTTPS(t *testing.T) {
	p := &PIN{Extension: "1", PIN: "2"}
	if _, err := p.Do(context.Background(), http.DefaultClient, "http://x/Pin", nil); !errors.Is(err, errConfig) {
		t.Fatalf("err = %v", err)
	}
	if _, err := New(Config{CertProvURL: "http://x/CertProv"}, p); !errors.Is(err, errConfig) {
		t.Fatalf("http sts-uri accepted: %v", err)
	}
}

// A service that faults, answers garbage or hangs gives a clear error.
func TestServiceErrors(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	for _, tc := range []struct {
		name string
		h    http.HandlerFunc
		want func(error) bool
	}{
		{"fault", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Ms-Diagnostics", `28001;source="x";reason="no"`)
			w.WriteHeader(500)
			_, _ = w.Write([]byte(`<s:Envelope xmlns:s="` + NSSoap + `"><s:Body><s:Fault><faultcode>s:Server</faultcode><faultstring>boom</faultstring></s:Fault></s:Body></s:Envelope>`))
		}, func(err error) bool {
			var se *ServiceError
			return errors.As(err, &se) && se.Status == 500 && se.FaultString == "boom" && se.Diagnostics != "" && !errors.Is(err, ErrAuth)
		}},
		{"garbage metadata", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("<wsdl:definitions")) },
			func(err error) bool { return errors.Is(err, errMetadata) }},
		{"oversized", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(make([]byte, MaxResponse+1)) },
			func(err error) bool { return errors.Is(err, errTooLarge) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewTLSServer(tc.h)
			defer srv.Close()
			c, err := New(Config{CertProvURL: srv.URL + "/CertProv"}, &PIN{Extension: "1", PIN: "2"}, WithHTTPClient(srv.Client()))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Ticket(context.Background()); !tc.want(err) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}
