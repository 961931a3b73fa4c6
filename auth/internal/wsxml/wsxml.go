// Package wsxml holds what the two web-service clients of the auth tree
// (auth/webticket and auth/certprov) share: the WS-* namespace URIs of
// MS-OCAUTHWS, XML text escaping for hand-built envelopes, the SOAP 1.1/1.2
// fault element, and random UUIDs for wsa:MessageID and friends
// (protocols.md §6.2).
//
// labfe/websvc keeps its own copies on purpose: the simulator must not share
// client code (STYLE.md §3.2).
package wsxml

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// Namespaces used by both exchanges.
const (
	NSSoap    = "http://schemas.xmlsoap.org/soap/envelope/"
	NSAddr    = "http://www.w3.org/2005/08/addressing"
	NSTrust   = "http://docs.oasis-open.org/ws-sx/ws-trust/200512"
	NSSecExt  = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	NSUtility = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"

	AddressAnonymous = "http://www.w3.org/2005/08/addressing/anonymous"
)

// MaxResponse caps a SOAP or metadata document read from a web service.
// Responses are a few kilobytes; with encoding/xml (no custom entity
// expansion, bounded depth) the cap defeats oversized and "XML bomb" bodies.
const MaxResponse = 256 << 10

// Esc escapes s for use as XML character data or an attribute value.
func Esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// Fault is a SOAP 1.1 (faultcode/faultstring) or SOAP 1.2 (Code/Value,
// Reason/Text) fault; elements match by local name, so any prefix works.
type Fault struct {
	Code11   string `xml:"faultcode"`
	String11 string `xml:"faultstring"`
	Code12   string `xml:"Code>Value"`
	Text12   string `xml:"Reason>Text"`
}

// Code is the fault code of whichever SOAP version was used.
func (f *Fault) Code() string {
	if c := strings.TrimSpace(f.Code11); c != "" {
		return c
	}
	return strings.TrimSpace(f.Code12)
}

// Text is the fault's human-readable reason.
func (f *Fault) Text() string {
	if s := strings.TrimSpace(f.String11); s != "" {
		return s
	}
	return strings.TrimSpace(f.Text12)
}

// UUID returns a random (version 4, RFC 9562 §5.4) UUID read from r.
func UUID(r io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("uuid: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]), nil
}

// ServiceErrorText renders a web-service refusal the same way for both
// clients: "<pkg>: service refused: http N[: soap fault C: "S"][ (x-ms-diagnostics "D")]".
func ServiceErrorText(pkg string, status int, faultCode, faultString, diagnostics string) string {
	s := fmt.Sprintf("%s: service refused: http %d", pkg, status)
	if faultCode != "" || faultString != "" {
		s += fmt.Sprintf(": soap fault %s: %q", faultCode, faultString)
	}
	if diagnostics != "" {
		s += fmt.Sprintf(" (x-ms-diagnostics %q)", diagnostics)
	}
	return s
}
