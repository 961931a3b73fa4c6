package webticket

import (
	"encoding/xml"
	"fmt"
	"strings"
)

// Names in the services' WS-MetadataExchange documents (protocols.md §6.2
// steps 2-3). PortPIN and PortCert (cert.go) are this project's own (§6.4
// is not public; see the package comment).
const (
	PolicyCertProvProof = "CertProvisioningServiceWebTicketProof_SHA1_policy"
	PortCertProvProof   = "CertProvisioningServiceWebTicketProof_SHA1"
	PortWinNegotiate    = "WebTicketServiceWinNegotiate"
	PortPIN             = "WebTicketServicePin"
)

type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Kids    []node     `xml:",any"`
}

func (n *node) attr(local string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// find returns the first descendant (depth first, n included) matching f.
func (n *node) find(f func(*node) bool) *node {
	if f(n) {
		return n
	}
	for i := range n.Kids {
		if m := n.Kids[i].find(f); m != nil {
			return m
		}
	}
	return nil
}

func named(local string) func(*node) bool {
	return func(n *node) bool { return n.XMLName.Local == local }
}

func parseMex(b []byte) (*node, error) {
	if len(b) > MaxResponse {
		return nil, fmt.Errorf("%w: %d bytes", errTooLarge, len(b))
	}
	var n node
	if err := xml.Unmarshal(b, &n); err != nil {
		return nil, fmt.Errorf("%w: %w", errMetadata, err)
	}
	return &n, nil
}

func portLocation(root *node, port string) string {
	p := root.find(func(n *node) bool { return n.XMLName.Local == "port" && n.attr("name") == port })
	if p == nil {
		return ""
	}
	if a := p.find(named("address")); a != nil {
		return strings.TrimSpace(a.attr("location"))
	}
	return ""
}

// CertProvMetadata is what the certificate provisioning service's metadata
// says.
type CertProvMetadata struct {
	WebTicketURL string // the Issuer address of the proof policy
	AuthURL      string // where GetAndPublishCert goes
	ProofNeeded  bool   // EndorsingSupportingTokens: the ticket must be proof-signed
}

// ParseCertProvMetadata reads the cert-provisioning mex document.
func ParseCertProvMetadata(b []byte) (*CertProvMetadata, error) {
	root, err := parseMex(b)
	if err != nil {
		return nil, err
	}
	pol := root.find(func(n *node) bool { return n.XMLName.Local == "Policy" && n.attr("Id") == PolicyCertProvProof })
	if pol == nil {
		return nil, fmt.Errorf("%w: no policy %s", errMetadata, PolicyCertProvProof)
	}
	var md CertProvMetadata
	if it := pol.find(named("IssuedToken")); it != nil {
		if iss := it.find(named("Issuer")); iss != nil {
			if a := iss.find(named("Address")); a != nil {
				md.WebTicketURL = strings.TrimSpace(a.Text)
			}
		}
	}
	md.ProofNeeded = pol.find(named("EndorsingSupportingTokens")) != nil
	md.AuthURL = portLocation(root, PortCertProvProof)
	if md.WebTicketURL == "" || md.AuthURL == "" {
		return nil, fmt.Errorf("%w: policy without issuer address or port %s without location", errMetadata, PortCertProvProof)
	}
	return &md, nil
}

// ParseWebTicketMetadata returns the address of port in the web ticket
// service's mex document.
func ParseWebTicketMetadata(b []byte, port string) (string, error) {
	root, err := parseMex(b)
	if err != nil {
		return "", err
	}
	loc := portLocation(root, port)
	if loc == "" {
		return "", fmt.Errorf("%w: no port %s", errMetadata, port)
	}
	return loc, nil
}
