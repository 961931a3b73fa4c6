package certprov

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"strings"

	"github.com/handset-dev/handset/auth/internal/wsxml"
)

// Namespaces and URIs of the GetAndPublishCert exchange (protocols.md §6.2
// step 7, MS-OCAUTHWS).
const (
	NSSoap    = wsxml.NSSoap
	NSAddr    = wsxml.NSAddr
	NSTrust   = wsxml.NSTrust
	NSSecExt  = wsxml.NSSecExt
	NSUtility = wsxml.NSUtility
	NSAuthWS  = "http://schemas.microsoft.com/OCS/AuthWebServices/"
	NSWSTEP   = "http://schemas.microsoft.com/windows/pki/2009/01/enrollment"

	ActionGetAndPublishCert = "http://schemas.microsoft.com/OCS/AuthWebServices/GetAndPublishCert"
	TokenTypeX509v3         = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3" //nolint:gosec // a URI, not a credential
	RequestTypeIssue        = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue"
	ValueTypePKCS10         = "http://schemas.microsoft.com/OCS/AuthWebServices.xsd#PKCS10"
	EncodingBase64          = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
	AddressAnonymous        = wsxml.AddressAnonymous
)

// MaxResponse caps a SOAP response read from the service (see wsxml.MaxResponse).
const MaxResponse = wsxml.MaxResponse

// Request is one GetAndPublishCert call.
type Request struct {
	To        string // the cert-provisioning auth URL
	MessageID string // uuid
	RequestID string // uuid (wstep:RequestID)
	DeviceID  string // the handset's instance uuid, without braces
	Entity    string // user@domain
	CSR       []byte // DER PKCS#10
	Security  []byte // the wsse:Security element from the web ticket
}

var esc = wsxml.Esc

// wrap76 is base64 wrapped at 76 columns with CRLF, starting on a new line,
// as SIPE sends the CSR (protocols.md §6.2 step 7).
func wrap76(der []byte) string {
	s := base64.StdEncoding.EncodeToString(der)
	var b strings.Builder
	b.WriteString("\r\n")
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	b.WriteString(s + "\r\n")
	return b.String()
}

// Marshal renders the SOAP envelope.
func (r *Request) Marshal() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="utf-8"?>`+
		`<soap:Envelope xmlns:soap="%s" xmlns:wsa="%s" xmlns:wsse="%s" xmlns:wsu="%s" xmlns:wst="%s">`+
		`<soap:Header>`+
		`<wsa:Action soap:mustUnderstand="1">%s</wsa:Action>`+
		`<wsa:MessageID>urn:uuid:%s</wsa:MessageID>`+
		`<wsa:ReplyTo><wsa:Address>%s</wsa:Address></wsa:ReplyTo>`+
		`<wsa:To soap:mustUnderstand="1">%s</wsa:To>`,
		NSSoap, NSAddr, NSSecExt, NSUtility, NSTrust,
		ActionGetAndPublishCert, esc(r.MessageID), AddressAnonymous, esc(r.To))
	b.Write(r.Security)
	fmt.Fprintf(&b, `</soap:Header><soap:Body>`+
		`<GetAndPublishCert xmlns="%s" xmlns:wstep="%s" DeviceId="{%s}" Entity="%s">`+
		`<wst:RequestSecurityToken>`+
		`<wst:TokenType>%s</wst:TokenType>`+
		`<wst:RequestType>%s</wst:RequestType>`+
		`<wsse:BinarySecurityToken ValueType="%s" EncodingType="%s">%s</wsse:BinarySecurityToken>`+
		`<wstep:RequestID>%s</wstep:RequestID>`+
		`</wst:RequestSecurityToken></GetAndPublishCert></soap:Body></soap:Envelope>`,
		NSAuthWS, NSWSTEP, esc(r.DeviceID), esc(r.Entity),
		TokenTypeX509v3, RequestTypeIssue, ValueTypePKCS10, EncodingBase64, wrap76(r.CSR), esc(r.RequestID))
	return b.Bytes()
}

// envelope matches by local name, so any namespace prefix works.
type envelope struct {
	Body struct {
		Resp *struct {
			RSTR struct {
				Token struct {
					ValueType string `xml:"ValueType,attr"`
					Data      string `xml:",chardata"`
				} `xml:"RequestedSecurityToken>BinarySecurityToken"`
			} `xml:"RequestSecurityTokenResponse"`
		} `xml:"GetAndPublishCertResponse"`
		Fault *Fault `xml:"Fault"`
	} `xml:"Body"`
}

// Fault is a SOAP 1.1 or 1.2 fault.
type Fault = wsxml.Fault

// ParseResponse extracts the DER certificate of a GetAndPublishCert
// response (protocols.md §6.2 step 8). A SOAP fault is returned as a
// *ServiceError with Status 0; the caller fills in the HTTP details.
func ParseResponse(b []byte) ([]byte, error) {
	if len(b) > MaxResponse {
		return nil, fmt.Errorf("%w: %d bytes", errTooLarge, len(b))
	}
	var env envelope
	if err := xml.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("certprov: response: %w", err)
	}
	if f := env.Body.Fault; f != nil {
		return nil, &ServiceError{FaultCode: f.Code(), FaultString: f.Text()}
	}
	if env.Body.Resp == nil {
		return nil, errNoToken
	}
	data := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, env.Body.Resp.RSTR.Token.Data)
	if data == "" {
		return nil, errNoToken
	}
	der, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, fmt.Errorf("certprov: response token: %w", err)
	}
	return der, nil
}

// MarshalResponse renders a GetAndPublishCert response holding der; it is
// the inverse of ParseResponse, used by tests and fuzzing.
func MarshalResponse(der []byte) []byte {
	return fmt.Appendf(nil, `<s:Envelope xmlns:s="%s"><s:Body><GetAndPublishCertResponse xmlns="%s">`+
		`<RequestSecurityTokenResponse xmlns="%s"><TokenType>%s</TokenType><DispositionMessage xmlns="%s">Issued</DispositionMessage>`+
		`<RequestedSecurityToken><BinarySecurityToken xmlns="%s" ValueType="%s" EncodingType="%s">%s</BinarySecurityToken>`+
		`</RequestedSecurityToken></RequestSecurityTokenResponse></GetAndPublishCertResponse></s:Body></s:Envelope>`,
		NSSoap, NSAuthWS, NSTrust, TokenTypeX509v3, NSWSTEP, NSSecExt,
		"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3", EncodingBase64,
		base64.StdEncoding.EncodeToString(der))
}
