package metrics

import (
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/handset-dev/handset/sipua"
)

// Counter names one monotonic counter. Counters are summable: the totals of
// a run equal the sum of its periodic rows.
type Counter uint8

// The counters, in their fixed stats.csv column order (append only).
const (
	LogonAttempts         Counter = iota // sign-in attempts that ended (success or failure)
	Logons                               // sign-ins that reached registered
	FailedLogons                         // sign-in attempts that failed
	EndpointsDisconnected                // registered handsets that lost their registration
	HandsetsRegistered                   // handsets registered for the first time
	Reregistrations                      // refreshes of a live registration
	Unregistrations                      // un-REGISTERs completed
	KeepAlives                           // CRLF keep-alives sent
	MessagesSent                         // SIP messages sent (when traced)
	MessagesReceived                     // SIP messages received (when traced)
	CallsAttempted                       // calls placed
	CallsEstablished                     // calls answered (200 OK)
	CallsFailed                          // calls that failed before or during setup
	LogonsAborted                        // sign-ins interrupted by the graceful stop (not failures)
	RetryBackoffs                        // RFC 5626 waits before a new sign-in attempt (sipua EventBackoff)
	ServerChanges                        // moves to another registrar: failover, fail-back, 301 (sipua EventServer)
	CallsMediaFailed                     // established calls whose media failed (no packets one way, SRTP failures)
	CallsAborted                         // calls in setup when the run's graceful stop cancelled them (not failures)
	numCounters
)

var counterNames = [numCounters]struct{ key, lss string }{
	LogonAttempts:         {"logon_attempts", "Logon Attempts"},
	Logons:                {"logons", "Logons Succeeded"},
	FailedLogons:          {"failed_logons", "Failed Logons"},
	EndpointsDisconnected: {"endpoints_disconnected", "Endpoints Disconnected"},
	HandsetsRegistered:    {"handsets_registered", "Handsets Registered"},
	Reregistrations:       {"reregistrations", "Re-registrations"},
	Unregistrations:       {"unregistrations", "Unregistrations"},
	KeepAlives:            {"keepalives", "Keep-alives Sent"},
	MessagesSent:          {"messages_sent", "SIP Messages Sent"},
	MessagesReceived:      {"messages_received", "SIP Messages Received"},
	CallsAttempted:        {"calls_attempted", "Calls Attempted"},
	CallsEstablished:      {"calls_established", "Calls Established"},
	CallsFailed:           {"calls_failed", "Calls Failed"},
	LogonsAborted:         {"logons_aborted", "Logons Aborted By Stop"},
	RetryBackoffs:         {"retry_backoffs", "Retry Backoffs"},
	ServerChanges:         {"server_changes", "Server Changes"},
	CallsMediaFailed:      {"calls_media_failed", "Calls With Failed Media"},
	CallsAborted:          {"calls_aborted", "Calls Aborted By Stop"},
}

// Key is the snake_case name used in CSV columns, JSON and Prometheus.
func (c Counter) Key() string { return counterNames[c].key }

// String is the LyncPerfTool-style display name.
func (c Counter) String() string { return counterNames[c].lss }

// Counters is a set of counter values indexed by Counter.
type Counters [numCounters]int64

// Sub returns c minus prev.
func (c Counters) Sub(prev Counters) Counters {
	for i := range c {
		c[i] -= prev[i]
	}
	return c
}

// Add returns c plus o.
func (c Counters) Add(o Counters) Counters {
	for i := range c {
		c[i] += o[i]
	}
	return c
}

// FailureKey is one failure bucket: outcome, SIP status (0 if none) and the
// short fixed reason reported by the failing layer (status code plus
// ms-diagnostics where the server gave one).
type FailureKey struct {
	Kind    string // "logon", "registered" (lost a live registration) or "call"
	Outcome sipua.Outcome
	Status  int
	Reason  string
}

func (k FailureKey) String() string {
	if k.Status != 0 {
		return fmt.Sprintf("%s %s %d %s", k.Kind, k.Outcome, k.Status, k.Reason)
	}
	return fmt.Sprintf("%s %s %s", k.Kind, k.Outcome, k.Reason)
}

// Config configures a Collector. The zero value is usable (no handset rows).
type Config struct {
	// Handsets is the number of handsets in the run; Handset(i) is valid
	// for 0 ≤ i < Handsets.
	Handsets int
	// Buckets are latency histogram bounds in seconds; nil means
	// DefaultBuckets.
	Buckets []float64
}

// Validate checks cfg.
func (cfg Config) Validate() error {
	if cfg.Handsets < 0 {
		return fmt.Errorf("metrics: handsets %d < 0", cfg.Handsets)
	}
	for i := 1; i < len(cfg.Buckets); i++ {
		if cfg.Buckets[i] <= cfg.Buckets[i-1] {
			return fmt.Errorf("metrics: buckets not ascending at %d", i)
		}
	}
	return nil
}

// Option configures a Collector.
type Option func(*Collector) error

// WithClock sets the clock used for snapshots and call records.
func WithClock(now func() time.Time) Option {
	return func(c *Collector) error { c.now = now; return nil }
}

// Collector aggregates the events of every handset of a run. Hot counters
// are atomics; the failure table and the call list (rare paths) are under
// one mutex. It is safe for concurrent use.
type Collector struct {
	now func() time.Time

	counters    [numCounters]atomic.Int64
	states      [numStates]atomic.Int64 // handsets per sipua.State
	active      atomic.Int64            // handsets signed in (a refresh in progress still counts)
	peakActive  atomic.Int64
	callsActive atomic.Int64
	peakCalls   atomic.Int64
	signIn      *histogram
	callSetup   *histogram

	mu       sync.Mutex
	failures map[FailureKey]int64
	calls    []CallRecord

	handsets []Handset // one per handset, allocated once (pointer-light)
}

const numStates = int(sipua.StateFailed) + 1

// New returns a Collector for cfg.Handsets handsets, all idle.
func New(cfg Config, opts ...Option) (*Collector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b := cfg.Buckets
	if b == nil {
		b = DefaultBuckets
	}
	c := &Collector{
		now:       time.Now,
		signIn:    newHistogram(b),
		callSetup: newHistogram(b),
		failures:  make(map[FailureKey]int64),
		handsets:  make([]Handset, cfg.Handsets),
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	for i := range c.handsets {
		c.handsets[i].c = c
		c.handsets[i].index = i
	}
	c.states[sipua.StateIdle].Store(int64(cfg.Handsets))
	return c, nil
}

// Handset returns the observer of handset i; pass it to sipua.WithObserver.
func (c *Collector) Handset(i int) *Handset { return &c.handsets[i] }

// Len is the number of handsets.
func (c *Collector) Len() int { return len(c.handsets) }

func (c *Collector) add(k Counter, n int64) { c.counters[k].Add(n) }

func (c *Collector) fail(k FailureKey) {
	c.mu.Lock()
	c.failures[k]++
	c.mu.Unlock()
}

func (c *Collector) moveState(from, to sipua.State) {
	if from == to {
		return
	}
	c.states[from].Add(-1)
	c.states[to].Add(1)
}

// setActive moves the Active Endpoints gauge by d (±1).
func (c *Collector) setActive(d int64) {
	if n := c.active.Add(d); d > 0 {
		storeMax(&c.peakActive, n)
	}
}

func storeMax(a *atomic.Int64, n int64) {
	for {
		old := a.Load()
		if n <= old || a.CompareAndSwap(old, n) {
			return
		}
	}
}

// Snapshot is a point-in-time copy of every counter, gauge and histogram.
// Counters and histograms are cumulative unless the Snapshot came from Sub.
type Snapshot struct {
	Time        time.Time
	Counters    Counters
	States      [numStates]int64 // gauge: handsets per sipua.State
	Active      int64            // gauge: handsets signed in (Active Endpoints)
	PeakActive  int64            // gauge: most handsets registered at once
	CallsActive int64            // gauge
	PeakCalls   int64            // gauge
	SignIn      Histogram        // sign-in latency
	CallSetup   Histogram        // INVITE → 200 latency
	Failures    map[FailureKey]int64
}

// ActiveEndpoints is the number of handsets signed in at the snapshot
// (LyncPerfTool's Active Endpoints): from a successful sign-in until the
// registration is lost or removed, including while it is being refreshed.
func (s Snapshot) ActiveEndpoints() int64 { return s.Active }

// FailureTotal sums the failure table.
func (s Snapshot) FailureTotal() int64 {
	var n int64
	for _, v := range s.Failures {
		n += v
	}
	return n
}

// VoIPPassRate is LyncPerfTool's "VoIP Pass Rate %": the calls that were
// established and whose media passed, in percent of the calls attempted.
// Calls the run's own graceful stop cut during setup (CallsAborted) are
// neither passes nor failures and leave the denominator; 100 when no call
// counts.
func (s Snapshot) VoIPPassRate() float64 {
	n := s.Counters[CallsAttempted] - s.Counters[CallsAborted]
	if n <= 0 {
		return 100
	}
	return 100 * float64(s.Counters[CallsEstablished]-s.Counters[CallsMediaFailed]) / float64(n)
}

// Sub returns the period between prev and s: counters, histograms and
// failures are differences; gauges are s's.
func (s Snapshot) Sub(prev Snapshot) Snapshot {
	out := s
	out.Counters = s.Counters.Sub(prev.Counters)
	out.SignIn = s.SignIn.Sub(prev.SignIn)
	out.CallSetup = s.CallSetup.Sub(prev.CallSetup)
	out.Failures = make(map[FailureKey]int64)
	for k, v := range s.Failures {
		if d := v - prev.Failures[k]; d != 0 {
			out.Failures[k] = d
		}
	}
	return out
}

// FailureRows returns the failure table sorted by count (descending), then key.
func (s Snapshot) FailureRows() []FailureRow {
	rows := make([]FailureRow, 0, len(s.Failures))
	for k, v := range s.Failures {
		rows = append(rows, FailureRow{FailureKey: k, Count: v})
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Count != rows[j].Count {
			return rows[i].Count > rows[j].Count
		}
		return rows[i].String() < rows[j].String()
	})
	return rows
}

// FailureRow is one failure bucket and its count.
type FailureRow struct {
	FailureKey
	Count int64
}

// Snapshot copies the collector's state. Counters are read one by one, so a
// snapshot taken while handsets run may be off by in-flight events; the
// final snapshot, taken after every handset stopped, is exact.
func (c *Collector) Snapshot() Snapshot {
	s := Snapshot{Time: c.now()}
	for i := range c.counters {
		s.Counters[i] = c.counters[i].Load()
	}
	for i := range c.states {
		s.States[i] = c.states[i].Load()
	}
	s.Active = c.active.Load()
	s.PeakActive = c.peakActive.Load()
	s.CallsActive = c.callsActive.Load()
	s.PeakCalls = c.peakCalls.Load()
	s.SignIn = c.signIn.snapshot()
	s.CallSetup = c.callSetup.snapshot()
	c.mu.Lock()
	s.Failures = make(map[FailureKey]int64, len(c.failures))
	for k, v := range c.failures {
		s.Failures[k] = v
	}
	c.mu.Unlock()
	return s
}
