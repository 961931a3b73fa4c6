package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"text/tabwriter"

	"github.com/handset-dev/handset/configs"
)

func init() {
	register(&Command{Name: "config", Summary: "show or check a handset's effective .cfg configuration (config show|check --prov DIR --mac MAC)", Run: runConfig})
	register(&Command{Name: "params", Summary: "list the known .cfg parameters: name, permitted values, default, description", Run: runParams})
}

// setFlags collects repeated --set name=value flags.
type setFlags []string

func (s *setFlags) String() string { return strings.Join(*s, ",") }

func (s *setFlags) Set(v string) error {
	if !strings.Contains(v, "=") {
		return fmt.Errorf("--set %q: want param=value", v)
	}
	*s = append(*s, v)
	return nil
}

type configOptions struct {
	sub     string
	prov    string
	mac     string
	sets    setFlags
	explain bool
}

func parseConfigFlags(env *Env, args []string) (*configOptions, error) {
	if len(args) == 0 || (args[0] != "show" && args[0] != "check") {
		return nil, &UsageError{errors.New("config: usage: handset config show|check --prov DIR --mac MAC [--set param=value]... [--explain]")}
	}
	o := &configOptions{sub: args[0]}
	fs := newFlagSet(env, "config "+o.sub)
	fs.StringVar(&o.prov, "prov", "", "provisioning directory (000000000000.cfg, <MAC>.cfg and the CONFIG_FILES they list)")
	fs.StringVar(&o.mac, "mac", "", "handset MAC, 12 hex digits, e.g. 0004f2000001")
	fs.Var(&o.sets, "set", "param=value override at the highest precedence (repeatable)")
	if o.sub == "show" {
		fs.BoolVar(&o.explain, "explain", false, "show where each value came from and which definitions it shadowed")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return nil, &UsageError{err}
	}
	if fs.NArg() > 0 {
		return nil, &UsageError{fmt.Errorf("config %s: unexpected argument %q", o.sub, fs.Arg(0))}
	}
	if o.prov == "" || o.mac == "" {
		return nil, &UsageError{fmt.Errorf("config %s: --prov DIR and --mac MAC are required", o.sub)}
	}
	return o, nil
}

func runConfig(_ context.Context, env *Env, args []string) int {
	o, err := parseConfigFlags(env, args)
	if err != nil {
		return fail(env, err)
	}
	if st, serr := os.Stat(o.prov); serr != nil || !st.IsDir() {
		return fail(env, &UsageError{fmt.Errorf("config %s: --prov %s: not a directory", o.sub, o.prov)})
	}
	var opts []configs.BootOption
	for _, s := range o.sets {
		n, v, _ := strings.Cut(s, "=")
		opts = append(opts, configs.WithSet(strings.TrimSpace(n), v))
	}
	eff, warns, err := configs.Boot(os.DirFS(o.prov), o.mac, opts...)
	for _, w := range warns {
		fmt.Fprintln(env.Stderr, "warning:", w.String())
	}
	if err != nil {
		printBootErrors(env.Stderr, err)
		return ExitUsage
	}
	if o.sub == "check" {
		fmt.Fprintf(env.Stdout, "ok: %s: %d parameters set (base profile %s), %d warnings\n",
			eff.MAC(), len(eff.Set()), eff.BaseProfileName(), len(warns))
		return ExitOK
	}
	writeEffective(env.Stdout, eff, o.explain)
	return ExitOK
}

// printBootErrors prints one line per joined error.
func printBootErrors(w io.Writer, err error) {
	var errs []error
	var flatten func(error)
	flatten = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				flatten(x)
			}
			return
		}
		errs = append(errs, e)
	}
	flatten(err)
	for _, e := range errs {
		fmt.Fprintln(w, "error:", e)
	}
	fmt.Fprintf(w, "handset: config: %d error(s)\n", len(errs))
}

// writeEffective prints every effective parameter; with explain, its source
// and the definitions it shadowed (first file wins, so later files show up
// here).
func writeEffective(w io.Writer, eff *configs.Effective, explain bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, v := range eff.All() {
		if !explain {
			fmt.Fprintf(tw, "%s\t%s\n", v.Name, quoteVal(v.Display()))
			continue
		}
		line := fmt.Sprintf("%s\t%s\t%s", v.Name, quoteVal(v.Display()), v.Source)
		if len(v.Shadowed) > 0 {
			sh := make([]string, len(v.Shadowed))
			for i, s := range v.Shadowed {
				sh[i] = s.String()
			}
			line += "\t(shadows " + strings.Join(sh, ", ") + ")"
		}
		fmt.Fprintln(tw, line)
	}
	_ = tw.Flush()
}

func quoteVal(s string) string { return fmt.Sprintf("%q", s) }

func runParams(_ context.Context, env *Env, args []string) int {
	fs := newFlagSet(env, "params")
	if err := fs.Parse(args); err != nil {
		return fail(env, &UsageError{err})
	}
	if fs.NArg() > 1 {
		return fail(env, &UsageError{errors.New("params: usage: handset params [PATTERN]")})
	}
	pattern := fs.Arg(0)
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPERMITTED\tDEFAULT\tDESCRIPTION")
	n := 0
	for _, p := range configs.Params() {
		if !paramMatches(p.Pattern, pattern) {
			continue
		}
		n++
		def := p.Default
		if def == "" {
			def = "Null"
		}
		desc := p.Description
		if p.Restart {
			desc += " [restart]"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Pattern, p.Permitted, def, desc)
	}
	_ = tw.Flush()
	if n == 0 {
		return fail(env, &UsageError{fmt.Errorf("params: no parameter matches %q", pattern)})
	}
	return ExitOK
}

// paramMatches matches a registry pattern against a user PATTERN: a glob
// (path.Match, "reg.x.server.y.*"), a concrete name ("reg.1.server.2.port")
// or a case-insensitive substring ("srtp").
func paramMatches(p, pattern string) bool {
	if pattern == "" {
		return true
	}
	if q, ok := configs.LookupParam(pattern); ok && q.Pattern == p {
		return true
	}
	if ok, err := path.Match(pattern, p); err == nil && ok {
		return true
	}
	return strings.Contains(strings.ToLower(p), strings.ToLower(pattern))
}
