package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/handset-dev/handset/sipua"
)

// promCollector exposes a Collector as Prometheus metrics, computed from a
// snapshot at scrape time so the numbers are the same as the CSV's. Label
// sets are small and fixed: state, outcome/status/reason buckets (never a
// per-user label).
type promCollector struct {
	c         *Collector
	counters  [numCounters]*prometheus.Desc
	handsets  *prometheus.Desc
	active    *prometheus.Desc
	calls     *prometheus.Desc
	failures  *prometheus.Desc
	signIn    *prometheus.Desc
	callSetup *prometheus.Desc
}

// PrometheusCollector returns a prometheus.Collector over c. Register it on
// a prometheus.Registry served by promhttp.HandlerFor.
func (c *Collector) PrometheusCollector() prometheus.Collector {
	p := &promCollector{
		c:         c,
		handsets:  prometheus.NewDesc("handset_handsets", "Handsets per registration state.", []string{"state"}, nil),
		active:    prometheus.NewDesc("handset_active_endpoints", "Registered handsets (LyncPerfTool Active Endpoints).", nil, nil),
		calls:     prometheus.NewDesc("handset_calls_active", "Calls in progress (LyncPerfTool Calls Active).", nil, nil),
		failures:  prometheus.NewDesc("handset_failures_total", "Failures by kind, outcome, SIP status and reason.", []string{"kind", "outcome", "code", "reason"}, nil),
		signIn:    prometheus.NewDesc("handset_signin_duration_seconds", "Sign-in latency: first REGISTER to registered.", nil, nil),
		callSetup: prometheus.NewDesc("handset_call_setup_duration_seconds", "Call setup latency: INVITE to 200 OK.", nil, nil),
	}
	for k := range numCounters {
		p.counters[k] = prometheus.NewDesc("handset_"+k.Key()+"_total", k.String()+".", nil, nil)
	}
	return p
}

func (p *promCollector) Describe(ch chan<- *prometheus.Desc) {
	prometheus.DescribeByCollect(p, ch)
}

func (p *promCollector) Collect(ch chan<- prometheus.Metric) {
	s := p.c.Snapshot()
	for k := range numCounters {
		ch <- prometheus.MustNewConstMetric(p.counters[k], prometheus.CounterValue, float64(s.Counters[k]))
	}
	for st := range s.States {
		ch <- prometheus.MustNewConstMetric(p.handsets, prometheus.GaugeValue, float64(s.States[st]), sipua.State(st).String())
	}
	ch <- prometheus.MustNewConstMetric(p.active, prometheus.GaugeValue, float64(s.ActiveEndpoints()))
	ch <- prometheus.MustNewConstMetric(p.calls, prometheus.GaugeValue, float64(s.CallsActive))
	for k, v := range s.Failures {
		ch <- prometheus.MustNewConstMetric(p.failures, prometheus.CounterValue, float64(v),
			k.Kind, k.Outcome.String(), strconv.Itoa(k.Status), k.Reason)
	}
	ch <- constHistogram(p.signIn, s.SignIn)
	ch <- constHistogram(p.callSetup, s.CallSetup)
}

func constHistogram(d *prometheus.Desc, h Histogram) prometheus.Metric {
	buckets := make(map[float64]uint64, len(h.Bounds))
	var cum uint64
	for i, b := range h.Bounds {
		cum += h.Counts[i]
		buckets[b] = cum
	}
	return prometheus.MustNewConstHistogram(d, h.Count(), h.Sum.Seconds(), buckets)
}
