package dialplan

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
)

// Limits from the seed's Appendix C.
const (
	// Limit is the size of the phone's internal dial-plan buffer, applied
	// after each step. A string of exactly Limit characters fits.
	Limit = 10000
	// MaxAlternatives is the number of alternatives step 3 accepts per rule.
	MaxAlternatives = 30
	// MaxAlternativeLen is the longest alternative step 3 accepts.
	MaxAlternativeLen = 32
)

// Parameter names of the handset's in-band dial-plan items.
const (
	ParamOriginal    = "dialplan.1.originaldigitmap"
	ParamDigitMap    = "dialplan.1.digitmap"
	ParamE911String  = "dialplan.1.e911dialstring"
	ParamE911Mask    = "dialplan.1.e911dialmask"
	ruleSep          = "|"
	logToken         = "DIALPLANERROR"
	stepOriginal     = 1
	stepEmergency    = 2
	stepPreprocess   = 3
	stepConvert      = 4
	internalFlagTrue = "1"
)

// Rule is one Lync normalization rule (MS-SIPRE §2.2.8.2).
type Rule struct {
	Name        string // for messages only; not part of the rule string
	Pattern     string // [MC-RegEx] pattern
	Translation string // [MC-RegEx] replacement pattern
	Internal    bool   // InternalEnterpriseExtension (the seed's IsInternalExtension)
	Emergency   bool   // built from the emergency dial string/mask (step 2)
}

// anchored returns the pattern with ^ and $ added when missing (step 1).
func anchored(p string) string {
	if !strings.HasPrefix(p, "^") {
		p = "^" + p
	}
	if !strings.HasSuffix(p, "$") || strings.HasSuffix(p, `\$`) {
		p += "$"
	}
	return p
}

// String is the rule in the phone's form pattern@translation@0|1 (step 1).
func (r Rule) String() string {
	flag := "0"
	if r.Internal {
		flag = internalFlagTrue
	}
	return anchored(r.Pattern) + "@" + r.Translation + "@" + flag
}

// Emergency is the location policy's emergency dial string and mask.
type Emergency struct {
	DialString string // e.g. "911"
	DialMask   string // e.g. "112;999"
}

// Rules returns the emergency rules of step 2 (see the package doc).
func (e Emergency) Rules() []Rule {
	ds := strings.TrimSpace(e.DialString)
	if ds == "" {
		return nil
	}
	seen := map[string]bool{}
	var out []Rule
	add := func(m string) {
		m = strings.TrimSpace(m)
		if m == "" || seen[m] {
			return
		}
		seen[m] = true
		out = append(out, Rule{Name: "emergency " + m, Pattern: "^" + regexp.QuoteMeta(m) + "$", Translation: ds, Emergency: true})
	}
	add(ds)
	for _, m := range strings.FieldsFunc(e.DialMask, func(r rune) bool { return r == ';' || r == ',' }) {
		add(m)
	}
	return out
}

// Join builds the step-1 string from rules: the value of
// dialplan.1.originaldigitmap. It returns the string and how many rules fit;
// rules from that index on were dropped (ErrTooLong).
func Join(rules []Rule) (string, int) {
	var b strings.Builder
	for i, r := range rules {
		s := r.String()
		n := len(s)
		if b.Len() > 0 {
			n += len(ruleSep)
		}
		if b.Len()+n > Limit {
			return b.String(), i
		}
		if b.Len() > 0 {
			b.WriteString(ruleSep)
		}
		b.WriteString(s)
	}
	return b.String(), len(rules)
}

// ParseOriginal splits a rule string (dialplan.1.originaldigitmap) back into
// rules. A '|' separates rules only where the text before it, outside
// parentheses and brackets, ends a complete pattern@translation@0|1 rule, so
// alternation inside patterns survives.
func ParseOriginal(s string) ([]Rule, error) {
	if s == "" {
		return nil, nil
	}
	var out []Rule
	depth, inClass, esc, start := 0, false, false, 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) {
			c := s[i]
			switch {
			case esc:
				esc = false
				continue
			case c == '\\':
				esc = true
				continue
			case inClass:
				if c == ']' {
					inClass = false
				}
				continue
			case c == '[':
				inClass = true
				continue
			case c == '(':
				depth++
				continue
			case c == ')':
				depth--
				continue
			case c != '|' || depth != 0:
				continue
			}
		}
		seg := s[start:i]
		r, err := parseRule(seg)
		if err != nil {
			if i == len(s) {
				return nil, err
			}
			continue // '|' inside a pattern (top-level alternation)
		}
		out = append(out, r)
		start = i + 1
	}
	return out, nil
}

func parseRule(seg string) (Rule, error) {
	last := strings.LastIndexByte(seg, '@')
	first := strings.IndexByte(seg, '@')
	if first < 0 || first == last {
		return Rule{}, fmt.Errorf("%w: %q: want pattern@translation@0|1", ErrMalformedRule, seg)
	}
	var internal bool
	switch seg[last+1:] {
	case "0":
	case "1":
		internal = true
	default:
		return Rule{}, fmt.Errorf("%w: %q: flag must be 0 or 1", ErrMalformedRule, seg)
	}
	return Rule{Pattern: seg[:first], Translation: seg[first+1 : last], Internal: internal}, nil
}

// Compiled is a rule in effect after all four steps.
type Compiled struct {
	Rule
	Expanded string // the step-3 rule string (one alternative)
	DigitMap string // its digit-map strings, joined by '|'
	Source   int    // index of the rule it came from in the step-2 list
	re       *regexp.Regexp
	tmpl     string
}

// Dropped records a rule left out, at which step and why.
type Dropped struct {
	Step int
	Rule string
	Err  error
}

// Plan is the outcome of compiling a dial plan.
type Plan struct {
	Original      string // step 1: dialplan.1.originaldigitmap
	WithEmergency string // step 2
	Expanded      string // step 3
	DigitMap      string // step 4: dialplan.1.digitmap
	Rules         []Compiled
	Dropped       []Dropped
}

// Compile runs the four steps on rules (in order) and the emergency
// settings. It never fails: rules that break a limit are dropped, recorded
// in Plan.Dropped and logged with DIALPLANERROR. logger may be nil.
func Compile(rules []Rule, em Emergency, logger *slog.Logger) *Plan {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p := &Plan{}
	drop := func(step int, rule string, err error) {
		p.Dropped = append(p.Dropped, Dropped{Step: step, Rule: rule, Err: err})
		logger.LogAttrs(context.Background(), slog.LevelWarn, logToken+": rule dropped",
			slog.Int("step", step), slog.String("rule", rule), slog.String("reason", err.Error()))
	}

	// Step 1.
	var n int
	p.Original, n = Join(rules)
	for _, r := range rules[n:] {
		drop(stepOriginal, r.String(), ErrTooLong)
	}
	kept := append([]Rule(nil), rules[:n]...)

	// Step 2: the emergency rules go after the regular ones, if they fit.
	all := append(kept, em.Rules()...)
	var m int
	p.WithEmergency, m = Join(all)
	for _, r := range all[m:] {
		drop(stepEmergency, r.String(), ErrTooLong)
	}
	all = all[:m]
	logger.LogAttrs(context.Background(), slog.LevelDebug, "dialplan: pre-processor input", slog.String("in", p.WithEmergency))

	// Step 3: expand alternation; a rule that breaks the limits or does
	// not fit is dropped alone.
	type expanded struct {
		rule Rule
		src  int
		pats []string
		res  []*regexp.Regexp
	}
	var exps []expanded
	var eb strings.Builder
	for i, r := range all {
		pats, err := Expand(anchored(r.Pattern))
		var res []*regexp.Regexp
		if err == nil {
			for _, pt := range pats {
				re, cerr := regexp.Compile(pt)
				if cerr != nil {
					err = fmt.Errorf("%w: %w", ErrBadPattern, cerr)
					break
				}
				res = append(res, re)
			}
		}
		if err != nil {
			drop(stepPreprocess, r.String(), err)
			continue
		}
		var rb strings.Builder
		for _, pt := range pats {
			if rb.Len() > 0 {
				rb.WriteString(ruleSep)
			}
			rb.WriteString(Rule{Pattern: pt, Translation: r.Translation, Internal: r.Internal}.String())
		}
		add := rb.Len()
		if eb.Len() > 0 {
			add += len(ruleSep)
		}
		if eb.Len()+add > Limit {
			drop(stepPreprocess, r.String(), ErrTooLong)
			continue
		}
		if eb.Len() > 0 {
			eb.WriteString(ruleSep)
		}
		eb.WriteString(rb.String())
		exps = append(exps, expanded{rule: r, src: i, pats: pats, res: res})
	}
	p.Expanded = eb.String()
	logger.LogAttrs(context.Background(), slog.LevelDebug, "dialplan: pre-processor output", slog.String("out", p.Expanded))

	// Step 4: convert; the first rule that does not fit truncates the map.
	var db strings.Builder
	truncated := false
	for _, e := range exps {
		for k, pt := range e.pats {
			exp := Rule{Pattern: pt, Translation: e.rule.Translation, Internal: e.rule.Internal}.String()
			if truncated {
				drop(stepConvert, exp, ErrTooLong)
				continue
			}
			dm, err := ToDigitMap(pt)
			if err != nil {
				drop(stepConvert, exp, err)
				continue
			}
			add := len(dm)
			if db.Len() > 0 {
				add += len(ruleSep)
			}
			if db.Len()+add > Limit {
				truncated = true
				drop(stepConvert, exp, ErrTooLong)
				continue
			}
			if db.Len() > 0 {
				db.WriteString(ruleSep)
			}
			db.WriteString(dm)
			cr := e.rule
			cr.Pattern = pt
			p.Rules = append(p.Rules, Compiled{Rule: cr, Expanded: exp, DigitMap: dm, Source: e.src,
				re: e.res[k], tmpl: goTemplate(e.rule.Translation)})
		}
	}
	p.DigitMap = db.String()
	logger.LogAttrs(context.Background(), slog.LevelDebug, "dialplan: conversion output", slog.String("digitmap", p.DigitMap))
	return p
}

// FromParams compiles the plan held in handset parameters
// (dialplan.1.originaldigitmap and the e911 dial string and mask).
func FromParams(values map[string]string, logger *slog.Logger) (*Plan, error) {
	rules, err := ParseOriginal(values[ParamOriginal])
	if err != nil {
		return nil, fmt.Errorf("dialplan: %s: %w", ParamOriginal, err)
	}
	return Compile(rules, Emergency{DialString: values[ParamE911String], DialMask: values[ParamE911Mask]}, logger), nil
}
