package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/handset-dev/handset/configs"
	"github.com/handset-dev/handset/media"
	"github.com/handset-dev/handset/sipua"
)

func init() {
	register(&Command{Name: "call", Summary: "sign in one handset and place an SRTP call; prints the call's media statistics", Run: runCall})
}

// callOptions are the parsed flags of `handset call`.
type callOptions struct {
	prov     string
	mac      string
	to       string
	duration time.Duration
	wav      string
	target   string
	caFile   string
	insecure bool
	trace    bool
}

func parseCallFlags(env *Env, args []string) (*callOptions, error) {
	o := &callOptions{}
	fs := newFlagSet(env, "call")
	fs.StringVar(&o.prov, "prov", "", "provisioning directory (.cfg files, 000000000000.cfg master)")
	fs.StringVar(&o.mac, "mac", "", "handset MAC, e.g. 0004f2000001")
	fs.StringVar(&o.to, "to", "", "who to call: a SIP URI, user@domain, or a user or number of the handset's domain")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long to keep the call up once answered")
	fs.StringVar(&o.wav, "wav", "", "WAV file to send (8 kHz mono 16-bit PCM); default a 440 Hz tone")
	fs.StringVar(&o.target, "target", "", "connect to host:port instead of the configured server (TLS name stays the configured host name)")
	fs.StringVar(&o.caFile, "ca", "", "PEM file of CA certificates trusted for the server (default: system roots)")
	fs.BoolVar(&o.insecure, "insecure", false, "do not verify the server certificate (logged loudly)")
	fs.BoolVar(&o.trace, "trace", false, "print every SIP message and one plain-language line per auth step and call state (secrets redacted)")
	if err := fs.Parse(args); err != nil {
		return nil, &UsageError{err}
	}
	if fs.NArg() > 0 {
		return nil, &UsageError{fmt.Errorf("call: unexpected argument %q", fs.Arg(0))}
	}
	if o.prov == "" || o.mac == "" || o.to == "" {
		return nil, &UsageError{errors.New("call: --prov DIR, --mac MAC and --to URI are required")}
	}
	if o.duration <= 0 {
		return nil, &UsageError{fmt.Errorf("call: --duration %v: want a positive duration", o.duration)}
	}
	return o, nil
}

// callSetup is what `handset call` boots from the provisioning files.
type callSetup struct {
	eff     *configs.Effective
	handset sipua.Config
	media   media.Config
	calls   sipua.CallConfig
}

func loadCallSetup(env *Env, o *callOptions) (callSetup, error) {
	e, warns, err := configs.Boot(os.DirFS(o.prov), o.mac)
	for _, w := range warns {
		env.Log.Warn("provisioning", "warning", w.String())
	}
	if err != nil {
		return callSetup{}, err
	}
	s := callSetup{eff: e}
	if s.handset, err = sipua.ConfigFromParams(e); err != nil {
		return s, err
	}
	if s.media, err = mediaConfig(e, o); err != nil {
		return s, err
	}
	if s.calls, err = sipua.CallConfigFromValues(e.LookupFunc()); err != nil {
		return s, err
	}
	return s, nil
}

// mediaConfig is line 1's media configuration, with --wav as the source.
func mediaConfig(e *configs.Effective, o *callOptions) (media.Config, error) {
	mc, err := media.ConfigFromParams(e, 1)
	if err != nil {
		return mc, err
	}
	if o.wav != "" {
		if _, err := os.Stat(o.wav); err != nil {
			return mc, fmt.Errorf("--wav: %w", err)
		}
		mc.Source = media.WAVSource(o.wav)
	}
	return mc, nil
}

func runCall(ctx context.Context, env *Env, args []string) int {
	o, err := parseCallFlags(env, args)
	if err != nil {
		return fail(env, err)
	}
	setup, err := loadCallSetup(env, o)
	if err != nil {
		return fail(env, &UsageError{fmt.Errorf("call: %w", err)})
	}
	if o.insecure {
		setup.handset.Insecure = true
	}
	tc, err := clientTLS("call", o.caFile)
	if err != nil {
		return fail(env, err)
	}
	if !env.Log.Enabled(ctx, slog.LevelDebug) {
		quietSipgo()
	}
	pr := &tracePrinter{w: env.Stdout, trace: o.trace}
	reg := make(chan struct{}, 1)
	obs := sipua.ObserverFunc(func(ev sipua.Event) {
		pr.Observe(ev)
		callEventLine(pr, ev)
		if ev.Kind == sipua.EventRegistered {
			select {
			case reg <- struct{}{}:
			default:
			}
		}
	})
	opts := []sipua.Option{sipua.WithLogger(env.Log), sipua.WithTLSConfig(tc), sipua.WithObserver(obs),
		sipua.WithMediaConfig(setup.media, media.WithLogger(env.Log)), sipua.WithCalls(setup.calls),
		sipua.WithSelfSubscriptions(true)}
	if o.target != "" {
		opts = append(opts, sipua.WithDialAddr(o.target))
	}
	h, err := sipua.New(setup.handset, opts...)
	if err != nil {
		return fail(env, &UsageError{err})
	}
	defer func() { _ = h.Close() }()

	// Run keeps the registration (keep-alives, refreshes) during the call
	// and un-REGISTERs when runCtx ends.
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	runErr := make(chan error, 1)
	go func() { runErr <- h.Run(runCtx) }()
	defer stop()
	select {
	case <-reg:
	case err := <-runErr:
		if err == nil {
			err = errors.New("sipua: stopped before signing in")
		}
		return failRegister(env, err)
	case <-ctx.Done():
		stop()
		if err := <-runErr; err != nil {
			env.Log.Debug("stopped before the call", "err", err)
		}
		return ExitRunFailed
	}

	// The phone calls with the server's media policy: in-band provisioning
	// (ucPC2PCAVEncryption → reg.1.srtp.*) is layered over the files.
	wctx, wcancel := context.WithTimeout(ctx, inBandWait)
	ib, werr := h.WaitInBand(wctx)
	wcancel()
	if werr == nil {
		if eff, aerr := ib.Apply(setup.eff); aerr == nil {
			if mc, merr := mediaConfig(eff, o); merr == nil {
				h.SetMediaConfig(mc, media.WithLogger(env.Log))
			}
		}
	} else {
		env.Log.Warn("no in-band provisioning; calling with the files' media policy", "err", werr)
	}

	res, cerr := h.PlaceCall(ctx, o.to, o.duration)
	stop()
	if err := <-runErr; err != nil {
		env.Log.Warn("sign-out", "err", err)
	}
	printCallResult(env.Stdout, o.to, res)
	if cerr != nil {
		outcome, reason := sipua.Classify(cerr)
		fmt.Fprintf(env.Stderr, "handset: call failed (%s, %s): %v\n", outcome, reason, cerr)
		if outcome == sipua.OutcomeConfig {
			return ExitUsage
		}
		return ExitRunFailed
	}
	if why := mediaVerdict(res.Stats); why != "" {
		fmt.Fprintf(env.Stderr, "handset: call failed (media, %s)\n", why)
		return ExitRunFailed
	}
	return ExitOK
}

// mediaVerdict is why a call's media counts as failed ("" when audio flowed
// both ways with no SRTP failure).
func mediaVerdict(st media.Stats) string {
	switch {
	case st.PacketsSent == 0:
		return "no packets sent"
	case st.PacketsReceived == 0:
		return "no packets received"
	case st.SRTPAuthFailures > 0:
		return "srtp authentication failures"
	case st.MKIMismatches > 0:
		return "srtp mki mismatches"
	case st.ReplayDrops > 0:
		return "srtp replays"
	}
	return ""
}

// callEventLine prints one line per call state change.
func callEventLine(pr *tracePrinter, ev sipua.Event) {
	ts := ev.Time.Format("15:04:05.000")
	switch ev.Kind {
	case sipua.EventCallState:
		switch {
		case ev.CallState == sipua.CallEnded:
			pr.printf("%s call %s: ended (%s)\n", ts, ev.Peer, ev.Reason)
		case ev.CallState == sipua.CallEstablished && ev.Latency > 0:
			pr.printf("%s call %s: established (setup %s)\n", ts, ev.Peer, ev.Latency.Round(time.Millisecond))
		case ev.Step != "":
			pr.printf("%s call %s: %s\n", ts, ev.Peer, ev.Step)
		default:
			pr.printf("%s call %s: %s\n", ts, ev.Peer, ev.CallState)
		}
	case sipua.EventDiversion:
		pr.printf("%s call %s: diverted (Diversion: %s)\n", ts, ev.Peer, ev.Diversion)
	}
}

// printCallResult prints the call's statistics.
func printCallResult(w io.Writer, to string, r sipua.CallResult) {
	st := r.Stats
	fmt.Fprintf(w, "call to %s\n", to)
	fmt.Fprintf(w, "  established      %v\n", r.Established)
	if !r.Established {
		fmt.Fprintf(w, "  outcome          %s (%s)\n", r.Outcome, r.Reason)
		if r.Status != 0 {
			fmt.Fprintf(w, "  status           %d\n", r.Status)
		}
		return
	}
	fmt.Fprintf(w, "  setup            %s\n", r.Setup.Round(time.Millisecond))
	fmt.Fprintf(w, "  duration         %s\n", r.Held.Round(time.Millisecond))
	fmt.Fprintf(w, "  ended            %s\n", r.Reason)
	fmt.Fprintf(w, "  codec            %s\n", st.Codec)
	fmt.Fprintf(w, "  srtp             %v (mki %v, rekeys %d)\n", st.Encrypted, st.MKI, st.Rekeys)
	fmt.Fprintf(w, "  packets sent     %d\n", st.PacketsSent)
	fmt.Fprintf(w, "  packets received %d\n", st.PacketsReceived)
	fmt.Fprintf(w, "  lost             %d\n", st.Lost)
	fmt.Fprintf(w, "  late             %d\n", st.Late)
	fmt.Fprintf(w, "  jitter           %s\n", st.Jitter.Round(time.Microsecond))
	fmt.Fprintf(w, "  srtp auth fail   %d\n", st.SRTPAuthFailures)
	fmt.Fprintf(w, "  replay drops     %d\n", st.ReplayDrops)
	fmt.Fprintf(w, "  mki mismatches   %d\n", st.MKIMismatches)
}
