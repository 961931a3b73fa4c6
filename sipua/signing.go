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

// splitList splits a header value on commas outside quotes and <> (via
// sipae.SplitList), trimming each element and dropping empty ones.
func splitList(s string) []string {
	var out []string
	for _, e := range sipae.SplitList(s) {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}
