package inband

import (
	"encoding/xml"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDefault(t *testing.T) {
	d, err := Load(defaultXML)
	if err != nil {
		t.Fatal(err)
	}
	if d.DialPlan == nil || len(d.DialPlan.Rules) < 2 {
		t.Fatalf("default dial plan: %+v", d.DialPlan)
	}
	lisbon := d.DialPlan.Rules[0]
	want := Rule{Name: "Lisbon 5 digit 2", Description: "Lisbon 8047x & 8063x", Internal: true,
		Pattern: `^((8047[0-9])|(8063[0-9]))$`, Translation: `+3512131$1`}
	if d := cmp.Diff(want, lisbon); d != "" {
		t.Fatalf("seed's Lisbon rule (-want +got):\n%s", d)
	}
	if d.Emergency == nil || !d.Emergency.Enabled || d.Emergency.DialString == "" {
		t.Fatalf("default emergency: %+v", d.Emergency)
	}
	if diff := cmp.Diff(d, Default()); diff != "" {
		t.Fatal(diff)
	}
}

func TestDocument(t *testing.T) {
	doc := Document(Default(), "alice@contoso.test")
	var v struct {
		XMLName xml.Name `xml:"http://schemas.microsoft.com/2006/09/sip/provisiongrouplist-notification provisionGroupList"`
		Groups  []struct {
			Name    string `xml:"name,attr"`
			Inner   string `xml:",innerxml"`
			Profile *struct {
				XMLName xml.Name `xml:"http://schemas.microsoft.com/2007/03/LocationProfileDescription LocationProfileDescription"`
				Name    string   `xml:"Name"`
				Rules   []struct {
					Pattern, Translation, InternalEnterpriseExtension string
				} `xml:"Rule"`
			} `xml:"LocationProfileDescription"`
		} `xml:"provisionGroup"`
	}
	if err := xml.Unmarshal(doc, &v); err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	var names []string
	for _, g := range v.Groups {
		names = append(names, g.Name)
	}
	if d := cmp.Diff([]string{"ServerConfiguration", "locationPolicy", "userSetting", "locationProfile"}, names); d != "" {
		t.Fatal(d)
	}
	s := string(doc)
	for _, want := range []string{
		"<mrasUri>sip:mras@contoso.test;gruu;opaque=srvr:MRAS:lab</mrasUri>",
		"<voiceMailUri>sip:alice@contoso.test;opaque=app:voicemail</voiceMailUri>",
		`<property name="EmergencyDialString">112</property>`,
		"<ucPC2PCAVEncryption>RequireEncryption</ucPC2PCAVEncryption>",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("document lacks %s\n%s", want, s)
		}
	}
	p := v.Groups[3].Profile
	if p == nil || p.Name != "Lisbon.contoso.test" || p.Rules[0].Pattern != `^((8047[0-9])|(8063[0-9]))$` || p.Rules[0].InternalEnterpriseExtension != "true" {
		t.Fatalf("profile: %+v", p)
	}
}

func TestBody(t *testing.T) {
	raw := []byte(`<?xml version="1.0"?><provisionGroupList xmlns="x"><provisionGroup name="a"/></provisionGroupList>`)
	got, err := Body(raw, "a@b")
	if err != nil || string(got) != string(raw) {
		t.Fatalf("pass-through: %q, %v", got, err)
	}
	got, err = Body(defaultXML, "bob@contoso.test")
	if err != nil || string(got) != string(Document(Default(), "sip:bob@contoso.test")) {
		t.Fatalf("render: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tt := range []struct {
		in  string
		err error
	}{
		{"<inband>", ErrSyntax},
		{"<inband><encryption>Maybe</encryption></inband>", ErrInvalid},
		{"<inband><dialPlan name='x'><rule name='r'><translation>1</translation></rule></dialPlan></inband>", ErrInvalid},
		{"<other/>", ErrSyntax},
		{"<inband>" + strings.Repeat(" ", MaxFileSize) + "</inband>", ErrTooLarge},
	} {
		if _, err := Load([]byte(tt.in)); !errors.Is(err, tt.err) {
			t.Errorf("Load(%.40q) = %v, want %v", tt.in, err, tt.err)
		}
	}
	if _, err := Body([]byte(""), "a@b"); !errors.Is(err, ErrSyntax) {
		t.Errorf("empty body file: %v", err)
	}
}

// FuzzLoad: Load never panics; a loaded data set marshals back to a file
// that loads to the same data, and always renders a well-formed document.
func FuzzLoad(f *testing.F) {
	f.Add(defaultXML)
	f.Add([]byte(`<inband><emergency enabled="true"><dialString>911</dialString></emergency></inband>`))
	f.Add([]byte(`<inband><dialPlan name="a"><rule deviceDialing="false"><pattern>1</pattern></rule></dialPlan></inband>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := Load(b)
		if err != nil {
			return
		}
		out, err := xml.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		d2, err := Load(out)
		if err != nil {
			t.Fatalf("reload: %v\n%s", err, out)
		}
		d.XMLName, d2.XMLName = xml.Name{}, xml.Name{}
		if diff := cmp.Diff(d, d2); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
		if err := xml.Unmarshal(Document(d, "u@d"), new(struct{})); err != nil {
			t.Fatalf("document: %v", err)
		}
	})
}
