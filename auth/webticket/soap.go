package webticket

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/handset-dev/handset/auth/internal/wsxml"
)

// Namespaces and URIs of the web ticket exchange (protocols.md §6.2 step 4).
const (
	NSSoap    = wsxml.NSSoap
	NSAddr    = wsxml.NSAddr
	NSTrust   = wsxml.NSTrust
	NSSecExt  = wsxml.NSSecExt
	NSUtility = wsxml.NSUtility
	NSPolicy  = "http://schemas.xmlsoap.org/ws/2004/09/policy"
	NSAuth    = "http://schemas.xmlsoap.org/ws/2006/12/authorization"
	NSSAML    = "urn:oasis:names:tc:SAML:1.0:assertion"
	NSDSig    = "http://www.w3.org/2000/09/xmldsig#"

	ActionIssue       = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue"
	TokenTypeSAML11   = "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV1.1" //nolint:gosec // a URI, not a credential
	RequestTypeIssue  = "http://schemas.xmlsoap.org/ws/2005/02/trust/Issue"
	KeyTypeSymmetric  = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/SymmetricKey"
	ClaimsDialect     = "urn:component:Microsoft.Rtc.WebAuthentication.2010:authclaims"
	ClaimURI          = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/uri"
	PasswordText      = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText" //nolint:gosec // a URI, not a credential
	ValueTypeSAMLID   = "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.0#SAMLAssertionID"
	AddressAnonymous  = wsxml.AddressAnonymous
	AlgExcC14N        = "http://www.w3.org/2001/10/xml-exc-c14n#"
	AlgHMACSHA1       = "http://www.w3.org/2000/09/xmldsig#hmac-sha1"
	AlgSHA1           = "http://www.w3.org/2000/09/xmldsig#sha1"
	timestampID       = "timestamp"
	wsTimeLayout      = "2006-01-02T15:04:05.000Z"
	wsTimeLayoutShort = time.RFC3339Nano
)

// MaxResponse caps a SOAP or metadata document read from a web service
// (see wsxml.MaxResponse).
const MaxResponse = wsxml.MaxResponse

var esc = wsxml.Esc

// RST is a WS-Trust RequestSecurityToken for a SAML 1.1 web ticket.
type RST struct {
	To        string // the web ticket port address
	AppliesTo string // the cert-provisioning auth URL
	MessageID string // uuid
	Context   string // uuid
	SIPURI    string // sip:user@domain claim; empty for PIN users
	Entropy   []byte // 32 random bytes (client entropy)
	Security  []byte // extra wsse:Security header (PIN UsernameToken), or nil
}

// Marshal renders the envelope (protocols.md §6.2 step 4).
func (r *RST) Marshal() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="utf-8"?>`+
		`<soap:Envelope xmlns:soap="%s" xmlns:wsa="%s" xmlns:wsse="%s" xmlns:wsu="%s" xmlns:wst="%s" xmlns:wsp="%s" xmlns:auth="%s" xmlns:saml="%s">`+
		`<soap:Header><wsa:Action soap:mustUnderstand="1">%s</wsa:Action><wsa:MessageID>urn:uuid:%s</wsa:MessageID>`+
		`<wsa:ReplyTo><wsa:Address>%s</wsa:Address></wsa:ReplyTo><wsa:To soap:mustUnderstand="1">%s</wsa:To>`,
		NSSoap, NSAddr, NSSecExt, NSUtility, NSTrust, NSPolicy, NSAuth, NSSAML,
		ActionIssue, esc(r.MessageID), AddressAnonymous, esc(r.To))
	b.Write(r.Security)
	fmt.Fprintf(&b, `</soap:Header><soap:Body><wst:RequestSecurityToken Context="%s">`+
		`<wst:TokenType>%s</wst:TokenType><wst:RequestType>%s</wst:RequestType>`+
		`<wsp:AppliesTo><wsa:EndpointReference><wsa:Address>%s</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>`,
		esc(r.Context), TokenTypeSAML11, RequestTypeIssue, esc(r.AppliesTo))
	if r.SIPURI != "" {
		fmt.Fprintf(&b, `<wst:Claims Dialect="%s"><auth:ClaimType Uri="%s" Optional="false"><auth:Value>%s</auth:Value></auth:ClaimType></wst:Claims>`,
			ClaimsDialect, ClaimURI, esc(r.SIPURI))
	}
	fmt.Fprintf(&b, `<wst:Entropy><wst:BinarySecret>%s</wst:BinarySecret></wst:Entropy><wst:KeyType>%s</wst:KeyType>`+
		`</wst:RequestSecurityToken></soap:Body></soap:Envelope>`,
		base64.StdEncoding.EncodeToString(r.Entropy), KeyTypeSymmetric)
	return b.Bytes()
}

// Response is a parsed RequestSecurityTokenResponse.
type Response struct {
	Created, Expires time.Time
	Assertion        []byte // the saml:Assertion element, verbatim
	AssertionID      string
	Subject          string // the assertion's NameIdentifier (sip:user@domain)
	ServerEntropy    []byte
}

type rstr struct {
	Created string `xml:"Lifetime>Created"`
	Expires string `xml:"Lifetime>Expires"`
	Token   struct {
		Inner string `xml:",innerxml"`
	} `xml:"RequestedSecurityToken"`
	Secret string `xml:"Entropy>BinarySecret"`
}

type rstrEnvelope struct {
	Body struct {
		RSTR       *rstr  `xml:"RequestSecurityTokenResponse"`
		Collection *rstr  `xml:"RequestSecurityTokenResponseCollection>RequestSecurityTokenResponse"`
		Fault      *Fault `xml:"Fault"`
	} `xml:"Body"`
}

// Fault is a SOAP 1.1 or 1.2 fault.
type Fault = wsxml.Fault

func faultError(f *Fault) *ServiceError {
	return &ServiceError{FaultCode: f.Code(), FaultString: f.Text()}
}

type assertion struct {
	XMLName xml.Name
	ID      string   `xml:"AssertionID,attr"`
	Names   []string `xml:"AuthenticationStatement>Subject>NameIdentifier"`
}

func parseTime(s string) (time.Time, error) {
	return time.Parse(wsTimeLayoutShort, strings.TrimSpace(s))
}

// ParseResponse parses a web ticket response (protocols.md §6.2 step 5). A
// SOAP fault comes back as a *ServiceError with Status 0.
func ParseResponse(b []byte) (*Response, error) {
	if len(b) > MaxResponse {
		return nil, fmt.Errorf("%w: %d bytes", errTooLarge, len(b))
	}
	var env rstrEnvelope
	if err := xml.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("%w: %w", errResponse, err)
	}
	if env.Body.Fault != nil {
		return nil, faultError(env.Body.Fault)
	}
	r := env.Body.RSTR
	if r == nil {
		r = env.Body.Collection
	}
	if r == nil {
		return nil, fmt.Errorf("%w: no RequestSecurityTokenResponse", errResponse)
	}
	var out Response
	var err error
	if out.Created, err = parseTime(r.Created); err != nil {
		return nil, fmt.Errorf("%w: lifetime created: %w", errResponse, err)
	}
	if out.Expires, err = parseTime(r.Expires); err != nil {
		return nil, fmt.Errorf("%w: lifetime expires: %w", errResponse, err)
	}
	if !out.Expires.After(out.Created) {
		return nil, fmt.Errorf("%w: empty lifetime", errResponse)
	}
	out.Assertion = bytes.TrimSpace([]byte(r.Token.Inner))
	var a assertion
	if xml.Unmarshal(out.Assertion, &a) != nil || a.XMLName.Local != "Assertion" || a.ID == "" {
		return nil, fmt.Errorf("%w: no saml assertion with an AssertionID", errResponse)
	}
	out.AssertionID = a.ID
	if len(a.Names) > 0 {
		out.Subject = strings.TrimSpace(a.Names[0])
	}
	if out.ServerEntropy, err = base64.StdEncoding.DecodeString(strings.TrimSpace(r.Secret)); err != nil || len(out.ServerEntropy) == 0 {
		return nil, fmt.Errorf("%w: no server entropy", errResponse)
	}
	return &out, nil
}

// Ticket is a web ticket: the SAML assertion and its proof key. It is a
// secret (the assertion is a bearer credential): String and LogValue redact.
type Ticket struct {
	Assertion        []byte
	AssertionID      string
	Subject          string // sip:user@domain the ticket was issued for
	Created, Expires time.Time
	ProofKey         []byte
}

func (t *Ticket) String() string {
	if t == nil {
		return "webticket.Ticket(nil)"
	}
	return fmt.Sprintf("webticket.Ticket{%s, expires %s, [redacted]}", t.Subject, t.Expires.UTC().Format(time.RFC3339))
}

// LogValue redacts the ticket for log/slog.
func (t *Ticket) LogValue() slog.Value { return slog.StringValue(t.String()) }
