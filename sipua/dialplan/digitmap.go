package dialplan

import (
	"fmt"
	"strconv"
	"strings"
)

// maxVariants bounds the digit-map strings one pattern may turn into ({n,m}
// and ? multiply them); beyond it the pattern is reported unconvertible.
const maxVariants = 64

// maxRepeat bounds n and m in {n,m}.
const maxRepeat = 32

// plus marks a variant that needs a literal '+', which a keypad cannot dial.
const plus = "\x00"

// ToDigitMap is step 4 for one anchored pattern: it returns the RFC 3435
// §2.1.5 digit-map strings matching what the pattern matches, joined with
// '|'. See the package doc for the mapping.
func ToDigitMap(pattern string) (string, error) {
	p := strings.TrimPrefix(pattern, "^")
	if strings.HasSuffix(p, "$") && !strings.HasSuffix(p, `\$`) {
		p = p[:len(p)-1]
	}
	vs, err := parseAlt(p)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %w", ErrUnsupported, pattern, err)
	}
	seen := map[string]bool{}
	var out []string
	for _, v := range vs {
		if v == "" || strings.Contains(v, plus) || seen[v] {
			continue
		}
		seen[v] = true
		if strings.HasSuffix(v, ".") {
			v += "T" // open-ended: the inter-digit timer ends it
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return "", fmt.Errorf("%w: %q matches nothing a keypad can dial", ErrUnsupported, pattern)
	}
	return strings.Join(out, "|"), nil
}

var errTooMany = fmt.Errorf("more than %d digit-map strings", maxVariants)

func parseAlt(s string) ([]string, error) {
	var out []string
	for _, part := range splitTop(s) {
		vs, err := parseSeq(part)
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
		if len(out) > maxVariants {
			return nil, errTooMany
		}
	}
	return out, nil
}

func cross(a, b []string) ([]string, error) {
	if len(a)*len(b) > maxVariants {
		return nil, errTooMany
	}
	out := make([]string, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			out = append(out, x+y)
		}
	}
	return out, nil
}

// isPosition reports whether v is exactly one digit position (x, 5, [..]).
func isPosition(v string) bool {
	switch {
	case len(v) == 1:
		return v != "."
	case len(v) > 2 && v[0] == '[' && v[len(v)-1] == ']' && !strings.Contains(v[1:], "["):
		return true
	}
	return false
}

func parseSeq(s string) ([]string, error) {
	vars := []string{""}
	for i := 0; i < len(s); {
		atom, next, err := parseAtom(s, i)
		if err != nil {
			return nil, err
		}
		i = next
		q, next, err := parseQuant(s, i)
		if err != nil {
			return nil, err
		}
		i = next
		single := len(atom) == 1 && isPosition(atom[0])
		var add []string
		switch {
		case q.min == 1 && q.max == 1:
			add = atom
		case q.max < 0: // n or more
			if !single {
				return nil, fmt.Errorf("open-ended repeat of a group at %d", i)
			}
			add = []string{strings.Repeat(atom[0], q.min) + atom[0] + "."}
		default:
			for k := q.min; k <= q.max; k++ {
				rep := []string{""}
				for range k {
					if rep, err = cross(rep, atom); err != nil {
						return nil, err
					}
				}
				add = append(add, rep...)
				if len(add) > maxVariants {
					return nil, errTooMany
				}
			}
		}
		if vars, err = cross(vars, add); err != nil {
			return nil, err
		}
	}
	return vars, nil
}

type quant struct{ min, max int } // max < 0: unbounded

func parseQuant(s string, i int) (quant, int, error) {
	q := quant{1, 1}
	if i >= len(s) {
		return q, i, nil
	}
	switch s[i] {
	case '?':
		q, i = quant{0, 1}, i+1
	case '*':
		q, i = quant{0, -1}, i+1
	case '+':
		q, i = quant{1, -1}, i+1
	case '{':
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return q, i, fmt.Errorf("unterminated { at %d", i)
		}
		body := s[i+1 : i+end]
		lo, hi, comma := strings.Cut(body, ",")
		n, err := strconv.Atoi(lo)
		if err != nil || n < 0 || n > maxRepeat {
			return q, i, fmt.Errorf("bad repeat {%s}", body)
		}
		m := n
		if comma {
			if hi == "" {
				m = -1
			} else if m, err = strconv.Atoi(hi); err != nil || m < n || m > maxRepeat {
				return q, i, fmt.Errorf("bad repeat {%s}", body)
			}
		}
		q, i = quant{n, m}, i+end+1
	default:
		return q, i, nil
	}
	if i < len(s) && (s[i] == '?' || s[i] == '+') { // lazy/possessive: same set
		i++
	}
	if i < len(s) && strings.IndexByte("?*+{", s[i]) >= 0 {
		return q, i, fmt.Errorf("nested quantifier at %d", i)
	}
	return q, i, nil
}

func parseAtom(s string, i int) ([]string, int, error) {
	c := s[i]
	switch {
	case c >= '0' && c <= '9', c == '#':
		return []string{string(c)}, i + 1, nil
	case c == '.':
		return []string{"x"}, i + 1, nil
	case c == '\\':
		if i+1 >= len(s) {
			return nil, i, fmt.Errorf("trailing backslash")
		}
		switch e := s[i+1]; e {
		case 'd':
			return []string{"x"}, i + 2, nil
		case '*', '#':
			return []string{string(e)}, i + 2, nil
		case '+':
			return []string{plus}, i + 2, nil
		default:
			return nil, i, fmt.Errorf(`escape \%c`, e)
		}
	case c == '[':
		j := classEnd(s, i)
		if j < 0 {
			return nil, i, fmt.Errorf("unterminated [")
		}
		pos, err := class(s[i+1 : j])
		if err != nil {
			return nil, i, err
		}
		return []string{pos}, j + 1, nil
	case c == '(':
		j := groupEnd(s, i)
		if j < 0 {
			return nil, i, fmt.Errorf("unbalanced (")
		}
		inner := s[i+1 : j]
		if strings.HasPrefix(inner, "?:") {
			inner = inner[2:]
		} else if strings.HasPrefix(inner, "?") {
			return nil, i, fmt.Errorf("group construct (%s", inner[:min(len(inner), 3)])
		}
		vs, err := parseAlt(inner)
		if err != nil {
			return nil, i, err
		}
		return vs, j + 1, nil
	default:
		return nil, i, fmt.Errorf("%q at %d", c, i)
	}
}

// class converts the inside of [..] to x or an RFC 3435 DigitMapRange.
func class(body string) (string, error) {
	if strings.HasPrefix(body, "^") {
		return "", fmt.Errorf("negated class [%s]", body)
	}
	var set [12]bool // 0-9, *, #
	for j := 0; j < len(body); j++ {
		c := body[j]
		switch {
		case c == '\\' && j+1 < len(body) && body[j+1] == 'd':
			for k := range 10 {
				set[k] = true
			}
			j++
		case c == '\\' && j+1 < len(body) && (body[j+1] == '*' || body[j+1] == '#'):
			j++
			set[map[byte]int{'*': 10, '#': 11}[body[j]]] = true
		case c == '*':
			set[10] = true
		case c == '#':
			set[11] = true
		case c >= '0' && c <= '9':
			hi := c
			if j+2 < len(body) && body[j+1] == '-' {
				hi = body[j+2]
				if hi < c || hi > '9' {
					return "", fmt.Errorf("range %c-%c", c, hi)
				}
				j += 2
			}
			for k := c; k <= hi; k++ {
				set[k-'0'] = true
			}
		default:
			return "", fmt.Errorf("%q in class", c)
		}
	}
	all := true
	for k := range 10 {
		all = all && set[k]
	}
	if all && !set[10] && !set[11] {
		return "x", nil
	}
	var b strings.Builder
	b.WriteByte('[')
	for k := 0; k < 10; {
		if !set[k] {
			k++
			continue
		}
		e := k
		for e+1 < 10 && set[e+1] {
			e++
		}
		b.WriteByte(byte('0' + k))
		if e > k {
			b.WriteByte('-')
			b.WriteByte(byte('0' + e))
		}
		k = e + 1
	}
	if set[10] {
		b.WriteByte('*')
	}
	if set[11] {
		b.WriteByte('#')
	}
	if b.Len() == 1 {
		return "", fmt.Errorf("empty class")
	}
	b.WriteByte(']')
	return b.String(), nil
}
