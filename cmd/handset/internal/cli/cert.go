package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/handset-dev/handset/certrenew"
)

func init() {
	register(&Command{Name: "cert", Summary: "user certificates: `cert schedule` prints the renewal attempt instants", Run: runCert})
}

func runCert(ctx context.Context, env *Env, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(env.Stderr, "usage: handset cert schedule (--not-after T | --lifetime D) [--not-before T] [--now T] [--fail N] [--time-scale K]")
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	switch args[0] {
	case "schedule":
		return runCertSchedule(ctx, env, args[1:])
	default:
		return fail(env, &UsageError{fmt.Errorf("cert: unknown subcommand %q (want schedule)", args[0])})
	}
}

// certScheduleOptions are the parsed flags of `handset cert schedule`.
type certScheduleOptions struct {
	validity certrenew.Validity
	now      time.Time
	fail     int
	scale    float64
}

func parseCertScheduleFlags(env *Env, args []string, wallNow time.Time) (*certScheduleOptions, error) {
	fs := newFlagSet(env, "cert schedule")
	notBefore := fs.String("not-before", "", "certificate notBefore, RFC 3339 (default: --now)")
	notAfter := fs.String("not-after", "", "certificate notAfter, RFC 3339")
	lifetime := fs.Duration("lifetime", 0, "certificate lifetime from --not-before, e.g. 8h, 8760h (instead of --not-after)")
	nowFlag := fs.String("now", "", "when the schedule starts (sign-in), RFC 3339 (default: --not-before if given, else the current time)")
	failN := fs.Int("fail", 0, "the first N attempts fail (-1: every attempt fails, until expiry)")
	scale := fs.Float64("time-scale", 1, "compress the schedule's fixed durations (30 days, 10/60 minutes) by K, as `handset load --time-scale` does")
	fs.Usage = func() {
		fmt.Fprintln(env.Stderr, "usage: handset cert schedule (--not-after T | --lifetime D) [--not-before T] [--now T] [--fail N] [--time-scale K]")
		fmt.Fprintln(env.Stderr, "Prints the instants of the user-certificate renewal attempts (seed: first at min(1/4 lifetime, 30 days)")
		fmt.Fprintln(env.Stderr, "before expiry; after failures 10, 20 … 60 minutes, then every 60 minutes until expiry).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, &UsageError{err}
	}
	if fs.NArg() > 0 {
		return nil, &UsageError{fmt.Errorf("cert schedule: unexpected argument %q", fs.Arg(0))}
	}
	parse := func(name, v string) (time.Time, error) {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return time.Time{}, &UsageError{fmt.Errorf("cert schedule: --%s %q: want RFC 3339, e.g. 2026-01-01T00:00:00Z", name, v)}
		}
		return t, nil
	}
	o := &certScheduleOptions{fail: *failN, scale: *scale}
	var err error
	switch {
	case *nowFlag != "":
		if o.now, err = parse("now", *nowFlag); err != nil {
			return nil, err
		}
	case *notBefore != "":
		if o.now, err = parse("not-before", *notBefore); err != nil {
			return nil, err
		}
	default:
		o.now = wallNow.UTC().Truncate(time.Second)
	}
	o.validity.NotBefore = o.now
	if *notBefore != "" {
		if o.validity.NotBefore, err = parse("not-before", *notBefore); err != nil {
			return nil, err
		}
	}
	switch {
	case *notAfter != "" && *lifetime != 0:
		return nil, &UsageError{errors.New("cert schedule: give --not-after or --lifetime, not both")}
	case *notAfter != "":
		if o.validity.NotAfter, err = parse("not-after", *notAfter); err != nil {
			return nil, err
		}
	case *lifetime > 0:
		o.validity.NotAfter = o.validity.NotBefore.Add(*lifetime)
	default:
		return nil, &UsageError{errors.New("cert schedule: --not-after or a positive --lifetime is required")}
	}
	if !o.validity.NotAfter.After(o.validity.NotBefore) {
		return nil, &UsageError{fmt.Errorf("cert schedule: notAfter %s is not after notBefore %s",
			o.validity.NotAfter.Format(time.RFC3339), o.validity.NotBefore.Format(time.RFC3339))}
	}
	if o.fail < -1 {
		return nil, &UsageError{fmt.Errorf("cert schedule: --fail %d: want N ≥ 0, or -1 for every attempt", o.fail)}
	}
	if o.scale <= 0 {
		return nil, &UsageError{fmt.Errorf("cert schedule: --time-scale %v: want K > 0", o.scale)}
	}
	return o, nil
}

func runCertSchedule(_ context.Context, env *Env, args []string) int {
	o, err := parseCertScheduleFlags(env, args, time.Now())
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return fail(env, err)
	}
	writeCertSchedule(env.Stdout, o)
	return ExitOK
}

// writeCertSchedule prints the plan as a table a user can hold against the
// interop guide's "User Certificate Renewal Process".
func writeCertSchedule(w io.Writer, o *certScheduleOptions) {
	p := certrenew.Policy{}.Scaled(o.scale)
	v := o.validity
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	fmt.Fprintf(w, "certificate  not before %s\n", ts(v.NotBefore))
	fmt.Fprintf(w, "             not after  %s  (lifetime %s)\n", ts(v.NotAfter), certDays(v.Lifetime()))
	fmt.Fprintf(w, "schedule     first attempt %s before expiry = min(1/4 lifetime, %s); after failures %v, %v … %v, then every %v\n",
		certDays(p.Lead(v)), certDays(p.MaxLead), p.Backoff(1), p.Backoff(2), p.MaxBackoff, p.MaxBackoff)
	fmt.Fprintf(w, "from         %s", ts(o.now))
	switch {
	case o.fail < 0:
		fmt.Fprintln(w, ", every attempt failing")
	case o.fail > 0:
		fmt.Fprintf(w, ", the first %d attempt(s) failing\n", o.fail)
	default:
		fmt.Fprintln(w)
	}
	plan := p.Plan(v, o.now, o.fail)
	if len(plan) == 0 {
		fmt.Fprintf(w, "\nno attempt: the certificate has expired (%s). Seed rule: full credentials sign in with NTLM and get a new certificate; PIN sign-in must re-enter extension and PIN.\n", ts(v.NotAfter))
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "attempt\tat\tbefore expiry\toutcome")
	for i, a := range plan {
		outcome := "renewed"
		switch {
		case a.Failed && a.Wait > 0:
			outcome = fmt.Sprintf("failed, next in %v", a.Wait)
		case a.Failed:
			outcome = "failed, no attempt left"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", i+1, ts(a.At), certDays(v.NotAfter.Sub(a.At)), outcome)
	}
	_ = tw.Flush()
	if last := plan[len(plan)-1]; last.Failed {
		fmt.Fprintf(w, "\ncertificate expires at %s with renewal failing since %s (%d attempts); registration with TLS-DSK fails from then on\n",
			ts(v.NotAfter), ts(plan[0].At), len(plan))
	}
}

// certDays renders d with whole days split off (30d, 22d12h0m0s), which reads
// better than 720h0m0s against a document that speaks of days.
func certDays(d time.Duration) string {
	const day = 24 * time.Hour
	if d < day {
		return d.String()
	}
	s := fmt.Sprintf("%dd", d/day)
	if r := d % day; r != 0 {
		s += r.String()
	}
	return s
}
