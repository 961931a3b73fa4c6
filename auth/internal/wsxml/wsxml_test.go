package wsxml

import (
	"bytes"
	"encoding/xml"
	"regexp"
	"testing"
)

func TestFaultBothVersions(t *testing.T) {
	for _, doc := range []string{
		`<Fault><faultcode> s:Client </faultcode><faultstring>bad ticket</faultstring></Fault>`,
		`<s:Fault xmlns:s="x"><s:Code><s:Value>s:Client</s:Value></s:Code><s:Reason><s:Text>bad ticket</s:Text></s:Reason></s:Fault>`,
	} {
		var f Fault
		if err := xml.Unmarshal([]byte(doc), &f); err != nil {
			t.Fatal(err)
		}
		if f.Code() != "s:Client" || f.Text() != "bad ticket" {
			t.Errorf("%s: got %q %q", doc, f.Code(), f.Text())
		}
	}
}

func TestUUIDVersion4(t *testing.T) {
	u, err := UUID(bytes.NewReader(bytes.Repeat([]byte{0xff}, 16)))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(u) {
		t.Errorf("not a v4 uuid: %s", u)
	}
	if _, err := UUID(bytes.NewReader(nil)); err == nil {
		t.Error("short entropy accepted")
	}
}

func TestEscAndErrorText(t *testing.T) {
	if got := Esc(`a<b&"c"`); got != "a&lt;b&amp;&#34;c&#34;" {
		t.Errorf("Esc: %q", got)
	}
	got := ServiceErrorText("certprov", 500, "s:Server", "boom", "28020;reason")
	want := `certprov: service refused: http 500: soap fault s:Server: "boom" (x-ms-diagnostics "28020;reason")`
	if got != want {
		t.Errorf("got %s", got)
	}
}
