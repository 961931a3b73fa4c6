package metrics

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"
)

// Recorder writes the periodic stats.csv rows and the live status line. Each
// row holds every counter twice, "(P)" for the period and "(C)" cumulative
// (SIPp's -trace_stat convention), plus latency percentiles per period and
// cumulative. Because each periodic row is the difference of two consecutive
// snapshots starting from zero, the (P) columns add up exactly to the final
// (C) values and to summary.json's totals.
type Recorder struct {
	c      *Collector
	start  time.Time
	stats  *csv.Writer // nil: no stats.csv
	status io.Writer   // nil: no status line (not a TTY)
	period time.Duration

	mu   sync.Mutex
	prev Snapshot
	rows int
	done bool
}

// RecorderConfig configures a Recorder.
type RecorderConfig struct {
	Start  time.Time     // run start, for the elapsed column
	Period time.Duration // row period; 0 means 1 s
	Stats  io.Writer     // stats.csv, or nil
	Status io.Writer     // the TTY for the live status line, or nil
}

// NewRecorder returns a Recorder over c and writes the stats.csv header.
func NewRecorder(c *Collector, cfg RecorderConfig) (*Recorder, error) {
	if cfg.Period <= 0 {
		cfg.Period = time.Second
	}
	r := &Recorder{c: c, start: cfg.Start, status: cfg.Status, period: cfg.Period}
	r.prev = Snapshot{SignIn: Histogram{Bounds: c.signIn.bounds}, CallSetup: Histogram{Bounds: c.callSetup.bounds}}
	if cfg.Stats != nil {
		r.stats = csv.NewWriter(cfg.Stats)
		if err := r.stats.Write(StatsHeader()); err != nil {
			return nil, fmt.Errorf("metrics: stats.csv: %w", err)
		}
		r.stats.Flush()
	}
	return r, nil
}

// StatsHeader is the fixed stats.csv column list (documented in README;
// append only, never reordered).
func StatsHeader() []string {
	h := []string{"timestamp", "elapsed_s", "active_endpoints", "calls_active"}
	for k := range numCounters {
		h = append(h, k.Key()+"(P)", k.Key()+"(C)")
	}
	h = append(h, "failures(P)", "failures(C)")
	for _, name := range []string{"signin", "call_setup"} {
		for _, sfx := range []string{"(P)", "(C)"} {
			for _, q := range []string{"p50", "p95", "p99"} {
				h = append(h, name+"_"+q+"_ms"+sfx)
			}
		}
	}
	return h
}

// Run writes a row and refreshes the status line every period until ctx is
// done. The caller calls Finish after Run returned.
func (r *Recorder) Run(ctx context.Context) error {
	t := time.NewTicker(r.period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := r.Tick(); err != nil {
				return err
			}
		}
	}
}

// Tick writes one periodic row now.
func (r *Recorder) Tick() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return errRecorderDone
	}
	return r.row(r.c.Snapshot())
}

func (r *Recorder) row(cum Snapshot) error {
	p := cum.Sub(r.prev)
	r.prev = cum
	r.rows++
	if r.status != nil {
		fmt.Fprintf(r.status, "\r\x1b[K%s", StatusLine(cum, cum.Time.Sub(r.start)))
	}
	if r.stats == nil {
		return nil
	}
	rec := []string{
		cum.Time.UTC().Format(time.RFC3339),
		strconv.FormatFloat(cum.Time.Sub(r.start).Seconds(), 'f', 3, 64),
		strconv.FormatInt(cum.ActiveEndpoints(), 10),
		strconv.FormatInt(cum.CallsActive, 10),
	}
	for k := range numCounters {
		rec = append(rec, strconv.FormatInt(p.Counters[k], 10), strconv.FormatInt(cum.Counters[k], 10))
	}
	rec = append(rec, strconv.FormatInt(p.FailureTotal(), 10), strconv.FormatInt(cum.FailureTotal(), 10))
	for _, hs := range [][2]Histogram{{p.SignIn, cum.SignIn}, {p.CallSetup, cum.CallSetup}} {
		for _, h := range hs {
			for _, q := range []float64{0.5, 0.95, 0.99} {
				rec = append(rec, ms(h.Quantile(q)))
			}
		}
	}
	if err := r.stats.Write(rec); err != nil {
		return fmt.Errorf("metrics: stats.csv: %w", err)
	}
	r.stats.Flush()
	if err := r.stats.Error(); err != nil {
		return fmt.Errorf("metrics: stats.csv: %w", err)
	}
	return nil
}

// Finish writes the final row from the final snapshot (take it after every
// handset stopped) and ends the status line. It returns that snapshot.
func (r *Recorder) Finish() (Snapshot, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return r.prev, errRecorderDone
	}
	r.done = true
	final := r.c.Snapshot()
	err := r.row(final)
	if r.status != nil {
		fmt.Fprintln(r.status)
	}
	return final, err
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64)
}

// StatusLine is the one-line live view.
func StatusLine(s Snapshot, elapsed time.Duration) string {
	return fmt.Sprintf("%6.0fs  active %d  logons %d/%d  failed %d  disconnected %d  calls %d/%d active %d  signin p95 %s",
		elapsed.Seconds(), s.ActiveEndpoints(), s.Counters[Logons], s.Counters[LogonAttempts],
		s.Counters[FailedLogons], s.Counters[EndpointsDisconnected],
		s.Counters[CallsEstablished], s.Counters[CallsAttempted], s.CallsActive,
		s.SignIn.Quantile(0.95).Round(time.Millisecond))
}

// WriteHandsetsCSV writes handsets.csv: one row per handset with its final
// state, counts and last failure.
func (c *Collector) WriteHandsetsCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"index", "handset", "final_state", "registered", "logons", "reregistrations",
		"failed_logons", "disconnects", "calls_attempted", "calls_established",
		"last_outcome", "last_status", "last_reason", "last_error"})
	for i := range c.handsets {
		r := c.handsets[i].Row()
		lo, ls := "", ""
		if r.Last.Reason != "" {
			lo, ls = r.Last.Outcome.String(), strconv.Itoa(r.Last.Status)
		}
		_ = cw.Write([]string{strconv.Itoa(r.Index), r.ID, r.State.String(), strconv.FormatBool(r.Registered),
			itoa(r.Logons), itoa(r.Refreshes), itoa(r.FailedLogons), itoa(r.Disconnects), itoa(r.Calls), itoa(r.CallsOK),
			lo, ls, r.Last.Reason, r.LastError})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("metrics: handsets.csv: %w", err)
	}
	return nil
}

// WriteCallsCSV writes calls.csv: one row per call.
func (c *Collector) WriteCallsCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"start", "handset", "from", "callee", "established", "setup_ms", "duration_ms", "outcome", "status", "reason",
		"packets_sent", "packets_received", "lost", "jitter_ms", "srtp_failures", "srtp"})
	u := func(n uint64) string { return strconv.FormatUint(n, 10) }
	for _, r := range c.Calls() {
		_ = cw.Write([]string{r.Start.UTC().Format(time.RFC3339Nano), strconv.Itoa(r.Handset), r.From, r.Callee,
			strconv.FormatBool(r.Established), ms(r.Setup), ms(r.Duration), r.Outcome.String(),
			strconv.Itoa(r.Status), r.Reason, u(r.PacketsSent), u(r.PacketsReceived), u(r.Lost), ms(r.Jitter), u(r.SRTPFailures), strconv.FormatBool(r.Encrypted)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("metrics: calls.csv: %w", err)
	}
	return nil
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

// RunInfo describes the run for the summary.
type RunInfo struct {
	Start     time.Time
	End       time.Time
	Handsets  int
	Shard     string // "i/n"
	Target    string // host:port, or "embedded labfe"
	TimeScale float64
	// Equivalents maps a shortened interval to what it stands for, e.g.
	// "register expiry" → "60s (real 3600s)".
	Equivalents map[string]string
	// ActiveAtStop is Active Endpoints when the drain began (the final
	// snapshot is taken after every handset un-REGISTERed).
	ActiveAtStop int64
	// Goroutines is the process's goroutine count when the drain began.
	Goroutines int
	Notes      []string
}

// Summary is summary.json: what CI reads.
type Summary struct {
	Start       time.Time          `json:"start"`
	End         time.Time          `json:"end"`
	DurationS   float64            `json:"duration_s"`
	Handsets    int                `json:"handsets"`
	Shard       string             `json:"shard,omitempty"`
	Target      string             `json:"target"`
	TimeScale   float64            `json:"time_scale"`
	Equivalents map[string]string  `json:"real_equivalents,omitempty"`
	Totals      map[string]int64   `json:"totals"`
	LSS         map[string]float64 `json:"counters"`
	Active      struct {
		AtStop int64 `json:"at_stop"`
		Final  int64 `json:"final"`
		Peak   int64 `json:"peak"`
	} `json:"active_endpoints"`
	RegisteredPct float64            `json:"registered_pct"`
	VoIPPassRate  float64            `json:"voip_pass_rate"`
	SignInMS      map[string]float64 `json:"signin_latency_ms"`
	CallSetupMS   map[string]float64 `json:"call_setup_latency_ms"`
	Failures      []SummaryFailure   `json:"failures"`
	Criteria      []Result           `json:"criteria"`
	Goroutines    int                `json:"goroutines_at_stop"`
	Pass          bool               `json:"pass"`
	Notes         []string           `json:"notes,omitempty"`
}

// SummaryFailure is one failure bucket in summary.json.
type SummaryFailure struct {
	Kind    string `json:"kind"`
	Outcome string `json:"outcome"`
	Status  int    `json:"status,omitempty"`
	Reason  string `json:"reason"`
	Count   int64  `json:"count"`
}

// NewSummary builds the summary from the final snapshot and evaluates the
// pass criteria against it.
func NewSummary(final Snapshot, info RunInfo, crit Criteria) Summary {
	s := Summary{
		Start: info.Start.UTC(), End: info.End.UTC(), DurationS: info.End.Sub(info.Start).Seconds(),
		Handsets: info.Handsets, Shard: info.Shard, Target: info.Target, TimeScale: info.TimeScale,
		Equivalents: info.Equivalents, Notes: info.Notes,
		Totals: map[string]int64{}, LSS: map[string]float64{},
		SignInMS: quantiles(final.SignIn), CallSetupMS: quantiles(final.CallSetup),
		Failures: []SummaryFailure{},
	}
	for k := range numCounters {
		s.Totals[k.Key()] = final.Counters[k]
	}
	s.Totals["failures"] = final.FailureTotal()
	s.Active.AtStop = info.ActiveAtStop
	s.Goroutines = info.Goroutines
	s.Active.Final = final.ActiveEndpoints()
	s.Active.Peak = final.PeakActive
	s.RegisteredPct = registeredPct(final, info.Handsets)
	s.VoIPPassRate = final.VoIPPassRate()
	s.LSS["Active Endpoints"] = float64(info.ActiveAtStop)
	s.LSS["Logon Attempts"] = float64(final.Counters[LogonAttempts])
	s.LSS["Failed Logons"] = float64(final.Counters[FailedLogons])
	s.LSS["Endpoints Disconnected"] = float64(final.Counters[EndpointsDisconnected])
	s.LSS["Calls Attempted"] = float64(final.Counters[CallsAttempted])
	s.LSS["Calls Established"] = float64(final.Counters[CallsEstablished])
	s.LSS["Calls Active"] = float64(final.CallsActive)
	s.LSS["VoIP Pass Rate %"] = s.VoIPPassRate
	for _, r := range final.FailureRows() {
		s.Failures = append(s.Failures, SummaryFailure{Kind: r.Kind, Outcome: r.Outcome.String(),
			Status: r.Status, Reason: r.Reason, Count: r.Count})
	}
	s.Criteria, s.Pass = crit.Evaluate(final, info.Handsets)
	return s
}

func registeredPct(s Snapshot, handsets int) float64 {
	if handsets == 0 {
		return 0
	}
	return 100 * float64(s.Counters[HandsetsRegistered]) / float64(handsets)
}

func quantiles(h Histogram) map[string]float64 {
	m := map[string]float64{}
	for _, q := range []struct {
		name string
		q    float64
	}{{"p50", 0.5}, {"p95", 0.95}, {"p99", 0.99}} {
		m[q.name] = float64(h.Quantile(q.q)) / float64(time.Millisecond)
	}
	m["count"] = float64(h.Count())
	return m
}

// WriteJSON writes s as indented JSON.
func (s Summary) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("metrics: summary.json: %w", err)
	}
	return nil
}

// WriteText writes the human summary printed at the end of a run; the
// verdict (and the failed criterion) comes last.
func (s Summary) WriteText(w io.Writer) error {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("handset load: %d handsets against %s for %s", s.Handsets, s.Target, time.Duration(s.DurationS*float64(time.Second)).Round(time.Millisecond))
	if s.Shard != "" {
		p(" (shard %s)", s.Shard)
	}
	p("\n")
	if s.TimeScale > 1 {
		p("time scale %gx; real equivalents:\n", s.TimeScale)
		for _, k := range sortedKeys(s.Equivalents) {
			p("  %-26s %s\n", k, s.Equivalents[k])
		}
	}
	p("  %-26s %d at stop (peak %d, %d after drain)\n", "Active Endpoints", s.Active.AtStop, s.Active.Peak, s.Active.Final)
	for _, k := range []string{"Logon Attempts", "Failed Logons", "Endpoints Disconnected", "Calls Attempted", "Calls Established", "Calls Active"} {
		p("  %-26s %d\n", k, int64(s.LSS[k]))
	}
	p("  %-26s %.2f\n", "VoIP Pass Rate %", s.VoIPPassRate)
	if n := s.Totals["logons_aborted"]; n > 0 {
		p("  %-26s %d (sign-ins in progress when the run stopped; not failures)\n", "Logons Aborted By Stop", n)
	}
	if n := s.Totals["calls_media_failed"]; n > 0 {
		p("  %-26s %d (established, but no packets one way or SRTP failures; not passes)\n", "Calls With Failed Media", n)
	}
	if n := s.Totals["calls_aborted"]; n > 0 {
		p("  %-26s %d (calls in setup when the run stopped; neither passes nor failures)\n", "Calls Aborted By Stop", n)
	}
	p("  %-26s %.2f%% (%d of %d)\n", "Registered", s.RegisteredPct, s.Totals["handsets_registered"], s.Handsets)
	p("  %-26s p50 %.1f ms  p95 %.1f ms  p99 %.1f ms\n", "Sign-in latency", s.SignInMS["p50"], s.SignInMS["p95"], s.SignInMS["p99"])
	if s.Totals["calls_attempted"] > 0 {
		p("  %-26s p50 %.1f ms  p95 %.1f ms  p99 %.1f ms\n", "Call setup latency", s.CallSetupMS["p50"], s.CallSetupMS["p95"], s.CallSetupMS["p99"])
	}
	if len(s.Failures) > 0 {
		p("failures by outcome and reason:\n")
		for _, f := range s.Failures {
			st := "-"
			if f.Status != 0 {
				st = strconv.Itoa(f.Status)
			}
			p("  %8d  %-10s %-13s %-4s %s\n", f.Count, f.Kind, f.Outcome, st, f.Reason)
		}
	}
	for _, n := range s.Notes {
		p("note: %s\n", n)
	}
	var failed *Result
	for i := range s.Criteria {
		c := &s.Criteria[i]
		mark := "ok  "
		if !c.Pass {
			mark = "FAIL"
			failed = c
		}
		p("  %s %s (got %s)\n", mark, c.Expr, c.Got)
	}
	if s.Pass {
		p("PASS\n")
	} else if failed != nil {
		p("FAIL: %s (got %s)\n", failed.Expr, failed.Got)
	} else {
		p("FAIL\n")
	}
	return nil
}
