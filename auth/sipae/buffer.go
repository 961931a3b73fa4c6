package sipae

import (
	"strconv"
	"strings"
)

// SignedFields are the message values that MS-SIPAE signs, filled by the SIP
// layer exactly as they appear in the message (MS-SIPAE 3.2.5.2: no case
// folding; pitfall 2). Rand and Num are crand/cnum when signing as the client
// and srand/snum when signing as the server (or the received ones when
// verifying). StatusCode is 0 for requests.
type SignedFields struct {
	Scheme     Scheme
	Rand, Num  string
	Realm      string
	TargetName string
	CallID     string
	CSeqNum    string
	CSeqMethod string
	FromURI    string
	FromTag    string
	ToURI      string
	ToTag      string
	PAISip     string // sip: URI from P-Asserted-Identity (or P-Preferred-Identity), else ""
	PAITel     string // tel: URI from the same header, else ""
	Expires    string // the Expires header value, or ""
	StatusCode int
}

// Buffer builds the signature buffer ("message breakdown", protocols.md §2.3):
// every field in <…>, no separators.
//
//	version < 3 (MS-SIP 3.1.4.2):
//	  <scheme><rand><num><realm><targetname><Call-ID><CSeq#><CSeq method>
//	  <From URI><From tag><To tag><Expires>[<status>]
//	version ≥ 3 (OCS 2007 and later, as SIPE builds it):
//	  <scheme><rand><num><realm><targetname><Call-ID><CSeq#><CSeq method>
//	  <From URI><From tag><To URI><To tag><PAI sip><PAI tel><Expires>[<status>]
//
// The status field is present for responses only.
func Buffer(version int, f SignedFields) []byte {
	var b strings.Builder
	add := func(s string) {
		b.WriteByte('<')
		b.WriteString(s)
		b.WriteByte('>')
	}
	add(string(f.Scheme))
	add(f.Rand)
	add(f.Num)
	add(f.Realm)
	add(f.TargetName)
	add(f.CallID)
	add(f.CSeqNum)
	add(f.CSeqMethod)
	add(f.FromURI)
	add(f.FromTag)
	if version >= 3 {
		add(f.ToURI)
	}
	add(f.ToTag)
	if version >= 3 {
		add(f.PAISip)
		add(f.PAITel)
	}
	add(f.Expires)
	if f.StatusCode != 0 {
		add(strconv.Itoa(f.StatusCode))
	}
	return []byte(b.String())
}

// URIOf returns the URI of a From/To/P-Asserted-Identity value: the text
// inside <…>, or, without angle brackets, everything up to the first ';'
// (pitfall 2: tieto/sipe#119 shows an ACK whose From had no <>). The text is
// not case-folded.
func URIOf(headerValue string) string {
	if i := strings.IndexByte(headerValue, '<'); i >= 0 {
		rest := headerValue[i+1:]
		if j := strings.IndexByte(rest, '>'); j >= 0 {
			return rest[:j]
		}
		return strings.TrimSpace(rest)
	}
	v := headerValue
	if j := strings.IndexByte(v, ';'); j >= 0 {
		v = v[:j]
	}
	return strings.TrimSpace(v)
}

// PAIURIs picks the sip: (or sips:) and tel: URIs from the values of
// P-Asserted-Identity (or P-Preferred-Identity when PAI is absent). A header
// value may list several identities separated by commas. Scheme prefixes
// match case-insensitively but the URIs are returned as received (SIPE bug
// #2981563 was an uppercase SIP:).
func PAIURIs(values ...string) (sipURI, telURI string) {
	for _, v := range values {
		for _, id := range SplitList(v) {
			u := URIOf(id)
			lu := strings.ToLower(u)
			switch {
			case sipURI == "" && (strings.HasPrefix(lu, "sip:") || strings.HasPrefix(lu, "sips:")):
				sipURI = u
			case telURI == "" && strings.HasPrefix(lu, "tel:"):
				telURI = u
			}
		}
	}
	return sipURI, telURI
}

// SplitList splits a header value on commas outside <…> and quotes, keeping
// each element exactly as written (MS-SIPAE 3.2.5.2: values as received).
func SplitList(v string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '"':
			quoted = !quoted
		case '<':
			if !quoted {
				depth++
			}
		case '>':
			if !quoted && depth > 0 {
				depth--
			}
		case ',':
			if !quoted && depth == 0 {
				out = append(out, v[start:i])
				start = i + 1
			}
		}
	}
	return append(out, v[start:])
}
