package labfe

import (
	"bytes"
	"encoding/xml"
	"testing"
)

// FuzzSelfSubscribeBody: the self-subscription body checks never panic,
// and a body they accept names groups (roaming types) that, rendered again
// canonically, are accepted too: acceptance depends on the content, not on
// the spelling.
func FuzzSelfSubscribeBody(f *testing.F) {
	f.Add([]byte(`<provisioningGroupList xmlns="http://schemas.microsoft.com/2006/09/sip/provisioninggrouplist"><provisioningGroup name="ServerConfiguration"/></provisioningGroupList>`))
	f.Add([]byte(`<roamingList xmlns="http://schemas.microsoft.com/2006/09/sip/roaming-self"><roaming type="categories"/></roamingList>`))
	f.Add([]byte(`<provisioningGroupList xmlns="http://schemas.microsoft.com/2006/09/sip/provisioninggrouplist"/>`))
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a "b">]><roamingList/>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if validProvisioningRequest(body) {
			var l struct {
				Groups []struct {
					Name string `xml:"name,attr"`
				} `xml:"provisioningGroup"`
			}
			if err := xml.NewDecoder(bytes.NewReader(body)).Decode(&l); err != nil {
				t.Fatalf("accepted but does not decode: %v", err)
			}
			var b bytes.Buffer
			b.WriteString(`<provisioningGroupList xmlns="` + nsProvisioningRequest + `">`)
			for _, g := range l.Groups {
				b.WriteString(`<provisioningGroup name="` + xmlEscape(g.Name) + `"/>`)
			}
			b.WriteString(`</provisioningGroupList>`)
			if !validProvisioningRequest(b.Bytes()) {
				t.Fatalf("canonical form of an accepted body rejected: %s", b.Bytes())
			}
		}
		if validRoamingList(body) {
			var l struct {
				Roaming []struct {
					Type string `xml:"type,attr"`
				} `xml:"roaming"`
			}
			if err := xml.NewDecoder(bytes.NewReader(body)).Decode(&l); err != nil {
				t.Fatalf("accepted but does not decode: %v", err)
			}
			var b bytes.Buffer
			b.WriteString(`<roamingList xmlns="` + nsRoamingSelf + `">`)
			for _, r := range l.Roaming {
				b.WriteString(`<roaming type="` + xmlEscape(r.Type) + `"/>`)
			}
			b.WriteString(`</roamingList>`)
			if !validRoamingList(b.Bytes()) {
				t.Fatalf("canonical form of an accepted body rejected: %s", b.Bytes())
			}
		}
	})
}
