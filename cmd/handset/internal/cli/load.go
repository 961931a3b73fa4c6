package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/handset-dev/handset/cmd/handset/internal/fleet"
	"github.com/handset-dev/handset/cmd/handset/internal/metrics"
	"github.com/handset-dev/handset/labfe"
	"github.com/handset-dev/handset/sipua"
)

func init() {
	register(&Command{Name: "load", Summary: "load test: N handsets sign in at a paced rate, stay registered, place calls; report and pass/fail", Run: runLoad})
}

// loadOptions are the parsed flags of `handset load`.
type loadOptions struct {
	handsets     int
	rate         float64
	ramp         time.Duration
	duration     time.Duration
	callsPerHour float64
	callDuration time.Duration
	callee       string
	callsSet     bool // --calls-per-hour given (else the embedded labfe's default applies)
	timeScale    float64
	target       string
	serverName   string
	caFile       string
	insecure     bool
	users        string
	prov         string
	macRange     string
	domain       string
	out          string
	metricsAddr  string
	pass         metrics.Criteria
	passExpr     string
	shard        fleet.Shard
	period       time.Duration
	stopTimeout  time.Duration
	seed         uint64

	// selfSubscribe: the self-SUBSCRIBEs after sign-in (sipua/subscribe.go).
	selfSubscribe bool

	// onEmbedded (tests) receives the embedded labfe once it serves, e.g.
	// to inject faults midway.
	onEmbedded func(*labfe.Server)
	// onMetrics (tests) receives the bound --metrics address.
	onMetrics func(addr string)
	// onCollector (tests) receives the run's collector before the first
	// sign-in, to stop the run on a condition of its counters, and tick,
	// which writes a stats.csv row at once (so a state the test waited for
	// is in the report).
	onCollector func(col *metrics.Collector, tick func() error)
	// onDrained (tests) runs after every handset stopped, before the
	// embedded labfe closes.
	onDrained func()
}

func parseLoadFlags(env *Env, args []string) (*loadOptions, error) {
	o := &loadOptions{}
	fs := newFlagSet(env, "load")
	fs.IntVar(&o.handsets, "handsets", 50, "number of handsets (the whole run, before --shard)")
	rate := fs.String("rate", "25/s", "sign-ins started per second, exact pacing: 12/s, 0.5/s, 90/min")
	fs.DurationVar(&o.ramp, "ramp", 0, "start every handset evenly over this time (sets --rate to handsets/ramp unless --rate is given)")
	fs.DurationVar(&o.duration, "duration", 20*time.Second, "length of the run from the first sign-in (0: until interrupted)")
	fs.Float64Var(&o.callsPerHour, "calls-per-hour", 0, fmt.Sprintf("SRTP calls placed per registered handset per wall-clock hour (Poisson; not time-scaled) (default %g against the embedded labfe, 0 with --target)", defaultEmbeddedCallsPerHour))
	fs.DurationVar(&o.callDuration, "call-duration", defaultCallDuration, "hold time of an established call (wall clock: media is never time-scaled)")
	fs.StringVar(&o.callee, "callee", "", "whom calls go to: echo (the pool's test-call bot, sip:echo@DOMAIN), peer (a random registered handset of the run), "+
		"or a URI pattern where {aor} is a random registered handset's AOR, {i} its index, {next} the AOR of the caller's next handset, {n} the caller's index "+
		"(default: echo against the embedded labfe, peer with --target)")
	fs.Float64Var(&o.timeScale, "time-scale", 1, "divide expiry, SA refresh, credential and retry timers by K (the report prints real equivalents)")
	fs.StringVar(&o.target, "target", "", "host:port of a real or lab pool (default: an embedded labfe on loopback)")
	fs.StringVar(&o.serverName, "server-name", "", "registrar host name for TLS (SNI and verification) when --users has no reg.1.server.1.address")
	fs.BoolVar(&o.selfSubscribe, "self-subscribe", false, "after sign-in each handset also subscribes to its in-band provisioning, contacts and self, as the phone does (off by default: with --time-scale the refreshes multiply the load)")
	fs.StringVar(&o.caFile, "ca", "", "PEM file of CA certificates trusted for --target (default: system roots)")
	fs.BoolVar(&o.insecure, "insecure", false, "do not verify the pool's TLS certificate (logged loudly)")
	fs.StringVar(&o.prov, "prov", "", "provisioning directory: per MAC <MAC>.cfg else 000000000000.cfg and its CONFIG_FILES")
	fs.StringVar(&o.users, "users", "", "users CSV: optional SEQUENTIAL/RANDOM line, header of .cfg parameter names, one row per handset")
	fs.StringVar(&o.macRange, "mac-range", "", "handset MACs, e.g. 0004f2000000+500 (default: 0004f2000000+handsets)")
	fs.StringVar(&o.domain, "domain", labfe.DefaultDomain, "SIP domain of the embedded labfe's generated users (its pool is pool.DOMAIN)")
	fs.StringVar(&o.out, "out", "", "directory for stats.csv, calls.csv, handsets.csv, summary.json")
	fs.StringVar(&o.metricsAddr, "metrics", "", "serve Prometheus metrics on ADDR, e.g. 127.0.0.1:9100")
	fs.StringVar(&o.passExpr, "pass", metrics.DefaultCriteria, "pass criteria, all must hold")
	shard := fs.String("shard", "", "take slice i of n of the handsets: i/n (Kubernetes Indexed Job: JOB_COMPLETION_INDEX/n)")
	fs.DurationVar(&o.period, "stats-period", time.Second, "period of the stats.csv rows and the status line")
	fs.DurationVar(&o.stopTimeout, "stop-timeout", 10*time.Second, "graceful stop limit (un-REGISTER, BYE) before handsets are closed")
	fs.Uint64Var(&o.seed, "seed", 1, "seed for call arrivals, callee choice and RANDOM user order")
	if err := fs.Parse(args); err != nil {
		return nil, &UsageError{err}
	}
	if fs.NArg() > 0 {
		return nil, &UsageError{fmt.Errorf("load: unexpected argument %q", fs.Arg(0))}
	}
	var err error
	rateSet := false
	fs.Visit(func(f *flag.Flag) {
		rateSet = rateSet || f.Name == "rate"
		o.callsSet = o.callsSet || f.Name == "calls-per-hour"
	})
	if o.rate, err = parseRate(*rate); err != nil {
		return nil, &UsageError{err}
	}
	if o.ramp > 0 && !rateSet {
		o.rate = 0 // fleet derives handsets/ramp
	}
	if o.pass, err = metrics.ParseCriteria(o.passExpr); err != nil {
		return nil, &UsageError{err}
	}
	if o.shard, err = fleet.ParseShard(*shard); err != nil {
		return nil, &UsageError{err}
	}
	switch {
	case o.handsets <= 0 && o.macRange == "":
		return nil, &UsageError{errors.New("load: --handsets must be positive")}
	case o.timeScale < 1:
		return nil, &UsageError{errors.New("load: --time-scale must be >= 1")}
	case o.callsPerHour < 0:
		return nil, &UsageError{errors.New("load: --calls-per-hour must not be negative")}
	case o.period <= 0:
		return nil, &UsageError{errors.New("load: --stats-period must be positive")}
	}
	return o, nil
}

// parseRate accepts "25/s", "25", "0.5/s", "90/min" and "3600/h".
func parseRate(s string) (float64, error) {
	num, unit, _ := strings.Cut(strings.TrimSpace(s), "/")
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("load: --rate %q: want a positive rate such as 12/s", s)
	}
	switch unit {
	case "", "s", "sec":
	case "m", "min":
		v /= 60
	case "h", "hour":
		v /= 3600
	default:
		return 0, fmt.Errorf("load: --rate %q: unit must be /s, /min or /h", s)
	}
	return v, nil
}

// loadTarget is where the handsets sign in and how.
type loadTarget struct {
	name     string // for the report
	dialAddr string // "" means DNS (SRV or A) on the server name
	tls      *tls.Config
	users    []sipua.Config // generated users (embedded labfe), or nil
	equiv    map[string]string
	close    func()
	fe       *labfe.Server // the embedded front end, or nil
}

// handsetPlan is one handset of this shard with its configuration.
type handsetPlan struct {
	spec fleet.Spec
	cfg  sipua.Config
}

func runLoad(ctx context.Context, env *Env, args []string) int {
	o, err := parseLoadFlags(env, args)
	if err != nil {
		return fail(env, err)
	}
	code, err := load(ctx, env, o)
	if err != nil {
		return fail(env, err)
	}
	return code
}

func load(ctx context.Context, env *Env, o *loadOptions) (int, error) {
	quietSipgo()
	macs, err := planMACs(o)
	if err != nil {
		return 0, &UsageError{err}
	}
	var users *fleet.Users
	if o.users != "" {
		f, ferr := os.Open(o.users)
		if ferr != nil {
			return 0, &UsageError{fmt.Errorf("load: --users: %w", ferr)}
		}
		users, err = fleet.ReadUsers(f)
		_ = f.Close()
		if err != nil {
			return 0, &UsageError{fmt.Errorf("load: --users %s: %w", o.users, err)}
		}
	}

	var tgt *loadTarget
	switch {
	case o.target != "":
		tgt, err = remoteTarget(o)
	case users != nil || o.prov != "":
		err = &UsageError{errors.New("load: --users and --prov need --target (the embedded labfe generates its own users)")}
	default:
		tgt, err = startEmbedded(ctx, env, o, len(macs))
		if !o.callsSet {
			o.callsPerHour = defaultEmbeddedCallsPerHour
		}
	}
	if err != nil {
		return 0, err
	}
	defer tgt.close()

	// The whole run's plan, then this shard's contiguous slice of it.
	lo, hi := o.shard.Range(len(macs))
	rng := rand.New(rand.NewPCG(o.seed, o.seed^0x2545f4914f6cdd1d))
	var assign []int
	if users != nil {
		assign = users.Assign(len(macs), rng)
	}
	plan := make([]handsetPlan, 0, hi-lo)
	for i := lo; i < hi; i++ {
		p := handsetPlan{spec: fleet.Spec{Index: i, MAC: macs[i]}}
		switch {
		case users != nil && o.prov != "":
			err = &UsageError{errors.New("load: --prov with --users needs the configs layering (not in this build yet); use one of them")}
			return 0, err
		case o.prov != "":
			p.cfg, err = sipua.LoadConfig(os.DirFS(o.prov), macs[i])
			if err != nil {
				return 0, &UsageError{fmt.Errorf("load: --prov %s, MAC %s: %w", o.prov, macs[i], err)}
			}
		case users != nil:
			p.spec.User = users.Row(assign[i])
			p.cfg, err = configFromRow(macs[i], p.spec.User, o)
			if err != nil {
				return 0, &UsageError{fmt.Errorf("load: --users row %d: %w", assign[i]+1, err)}
			}
		default:
			p.cfg = tgt.users[i]
		}
		p.cfg.Handset = macs[i]
		p.cfg.TimeScale = o.timeScale
		p.cfg.Insecure = o.insecure
		plan = append(plan, p)
	}
	if len(plan) == 0 {
		return 0, &UsageError{fmt.Errorf("load: shard %s of %d handsets is empty", o.shard, len(macs))}
	}
	return runPlan(ctx, env, o, tgt, plan)
}

func planMACs(o *loadOptions) ([]string, error) {
	if o.macRange != "" {
		macs, err := fleet.ParseMACRange(o.macRange)
		if err != nil {
			return nil, err
		}
		return macs, nil
	}
	return fleet.ParseMACRange(fmt.Sprintf("0004f2000000+%d", o.handsets))
}

// configFromRow maps a --users row of Polycom parameter names (one row = one
// virtual <MAC>-ext.cfg) onto the handset's Config; --server-name stands in
// for a missing reg.1.server.1.address.
//
// TODO(configs): layer the row over --prov with configs.WithOverrides once
// the configs package lands, so every parameter and the base profile apply.
func configFromRow(mac string, row map[string]string, o *loadOptions) (sipua.Config, error) {
	c, err := sipua.ConfigFromValues(mac, func(name string) (string, bool) {
		v, ok := row[name]
		if name == "reg.1.server.1.address" && v == "" && o.serverName != "" {
			return o.serverName, true
		}
		return v, ok
	})
	if err != nil {
		return c, err
	}
	// "DOMAIN\user" in reg.1.auth.userId is how admins write Lync logins.
	if d, u, ok := strings.Cut(c.AuthUser, `\`); ok && c.AuthDomain == "" {
		c.AuthDomain, c.AuthUser = d, u
	}
	return c, nil
}

func remoteTarget(o *loadOptions) (*loadTarget, error) {
	if _, _, err := net.SplitHostPort(o.target); err != nil {
		return nil, &UsageError{fmt.Errorf("load: --target %q: want host:port", o.target)}
	}
	conf, err := clientTLS("load", o.caFile)
	if err != nil {
		return nil, err
	}
	return &loadTarget{name: o.target, dialAddr: o.target, tls: conf, equiv: equivalents(o.timeScale, sipua.DefaultExpires), close: func() {}}, nil
}

// equivalents lists the shortened timers and what they stand for.
func equivalents(k float64, expiry time.Duration) map[string]string {
	if k <= 1 {
		return nil
	}
	f := func(real time.Duration) string {
		return fmt.Sprintf("%s (real %s)", time.Duration(float64(real)/k).Round(time.Millisecond), real)
	}
	return map[string]string{
		"register expiry":   f(expiry),
		"SA lifetime":       f(sipua.DefaultSALifetime),
		"retry backoff max": f(sipua.DefaultRetryMax),
	}
}

func runPlan(ctx context.Context, env *Env, o *loadOptions, tgt *loadTarget, plan []handsetPlan) (int, error) {
	col, err := metrics.New(metrics.Config{Handsets: len(plan)})
	if err != nil {
		return 0, err
	}
	specs := make([]fleet.Spec, len(plan))
	byIndex := make(map[int]int, len(plan))
	for i, p := range plan {
		specs[i] = p.spec
		byIndex[p.spec.Index] = i
	}
	log := env.Log
	// Per-handset logs are off in a load run unless --log-level debug asks
	// for everything (USERS.md A.1: load mode is quiet). Thousands of
	// handsets would bury the report; every failure is in the failure
	// table and handsets.csv instead.
	hsLog := log
	if !log.Enabled(ctx, slog.LevelDebug) {
		hsLog = slog.New(slog.DiscardHandler)
	}
	factory := func(s fleet.Spec, obs sipua.Observer) (fleet.Handset, error) {
		p := plan[byIndex[s.Index]]
		opts := []sipua.Option{sipua.WithObserver(obs), sipua.WithLogger(hsLog), sipua.WithSelfSubscriptions(o.selfSubscribe)}
		if tgt.dialAddr != "" {
			opts = append(opts, sipua.WithDialAddr(tgt.dialAddr))
		}
		if tgt.tls != nil {
			opts = append(opts, sipua.WithTLSConfig(tgt.tls))
		}
		if o.callsPerHour > 0 {
			// Every handset places and answers calls (auto-answer after the
			// ring, call.callsPerLineKey calls at most).
			opts = append(opts, sipua.WithMediaConfig(loadMediaConfig()), sipua.WithCalls(sipua.CallConfig{}))
		}
		return sipua.New(p.cfg, opts...)
	}
	fcfg := fleet.Config{
		Rate: o.rate, Ramp: o.ramp, Duration: o.duration,
		CallsPerHour: o.callsPerHour, CallDuration: o.callDuration,
		StopTimeout: o.stopTimeout, Seed: o.seed,
	}
	if o.callsPerHour > 0 {
		if fcfg.Callee, err = calleeFunc(o.callee, plan, tgt, col); err != nil {
			return 0, &UsageError{err}
		}
	}
	runner, err := fleet.New(fcfg, specs, factory, col, fleet.WithLogger(log))
	if err != nil {
		return 0, &UsageError{err}
	}

	outs, err := openOutputs(o.out)
	if err != nil {
		return 0, err
	}
	defer outs.close()
	start := time.Now()
	var status io.Writer
	if isTerminal(env.Stderr) {
		status = env.Stderr
	}
	rcfg := metrics.RecorderConfig{Start: start, Period: o.period, Status: status}
	if outs.stats != nil { // a nil *os.File in an io.Writer is not a nil Writer
		rcfg.Stats = outs.stats
	}
	rec, err := metrics.NewRecorder(col, rcfg)
	if err != nil {
		return 0, &EnvError{err}
	}

	var wg sync.WaitGroup
	bgCtx, stopBg := context.WithCancel(context.WithoutCancel(ctx))
	defer func() { stopBg(); wg.Wait() }()
	if o.metricsAddr != "" {
		srv, bound, merr := serveMetrics(o.metricsAddr, col)
		if merr != nil {
			return 0, merr
		}
		log.Info("load: serving Prometheus metrics", "url", "http://"+bound+"/metrics")
		if o.onMetrics != nil {
			o.onMetrics(bound)
		}
		wg.Go(func() {
			<-bgCtx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		})
	}
	wg.Go(func() {
		if rerr := rec.Run(bgCtx); rerr != nil {
			log.Warn("load: stats", "err", rerr)
		}
	})

	if o.onCollector != nil {
		o.onCollector(col, rec.Tick)
	}
	log.Info("load: starting", "handsets", len(plan), "shard", o.shard.String(), "target", tgt.name,
		"rate_per_s", o.rate, "duration", o.duration, "time_scale", o.timeScale)
	res, err := runner.Run(ctx)
	stopBg()
	wg.Wait()
	if o.onDrained != nil {
		o.onDrained()
	}
	if err != nil {
		return 0, err
	}
	final, err := rec.Finish()
	if err != nil {
		return 0, &EnvError{err}
	}
	info := metrics.RunInfo{
		Start: res.Start, End: res.End, Handsets: len(plan), Target: tgt.name, TimeScale: o.timeScale,
		Equivalents: tgt.equiv, Notes: res.Notes, ActiveAtStop: res.ActiveAtStop,
		Goroutines: res.Goroutines,
	}
	if o.shard.Count > 1 {
		info.Shard = o.shard.String()
	}
	if ctx.Err() != nil && o.duration > 0 {
		info.Notes = append(info.Notes, "interrupted: stopped gracefully before --duration")
	}
	if o.callsPerHour > 0 && o.timeScale > 1 {
		info.Notes = append(info.Notes, fmt.Sprintf("calls are not time-scaled: %g per handset per wall-clock hour, held %s (media runs in real time)",
			o.callsPerHour, o.callDuration))
	}
	sum := metrics.NewSummary(final, info, o.pass)
	if err := outs.finish(col, sum); err != nil {
		return 0, &EnvError{err}
	}
	_ = sum.WriteText(env.Stdout)
	if !sum.Pass {
		return ExitRunFailed, nil
	}
	return ExitOK, nil
}

func serveMetrics(addr string, col *metrics.Collector) (*http.Server, string, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(col.PrometheusCollector()); err != nil {
		return nil, "", fmt.Errorf("load: metrics: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", &EnvError{fmt.Errorf("load: --metrics %s: %w", addr, err)}
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }() // stopped by Shutdown in runPlan
	return srv, ln.Addr().String(), nil
}

// outputs are the --out files; all nil without --out.
type outputs struct {
	dir   string
	stats *os.File
}

func openOutputs(dir string) (*outputs, error) {
	o := &outputs{dir: dir}
	if dir == "" {
		return o, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, &EnvError{fmt.Errorf("load: --out: %w", err)}
	}
	f, err := os.Create(filepath.Join(dir, "stats.csv"))
	if err != nil {
		return nil, &EnvError{fmt.Errorf("load: --out: %w", err)}
	}
	o.stats = f
	return o, nil
}

func (o *outputs) finish(col *metrics.Collector, sum metrics.Summary) error {
	if o.dir == "" {
		return nil
	}
	write := func(name string, fn func(io.Writer) error) error {
		f, err := os.Create(filepath.Join(o.dir, name))
		if err != nil {
			return fmt.Errorf("load: %w", err)
		}
		if err := fn(f); err != nil {
			_ = f.Close()
			return err
		}
		return f.Close()
	}
	return errors.Join(
		write("handsets.csv", col.WriteHandsetsCSV),
		write("calls.csv", col.WriteCallsCSV),
		write("summary.json", sum.WriteJSON),
	)
}

func (o *outputs) close() {
	if o.stats != nil {
		_ = o.stats.Close()
	}
}

// isTerminal reports whether w is a character device (a TTY): the live
// status line is drawn only there, never into a CI log.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// startEmbedded starts the embedded labfe on loopback with a generated test
// CA and n generated users (labfe.GenerateUsers); its timers are shortened
// by --time-scale like the handsets'. The server runs on a goroutine owned
// by the returned target's close.
func startEmbedded(ctx context.Context, env *Env, o *loadOptions, n int) (*loadTarget, error) {
	k := o.timeScale
	scale := func(d time.Duration) time.Duration { return time.Duration(float64(d) / k) }
	cfg := labfe.Config{
		Domain: o.domain, FQDN: "pool." + o.domain, ListenAddr: "127.0.0.1:0",
		Users: labfe.GenerateUsers(n, o.domain),
		// Keep-alive is not a lifetime: labfe keeps the real 300 s idle
		// limit, so a compressed run does not turn into a keep-alive storm.
		RegisterExpiry: scale(labfe.DefaultRegisterExpiry),
		SALifetime:     scale(labfe.DefaultSALifetime),
	}
	feLog := env.Log
	if !feLog.Enabled(ctx, slog.LevelDebug) {
		feLog = slog.New(minLevel{feLog.Handler(), slog.LevelError})
	}
	fe, err := labfe.New(cfg, labfe.WithLogger(feLog.With("component", "labfe")))
	if err != nil {
		if errors.Is(err, labfe.ErrConfig) {
			return nil, &UsageError{fmt.Errorf("load: embedded labfe: %w", err)}
		}
		return nil, &EnvError{fmt.Errorf("load: embedded labfe: %w", err)}
	}
	done := make(chan struct{})
	go func() { // stopped by close below (Close ends Serve)
		defer close(done)
		if serr := fe.Serve(context.WithoutCancel(ctx)); serr != nil {
			env.Log.Error("load: embedded labfe", "err", serr)
		}
	}()
	t := &loadTarget{
		name:     "embedded labfe " + fe.Addr(),
		dialAddr: fe.Addr(),
		tls:      &tls.Config{RootCAs: fe.CAPool(), MinVersion: tls.VersionTLS12},
		equiv:    equivalents(k, labfe.DefaultRegisterExpiry),
		close:    func() { _ = fe.Close(); <-done },
		fe:       fe,
	}
	for _, u := range cfg.Users {
		t.users = append(t.users, sipua.Config{
			AOR: u.AOR(), AuthUser: u.UserID, AuthDomain: u.Domain,
			Password: sipua.Password(u.Password.Reveal()), Server: cfg.FQDN,
		})
	}
	if o.onEmbedded != nil {
		o.onEmbedded(fe)
	}
	return t, nil
}

// minLevel drops records below min before they reach the wrapped handler.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(as), h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.min}
}
