package provision

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits on a provisioning body. Real bodies are a few kilobytes; a dial
// plan is capped at 10,000 characters by the phone anyway.
const (
	MaxBodySize = 256 << 10
	MaxDepth    = 32
	MaxElements = 10000
)

// Encryption is ucPC2PCAVEncryption (§7.2).
type Encryption int

// Encryption policies.
const (
	EncryptionUnset    Encryption = iota // not in the body
	EncryptionOptional                   // SupportEncryption
	EncryptionRequired                   // RequireEncryption and anything unknown
	EncryptionRejected                   // DoNotSupportEncryption
)

func (e Encryption) String() string {
	return [...]string{"unset", "optional", "required", "rejected"}[e]
}

// ServerConfiguration is the ServerConfiguration group (§7.2).
type ServerConfiguration struct {
	MRASURI             string
	FocusFactoryURI     string
	ABSInternalURL      string
	ABSExternalURL      string
	DLXInternalURL      string
	DLXExternalURL      string
	BotURIForTestCall   string
	Encryption          Encryption
	EncryptionPolicyRaw string // the text as received
}

// LocationPolicy is the E911 part of the locationPolicy group.
type LocationPolicy struct {
	E911Enabled bool
	DialString  string
	DialMask    string // entries separated by ';'
	Disclaimer  string
	TagID       string
}

// Voicemail is the userSetting group's Exchange UM data.
type Voicemail struct {
	Enabled bool
	URI     string
}

// Rule is one location-profile rule (MS-SIPRE §2.2.8.2).
type Rule struct {
	Pattern            string
	Translation        string
	Internal           bool // InternalEnterpriseExtension
	DeviceDialing      bool // ApplicableForDeviceDialing
	DeviceDialingIsSet bool
}

// DialPlan is the LocationProfileDescription (MS-SIPRE §2.2.8.1).
type DialPlan struct {
	Name                  string
	ExternalAccessPrefix  string
	OptimizeDeviceDialing bool
	Rules                 []Rule
}

// Settings is a parsed provisionGroupList.
type Settings struct {
	Groups     []string                     // group names in body order
	Properties map[string]map[string]string // group → property name → value (propertyEntryList groups)
	Server     *ServerConfiguration         // nil: group absent
	Location   *LocationPolicy
	Voicemail  *Voicemail
	DialPlan   *DialPlan
}

// node is a minimal element tree: Parse builds it under the limits, then
// interprets it.
type node struct {
	name     xml.Name
	attr     []xml.Attr
	text     strings.Builder
	children []*node
}

func (n *node) child(local string) *node {
	for _, c := range n.children {
		if c.name.Local == local {
			return c
		}
	}
	return nil
}

func (n *node) childText(local string) string {
	if c := n.child(local); c != nil {
		return strings.TrimSpace(c.text.String())
	}
	return ""
}

func (n *node) attrValue(local string) string {
	for _, a := range n.attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

func tree(body []byte) (*node, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	var stack []*node
	var root *node
	count := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSyntax, err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, fmt.Errorf("%w: <!%.20s", ErrDirective, t)
		case xml.StartElement:
			count++
			if count > MaxElements {
				return nil, fmt.Errorf("%w: more than %d", ErrTooMany, MaxElements)
			}
			if len(stack) >= MaxDepth {
				return nil, fmt.Errorf("%w: deeper than %d", ErrTooDeep, MaxDepth)
			}
			n := &node{name: t.Name, attr: t.Attr}
			if len(stack) == 0 {
				if root != nil {
					return nil, fmt.Errorf("%w: second root element <%s>", ErrSyntax, t.Name.Local)
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		}
	}
	if root == nil {
		return nil, fmt.Errorf("%w: no root element", ErrSyntax)
	}
	return root, nil
}

// Parse parses a provisionGroupList body (§7.2). Unknown groups are listed
// in Groups (and their properties kept) but otherwise ignored.
func Parse(body []byte) (*Settings, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, ErrEmpty
	}
	if len(body) > MaxBodySize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(body), MaxBodySize)
	}
	root, err := tree(body)
	if err != nil {
		return nil, err
	}
	if root.name.Local != "provisionGroupList" || (root.name.Space != "" && root.name.Space != NotifyNamespace) {
		return nil, fmt.Errorf("%w: root <%s> in namespace %q", ErrRoot, root.name.Local, root.name.Space)
	}
	s := &Settings{Properties: map[string]map[string]string{}}
	for _, g := range root.children {
		if g.name.Local != "provisionGroup" {
			continue
		}
		name := g.attrValue("name")
		s.Groups = append(s.Groups, name)
		if props := properties(g); props != nil {
			s.Properties[name] = props
		}
		switch name {
		case groupServer:
			s.Server = serverConfiguration(g)
		case groupLocation:
			if s.Location, err = locationPolicy(s.Properties[name]); err != nil {
				return nil, err
			}
		case groupUserSetting:
			if s.Voicemail, err = voicemail(g); err != nil {
				return nil, err
			}
		case groupProfile:
			if s.DialPlan, err = dialPlan(g); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

func properties(g *node) map[string]string {
	list := g.child(elemPropertyEntry)
	if list == nil {
		return nil
	}
	out := map[string]string{}
	for _, p := range list.children {
		if p.name.Local == "property" {
			out[p.attrValue("name")] = strings.TrimSpace(p.text.String())
		}
	}
	return out
}

func serverConfiguration(g *node) *ServerConfiguration {
	sc := &ServerConfiguration{
		MRASURI:           g.childText("mrasUri"), // SIPE trims it: servers pad it
		FocusFactoryURI:   g.childText("focusFactoryUri"),
		ABSInternalURL:    g.childText("absInternalServerUrl"),
		ABSExternalURL:    g.childText("absExternalServerUrl"),
		DLXInternalURL:    g.childText("dlxInternalUrl"),
		DLXExternalURL:    g.childText("dlxExternalUrl"),
		BotURIForTestCall: g.childText("botSipUriForTestCall"),
	}
	if g.child("ucPC2PCAVEncryption") != nil {
		sc.EncryptionPolicyRaw = g.childText("ucPC2PCAVEncryption")
		switch sc.EncryptionPolicyRaw {
		case "SupportEncryption":
			sc.Encryption = EncryptionOptional
		case "DoNotSupportEncryption":
			sc.Encryption = EncryptionRejected
		default:
			sc.Encryption = EncryptionRequired
		}
	}
	return sc
}

func parseBool(where, v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1":
		return true, nil
	case "false", "0", "":
		return false, nil
	}
	return false, fmt.Errorf("%w: %s = %q, want true or false", ErrValue, where, v)
}

func locationPolicy(props map[string]string) (*LocationPolicy, error) {
	en, err := parseBool("locationPolicy/EnhancedEmergencyServicesEnabled", props["EnhancedEmergencyServicesEnabled"])
	if err != nil {
		return nil, err
	}
	return &LocationPolicy{
		E911Enabled: en,
		DialString:  props["EmergencyDialString"],
		DialMask:    props["EmergencyDialMask"],
		Disclaimer:  props["EnhancedEmergencyServiceDisclaimer"],
		TagID:       props["LocationPolicyTagID"],
	}, nil
}

func voicemail(g *node) (*Voicemail, error) {
	en, err := parseBool("userSetting/exumEnabled", g.childText("exumEnabled"))
	if err != nil {
		return nil, err
	}
	return &Voicemail{Enabled: en, URI: g.childText("voiceMailUri")}, nil
}

func dialPlan(g *node) (*DialPlan, error) {
	lp := g.child(elemProfile)
	if lp == nil {
		return nil, fmt.Errorf("%w: locationProfile group without %s", ErrValue, elemProfile)
	}
	dp := &DialPlan{Name: lp.childText("Name"), ExternalAccessPrefix: lp.childText("ExternalAccessPrefix")}
	var err error
	if dp.OptimizeDeviceDialing, err = parseBool("OptimizeDeviceDialing", lp.childText("OptimizeDeviceDialing")); err != nil {
		return nil, err
	}
	for i, r := range lp.children {
		if r.name.Local != "Rule" {
			continue
		}
		// Pattern and Translation are regular expressions: keep them
		// exactly as sent (no trimming of significant characters inside),
		// only surrounding white space goes.
		rule := Rule{Pattern: r.childText("Pattern"), Translation: r.childText("Translation")}
		if rule.Pattern == "" {
			return nil, fmt.Errorf("%w: rule %d without Pattern", ErrValue, i)
		}
		if rule.Internal, err = parseBool("InternalEnterpriseExtension", r.childText("InternalEnterpriseExtension")); err != nil {
			return nil, err
		}
		if r.child("ApplicableForDeviceDialing") != nil {
			rule.DeviceDialingIsSet = true
			if rule.DeviceDialing, err = parseBool("ApplicableForDeviceDialing", r.childText("ApplicableForDeviceDialing")); err != nil {
				return nil, err
			}
		}
		dp.Rules = append(dp.Rules, rule)
	}
	return dp, nil
}
