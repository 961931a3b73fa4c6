package inband

import (
	"encoding/xml"
	"strconv"
	"strings"
)

const (
	notifyNS  = "http://schemas.microsoft.com/2006/09/sip/provisiongrouplist-notification"
	profileNS = "http://schemas.microsoft.com/2007/03/LocationProfileDescription"
)

// Wire shapes of the provisionGroupList body (protocols.md §7.2).
type (
	xList struct {
		XMLName xml.Name `xml:"provisionGroupList"`
		NS      string   `xml:"xmlns,attr"`
		Groups  []xGroup `xml:"provisionGroup"`
	}
	xGroup struct {
		Name    string    `xml:"name,attr"`
		Elems   []xText   // element name from each XMLName
		Props   *xProps   `xml:"propertyEntryList,omitempty"`
		Profile *xProfile `xml:"LocationProfileDescription,omitempty"`
	}
	xText struct {
		XMLName xml.Name
		Value   string `xml:",chardata"`
	}
	xProps struct {
		Props []xProp `xml:"property"`
	}
	xProp struct {
		Name  string `xml:"name,attr"`
		Value string `xml:",chardata"`
	}
	xProfile struct {
		NS       string  `xml:"xmlns,attr"`
		Name     string  `xml:"Name"`
		Rules    []xRule `xml:"Rule"`
		Prefix   string  `xml:"ExternalAccessPrefix,omitempty"`
		Optimize string  `xml:"OptimizeDeviceDialing"`
	}
	xRule struct {
		Pattern       string `xml:"Pattern"`
		Translation   string `xml:"Translation"`
		Internal      string `xml:"InternalEnterpriseExtension"`
		DeviceDialing string `xml:"ApplicableForDeviceDialing,omitempty"`
	}
)

func text(name, v string) xText { return xText{XMLName: xml.Name{Local: name}, Value: v} }

// Document renders d for the subscriber user (an AOR, with or without
// "sip:") as the provisionGroupList body of the 200 OK / NOTIFY.
func Document(d Data, user string) []byte {
	aor := user
	if !strings.HasPrefix(strings.ToLower(aor), "sip:") {
		aor = "sip:" + aor
	}
	domain := ""
	if at := strings.LastIndexByte(aor, '@'); at >= 0 {
		domain = aor[at+1:]
	}
	sub := strings.NewReplacer("{user}", aor, "{domain}", domain).Replace

	list := xList{NS: notifyNS}
	var sc []xText
	for _, kv := range [][2]string{
		{"absInternalServerUrl", d.ABSInternalURL},
		{"absExternalServerUrl", d.ABSExternalURL},
		{"focusFactoryUri", d.FocusFactoryURI},
		{"mrasUri", d.MRASURI},
		{"botSipUriForTestCall", d.TestCallURI},
		{"ucPC2PCAVEncryption", d.Encryption},
	} {
		if kv[1] != "" {
			sc = append(sc, text(kv[0], sub(kv[1])))
		}
	}
	list.Groups = append(list.Groups, xGroup{Name: "ServerConfiguration", Elems: sc})

	if e := d.Emergency; e != nil {
		props := []xProp{{"EnhancedEmergencyServicesEnabled", strconv.FormatBool(e.Enabled)}}
		for _, kv := range [][2]string{
			{"LocationPolicyTagID", e.TagID},
			{"EmergencyDialString", e.DialString},
			{"EmergencyDialMask", e.DialMask},
			{"EnhancedEmergencyServiceDisclaimer", e.Disclaimer},
		} {
			if kv[1] != "" {
				props = append(props, xProp{kv[0], sub(kv[1])})
			}
		}
		list.Groups = append(list.Groups, xGroup{Name: "locationPolicy", Props: &xProps{props}})
	}
	if v := d.Voicemail; v != nil {
		elems := []xText{text("exumEnabled", strconv.FormatBool(v.Enabled))}
		if v.URI != "" {
			elems = append(elems, text("voiceMailUri", sub(v.URI)))
		}
		list.Groups = append(list.Groups, xGroup{Name: "userSetting", Elems: elems})
	}
	if p := d.DialPlan; p != nil {
		prof := &xProfile{NS: profileNS, Name: sub(p.Name), Prefix: p.ExternalAccessPrefix,
			Optimize: strconv.FormatBool(p.OptimizeDeviceDialing)}
		for _, r := range p.Rules {
			xr := xRule{Pattern: r.Pattern, Translation: r.Translation, Internal: strconv.FormatBool(r.Internal)}
			if r.DeviceDialing != nil {
				xr.DeviceDialing = strconv.FormatBool(*r.DeviceDialing)
			}
			prof.Rules = append(prof.Rules, xr)
		}
		list.Groups = append(list.Groups, xGroup{Name: "locationProfile", Profile: prof})
	}
	out, err := xml.Marshal(list)
	if err != nil {
		// Only plain strings and slices are marshalled; unreachable.
		return nil
	}
	return out
}
