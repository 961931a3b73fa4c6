package certprov

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParseResponse: MarshalResponse(der) parses back to der; any other
// input yields a certificate or an error, never a panic.
func FuzzParseResponse(f *testing.F) {
	f.Add([]byte(MarshalResponse([]byte{0x30, 0x03, 0x02, 0x01, 0x01})), []byte{1, 2, 3})
	f.Add([]byte(`<s:Envelope xmlns:s="`+NSSoap+`"><s:Body><s:Fault><faultcode>a</faultcode><faultstring>b</faultstring></s:Fault></s:Body></s:Envelope>`), []byte{})
	f.Add([]byte(`<!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>`), []byte{0})
	f.Add([]byte(``), []byte{0xff})
	f.Fuzz(func(t *testing.T, doc, der []byte) {
		if len(der) > 0 {
			got, err := ParseResponse(MarshalResponse(der))
			if err != nil || !bytes.Equal(got, der) {
				t.Fatalf("round trip: %x %v", got, err)
			}
		}
		got, err := ParseResponse(doc)
		if err == nil && len(got) == 0 {
			t.Fatal("success without a certificate")
		}
		var se *ServiceError
		if errors.As(err, &se) && se.Status != 0 {
			t.Fatal("parser invented an HTTP status")
		}
	})
}
