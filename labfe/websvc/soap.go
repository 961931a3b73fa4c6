package websvc

import (
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"strings"
	"time"
)

// Wire names (MS-OCAUTHWS, WS-Trust 1.3, WS-Security 1.0; protocols.md §6).
const (
	nsSoap       = "http://schemas.xmlsoap.org/soap/envelope/"
	nsTrust      = "http://docs.oasis-open.org/ws-sx/ws-trust/200512"
	nsSecExt     = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	nsUtility    = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
	nsDSig       = "http://www.w3.org/2000/09/xmldsig#"
	nsSAML       = "urn:oasis:names:tc:SAML:1.0:assertion"
	nsAuthWS     = "http://schemas.microsoft.com/OCS/AuthWebServices/"
	nsWSTEP      = "http://schemas.microsoft.com/windows/pki/2009/01/enrollment"
	tokenSAML11  = "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV1.1"              //nolint:gosec // a URI, not a credential
	tokenX509v3  = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3" //nolint:gosec // a URI, not a credential
	keySymmetric = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/SymmetricKey"
	passwordText = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText" //nolint:gosec // a URI, not a credential
	valuePKCS10  = "http://schemas.microsoft.com/OCS/AuthWebServices.xsd#PKCS10"
	valueSAMLID  = "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.0#SAMLAssertionID"
	algExcC14N   = "http://www.w3.org/2001/10/xml-exc-c14n#"
	algHMACSHA1  = "http://www.w3.org/2000/09/xmldsig#hmac-sha1"
	algSHA1      = "http://www.w3.org/2000/09/xmldsig#sha1"
	base64Binary = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
	timeLayout   = "2006-01-02T15:04:05.000Z"
)

func certProvMex(base string) []byte {
	return fmt.Appendf(nil, `<?xml version="1.0" encoding="utf-8"?>`+
		`<wsdl:definitions name="CertProvisioningService" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" `+
		`xmlns:wsp="http://schemas.xmlsoap.org/ws/2004/09/policy" xmlns:wsu="%s" xmlns:sp="http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702" xmlns:wsa10="http://www.w3.org/2005/08/addressing">`+
		`<wsp:Policy wsu:Id="CertProvisioningServiceWebTicketProof_SHA1_policy"><wsp:ExactlyOne><wsp:All>`+
		`<sp:EndorsingSupportingTokens><wsp:Policy><sp:IssuedToken sp:IncludeToken="http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702/IncludeToken/AlwaysToRecipient">`+
		`<sp:Issuer><wsa10:Address>%s</wsa10:Address></sp:Issuer>`+
		`<sp:RequestSecurityTokenTemplate><t:TokenType xmlns:t="%s">%s</t:TokenType><t:KeyType xmlns:t="%s">%s</t:KeyType></sp:RequestSecurityTokenTemplate>`+
		`</sp:IssuedToken></wsp:Policy></sp:EndorsingSupportingTokens></wsp:All></wsp:ExactlyOne></wsp:Policy>`+
		`<wsdl:service name="CertProvisioningService"><wsdl:port name="CertProvisioningServiceWebTicketProof_SHA1" binding="tns:CertProvisioningServiceWebTicketProof_SHA1">`+
		`<soap:address location="%s"/></wsdl:port></wsdl:service></wsdl:definitions>`,
		nsUtility, base+PathWebTicket, nsTrust, tokenSAML11, nsTrust, keySymmetric, base+PathCertProvProof)
}

func webTicketMex(base string) []byte {
	return fmt.Appendf(nil, `<?xml version="1.0" encoding="utf-8"?>`+
		`<wsdl:definitions name="WebTicketService" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/">`+
		`<wsdl:service name="WebTicketService">`+
		`<wsdl:port name="WebTicketServiceWinNegotiate" binding="tns:WebTicketServiceWinNegotiate"><soap:address location="%s"/></wsdl:port>`+
		`<wsdl:port name="WebTicketServicePin" binding="tns:WebTicketServicePin"><soap:address location="%s"/></wsdl:port>`+
		`<wsdl:port name="WebTicketServiceCert" binding="tns:WebTicketServiceCert"><soap:address location="%s"/></wsdl:port>`+
		`</wsdl:service></wsdl:definitions>`,
		base+PathWebTicketAuth, base+PathWebTicketPIN, base+PathWebTicketCert)
}

// rstRequest is what the web ticket service reads from an RST.
type rstRequest struct {
	Username, Password, PasswordType string
	AppliesTo                        string
	ClaimURI                         string
	Entropy                          []byte
}

type rstEnvelope struct {
	XMLName xml.Name `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
	Header  struct {
		Token struct {
			Username string `xml:"Username"`
			Password struct {
				Type  string `xml:"Type,attr"`
				Value string `xml:",chardata"`
			} `xml:"Password"`
		} `xml:"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd Security>UsernameToken"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Header"`
	Body struct {
		RST *struct {
			TokenType string `xml:"TokenType"`
			KeyType   string `xml:"KeyType"`
			AppliesTo string `xml:"AppliesTo>EndpointReference>Address"`
			Claims    []struct {
				URI   string `xml:"Uri,attr"`
				Value string `xml:"Value"`
			} `xml:"Claims>ClaimType"`
			Entropy string `xml:"Entropy>BinarySecret"`
		} `xml:"http://docs.oasis-open.org/ws-sx/ws-trust/200512 RequestSecurityToken"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
}

// parseRST checks an RST strictly: SAML 1.1 token, symmetric key, 16-64
// bytes of client entropy.
func parseRST(b []byte) (*rstRequest, error) {
	var env rstEnvelope
	if err := xml.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("%w: rst: %w", errRequest, err)
	}
	rst := env.Body.RST
	switch {
	case rst == nil:
		return nil, fmt.Errorf("%w: no RequestSecurityToken", errRequest)
	case strings.TrimSpace(rst.TokenType) != tokenSAML11:
		return nil, fmt.Errorf("%w: token type %q", errRequest, rst.TokenType)
	case strings.TrimSpace(rst.KeyType) != keySymmetric:
		return nil, fmt.Errorf("%w: key type %q", errRequest, rst.KeyType)
	}
	ent, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rst.Entropy))
	if err != nil || len(ent) < 16 || len(ent) > 64 {
		return nil, fmt.Errorf("%w: client entropy must be 16-64 bytes of base64", errRequest)
	}
	out := &rstRequest{
		Username:     strings.TrimSpace(env.Header.Token.Username),
		Password:     env.Header.Token.Password.Value,
		PasswordType: strings.TrimSpace(env.Header.Token.Password.Type),
		AppliesTo:    strings.TrimSpace(rst.AppliesTo),
		Entropy:      ent,
	}
	for _, c := range rst.Claims {
		if c.URI == "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/uri" {
			out.ClaimURI = strings.TrimSpace(c.Value)
		}
	}
	return out, nil
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// rstr renders a web ticket response: an (unsigned: labfe trusts its own
// ticket table) SAML 1.1 assertion naming the user, the server entropy and
// the lifetime.
func rstr(base, id, sipURI string, created, expires time.Time, serverEntropy []byte) []byte {
	c, e := created.UTC().Format(timeLayout), expires.UTC().Format(timeLayout)
	assertion := fmt.Sprintf(`<saml:Assertion xmlns:saml="%s" MajorVersion="1" MinorVersion="1" AssertionID="%s" Issuer="%s" IssueInstant="%s">`+
		`<saml:Conditions NotBefore="%s" NotOnOrAfter="%s"></saml:Conditions>`+
		`<saml:AuthenticationStatement AuthenticationMethod="urn:oasis:names:tc:SAML:1.0:am:unspecified" AuthenticationInstant="%s">`+
		`<saml:Subject><saml:NameIdentifier>%s</saml:NameIdentifier></saml:Subject></saml:AuthenticationStatement></saml:Assertion>`,
		nsSAML, id, esc(base+PathWebTicket), c, c, e, c, esc(sipURI))
	return fmt.Appendf(nil, `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="%s"><s:Body>`+
		`<RequestSecurityTokenResponse xmlns="%s"><TokenType>%s</TokenType>`+
		`<RequestedSecurityToken>%s</RequestedSecurityToken>`+
		`<RequestedProofToken><ComputedKey>http://docs.oasis-open.org/ws-sx/ws-trust/200512/CK/PSHA1</ComputedKey></RequestedProofToken>`+
		`<Entropy><BinarySecret>%s</BinarySecret></Entropy>`+
		`<Lifetime><wsu:Created xmlns:wsu="%s">%s</wsu:Created><wsu:Expires xmlns:wsu="%s">%s</wsu:Expires></Lifetime>`+
		`</RequestSecurityTokenResponse></s:Body></s:Envelope>`,
		nsSoap, nsTrust, tokenSAML11, assertion, base64.StdEncoding.EncodeToString(serverEntropy), nsUtility, c, nsUtility, e)
}
