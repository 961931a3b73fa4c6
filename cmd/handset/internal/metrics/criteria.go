package metrics

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Criterion is one pass condition of --pass, e.g. "registered>=99.9%".
type Criterion struct {
	Expr   string
	Metric string
	Op     string
	Value  float64 // percent, count, or milliseconds for latencies
}

// Criteria is the parsed --pass list; all must hold.
type Criteria []Criterion

// Result is one evaluated criterion.
type Result struct {
	Expr string `json:"expr"`
	Got  string `json:"got"`
	Pass bool   `json:"pass"`
}

type metricKind uint8

const (
	kindPercent metricKind = iota
	kindCount
	kindLatency
)

// criterionMetrics lists what --pass can test.
var criterionMetrics = map[string]metricKind{
	"registered":             kindPercent, // handsets registered at least once, % of handsets
	"logon_success_rate":     kindPercent, // logons / logon attempts
	"voip_pass_rate":         kindPercent, // calls established / attempted
	"failed_logons":          kindCount,
	"endpoints_disconnected": kindCount,
	"failures":               kindCount,
	"calls_failed":           kindCount,
	"signin_p50":             kindLatency,
	"signin_p95":             kindLatency,
	"signin_p99":             kindLatency,
	"call_setup_p95":         kindLatency,
	"call_setup_p99":         kindLatency,
}

// DefaultCriteria is used when --pass is not given.
const DefaultCriteria = "registered>=99.9%,voip_pass_rate>=99%"

// ParseCriteria parses a comma-separated list such as
// "registered>=99.9%,voip_pass_rate>=99%,signin_p95<=2s".
func ParseCriteria(s string) (Criteria, error) {
	var out Criteria
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		c, err := parseCriterion(part)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func parseCriterion(s string) (Criterion, error) {
	i := strings.IndexAny(s, "<>=!")
	if i <= 0 {
		return Criterion{}, fmt.Errorf("%w %q: want metric OP value, e.g. registered>=99.9%%", ErrCriterion, s)
	}
	c := Criterion{Expr: s, Metric: strings.TrimSpace(s[:i])}
	rest := s[i:]
	for _, op := range []string{">=", "<=", "==", "!=", ">", "<"} {
		if strings.HasPrefix(rest, op) {
			c.Op = op
			rest = strings.TrimSpace(rest[len(op):])
			break
		}
	}
	kind, ok := criterionMetrics[c.Metric]
	if !ok {
		return Criterion{}, fmt.Errorf("%w %q: unknown metric %q (known: %s)", ErrCriterion, s, c.Metric, strings.Join(sortedKeys(criterionMetrics), ", "))
	}
	if c.Op == "" {
		return Criterion{}, fmt.Errorf("%w %q: operator must be one of >= <= == != > <", ErrCriterion, s)
	}
	var err error
	switch kind {
	case kindPercent:
		c.Value, err = strconv.ParseFloat(strings.TrimSuffix(rest, "%"), 64)
	case kindCount:
		c.Value, err = strconv.ParseFloat(rest, 64)
	case kindLatency:
		var d time.Duration
		d, err = time.ParseDuration(rest)
		c.Value = float64(d) / float64(time.Millisecond)
	}
	if err != nil {
		return Criterion{}, fmt.Errorf("%w %q: value %q: %w", ErrCriterion, s, rest, err)
	}
	return c, nil
}

func (c Criterion) value(s Snapshot, handsets int) (float64, string) {
	var v float64
	switch c.Metric {
	case "registered":
		v = registeredPct(s, handsets)
	case "logon_success_rate":
		v = 100
		if a := s.Counters[LogonAttempts]; a > 0 {
			v = 100 * float64(s.Counters[Logons]) / float64(a)
		}
	case "voip_pass_rate":
		v = s.VoIPPassRate()
	case "failed_logons":
		v = float64(s.Counters[FailedLogons])
	case "endpoints_disconnected":
		v = float64(s.Counters[EndpointsDisconnected])
	case "calls_failed":
		v = float64(s.Counters[CallsFailed])
	case "failures":
		v = float64(s.FailureTotal())
	case "signin_p50", "signin_p95", "signin_p99", "call_setup_p95", "call_setup_p99":
		h := s.SignIn
		if strings.HasPrefix(c.Metric, "call_setup") {
			h = s.CallSetup
		}
		q, _ := strconv.ParseFloat(c.Metric[strings.LastIndexByte(c.Metric, 'p')+1:], 64)
		v = float64(h.Quantile(q/100)) / float64(time.Millisecond)
	}
	switch criterionMetrics[c.Metric] {
	case kindPercent:
		return v, strconv.FormatFloat(v, 'f', 2, 64) + "%"
	case kindLatency:
		return v, strconv.FormatFloat(v, 'f', 1, 64) + "ms"
	default:
		return v, strconv.FormatFloat(v, 'f', -1, 64)
	}
}

// Evaluate tests every criterion against the final snapshot.
func (cs Criteria) Evaluate(s Snapshot, handsets int) ([]Result, bool) {
	all := true
	out := make([]Result, 0, len(cs))
	for _, c := range cs {
		v, got := c.value(s, handsets)
		var ok bool
		switch c.Op {
		case ">=":
			ok = v >= c.Value
		case "<=":
			ok = v <= c.Value
		case ">":
			ok = v > c.Value
		case "<":
			ok = v < c.Value
		case "==":
			ok = v == c.Value
		case "!=":
			ok = v != c.Value
		}
		all = all && ok
		out = append(out, Result{Expr: c.Expr, Got: got, Pass: ok})
	}
	return out, all
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
