package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/handset-dev/handset/sipua/dialplan"
)

func init() {
	register(&Command{Name: "dialplan", Summary: "show how the in-band Lync dial plan normalizes a dialled number, and why", Run: runDialplan})
}

func runDialplan(_ context.Context, env *Env, args []string) int {
	fs := newFlagSet(env, "dialplan")
	prov := fs.String("prov", "", "provisioning directory (.cfg files)")
	mac := fs.String("mac", "", "handset MAC, e.g. 0004f2000001")
	file := fs.String("inband", "", "provisioning XML: a provisionGroupList body or a labfe in-band data file (default: labfe's default set)")
	if err := fs.Parse(args); err != nil {
		return fail(env, &UsageError{err})
	}
	if fs.NArg() == 0 {
		return fail(env, &UsageError{errors.New("dialplan: want NUMBER (one or more)")})
	}
	st, err := loadInband(*prov, *mac, *file)
	if err != nil {
		return fail(env, err)
	}
	plan, err := dialplan.FromParams(st.params, env.Log)
	if err != nil {
		return fail(env, &UsageError{err})
	}
	printPlan(env.Stdout, plan, st.source)
	for _, n := range fs.Args() {
		printNormalized(env.Stdout, plan, n)
	}
	return ExitOK
}

func printPlan(w io.Writer, p *dialplan.Plan, source string) {
	fmt.Fprintf(w, "dial plan from %s: %d rules in effect, %d dropped\n", source, len(p.Rules), len(p.Dropped))
	fmt.Fprintf(w, "  originaldigitmap (%d chars): %s\n", len(p.Original), p.Original)
	fmt.Fprintf(w, "  digitmap (%d chars): %s\n", len(p.DigitMap), p.DigitMap)
	for _, d := range p.Dropped {
		fmt.Fprintf(w, "  DIALPLANERROR step %d: %s: %v\n", d.Step, d.Rule, d.Err)
	}
}

func printNormalized(w io.Writer, p *dialplan.Plan, number string) {
	r := p.Normalize(number)
	fmt.Fprintf(w, "\n%s\n", number)
	if !r.Matched {
		fmt.Fprintf(w, "  → %s (no rule matches; dialled as entered)\n", r.Number)
		return
	}
	var why []string
	if r.Rule.Internal {
		why = append(why, "internal extension")
	}
	if r.Rule.Emergency {
		why = append(why, "emergency")
	}
	kind := ""
	if len(why) > 0 {
		kind = " [" + strings.Join(why, ", ") + "]"
	}
	fmt.Fprintf(w, "  → %s%s\n", r.Number, kind)
	fmt.Fprintf(w, "  rule %d of %d: %s  (pattern %s, translation %s)\n", r.Index+1, len(p.Rules), r.Rule.Expanded, r.Rule.Pattern, r.Rule.Translation)
	fmt.Fprintf(w, "  digit map: %s\n", r.Rule.DigitMap)
}
