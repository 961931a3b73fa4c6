package websvc

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/handset-dev/handset/configs"
	"github.com/handset-dev/handset/internal/testutil"
)

const seedRST = `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wst="http://docs.oasis-open.org/ws-sx/ws-trust/200512" xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><soap:Header><wsse:Security><wsse:UsernameToken><wsse:Username>4001</wsse:Username><wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText">135790</wsse:Password></wsse:UsernameToken></wsse:Security></soap:Header><soap:Body><wst:RequestSecurityToken><wst:TokenType>http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV1.1</wst:TokenType><wst:KeyType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/SymmetricKey</wst:KeyType><wst:Entropy><wst:BinarySecret>MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=</wst:BinarySecret></wst:Entropy></wst:RequestSecurityToken></soap:Body></soap:Envelope>`

// FuzzParseRST: no panic; an accepted RST always carries 16-64 bytes of
// entropy.
func FuzzParseRST(f *testing.F) {
	f.Add([]byte(seedRST))
	f.Add([]byte(`<!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseRST(b)
		if err == nil && (len(r.Entropy) < 16 || len(r.Entropy) > 64) {
			t.Fatalf("entropy %d bytes accepted", len(r.Entropy))
		}
	})
}

// FuzzRawElements: every element returned is a slice of the document that
// starts with '<' and ends with '>'.
func FuzzRawElements(f *testing.F) {
	f.Add([]byte(`<a xmlns:u="` + nsUtility + `"><u:Timestamp u:Id="t"><u:Created>x</u:Created></u:Timestamp></a>`))
	f.Add([]byte(`<u:Timestamp xmlns:u="` + nsUtility + `"/>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		els, err := rawElements(doc, nsUtility, "Timestamp")
		if err != nil {
			return
		}
		for _, e := range els {
			if !bytes.Contains(doc, e) || len(e) < 2 || e[0] != '<' || e[len(e)-1] != '>' {
				t.Fatalf("bad raw element %q", e)
			}
		}
	})
}

// FuzzGetAndPublishCert: any body gets a 4xx answer (no certificate is
// issued without a ticket this service issued), never a panic or a 5xx.
func FuzzGetAndPublishCert(f *testing.F) {
	f.Add([]byte(seedRST))
	f.Add([]byte(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header/><s:Body><GetAndPublishCert xmlns="http://schemas.microsoft.com/OCS/AuthWebServices/" Entity="alice@lab.test"/></s:Body></s:Envelope>`))
	pair, err := tls.LoadX509KeyPair("testdata/ca.crt", "testdata/ca.key")
	if err != nil {
		f.Fatal(err)
	}
	pair.Leaf, _ = x509.ParseCertificate(pair.Certificate[0])
	svc, err := New(Config{CA: &pair, Users: []User{{Address: "sip:alice@lab.test", Extension: "4001", PIN: configs.NewSecret("1")}}},
		WithClock(func() time.Time { return pair.Leaf.NotBefore.Add(time.Hour) }), WithRand(testutil.NewReader(1)))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, p := range []string{PathCertProvProof, PathWebTicketPIN} {
			w := httptest.NewRecorder()
			svc.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "https://fe.lab.test"+p, bytes.NewReader(body)))
			if w.Code == http.StatusOK && p == PathCertProvProof || w.Code >= 500 {
				t.Fatalf("%s: status %d", p, w.Code)
			}
		}
	})
}
