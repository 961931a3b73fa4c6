package dialplan

import "strings"

// Result is the outcome of normalizing a dialled number.
type Result struct {
	Input   string
	Number  string   // the translated number; Input when no rule matched
	Matched bool     // a rule matched
	Index   int      // index into Plan.Rules of the matching rule, -1 if none
	Rule    Compiled // the matching rule
}

// Normalize applies the plan's rules in order; the first whose pattern
// matches the whole number translates it (MS-SIPRE §3.1.5.1).
func (p *Plan) Normalize(number string) Result {
	for i, r := range p.Rules {
		m := r.re.FindStringSubmatchIndex(number)
		if m == nil {
			continue
		}
		out := r.re.ExpandString(nil, r.tmpl, number, m)
		return Result{Input: number, Number: string(out), Matched: true, Index: i, Rule: r}
	}
	return Result{Input: number, Number: number, Index: -1}
}

// goTemplate rewrites an [MC-RegEx] replacement pattern for
// regexp.Expand: $1 becomes ${1} (Go would read $1x as a group named "1x"),
// $$ stays a literal dollar, ${name} stays, $0 / $& is the whole match.
func goTemplate(t string) string {
	var b strings.Builder
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c != '$' || i+1 >= len(t) {
			if c == '$' {
				b.WriteString("$$")
				continue
			}
			b.WriteByte(c)
			continue
		}
		n := t[i+1]
		switch {
		case n == '$':
			b.WriteString("$$")
			i++
		case n == '&':
			b.WriteString("${0}")
			i++
		case n == '{':
			end := strings.IndexByte(t[i:], '}')
			if end < 0 {
				b.WriteString("$$")
				continue
			}
			b.WriteString(t[i : i+end+1])
			i += end
		case n >= '0' && n <= '9':
			j := i + 1
			for j < len(t) && t[j] >= '0' && t[j] <= '9' {
				j++
			}
			b.WriteString("${" + t[i+1:j] + "}")
			i = j - 1
		default:
			b.WriteString("$$")
		}
	}
	return b.String()
}
