// Package inband is labfe's source of in-band provisioning data: a Data set
// the tester controls (an XML file, format below; Default is an embedded
// realistic set with the seed's Lisbon dial plan and an emergency string)
// and Document, which renders the provisionGroupList body labfe returns in
// the 200 OK / NOTIFY of a vnd-microsoft-provisioning-v2 SUBSCRIBE
// (protocols.md §7.2).
//
// It is written independently of the client's parser (sipua/provision): the
// simulator must not reuse client logic, so the two cross-check each other.
// Shapes chosen where protocols.md has [?] (the same as sipua/provision):
// locationPolicy properties EnhancedEmergencyServicesEnabled,
// EmergencyDialString, EmergencyDialMask, EnhancedEmergencyServiceDisclaimer,
// LocationPolicyTagID; the dial plan as an MS-SIPRE Appendix B
// LocationProfileDescription inside provisionGroup "locationProfile"; voice
// mail as provisionGroup "userSetting" with exumEnabled and voiceMailUri.
//
// Data file format (see default.xml): root <inband> with optional
// <mrasUri>, <focusFactoryUri>, <absInternalServerUrl>,
// <absExternalServerUrl>, <botSipUriForTestCall>, <encryption> (SupportEncryption,
// RequireEncryption or DoNotSupportEncryption), <emergency enabled tagId>
// with <dialString>, <dialMask>, <disclaimer>, <voicemail enabled uri> and
// <dialPlan name externalAccessPrefix optimizeDeviceDialing> holding
// <rule name description internal deviceDialing> with <pattern> and
// <translation>. In text values {user} becomes the subscriber's AOR and
// {domain} its domain.
package inband

import (
	"bytes"
	_ "embed"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxFileSize bounds a data file.
const MaxFileSize = 1 << 20

//go:embed default.xml
var defaultXML []byte

// DefaultXML returns the embedded default data file, for testers to copy.
func DefaultXML() []byte { return bytes.Clone(defaultXML) }

// Default returns the embedded default data set.
func Default() Data {
	d, err := Load(defaultXML)
	if err != nil {
		// default.xml is part of the package and tested; unreachable.
		return Data{}
	}
	return d
}

// Data is one in-band provisioning data set.
type Data struct {
	XMLName         xml.Name `xml:"inband"`
	MRASURI         string   `xml:"mrasUri,omitempty"`
	FocusFactoryURI string   `xml:"focusFactoryUri,omitempty"`
	ABSInternalURL  string   `xml:"absInternalServerUrl,omitempty"`
	ABSExternalURL  string   `xml:"absExternalServerUrl,omitempty"`
	Encryption      string   `xml:"encryption,omitempty"`
	// TestCallURI is botSipUriForTestCall (protocols.md §7.2): the test-call
	// (echo) service. labfe fills it with its echo bot's URI when empty.
	TestCallURI string     `xml:"botSipUriForTestCall,omitempty"`
	Emergency   *Emergency `xml:"emergency,omitempty"`
	Voicemail   *Voicemail `xml:"voicemail,omitempty"`
	DialPlan    *DialPlan  `xml:"dialPlan,omitempty"`
}

// Emergency is the location policy's E911 part.
type Emergency struct {
	Enabled    bool   `xml:"enabled,attr"`
	TagID      string `xml:"tagId,attr,omitempty"`
	DialString string `xml:"dialString,omitempty"`
	DialMask   string `xml:"dialMask,omitempty"` // entries separated by ';'
	Disclaimer string `xml:"disclaimer,omitempty"`
}

// Voicemail is Exchange UM voice mail for the MWI call-back.
type Voicemail struct {
	Enabled bool   `xml:"enabled,attr"`
	URI     string `xml:"uri,attr,omitempty"`
}

// DialPlan is a Lync dial plan (location profile).
type DialPlan struct {
	Name                  string `xml:"name,attr"`
	ExternalAccessPrefix  string `xml:"externalAccessPrefix,attr,omitempty"`
	OptimizeDeviceDialing bool   `xml:"optimizeDeviceDialing,attr,omitempty"`
	Rules                 []Rule `xml:"rule"`
}

// Rule is a normalization rule as Get-CsDialPlan shows it.
type Rule struct {
	Name          string `xml:"name,attr,omitempty"`
	Description   string `xml:"description,attr,omitempty"`
	Internal      bool   `xml:"internal,attr,omitempty"`      // IsInternalExtension
	DeviceDialing *bool  `xml:"deviceDialing,attr,omitempty"` // ApplicableForDeviceDialing; nil: not sent
	Pattern       string `xml:"pattern"`
	Translation   string `xml:"translation"`
}

var encryptions = map[string]bool{"": true, "SupportEncryption": true, "RequireEncryption": true, "DoNotSupportEncryption": true}

// Load parses a data file.
func Load(b []byte) (Data, error) {
	if len(b) > MaxFileSize {
		return Data{}, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(b), MaxFileSize)
	}
	var d Data
	dec := xml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&d); err != nil {
		return Data{}, fmt.Errorf("%w: %w", ErrSyntax, err)
	}
	if !encryptions[d.Encryption] {
		return Data{}, fmt.Errorf("%w: encryption %q: want SupportEncryption, RequireEncryption or DoNotSupportEncryption", ErrInvalid, d.Encryption)
	}
	if d.DialPlan != nil {
		for i, r := range d.DialPlan.Rules {
			if strings.TrimSpace(r.Pattern) == "" {
				return Data{}, fmt.Errorf("%w: dial plan rule %d (%s) has no pattern", ErrInvalid, i+1, r.Name)
			}
		}
	}
	return d, nil
}

// Body returns the provisioning body for user from a data file: a file
// whose root is already provisionGroupList is served as it is (to replay a
// real pool's capture), anything else is loaded as Data and rendered.
func Body(file []byte, user string) ([]byte, error) {
	dec := xml.NewDecoder(bytes.NewReader(file))
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: no root element", ErrSyntax)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSyntax, err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local == "provisionGroupList" {
				if len(file) > MaxFileSize {
					return nil, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(file))
				}
				return bytes.Clone(file), nil
			}
			break
		}
	}
	d, err := Load(file)
	if err != nil {
		return nil, err
	}
	return Document(d, user), nil
}
