package sipua

import (
	"errors"
	"strconv"
	"strings"
)

// authParams is one MS-SIPAE auth header (protocols.md §2.2):
// a scheme token, then comma-separated name="value" (or name=token) pairs,
// kept in order so that formatting reproduces SIPE's field order.
//
// TODO(sipae): replace with sipae.Parse/Params.String once auth/sipae lands;
// this is the minimum the registration flow needs.
type authParams struct {
	Scheme string
	Names  []string
	Values []string
	Quoted []bool
}

var errAuthHeader = errors.New("sipua: malformed auth header")

func (p *authParams) Get(name string) (string, bool) {
	for i, n := range p.Names {
		if strings.EqualFold(n, name) {
			return p.Values[i], true
		}
	}
	return "", false
}

func (p *authParams) get(name string) string {
	v, _ := p.Get(name)
	return v
}

// Add appends a parameter; quoted selects name="value" over name=value.
func (p *authParams) Add(name, value string, quoted bool) {
	p.Names = append(p.Names, name)
	p.Values = append(p.Values, value)
	p.Quoted = append(p.Quoted, quoted)
}

func (p *authParams) String() string {
	var b strings.Builder
	b.WriteString(p.Scheme)
	for i, n := range p.Names {
		if i == 0 {
			b.WriteByte(' ')
		} else {
			b.WriteString(", ")
		}
		b.WriteString(n)
		b.WriteByte('=')
		if p.Quoted[i] {
			b.WriteByte('"')
			b.WriteString(p.Values[i])
			b.WriteByte('"')
		} else {
			b.WriteString(p.Values[i])
		}
	}
	return b.String()
}

// parseAuth parses one WWW-Authenticate / Authentication-Info value.
func parseAuth(s string) (*authParams, error) {
	s = strings.TrimSpace(s)
	scheme, rest, _ := strings.Cut(s, " ")
	if !isToken(scheme) {
		return nil, errAuthHeader
	}
	p := &authParams{Scheme: scheme}
	rest = strings.TrimSpace(rest)
	for rest != "" {
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 {
			return nil, errAuthHeader
		}
		name := strings.TrimSpace(rest[:eq])
		if !isToken(name) {
			return nil, errAuthHeader
		}
		rest = strings.TrimLeft(rest[eq+1:], " \t")
		var val string
		quoted := strings.HasPrefix(rest, `"`)
		if quoted {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return nil, errAuthHeader
			}
			val = rest[1 : end+1]
			rest = rest[end+2:]
		} else {
			end := strings.IndexByte(rest, ',')
			if end < 0 {
				end = len(rest)
			}
			val = strings.TrimRight(rest[:end], " \t")
			rest = rest[end:]
			if !isToken(val) {
				return nil, errAuthHeader
			}
		}
		p.Add(name, val, quoted)
		rest = strings.TrimLeft(rest, " \t")
		if rest == "" {
			break
		}
		if rest[0] != ',' {
			return nil, errAuthHeader
		}
		rest = strings.TrimLeft(rest[1:], " \t")
	}
	return p, nil
}

// version returns the version parameter, 0 if absent or invalid.
func (p *authParams) version() int {
	v, err := strconv.Atoi(p.get("version"))
	if err != nil {
		return 0
	}
	return v
}

// isToken reports whether s is a non-empty RFC 3261 token-ish word: no
// controls, spaces, quotes, commas or '='.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == '"' || c == ',' || c == '=' || c >= 0x7f {
			return false
		}
	}
	return true
}
