package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/emiago/sipgo/sip"

	"github.com/handset-dev/handset/sipua"
)

func init() {
	register(&Command{Name: "register", Summary: "sign in one handset over TLS (NTLM, or TLS-DSK with a certificate or extension+PIN); --trace explains every message", Run: runRegister})
}

// registerOptions are the parsed flags of `handset register`.
type registerOptions struct {
	prov     string
	mac      string
	target   string
	caFile   string
	insecure bool
	once     bool
	trace    bool

	// In-band provisioning (inband_live.go): both imply a one-shot sign-in.
	showConfig bool
	upload     bool

	pin pinOptions // PIN sign-in and certificate storage (register_pin.go)
}

func parseRegisterFlags(env *Env, args []string) (*registerOptions, error) {
	o := &registerOptions{}
	fs := newFlagSet(env, "register")
	fs.StringVar(&o.prov, "prov", "", "provisioning directory (.cfg files, 000000000000.cfg master)")
	fs.StringVar(&o.mac, "mac", "", "handset MAC, e.g. 0004f2000001")
	fs.StringVar(&o.target, "target", "", "connect to host:port instead of the configured server (TLS name stays the configured host name)")
	fs.StringVar(&o.caFile, "ca", "", "PEM file of CA certificates trusted for the server (default: system roots)")
	fs.BoolVar(&o.insecure, "insecure", false, "do not verify the server certificate (logged loudly)")
	fs.BoolVar(&o.once, "once", false, "exit 0 after a successful registration and un-REGISTER, 1 with the reason otherwise")
	fs.BoolVar(&o.trace, "trace", false, "print every SIP message and one plain-language line per auth step (secrets redacted)")
	fs.BoolVar(&o.showConfig, "show-config", false, "after sign-in, wait for the in-band provisioning and print the effective configuration with it (as config show --explain; server values marked in-band), then sign out")
	fs.BoolVar(&o.upload, "upload-callserver", false, "after sign-in, write MAC-upload-CallServer.cfg with the in-band values received into --prov, then sign out")
	addPINFlags(fs, &o.pin)
	if err := fs.Parse(args); err != nil {
		return nil, &UsageError{err}
	}
	if err := o.pin.check(os.Getenv); err != nil {
		return nil, &UsageError{err}
	}
	if o.showConfig || o.upload {
		o.once = true
	}
	if fs.NArg() > 0 {
		return nil, &UsageError{fmt.Errorf("register: unexpected argument %q", fs.Arg(0))}
	}
	if o.prov == "" || o.mac == "" {
		return nil, &UsageError{errors.New("register: --prov DIR and --mac MAC are required")}
	}
	return o, nil
}

// loadHandsetConfig maps a provisioning directory and MAC to a sipua.Config
// (configs.Boot + sipua.ConfigFromParams); a variable so tests can stub it.
var loadHandsetConfig = func(env *Env, dir, mac string) (sipua.Config, error) {
	c, warns, err := sipua.BootConfig(os.DirFS(dir), mac)
	for _, w := range warns {
		env.Log.Warn("provisioning", "warning", w.String())
	}
	return c, err
}

func runRegister(ctx context.Context, env *Env, args []string) int {
	o, err := parseRegisterFlags(env, args)
	if err != nil {
		return fail(env, err)
	}
	cfg, err := loadHandsetConfig(env, o.prov, o.mac)
	if err != nil {
		return fail(env, &UsageError{fmt.Errorf("register: %w", err)})
	}
	if o.insecure {
		cfg.Insecure = true
	}
	o.pin.apply(&cfg)
	store, heldLeaf, err := o.pin.loadStore()
	if err != nil {
		return fail(env, &UsageError{err})
	}
	defer func() {
		if serr := o.pin.saveStore(store, heldLeaf); serr != nil {
			env.Log.Warn("could not save the user certificate", "err", serr)
		}
	}()
	tc, err := clientTLS("register", o.caFile)
	if err != nil {
		return fail(env, err)
	}
	if !env.Log.Enabled(ctx, slog.LevelDebug) {
		quietSipgo()
	}
	opts := []sipua.Option{sipua.WithLogger(env.Log), sipua.WithTLSConfig(tc), sipua.WithCertStore(store)}
	if o.target != "" {
		opts = append(opts, sipua.WithDialAddr(o.target))
	}
	pr := &tracePrinter{w: env.Stdout, trace: o.trace}
	opts = append(opts, sipua.WithObserver(pr))
	// The self-subscriptions (in-band provisioning, contacts, self) are
	// what the phone does after sign-in; a bare --once check skips them.
	opts = append(opts, sipua.WithSelfSubscriptions(!o.once || o.showConfig || o.upload))
	h, err := sipua.New(cfg, opts...)
	if err != nil {
		return fail(env, &UsageError{err})
	}
	defer func() { _ = h.Close() }()

	if o.once {
		if err := h.Register(ctx); err != nil {
			return failRegister(env, err)
		}
		if o.showConfig || o.upload {
			if code := liveInBand(ctx, env, h, o, pr); code != ExitOK {
				_ = h.Unregister(ctx)
				return code
			}
		}
		if err := h.Unregister(ctx); err != nil {
			return failRegister(env, err)
		}
		pr.printf("ok: %s signed in (GRUU %s) and signed out\n", cfg.AOR, h.GRUU())
		return ExitOK
	}
	if err := h.Run(ctx); err != nil {
		return failRegister(env, err)
	}
	fmt.Fprintf(env.Stdout, "ok: %s signed out\n", cfg.AOR)
	return ExitOK
}

// failRegister prints the reason and maps it to an exit code: a TLS trust or
// DNS problem is the environment (3), a bad configuration is usage (2),
// everything else (wrong password, server errors) a failed run (1).
func failRegister(env *Env, err error) int {
	outcome, reason := sipua.Classify(err)
	fmt.Fprintf(env.Stderr, "handset: sign-in failed (%s, %s): %v\n", outcome, reason, err)
	switch {
	case outcome == sipua.OutcomeConfig:
		return ExitUsage
	case outcome == sipua.OutcomeTransport && (reason == "tls handshake" || reason == "dns"):
		return ExitEnvironment
	default:
		return ExitRunFailed
	}
}

// tracePrinter prints observer events for people debugging a registration.
type tracePrinter struct {
	mu    sync.Mutex
	w     io.Writer
	trace bool
}

// printf writes to the printer's output under its lock: events arrive from
// the handset's goroutines while the command prints its own lines.
func (p *tracePrinter) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format, args...)
}

func (p *tracePrinter) Observe(ev sipua.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ts := ev.Time.Format("15:04:05.000")
	switch ev.Kind {
	case sipua.EventMessage:
		if !p.trace {
			return
		}
		dir := "<<< received"
		if ev.Outgoing {
			dir = ">>> sent"
		}
		fmt.Fprintf(p.w, "%s %s\n%s\n", ts, dir, strings.TrimRight(strings.ReplaceAll(ev.Message, "\r\n", "\n"), "\n"))
	case sipua.EventAuthStep:
		if p.trace {
			fmt.Fprintf(p.w, "%s auth: %s\n", ts, ev.Step)
		}
	case sipua.EventState:
		if p.trace {
			fmt.Fprintf(p.w, "%s state: %s -> %s%s\n", ts, ev.Prev, ev.State, because(ev.Reason))
		}
	case sipua.EventBackoff:
		fmt.Fprintf(p.w, "%s backoff: next attempt on %s in %s: %s\n", ts, ev.Server, ev.Delay.Round(1e6), ev.Reason)
	case sipua.EventServer:
		fmt.Fprintf(p.w, "%s server: now %s: %s\n", ts, ev.Server, ev.Reason)
	case sipua.EventKeepAlive:
		if p.trace {
			fmt.Fprintf(p.w, "%s keep-alive: sent CRLF CRLF\n", ts)
		}
	case sipua.EventRegistered:
		fmt.Fprintf(p.w, "%s registered (sign-in took %s)\n", ts, ev.Latency.Round(1e6))
	case sipua.EventUnregistered:
		fmt.Fprintf(p.w, "%s unregistered\n", ts)
	case sipua.EventFailure:
		on := ""
		if ev.Server != "" {
			on = " on " + ev.Server
		}
		fmt.Fprintf(p.w, "%s failure: %s (%s)%s\n", ts, ev.Outcome, ev.Reason, on)
	case sipua.EventSubscribed:
		if p.trace && ev.Err == nil {
			fmt.Fprintf(p.w, "%s subscribed: %s (%d)\n", ts, ev.Reason, ev.Status)
		} else if ev.Err != nil {
			fmt.Fprintf(p.w, "%s subscription failed: %s: %v\n", ts, ev.Reason, ev.Err)
		}
	case sipua.EventInBand:
		if ev.Err != nil {
			fmt.Fprintf(p.w, "%s in-band provisioning rejected: %v\n", ts, ev.Err)
		} else {
			fmt.Fprintf(p.w, "%s in-band provisioning received (in the %s)\n", ts, ev.Reason)
		}
	}
}

var quietOnce sync.Once

// quietSipgo silences sipgo's package logger (connection reference-count
// bookkeeping such as "TCP ref went negative" on close). It is a process
// global that sipgo reads without synchronisation, so it is set once,
// before any UA runs.
func quietSipgo() {
	quietOnce.Do(func() { sip.SetDefaultLogger(slog.New(slog.DiscardHandler)) })
}

// because renders a state change's reason.
func because(why string) string {
	if why == "" {
		return ""
	}
	return " (" + why + ")"
}
