package sipua

import (
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/handset-dev/handset/auth/sipae"
)

// messageFields extracts the message-dependent fields of msg.
func messageFields(msg sip.Message) sipae.SignedFields {
	var f sipae.SignedFields
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
	vals := make([]string, 0, len(pai))
	for _, h := range pai {
		vals = append(vals, h.Value())
	}
	f.PAISip, f.PAITel = sipae.PAIURIs(vals...)
	if hs := msg.GetHeaders("Expires"); len(hs) > 0 {
		h := hs[0]
		f.Expires = strings.TrimSpace(h.Value())
	}
	if res, ok := msg.(*sip.Response); ok {
		f.StatusCode = res.StatusCode
	}
	return f
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
