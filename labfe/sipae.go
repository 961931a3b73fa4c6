package labfe

import (
	"crypto/sha1" //nolint:gosec // MS-SIPRE instance derivation is SHA-1 by definition
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/handset-dev/handset/labfe/internal/sipmsg"
)

const realm = "SIP Communications Service"

// errAuthHeader is wrapped by authorization-header parse errors.
var errAuthHeader = errors.New("labfe: malformed authorization header")

// authParams is a parsed MS-SIPAE header: scheme and name=value pairs
// (protocols.md §2.2). Names are lowercased, values unquoted.
type authParams struct {
	scheme string
	params map[string]string
	quoted map[string]bool
}

func (a authParams) get(k string) string { return a.params[k] }
func (a authParams) has(k string) bool   { _, ok := a.params[k]; return ok }

// parseAuth parses `<scheme> k="v", k2=v2, ...`. Duplicate names, unbalanced
// quotes and empty names are errors: a real FE refuses them too.
func parseAuth(v string) (authParams, error) {
	v = strings.TrimSpace(v)
	scheme, rest, _ := strings.Cut(v, " ")
	a := authParams{scheme: scheme, params: map[string]string{}, quoted: map[string]bool{}}
	if scheme == "" || strings.ContainsAny(scheme, "=\",") {
		return a, fmt.Errorf("%w: no scheme", errAuthHeader)
	}
	s := strings.TrimSpace(rest)
	for s != "" {
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return a, fmt.Errorf("%w: parameter without value near %q", errAuthHeader, s)
		}
		name := strings.ToLower(strings.TrimSpace(s[:eq]))
		if name == "" || strings.ContainsAny(name, " \",") {
			return a, fmt.Errorf("%w: bad parameter name %q", errAuthHeader, name)
		}
		s = strings.TrimLeft(s[eq+1:], " ")
		var val string
		quoted := false
		if strings.HasPrefix(s, `"`) {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				return a, fmt.Errorf("%w: unterminated quote in %s", errAuthHeader, name)
			}
			val, s, quoted = s[1:1+end], s[2+end:], true
		} else {
			end := strings.IndexByte(s, ',')
			if end < 0 {
				end = len(s)
			}
			val, s = strings.TrimSpace(s[:end]), s[end:]
		}
		if _, dup := a.params[name]; dup {
			return a, fmt.Errorf("%w: duplicate parameter %s", errAuthHeader, name)
		}
		a.params[name], a.quoted[name] = val, quoted
		s = strings.TrimSpace(s)
		if s == "" {
			break
		}
		if s[0] != ',' {
			return a, fmt.Errorf("%w: expected ',' near %q", errAuthHeader, s)
		}
		s = strings.TrimSpace(s[1:])
	}
	return a, nil
}

// sigFields are the MS-SIPAE 3.2.5.2 signature-buffer fields of a message.
type sigFields struct {
	callID, cseqNum, cseqMethod string
	fromURI, fromTag            string
	toURI, toTag                string
	paiSIP, paiTel              string
	expires                     string
	status                      string // responses only
}

func fieldsOf(m *sipmsg.Message) sigFields {
	var f sigFields
	f.callID = m.Value("Call-ID")
	num, method, _ := strings.Cut(strings.TrimSpace(m.Value("CSeq")), " ")
	f.cseqNum, f.cseqMethod = num, strings.TrimSpace(method)
	var p map[string]string
	f.fromURI, p = sipmsg.NameAddr(m.Value("From"))
	f.fromTag = p["tag"]
	f.toURI, p = sipmsg.NameAddr(m.Value("To"))
	f.toTag = p["tag"]
	pai, ok := m.Get("P-Asserted-Identity")
	if !ok {
		pai = m.Value("P-Preferred-Identity")
	}
	for _, part := range splitComma(pai) {
		u, _ := sipmsg.NameAddr(part)
		switch {
		case len(u) >= 4 && strings.EqualFold(u[:4], "sip:") && f.paiSIP == "":
			f.paiSIP = u
		case len(u) >= 4 && strings.EqualFold(u[:4], "tel:") && f.paiTel == "":
			f.paiTel = u
		}
	}
	f.expires = m.Value("Expires")
	if !m.IsRequest() {
		f.status = fmt.Sprint(m.StatusCode)
	}
	return f
}

// splitComma splits a header list on commas outside quotes and <>.
func splitComma(v string) []string {
	var out []string
	depth, inQ, start := 0, false, 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '"':
			inQ = !inQ
		case '<':
			if !inQ {
				depth++
			}
		case '>':
			if !inQ && depth > 0 {
				depth--
			}
		case ',':
			if !inQ && depth == 0 {
				out = append(out, strings.TrimSpace(v[start:i]))
				start = i + 1
			}
		}
	}
	if s := strings.TrimSpace(v[start:]); s != "" {
		out = append(out, s)
	}
	return out
}

// buffer builds the protocol-version-4 signature buffer (protocols.md
// §2.3): every field in <>, values exactly as on the wire.
func (f sigFields) buffer(scheme, rnd, num, targetname string) []byte {
	parts := []string{scheme, rnd, num, realm, targetname, f.callID, f.cseqNum, f.cseqMethod,
		f.fromURI, f.fromTag, f.toURI, f.toTag, f.paiSIP, f.paiTel, f.expires}
	if f.status != "" {
		parts = append(parts, f.status)
	}
	var b strings.Builder
	for _, p := range parts {
		b.WriteByte('<')
		b.WriteString(p)
		b.WriteByte('>')
	}
	return []byte(b.String())
}

// instanceNamespace is fcacfb03-8a73-46ef-91b1-e5ebeeaba4fe with its first
// three fields little-endian (protocols.md §1.3).
var instanceNamespace = []byte{0x03, 0xfb, 0xac, 0xfc, 0x73, 0x8a, 0xef, 0x46, 0x91, 0xb1, 0xe5, 0xeb, 0xee, 0xab, 0xa4, 0xfe}

// instanceFromEpid derives the +sip.instance UUID from an epid
// (MS-SIPRE; MS-SIPAE 3.3.5.2 has the server validate it). Uppercase.
func instanceFromEpid(epid string) string {
	h := sha1.New() //nolint:gosec // by definition
	h.Write(instanceNamespace)
	h.Write([]byte(epid))
	sum := h.Sum(nil)[:16]
	d1 := binary.LittleEndian.Uint32(sum[0:])
	d2 := binary.LittleEndian.Uint16(sum[4:])
	d3 := binary.LittleEndian.Uint16(sum[6:])
	d3 = d3&0x0fff | 0x5000
	sum[8] = sum[8]&0x3f | 0x80
	return fmt.Sprintf("%08X-%04X-%04X-%02X%02X-%X", d1, d2, d3, sum[8], sum[9], sum[10:16])
}

// instanceOf extracts the UUID of a +sip.instance="<urn:uuid:...>" value.
func instanceOf(param string) string {
	v := strings.Trim(param, `"`)
	v = strings.TrimPrefix(strings.TrimSuffix(v, ">"), "<")
	if len(v) >= 9 && strings.EqualFold(v[:9], "urn:uuid:") {
		v = v[9:]
	}
	return strings.ToUpper(v)
}

// aorOf reduces a SIP URI to user@host, lowercased, without scheme or params.
func aorOf(uri string) string {
	u := uri
	if len(u) >= 4 && strings.EqualFold(u[:4], "sip:") {
		u = u[4:]
	} else if len(u) >= 5 && strings.EqualFold(u[:5], "sips:") {
		u = u[5:]
	}
	u, _, _ = strings.Cut(u, ";")
	u, _, _ = strings.Cut(u, "?")
	return strings.ToLower(u)
}
