package sipua

import (
	"strings"

	"github.com/emiago/sipgo/sip"
)

// keepSchemeCase wraps sipgo's From/To parser so that the URI scheme keeps
// the case it had on the wire. sipgo lower-cases it ("SIP:" → "sip:") and
// the MS-SIPAE signature buffer must hold each field exactly as received
// (protocols.md §14 pitfall 2, SIPE bug #2981563: uppercase "SIP:" broke
// every v4 signature). The rest of the URI (user, host, parameters, escapes)
// sipgo already keeps verbatim.
func keepSchemeCase(parse sip.HeaderParser) sip.HeaderParser {
	return func(name []byte, text string) (sip.Header, error) {
		h, err := parse(name, text)
		if h == nil {
			return h, err
		}
		var u *sip.Uri
		switch v := h.(type) {
		case *sip.FromHeader:
			u = &v.Address
		case *sip.ToHeader:
			u = &v.Address
		default:
			return h, err
		}
		if raw := rawScheme(text, u.Scheme); raw != "" {
			u.Scheme = raw
		}
		return h, err
	}
}

// rawScheme returns the scheme of the name-addr or addr-spec in text as
// written there, when it differs from the parsed (lower-case) scheme only
// by case; otherwise "".
func rawScheme(text, parsed string) string {
	start := 0
	inQuote := false
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '\\' && inQuote:
			i++
		case c == '"':
			inQuote = !inQuote
		case c == '<' && !inQuote:
			start = i + 1
			i = len(text)
		}
	}
	rest := strings.TrimLeft(text[start:], " \t")
	if len(rest) <= len(parsed) || rest[len(parsed)] != ':' {
		return ""
	}
	raw := rest[:len(parsed)]
	if raw == parsed || !strings.EqualFold(raw, parsed) {
		return ""
	}
	return raw
}
