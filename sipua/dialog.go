package sipua

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/handset-dev/handset/auth/sipae"
)

// dialog is the RFC 3261 §12 dialog state of one call: its ID (Call-ID,
// local and remote tags), the local and remote URIs, the CSeq spaces, the
// remote target (the peer's Contact) and the route set (Record-Route,
// reversed for the UAC, §12.1.2; as received for the UAS, §12.1.1).
type dialog struct {
	callID    string
	localTag  string
	remoteTag string
	localURI  string // From of our requests, "sip:alice@contoso.test"
	remoteURI string // To of our requests
	localSeq  uint32
	remoteSeq uint32 // 0 until the peer sends an in-dialog request
	target    string // remote target URI
	routes    []string
}

// dialogFromResponse builds the UAC side from the INVITE and its 2xx
// (RFC 3261 §12.1.2).
func dialogFromResponse(inv *sip.Request, res *sip.Response, localTag string) dialog {
	d := dialog{callID: inv.CallID().Value(), localTag: localTag, localURI: inv.From().Address.String(),
		remoteURI: inv.To().Address.String(), localSeq: inv.CSeq().SeqNo, target: inv.Recipient.String()}
	if to := res.To(); to != nil {
		d.remoteTag, _ = to.Params.Get("tag")
	}
	if ct := contactURI(res); ct != "" {
		d.target = ct
	}
	rr := recordRoutes(res)
	for i := len(rr) - 1; i >= 0; i-- {
		d.routes = append(d.routes, rr[i])
	}
	return d
}

// dialogFromRequest builds the UAS side from an incoming INVITE (§12.1.1).
func dialogFromRequest(inv *sip.Request, localTag string) dialog {
	d := dialog{callID: inv.CallID().Value(), localTag: localTag, localURI: inv.To().Address.String(),
		remoteURI: inv.From().Address.String(), remoteSeq: inv.CSeq().SeqNo, routes: recordRoutes(inv)}
	d.remoteTag, _ = inv.From().Params.Get("tag")
	d.target = contactURI(inv)
	if d.target == "" {
		d.target = d.remoteURI
	}
	return d
}

// contactURI returns the URI of the first Contact of m ("" if none).
func contactURI(m sip.Message) string {
	hs := m.GetHeaders("Contact")
	if len(hs) == 0 {
		return ""
	}
	vals := splitList(hs[0].Value())
	if len(vals) == 0 {
		return ""
	}
	return sipae.URIOf(vals[0])
}

// recordRoutes returns the Record-Route entries of m in order, as written
// (angle brackets and parameters kept).
func recordRoutes(m sip.Message) []string {
	var out []string
	for _, h := range m.GetHeaders("Record-Route") {
		out = append(out, splitList(h.Value())...)
	}
	return out
}

// newRequest builds an in-dialog request (RFC 3261 §12.2.1.1): Request-URI
// the remote target, Route the route set (loose routing, RFC 3261 §16.12;
// a strict-routing first hop is not supported), From/To with the tags,
// CSeq the next local number (the caller passes seq for ACK and CANCEL).
func (d *dialog) newRequest(method sip.RequestMethod, seq uint32) (*sip.Request, error) {
	var ruri sip.Uri
	if err := sip.ParseUri(d.target, &ruri); err != nil {
		return nil, fmt.Errorf("sipua: remote target %q: %w", d.target, err)
	}
	req := sip.NewRequest(method, ruri)
	for _, r := range d.routes {
		req.AppendHeader(sip.NewHeader("Route", r))
	}
	from, err := nameAddr("From", d.localURI, d.localTag)
	if err != nil {
		return nil, err
	}
	to, err := nameAddr("To", d.remoteURI, d.remoteTag)
	if err != nil {
		return nil, err
	}
	req.AppendHeader(from)
	req.AppendHeader(to)
	cid := sip.CallIDHeader(d.callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: method})
	return req, nil
}

// nameAddr builds a typed From or To header with an optional tag.
func nameAddr(name, uri, tag string) (sip.Header, error) {
	var u sip.Uri
	if err := sip.ParseUri(uri, &u); err != nil {
		return nil, fmt.Errorf("sipua: %s %q: %w", name, uri, err)
	}
	p := sip.NewParams()
	if tag != "" {
		p.Add("tag", tag)
	}
	if name == "From" {
		return &sip.FromHeader{Address: u, Params: p}, nil
	}
	return &sip.ToHeader{Address: u, Params: p}, nil
}

// parseTarget turns what the user dialled into a request URI: a SIP URI
// as is, user@domain with sip: added, a bare user or number in our domain
// (numbers with user=phone, RFC 3261 §19.1.6).
func parseTarget(to, domain string) (sip.Uri, error) {
	s := strings.TrimSpace(to)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "<"), ">")
	if s == "" {
		return sip.Uri{}, &ConfigError{Field: "to", Value: to, Msg: "empty destination"}
	}
	low := strings.ToLower(s)
	if !strings.HasPrefix(low, "sip:") && !strings.HasPrefix(low, "sips:") {
		if !strings.Contains(s, "@") {
			phone := s != "" && strings.Trim(s, "+0123456789") == ""
			s += "@" + domain
			if phone {
				s += ";user=phone"
			}
		}
		s = "sip:" + s
	}
	var u, back sip.Uri
	if err := sip.ParseUri(s, &u); err != nil || u.Host == "" {
		return sip.Uri{}, &ConfigError{Field: "to", Value: to, Msg: "want a SIP URI, user@domain or a number"}
	}
	// The INVITE's Request-URI and To are written from u: refuse what does
	// not survive writing and reading back (found by FuzzParseTarget, e.g.
	// URI headers after '?').
	if err := sip.ParseUri(u.String(), &back); err != nil || back.String() != u.String() {
		return sip.Uri{}, &ConfigError{Field: "to", Value: to, Msg: "not a SIP URI that can be sent"}
	}
	return u, nil
}

// cseqOf returns the CSeq number of m, 0 if absent.
func cseqOf(m sip.Message) uint32 {
	if cs := m.CSeq(); cs != nil {
		return cs.SeqNo
	}
	return 0
}

// tagOf returns the tag of the From (from=true) or To header of m.
func tagOf(m sip.Message, from bool) string {
	if from {
		if f := m.From(); f != nil {
			t, _ := f.Params.Get("tag")
			return t
		}
		return ""
	}
	if t := m.To(); t != nil {
		tag, _ := t.Params.Get("tag")
		return tag
	}
	return ""
}

// branchOf returns the branch of the top Via of m.
func branchOf(m sip.Message) string {
	if v := m.Via(); v != nil {
		b, _ := v.Params.Get("branch")
		return b
	}
	return ""
}

func itoa(n int) string { return strconv.Itoa(n) }

// copyFrom, copyTo and copyCallID copy typed headers (the signature
// buffer reads the typed From/To, so a generic copy would not do).
func copyFrom(f *sip.FromHeader) *sip.FromHeader {
	return &sip.FromHeader{DisplayName: f.DisplayName, Address: f.Address, Params: copyParams(f.Params)}
}

func copyTo(t *sip.ToHeader) *sip.ToHeader {
	return &sip.ToHeader{DisplayName: t.DisplayName, Address: t.Address, Params: copyParams(t.Params)}
}

func copyCallID(m sip.Message) *sip.CallIDHeader {
	id := sip.CallIDHeader(m.CallID().Value())
	return &id
}

func copyParams(p sip.HeaderParams) sip.HeaderParams {
	out := sip.NewParams()
	for _, kv := range p {
		out.Add(kv.K, kv.V)
	}
	return out
}
