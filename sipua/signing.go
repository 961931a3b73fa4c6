package sipua

import (
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// sigFields are the MS-SIPAE signature-buffer fields of one message
// (protocols.md §2.3, MS-SIPAE 3.2.5.2), taken exactly as they appear.
//
// TODO(sipae): map to sipae.SignedFields + sipae.Buffer once auth/sipae lands.
type sigFields struct {
	Scheme, Rand, Num, Realm, TargetName string
	CallID, CSeqNum, CSeqMethod          string
	FromURI, FromTag, ToURI, ToTag       string
	PAISip, PAITel                       string
	Expires                              string
	Status                               string // responses only
	Response                             bool
}

// buffer builds the "message breakdown": every field in <>, no separators.
// Version < 3 uses the 13-field MS-SIP 3.1.4.2 form; >= 3 adds To URI and
// the two P-Asserted-Identity URIs.
func (f *sigFields) buffer(version int) []byte {
	var b strings.Builder
	add := func(s string) { b.WriteByte('<'); b.WriteString(s); b.WriteByte('>') }
	add(f.Scheme)
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
	if f.Response {
		add(f.Status)
	}
	return []byte(b.String())
}

// messageFields extracts the message-dependent fields of msg.
func messageFields(msg sip.Message) sigFields {
	var f sigFields
	if id := msg.CallID(); id != nil {
		f.CallID = id.Value()
	}
	if cs := msg.CSeq(); cs != nil {
		f.CSeqNum = strconv.FormatUint(uint64(cs.SeqNo), 10)
		f.CSeqMethod = string(cs.MethodName)
	}
	if from := msg.From(); from != nil {
		f.FromURI = from.Address.String()
		f.FromTag, _ = from.Params.Get("tag")
	}
	if to := msg.To(); to != nil {
		f.ToURI = to.Address.String()
		f.ToTag, _ = to.Params.Get("tag")
	}
	pai := msg.GetHeaders("P-Asserted-Identity")
	if len(pai) == 0 {
		pai = msg.GetHeaders("P-Preferred-Identity")
	}
	for _, h := range pai {
		for _, u := range splitList(h.Value()) {
			u = uriOf(u)
			switch {
			case strings.HasPrefix(strings.ToLower(u), "sip:") && f.PAISip == "":
				f.PAISip = u
			case strings.HasPrefix(strings.ToLower(u), "tel:") && f.PAITel == "":
				f.PAITel = u
			}
		}
	}
	if hs := msg.GetHeaders("Expires"); len(hs) > 0 {
		h := hs[0]
		f.Expires = strings.TrimSpace(h.Value())
	}
	if res, ok := msg.(*sip.Response); ok {
		f.Response = true
		f.Status = strconv.Itoa(int(res.StatusCode))
	}
	return f
}

// uriOf returns the text inside <...>, or up to the first ';' without
// angle brackets (pitfall 2: From/To without <>).
func uriOf(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '<'); i >= 0 {
		if j := strings.IndexByte(s[i:], '>'); j > 0 {
			return s[i+1 : i+j]
		}
	}
	if i := strings.IndexByte(s, ';'); i >= 0 {
		return s[:i]
	}
	return s
}

// splitList splits a header value on commas outside quotes and <>.
func splitList(s string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
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
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	if rest := strings.TrimSpace(s[start:]); rest != "" {
		out = append(out, rest)
	}
	return out
}
