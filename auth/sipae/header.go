package sipae

import (
	"strconv"
	"strings"
)

// Scheme is an MS-SIPAE authentication scheme token.
type Scheme string

// Schemes Lync offers (MS-SIPAE 2.2.1, protocols.md §2.1).
const (
	NTLM     Scheme = "NTLM"
	TLSDSK   Scheme = "TLS-DSK"
	Kerberos Scheme = "Kerberos"
)

// canonicalScheme spells known schemes as Microsoft does, since the scheme is
// the first field of the signature buffer.
func canonicalScheme(s string) Scheme {
	for _, k := range []Scheme{NTLM, TLSDSK, Kerberos} {
		if strings.EqualFold(s, string(k)) {
			return k
		}
	}
	return Scheme(s)
}

// Family selects the header names: 401 WWW-Authenticate / Authorization /
// Authentication-Info (Lync 2013) or 407 Proxy-Authenticate /
// Proxy-Authorization / Proxy-Authentication-Info (OCS 2007), protocols.md
// §2.1 and pitfall 4.
type Family uint8

// Header families.
const (
	WWW Family = iota
	Proxy
)

// FamilyForStatus maps a challenge status (401, 407) to its family.
func FamilyForStatus(status int) (Family, bool) {
	switch status {
	case 401:
		return WWW, true
	case 407:
		return Proxy, true
	}
	return WWW, false
}

func (f Family) String() string {
	if f == Proxy {
		return "Proxy"
	}
	return "WWW"
}

// Challenge is the challenge header name (in 401/407 responses).
func (f Family) Challenge() string {
	if f == Proxy {
		return "Proxy-Authenticate"
	}
	return "WWW-Authenticate"
}

// Authorization is the client's header name.
func (f Family) Authorization() string {
	if f == Proxy {
		return "Proxy-Authorization"
	}
	return "Authorization"
}

// Info is the server signature header name on later messages.
func (f Family) Info() string {
	if f == Proxy {
		return "Proxy-Authentication-Info"
	}
	return "Authentication-Info"
}

// Status is the challenge status code of the family.
func (f Family) Status() int {
	if f == Proxy {
		return 407
	}
	return 401
}

// Params is one auth header value of either family (MS-SIPAE 2.2.2 –
// 2.2.5). Empty strings are absent parameters, except gssapi-data, whose
// presence is HasGssapi (the first NTLM request sends gssapi-data="").
// Version 0 means absent.
type Params struct {
	Scheme     Scheme
	Qop        string
	Realm      string
	TargetName string
	Opaque     string
	GssapiData string
	HasGssapi  bool
	Crand      string
	Cnum       string
	Response   string
	Srand      string
	Snum       string
	Rspauth    string
	StsURI     string
	Version    int
}

// maxHeader bounds the value Parse accepts; a TLS-DSK gssapi-data with a
// certificate chain is a few KiB.
const maxHeader = 64 << 10

// Parse reads one auth header value: a scheme token, then comma-separated
// name=value pairs where value is a quoted string or a token (MS-SIPAE
// 2.2.2, RFC 3261 25.1). Names are case-insensitive; unknown parameters are
// skipped; a duplicate known parameter, a bad version or a control
// character (which would allow header injection) is an error. Quoted
// strings end at the next '"': RFC 3261 quoted-pair escapes are not
// interpreted, since no MS-SIPAE value contains a quote.
func Parse(value string) (Params, error) {
	var p Params
	perr := func(off int, reason string) (Params, error) {
		return Params{}, &ParseError{Value: value, Offset: off, Reason: reason}
	}
	if len(value) > maxHeader {
		return perr(0, "value too long")
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return perr(i, "control character")
		}
	}
	i := skipWS(value, 0)
	start := i
	for i < len(value) && isToken(value[i]) {
		i++
	}
	if i == start {
		return perr(i, "missing scheme")
	}
	p.Scheme = canonicalScheme(value[start:i])
	if i < len(value) && value[i] != ' ' && value[i] != '\t' {
		return perr(i, "scheme not followed by space")
	}
	seen := map[string]bool{}
	first := true
	for {
		i = skipWS(value, i)
		if i >= len(value) {
			break
		}
		if !first {
			if value[i] != ',' {
				return perr(i, "expected ','")
			}
			i = skipWS(value, i+1)
		}
		first = false
		ns := i
		for i < len(value) && isToken(value[i]) {
			i++
		}
		if i == ns {
			return perr(i, "missing parameter name")
		}
		name := strings.ToLower(value[ns:i])
		i = skipWS(value, i)
		if i >= len(value) || value[i] != '=' {
			return perr(i, "expected '=' after "+name)
		}
		i = skipWS(value, i+1)
		var val string
		if i < len(value) && value[i] == '"' {
			end := strings.IndexByte(value[i+1:], '"')
			if end < 0 {
				return perr(i, "unterminated quoted string")
			}
			val = value[i+1 : i+1+end]
			i += end + 2
		} else {
			vs := i
			for i < len(value) && isToken(value[i]) {
				i++
			}
			if i == vs {
				return perr(i, "missing value for "+name)
			}
			val = value[vs:i]
		}
		if seen[name] {
			return perr(ns, "duplicate parameter "+name)
		}
		seen[name] = true
		if dst := p.field(name); dst != nil {
			*dst = val
		}
		switch name {
		case "gssapi-data":
			p.HasGssapi = true
		case "version":
			n, err := strconv.Atoi(val)
			if err != nil || n <= 0 || n > 1000 {
				return perr(ns, "bad version")
			}
			p.Version = n
		}
	}
	return p, nil
}

// field maps a parameter name to its string field (nil for version and
// unknown names).
func (p *Params) field(name string) *string {
	switch name {
	case "qop":
		return &p.Qop
	case "realm":
		return &p.Realm
	case "targetname":
		return &p.TargetName
	case "opaque":
		return &p.Opaque
	case "gssapi-data":
		return &p.GssapiData
	case "crand":
		return &p.Crand
	case "cnum":
		return &p.Cnum
	case "response":
		return &p.Response
	case "srand":
		return &p.Srand
	case "snum":
		return &p.Snum
	case "rspauth":
		return &p.Rspauth
	case "sts-uri":
		return &p.StsURI
	}
	return nil
}

func skipWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// isToken is RFC 3261 token plus '/' and ':' so that unquoted URIs and
// base64 ('+', '/', '=' excluded: '=' ends a name) survive lenient peers.
func isToken(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-.!%*_+`'~/:", c) >= 0
}

// Form orders: SIPE's client header (protocols.md §2.2), the server's
// Authentication-Info, and challenges.
var (
	clientOrder    = []string{"qop", "opaque", "realm", "targetname", "gssapi-data", "version", "crand", "cnum", "response"}
	infoOrder      = []string{"rspauth", "srand", "snum", "opaque", "qop", "targetname", "realm", "version"}
	challengeOrder = []string{"opaque", "gssapi-data", "realm", "targetname", "sts-uri", "version"}
	allParams      = []string{"qop", "opaque", "realm", "targetname", "gssapi-data", "version", "crand", "cnum", "response", "rspauth", "srand", "snum", "sts-uri"}
)

// String writes the value in the order of its form: a server
// Authentication-Info when rspauth/srand/snum are set, SIPE's client order
// `<scheme> qop="auth"[, opaque=…], realm=…, targetname=…[, gssapi-data=…][,
// version=N][, crand=…, cnum=…, response=…]` when qop is set, else a
// challenge. Any other set parameter follows. version is unquoted, the rest
// quoted.
func (p Params) String() string {
	order := challengeOrder
	switch {
	case p.Rspauth != "" || p.Srand != "" || p.Snum != "":
		order = infoOrder
	case p.Qop != "":
		order = clientOrder
	}
	var b strings.Builder
	b.WriteString(string(p.Scheme))
	done := map[string]bool{}
	n := 0
	write := func(name string) {
		if done[name] {
			return
		}
		done[name] = true
		var val string
		switch name {
		case "version":
			if p.Version == 0 {
				return
			}
			val = strconv.Itoa(p.Version)
		case "gssapi-data":
			if !p.HasGssapi && p.GssapiData == "" {
				return
			}
			val = `"` + p.GssapiData + `"`
		default:
			v := *p.field(name)
			if v == "" {
				return
			}
			val = `"` + v + `"`
		}
		if n == 0 {
			b.WriteByte(' ')
		} else {
			b.WriteString(", ")
		}
		n++
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(val)
	}
	for _, name := range order {
		write(name)
	}
	for _, name := range allParams {
		write(name)
	}
	return b.String()
}
