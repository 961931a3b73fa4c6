package dialplan

import (
	"fmt"
	"strings"
)

// Expand is step 3 for one pattern: it removes alternation by returning one
// pattern per alternative, keeping the group's parentheses so that $n in the
// translation still refers to the same group. One extra level of parentheses
// around each alternative is removed first, as in the seed's example:
// ^((8047[0-9])|(8063[0-9]))$ → ^(8047[0-9])$ and ^(8063[0-9])$.
// A pattern without alternation comes back unchanged.
func Expand(pattern string) ([]string, error) {
	out, err := expand(pattern, 0)
	if err != nil {
		return nil, err
	}
	if len(out) > MaxAlternatives {
		return nil, fmt.Errorf("%w: %d after expansion", ErrTooManyAlternatives, len(out))
	}
	return out, nil
}

// expand expands the first alternation group at or after from, then the rest.
func expand(p string, from int) ([]string, error) {
	for i := from; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '[':
			j := classEnd(p, i)
			if j < 0 {
				return nil, fmt.Errorf("%w: unterminated [ in %q", ErrBadPattern, p)
			}
			i = j
		case '|':
			return nil, fmt.Errorf("%w: alternation outside parentheses in %q", ErrUnsupported, p)
		case ')':
			return nil, fmt.Errorf("%w: unbalanced ) in %q", ErrBadPattern, p)
		case '(':
			j := groupEnd(p, i)
			if j < 0 {
				return nil, fmt.Errorf("%w: unbalanced ( in %q", ErrBadPattern, p)
			}
			open, inner := "(", p[i+1:j]
			if strings.HasPrefix(inner, "?:") { // non-capturing: keep it so
				open, inner = "(?:", inner[2:] // $n numbering is unchanged
			}
			alts := splitTop(inner)
			if len(alts) == 1 {
				// No alternation at this level: skip the group if nothing
				// inside alternates, otherwise look inside it.
				if !hasAlternation(p[i+1 : j]) {
					i = j
				}
				continue
			}
			if len(alts) > MaxAlternatives {
				return nil, fmt.Errorf("%w: %d in %q", ErrTooManyAlternatives, len(alts), p[i:j+1])
			}
			var out []string
			for _, a := range alts {
				a = unwrap(a)
				if strings.ContainsAny(unescaped(a), "()|") {
					return nil, fmt.Errorf("%w: %q", ErrNesting, a)
				}
				if len(a) > MaxAlternativeLen {
					return nil, fmt.Errorf("%w: %q is %d", ErrAlternativeTooLong, a, len(a))
				}
				head := p[:i] + open + a + ")"
				rest, err := expand(head+p[j+1:], len(head))
				if err != nil {
					return nil, err
				}
				out = append(out, rest...)
				if len(out) > MaxAlternatives {
					return nil, fmt.Errorf("%w: %d after expansion of %q", ErrTooManyAlternatives, len(out), p)
				}
			}
			return out, nil
		}
	}
	return []string{p}, nil
}

// classEnd returns the index of the ']' closing the class opened at i.
func classEnd(p string, i int) int {
	j := i + 1
	if j < len(p) && p[j] == '^' {
		j++
	}
	if j < len(p) && p[j] == ']' { // a leading ] is literal
		j++
	}
	for ; j < len(p); j++ {
		switch p[j] {
		case '\\':
			j++
		case ']':
			return j
		}
	}
	return -1
}

// groupEnd returns the index of the ')' closing the group opened at i.
func groupEnd(p string, i int) int {
	depth := 0
	for j := i; j < len(p); j++ {
		switch p[j] {
		case '\\':
			j++
		case '[':
			k := classEnd(p, j)
			if k < 0 {
				return -1
			}
			j = k
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

// splitTop splits s at '|' outside parentheses and classes.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for j := 0; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '[':
			if k := classEnd(s, j); k >= 0 {
				j = k
			}
		case '(':
			depth++
		case ')':
			depth--
		case '|':
			if depth == 0 {
				out = append(out, s[start:j])
				start = j + 1
			}
		}
	}
	return append(out, s[start:])
}

// hasAlternation reports an unescaped '|' outside classes anywhere in s.
func hasAlternation(s string) bool { return strings.Contains(unescaped(s), "|") }

// unescaped returns s with escaped characters and classes blanked out, so
// that only structural ( ) | remain meaningful.
func unescaped(s string) string {
	b := []byte(s)
	for j := 0; j < len(b); j++ {
		switch b[j] {
		case '\\':
			b[j] = '_'
			if j+1 < len(b) {
				b[j+1] = '_'
			}
			j++
		case '[':
			k := classEnd(s, j)
			if k < 0 {
				k = len(b) - 1
			}
			for ; j <= k; j++ {
				b[j] = '_'
			}
			j--
		}
	}
	return string(b)
}

// unwrap removes one pair of parentheses enclosing all of a.
func unwrap(a string) string {
	if len(a) >= 2 && a[0] == '(' && groupEnd(a, 0) == len(a)-1 {
		return a[1 : len(a)-1]
	}
	return a
}
