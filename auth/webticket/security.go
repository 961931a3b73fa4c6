package webticket

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // XML-DSig hmac-sha1 / sha1 as MS-OCAUTHWS uses them.
	"encoding/base64"
	"fmt"
)

// SignedTimestamp returns the wsu:Timestamp element. It is emitted in
// exclusive-c14n form already (its one namespace declared on itself, no
// other attributes, explicit end tags), so the bytes sent are the bytes
// digested.
func SignedTimestamp(t *Ticket) []byte {
	return fmt.Appendf(nil, `<wsu:Timestamp xmlns:wsu="%s" wsu:Id="%s"><wsu:Created>%s</wsu:Created><wsu:Expires>%s</wsu:Expires></wsu:Timestamp>`,
		NSUtility, timestampID, t.Created.UTC().Format(wsTimeLayout), t.Expires.UTC().Format(wsTimeLayout))
}

// SignedInfo returns the ds:SignedInfo over a timestamp digest, also in
// exclusive-c14n form (default namespace declared on itself).
func SignedInfo(digest []byte) []byte {
	return fmt.Appendf(nil, `<SignedInfo xmlns="%s"><CanonicalizationMethod Algorithm="%s"></CanonicalizationMethod>`+
		`<SignatureMethod Algorithm="%s"></SignatureMethod><Reference URI="#%s"><Transforms><Transform Algorithm="%s"></Transform></Transforms>`+
		`<DigestMethod Algorithm="%s"></DigestMethod><DigestValue>%s</DigestValue></Reference></SignedInfo>`,
		NSDSig, AlgExcC14N, AlgHMACSHA1, timestampID, AlgExcC14N, AlgSHA1, base64.StdEncoding.EncodeToString(digest))
}

// SecurityHeader builds the wsse:Security header that proves possession of
// the ticket (protocols.md §6.2 step 6): the Timestamp, the assertion
// verbatim, and an XML-DSig Signature whose SignatureValue is
// HMAC-SHA1(proof key, exc-c14n(SignedInfo)) and whose KeyInfo names the
// assertion by AssertionID.
func SecurityHeader(t *Ticket) []byte {
	ts := SignedTimestamp(t)
	d := sha1.Sum(ts)
	si := SignedInfo(d[:])
	m := hmac.New(sha1.New, t.ProofKey)
	m.Write(si)
	out := fmt.Appendf(nil, `<wsse:Security xmlns:wsse="%s" soap:mustUnderstand="1">`, NSSecExt)
	out = append(out, ts...)
	out = append(out, t.Assertion...)
	out = fmt.Appendf(out, `<Signature xmlns="%s">%s<SignatureValue>%s</SignatureValue>`+
		`<KeyInfo><wsse:SecurityTokenReference><wsse:KeyIdentifier ValueType="%s">%s</wsse:KeyIdentifier></wsse:SecurityTokenReference></KeyInfo>`+
		`</Signature></wsse:Security>`,
		NSDSig, si, base64.StdEncoding.EncodeToString(m.Sum(nil)), ValueTypeSAMLID, esc(t.AssertionID))
	return out
}
