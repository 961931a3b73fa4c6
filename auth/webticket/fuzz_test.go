package webticket

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func rstrDoc(id, subject string, entropy []byte, created, expires time.Time) []byte {
	return fmt.Appendf(nil, `<s:Envelope xmlns:s="%s"><s:Body><RequestSecurityTokenResponse xmlns="%s">`+
		`<RequestedSecurityToken><saml:Assertion xmlns:saml="%s" AssertionID="%s"><saml:AuthenticationStatement><saml:Subject><saml:NameIdentifier>%s</saml:NameIdentifier></saml:Subject></saml:AuthenticationStatement></saml:Assertion></RequestedSecurityToken>`+
		`<Entropy><BinarySecret>%s</BinarySecret></Entropy><Lifetime><wsu:Created xmlns:wsu="%s">%s</wsu:Created><wsu:Expires xmlns:wsu="%s">%s</wsu:Expires></Lifetime>`+
		`</RequestSecurityTokenResponse></s:Body></s:Envelope>`,
		NSSoap, NSTrust, NSSAML, esc(id), esc(subject), base64.StdEncoding.EncodeToString(entropy),
		NSUtility, created.UTC().Format(wsTimeLayout), NSUtility, expires.UTC().Format(wsTimeLayout))
}

// FuzzParseResponse: a rendered RSTR parses back to its values; any input
// gives a response or an error, never a panic.
func FuzzParseResponse(f *testing.F) {
	t0 := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Add(rstrDoc("uuid-1", "sip:a@b", []byte("0123456789abcdef"), t0, t0.Add(time.Hour)), "uuid-1", "sip:a@b", []byte{1, 2, 3}, int64(3600))
	f.Add([]byte(`<s:Envelope xmlns:s="`+NSSoap+`"><s:Body><s:Fault><faultcode>x</faultcode></s:Fault></s:Body></s:Envelope>`), "x", "", []byte{}, int64(0))
	f.Add([]byte(`<!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>`), "", "", []byte{0}, int64(-5))
	f.Fuzz(func(t *testing.T, doc []byte, id, subject string, entropy []byte, secs int64) {
		if r, err := ParseResponse(doc); err == nil && (r.AssertionID == "" || len(r.ServerEntropy) == 0 || !r.Expires.After(r.Created)) {
			t.Fatalf("accepted an incomplete response: %+v", r)
		} else if err != nil {
			var se *ServiceError
			if errors.As(err, &se) && se.Status != 0 {
				t.Fatal("parser invented a status")
			}
		}
		if id == "" || len(entropy) == 0 || secs <= 0 || secs > 1<<30 || !xmlText(id) || !xmlText(subject) || strings.TrimSpace(id) != id {
			return
		}
		r, err := ParseResponse(rstrDoc(id, subject, entropy, t0, t0.Add(time.Duration(secs)*time.Second)))
		if err != nil {
			return // ids/subjects that are not valid XML text (e.g. invalid UTF-8)
		}
		if r.AssertionID != id || !bytes.Equal(r.ServerEntropy, entropy) || !r.Expires.Equal(t0.Add(time.Duration(secs)*time.Second)) {
			t.Fatalf("round trip: %+v", r)
		}
	})
}

// FuzzParseMetadata: no panic; a found address is non-empty.
func FuzzParseMetadata(f *testing.F) {
	f.Add([]byte(`<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"><wsdl:service><wsdl:port name="WebTicketServicePin"><soap:address location="https://x/Pin"/></wsdl:port></wsdl:service></wsdl:definitions>`))
	f.Add([]byte(`<a><Policy Id="CertProvisioningServiceWebTicketProof_SHA1_policy"><IssuedToken><Issuer><Address>https://x</Address></Issuer></IssuedToken></Policy><port name="CertProvisioningServiceWebTicketProof_SHA1"><address location="https://y"/></port></a>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		if md, err := ParseCertProvMetadata(doc); err == nil && (md.AuthURL == "" || md.WebTicketURL == "") {
			t.Fatal("empty url accepted")
		}
		if loc, err := ParseWebTicketMetadata(doc, PortPIN); err == nil && loc == "" {
			t.Fatal("empty location accepted")
		}
	})
}

// xmlText reports whether s survives XML escaping unchanged: valid UTF-8 of
// XML Char (XML 1.0 §2.2) with no control characters.
func xmlText(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool {
		return r < 0x20 || r == utf8.RuneError || r >= 0xFFFE
	}) < 0
}
