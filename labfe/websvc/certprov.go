package websvc

import (
	"bytes"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // XML-DSig sha1 digest as MS-OCAUTHWS uses it.
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"time"
)

type gapcEnvelope struct {
	XMLName xml.Name `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
	Header  struct {
		Security struct {
			Timestamp struct {
				ID      string `xml:"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd Id,attr"`
				Created string `xml:"Created"`
				Expires string `xml:"Expires"`
			} `xml:"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd Timestamp"`
			Signature struct {
				SignedInfo struct {
					C14N struct {
						Alg string `xml:"Algorithm,attr"`
					} `xml:"CanonicalizationMethod"`
					Method struct {
						Alg string `xml:"Algorithm,attr"`
					} `xml:"SignatureMethod"`
					Refs []struct {
						URI        string `xml:"URI,attr"`
						Transforms []struct {
							Alg string `xml:"Algorithm,attr"`
						} `xml:"Transforms>Transform"`
						Digest struct {
							Alg string `xml:"Algorithm,attr"`
						} `xml:"DigestMethod"`
						Value string `xml:"DigestValue"`
					} `xml:"Reference"`
				} `xml:"SignedInfo"`
				Value string `xml:"SignatureValue"`
				KeyID struct {
					ValueType string `xml:"ValueType,attr"`
					Value     string `xml:",chardata"`
				} `xml:"KeyInfo>SecurityTokenReference>KeyIdentifier"`
			} `xml:"http://www.w3.org/2000/09/xmldsig# Signature"`
		} `xml:"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd Security"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Header"`
	Body struct {
		Req *struct {
			DeviceID  string `xml:"DeviceId,attr"`
			Entity    string `xml:"Entity,attr"`
			TokenType string `xml:"RequestSecurityToken>TokenType"`
			Token     struct {
				ValueType string `xml:"ValueType,attr"`
				Data      string `xml:",chardata"`
			} `xml:"RequestSecurityToken>BinarySecurityToken"`
		} `xml:"http://schemas.microsoft.com/OCS/AuthWebServices/ GetAndPublishCert"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
}

// rawElements returns the raw bytes of every element {space}local in doc.
func rawElements(doc []byte, space, local string) ([][]byte, error) {
	d := xml.NewDecoder(bytes.NewReader(doc))
	var out [][]byte
	depth, start := 0, int64(-1)
	for {
		off := d.InputOffset()
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if start < 0 && t.Name.Space == space && t.Name.Local == local {
				start, depth = off, 0
			}
			depth++
		case xml.EndElement:
			depth--
			if start >= 0 && depth == 0 {
				out = append(out, doc[start:d.InputOffset()])
				start = -1
			}
		}
	}
}

func exactlyOne(doc []byte, space, local string) ([]byte, error) {
	els, err := rawElements(doc, space, local)
	if err != nil {
		return nil, err
	}
	if len(els) != 1 {
		return nil, fmt.Errorf("%w: %d %s elements, want exactly one", errRequest, len(els), local)
	}
	return els[0], nil
}

func b64eq(b64 string, want []byte) bool {
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	return err == nil && hmac.Equal(got, want)
}

// verifyTicket checks the wsse:Security header of a GetAndPublishCert: a
// known, unexpired web ticket and an hmac-sha1 signature over the Timestamp
// with the ticket's proof key (protocols.md §6.2 step 6). labfe digests the
// Timestamp and SignedInfo exactly as received, so it accepts only signed
// elements sent already in exclusive-c14n form — a strict subset of what
// XML-DSig allows, and what the handset sends. Exactly one Timestamp and
// one SignedInfo are allowed (no signature wrapping).
func (s *Service) verifyTicket(doc []byte, env *gapcEnvelope) (*ticket, int, error) {
	sec := &env.Header.Security
	rawTS, err := exactlyOne(doc, nsUtility, "Timestamp")
	if err != nil {
		return nil, diagBadSignature, err
	}
	rawSI, err := exactlyOne(doc, nsDSig, "SignedInfo")
	if err != nil {
		return nil, diagBadSignature, err
	}
	si := &sec.Signature.SignedInfo
	if si.C14N.Alg != algExcC14N || si.Method.Alg != algHMACSHA1 || len(si.Refs) != 1 {
		return nil, diagBadSignature, fmt.Errorf("%w: unsupported signature algorithms", errRequest)
	}
	ref := si.Refs[0]
	if sec.Timestamp.ID == "" || ref.URI != "#"+sec.Timestamp.ID || ref.Digest.Alg != algSHA1 ||
		len(ref.Transforms) != 1 || ref.Transforms[0].Alg != algExcC14N {
		return nil, diagBadSignature, fmt.Errorf("%w: signature does not reference the timestamp", errRequest)
	}
	d := sha1.Sum(rawTS)
	if !b64eq(ref.Value, d[:]) {
		return nil, diagBadSignature, fmt.Errorf("%w: timestamp digest mismatch", errRequest)
	}
	if sec.Signature.KeyID.ValueType != valueSAMLID {
		return nil, diagBadTicket, fmt.Errorf("%w: key identifier is not a SAML assertion id", errRequest)
	}
	now := s.now()
	s.mu.Lock()
	t := s.tickets[strings.TrimSpace(sec.Signature.KeyID.Value)]
	s.mu.Unlock()
	if t == nil || !now.Before(t.expires) {
		return nil, diagBadTicket, fmt.Errorf("%w: unknown or expired web ticket", errRequest)
	}
	if !b64eq(sec.Signature.Value, hmacSHA1(t.proof, rawSI)) {
		return nil, diagBadSignature, fmt.Errorf("%w: signature value mismatch", errRequest)
	}
	exp, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(sec.Timestamp.Expires))
	if err != nil || !now.Before(exp) {
		return nil, diagBadTicket, fmt.Errorf("%w: timestamp expired or malformed", errRequest)
	}
	return t, 0, nil
}

func (s *Service) serveGetAndPublishCert(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		s.fault(w, r, http.StatusRequestEntityTooLarge, diagBadRequest, "request too large")
		return
	}
	var env gapcEnvelope
	if xml.Unmarshal(body, &env) != nil || env.Body.Req == nil {
		s.fault(w, r, http.StatusBadRequest, diagBadRequest, "not a GetAndPublishCert request")
		return
	}
	t, diag, err := s.verifyTicket(body, &env)
	if err != nil {
		s.fault(w, r, http.StatusUnauthorized, diag, err.Error())
		return
	}
	req := env.Body.Req
	if !strings.EqualFold(req.Entity, t.user.aor()) {
		s.fault(w, r, http.StatusForbidden, diagEntityMismatch, "Entity is not the ticket's user")
		return
	}
	if strings.TrimSpace(req.TokenType) != tokenX509v3 || req.Token.ValueType != valuePKCS10 {
		s.fault(w, r, http.StatusBadRequest, diagBadCSR, "expected an X509v3 token type and a PKCS10 request")
		return
	}
	der, err := base64.StdEncoding.DecodeString(strings.Map(func(r rune) rune {
		if r == ' ' || r == '\r' || r == '\n' || r == '\t' {
			return -1
		}
		return r
	}, req.Token.Data))
	if err != nil {
		s.fault(w, r, http.StatusBadRequest, diagBadCSR, "csr is not base64")
		return
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil || csr.CheckSignature() != nil {
		s.fault(w, r, http.StatusBadRequest, diagBadCSR, "csr does not parse or its signature is bad")
		return
	}
	if pub, ok := csr.PublicKey.(*rsa.PublicKey); !ok || pub.N.BitLen() < 2048 {
		s.fault(w, r, http.StatusBadRequest, diagBadCSR, "csr key must be RSA of at least 2048 bits")
		return
	}
	if !strings.EqualFold(csr.Subject.CommonName, t.user.aor()) {
		s.fault(w, r, http.StatusForbidden, diagEntityMismatch, "csr subject is not the ticket's user")
		return
	}
	cert, err := s.issueCert(csr)
	if err != nil {
		s.fault(w, r, http.StatusInternalServerError, diagBadCSR, "issuing failed")
		return
	}
	s.writeXML(w, http.StatusOK, fmt.Appendf(nil, `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="%s"><s:Body>`+
		`<GetAndPublishCertResponse xmlns="%s"><RequestSecurityTokenResponse xmlns="%s"><TokenType>%s</TokenType>`+
		`<DispositionMessage xmlns="%s">Issued</DispositionMessage><RequestedSecurityToken>`+
		`<BinarySecurityToken xmlns="%s" ValueType="%s" EncodingType="%s">%s</BinarySecurityToken>`+
		`</RequestedSecurityToken></RequestSecurityTokenResponse></GetAndPublishCertResponse></s:Body></s:Envelope>`,
		nsSoap, nsAuthWS, nsTrust, tokenX509v3, nsWSTEP, nsSecExt, tokenX509v3, base64Binary, base64.StdEncoding.EncodeToString(cert)))
}

// issueCert signs a user certificate valid from now for CertLifetime.
func (s *Service) issueCert(csr *x509.CertificateRequest) ([]byte, error) {
	serial := make([]byte, 16)
	if _, err := io.ReadFull(s.rand, serial); err != nil {
		return nil, err
	}
	now := s.now()
	tmpl := &x509.Certificate{
		SerialNumber: new(big.Int).SetBytes(serial),
		Subject:      pkix.Name{CommonName: csr.Subject.CommonName},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(s.cfg.CertLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(s.rand, tmpl, s.cfg.CA.Leaf, csr.PublicKey, s.cfg.CA.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("websvc: issue: %w", err)
	}
	s.mu.Lock()
	s.issued++
	s.mu.Unlock()
	return der, nil
}
