package sipua

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"
)

// FailBackMode is reg.x.server.y.failOver.failBack.mode: when a handset
// registered on a lower-priority server goes back to the first one (USERS.md
// §A.3 rule 10, Polycom UCS admin guide).
type FailBackMode uint8

// Fail-back modes.
const (
	// FailBackNewRequests (the Polycom default): every new request goes to
	// the first server first. For a registration that is each refresh: the
	// handset tries the first server before it re-REGISTERs on the backup.
	FailBackNewRequests FailBackMode = iota
	// FailBackDNSTTL: try the first server again when the DNS TTL of the
	// record that named the current one runs out (the resolver must
	// implement TTLResolver; otherwise failBack.timeout stands in).
	FailBackDNSTTL
	// FailBackRegistration: try the first server when the registration
	// renewal begins.
	FailBackRegistration
	// FailBackDuration: try the first server failBack.timeout after
	// registering on the backup (0: never, until the backup fails).
	FailBackDuration
)

var failBackNames = [...]string{
	FailBackNewRequests:  "newRequests",
	FailBackDNSTTL:       "DNSTTL",
	FailBackRegistration: "registration",
	FailBackDuration:     "duration",
}

func (m FailBackMode) String() string {
	if int(m) < len(failBackNames) {
		return failBackNames[m]
	}
	return fmt.Sprintf("failback(%d)", uint8(m))
}

// ParseFailBackMode maps the .cfg value (case-insensitive) to a mode.
func ParseFailBackMode(s string) (FailBackMode, bool) {
	for i, n := range failBackNames {
		if strings.EqualFold(n, strings.TrimSpace(s)) {
			return FailBackMode(i), true
		}
	}
	return 0, false
}

// ServerConfig is one reg.1.server.y entry, in failover order.
type ServerConfig struct {
	// Address is the registrar host name (also the TLS server name).
	Address string
	// Port; 0 means DefaultPort.
	Port int
	// RetryTimeOut (reg.x.server.y.retryTimeOut, ms in the .cfg) bounds each
	// REGISTER transaction on this server, so a silent server is given up
	// sooner than RFC 3261's Timer F; 0 keeps Config.TransactionTimeout.
	RetryTimeOut time.Duration
	// RetryMaxCount (reg.x.server.y.retryMaxCount) is how many failed
	// attempts on this server before moving to the next; 0 means 3.
	RetryMaxCount int
}

// DefaultRetryMaxCount is what retryMaxCount 0 means (Polycom: "0 means 3").
const DefaultRetryMaxCount = 3

// TTLResolver is an optional extension of Resolver that also reports the
// TTL of the SRV answer, for failOver.failBack.mode DNSTTL. Go's resolver
// does not expose TTLs, so without it failBack.timeout stands in.
type TTLResolver interface {
	LookupSRVTTL(ctx context.Context, service, proto, name string) ([]*net.SRV, time.Duration, error)
}

// server is one candidate registrar of the failover list.
type server struct {
	target
	retryTimeOut time.Duration
	maxCount     int
	ttl          time.Duration // DNS TTL of the SRV answer that named it, 0 if unknown
	from         string        // where it came from, for events: "reg.1.server.2", "_sipinternaltls._tcp.contoso.test"
}

func (s server) String() string { return s.serverName + " (" + s.addr + ")" }

// orderSRV orders SRV records as RFC 2782 prescribes: ascending priority;
// within one priority, a weighted random order (zero weights first, then
// repeatedly pick with probability weight/sum of the remaining). r makes it
// repeatable. net.LookupSRV already does this with its own randomness; we
// redo it so that a seeded run picks the same targets.
func orderSRV(recs []*net.SRV, r *rand.Rand) []*net.SRV {
	in := append([]*net.SRV(nil), recs...)
	sort.SliceStable(in, func(i, j int) bool { return in[i].Priority < in[j].Priority })
	out := make([]*net.SRV, 0, len(in))
	for len(in) > 0 {
		n := 1
		for n < len(in) && in[n].Priority == in[0].Priority {
			n++
		}
		group := in[:n]
		// RFC 2782: "arrange all SRV RRs (that have not been ordered yet) in
		// any order, except that all those with weight 0 are placed at the
		// beginning of the list".
		sort.SliceStable(group, func(i, j int) bool { return group[i].Weight == 0 && group[j].Weight != 0 })
		for len(group) > 0 {
			sum := 0
			for _, g := range group {
				sum += int(g.Weight)
			}
			pick := 0
			if sum > 0 {
				x := r.IntN(sum + 1) // "uniformly ... between 0 and the sum (inclusive)"
				run := 0
				for i, g := range group {
					run += int(g.Weight)
					if run >= x {
						pick = i
						break
					}
				}
			}
			out = append(out, group[pick])
			group = append(group[:pick:pick], group[pick+1:]...)
		}
		in = in[n:]
	}
	return out
}

// serverList builds the failover list: reg.1.server.y in order, else the
// one configured server, else every DNS SRV target of _sipinternaltls._tcp
// then _sip._tls (protocols.md §1.1), each ordered by priority and weight.
func (h *Handset) serverList(ctx context.Context) ([]server, error) {
	mk := func(addr string, port int, rt time.Duration, mc int, from string) server {
		if port == 0 {
			port = DefaultPort
		}
		if mc <= 0 {
			mc = DefaultRetryMaxCount
		}
		return server{target: target{addr: net.JoinHostPort(addr, strconv.Itoa(port)), serverName: addr},
			retryTimeOut: rt, maxCount: mc, from: from}
	}
	if len(h.cfg.Servers) > 0 {
		out := make([]server, 0, len(h.cfg.Servers))
		for i, s := range h.cfg.Servers {
			out = append(out, mk(s.Address, s.Port, s.RetryTimeOut, s.RetryMaxCount, fmt.Sprintf("reg.1.server.%d", i+1)))
		}
		return out, nil
	}
	if h.cfg.Server != "" {
		return []server{mk(h.cfg.Server, h.cfg.Port, 0, h.cfg.RetryMaxCount, "reg.1.server.1")}, nil
	}
	_, domain := h.cfg.aorParts()
	var out []server
	var errs []string
	seen := map[string]bool{}
	r := h.seededRand()
	for _, s := range srvServices {
		name := "_" + s[0] + "._" + s[1] + "." + domain
		var recs []*net.SRV
		var ttl time.Duration
		var err error
		if tr, ok := h.resolver.(TTLResolver); ok {
			recs, ttl, err = tr.LookupSRVTTL(ctx, s[0], s[1], domain)
		} else {
			_, recs, err = h.resolver.LookupSRV(ctx, s[0], s[1], domain)
		}
		if err != nil || len(recs) == 0 {
			errs = append(errs, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		for _, rec := range orderSRV(recs, r) {
			host := strings.TrimSuffix(rec.Target, ".")
			sv := mk(host, int(rec.Port), 0, h.cfg.RetryMaxCount, name)
			sv.ttl = ttl
			if !seen[sv.addr] {
				seen[sv.addr] = true
				out = append(out, sv)
			}
		}
	}
	if len(out) == 0 {
		return nil, &Error{Op: "discover " + domain, Class: OutcomeConfig, Why: "dns srv", Err: fmt.Errorf("%s", strings.Join(errs, "; "))}
	}
	return out, nil
}

// seededRand draws a math/rand source from the handset's entropy (seeded in
// tests through WithRand).
func (h *Handset) seededRand() *rand.Rand {
	var seed [32]byte
	if _, err := io.ReadFull(h.rand, seed[:]); err != nil {
		return rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1)) //nolint:gosec // jitter only
	}
	return rand.New(rand.NewChaCha8(seed))
}

// planner decides, after each failed attempt, which server to try next and
// how long to wait: the pure core of Run's recovery (RELIABILITY.md B.2).
//
//   - An attempt that fails counts against its server; after maxCount
//     failed attempts (retryMaxCount, 0 → 3) the next server is tried at
//     once (RFC 3263 §4.3 moves on; Polycom retryMaxCount says when).
//   - A 503 moves on at once, whatever the count (RFC 3263); with
//     Retry-After that server is not tried again before it (RFC 3261
//     §21.5.4).
//   - Between attempts on the same server, and before starting the list
//     again from the top when every server has failed, the handset waits
//     the RFC 5626 §4.5 retry delay for the number of consecutive failures
//     (sipua/retry), or longer if Retry-After says so.
//   - A success resets every count (Retry-After marks stay: they are the
//     server's word about its own availability).
type planner struct {
	n         int
	maxCount  []int
	tries     []int
	notBefore []time.Time
	failures  int  // consecutive failed attempts, any server (RFC 5626 consecutive-failures)
	restarted bool // the last step started the list again
}

// roundOver reports whether the last step starts the list from the top.
func (p *planner) roundOver() bool { return p.restarted }

// step is the planner's answer: try server at now+wait.
type step struct {
	server int
	wait   time.Duration
	why    string // plain-language reason, for events and logs
}

// reset sizes the planner for a (re)built server list of n entries.
func (p *planner) reset(maxCount []int) {
	p.n = len(maxCount)
	p.maxCount = maxCount
	p.tries = make([]int, p.n)
	p.notBefore = make([]time.Time, p.n)
}

// succeeded records a registration on server i.
func (p *planner) succeeded() {
	p.failures = 0
	clear(p.tries)
}

// failed records a failed attempt on server i at now and returns the next
// step. retryAfter > 0 is the server's Retry-After; moveOn says the failure
// itself asks for the next server (503, RFC 3263); delay(n) draws the RFC
// 5626 retry delay for n consecutive failures.
func (p *planner) failed(i int, now time.Time, retryAfter time.Duration, moveOn bool, delay func(int) time.Duration) step {
	if p.n == 0 {
		p.reset([]int{DefaultRetryMaxCount})
	}
	if i < 0 || i >= p.n {
		i = 0
	}
	p.failures++
	p.tries[i]++
	if retryAfter > 0 {
		p.notBefore[i] = now.Add(retryAfter)
	}
	if moveOn {
		p.tries[i] = max(p.tries[i], p.maxCount[i])
	}
	backoff := delay(p.failures)
	p.restarted = false
	if p.tries[i] < p.maxCount[i] {
		w := max(backoff, p.notBefore[i].Sub(now))
		return step{server: i, wait: w, why: fmt.Sprintf("retry the same server (attempt %d of %d) after the RFC 5626 retry delay", p.tries[i]+1, p.maxCount[i])}
	}
	// Move on: the next server in order (wrapping) not yet failed in this
	// round and not held off by Retry-After.
	for k := 1; k < p.n; k++ {
		j := (i + k) % p.n
		if p.tries[j] < p.maxCount[j] && !p.notBefore[j].After(now) {
			return step{server: j, wait: 0, why: fmt.Sprintf("server %d failed %d times: moving to server %d", i+1, p.tries[i], j+1)}
		}
	}
	// Every server failed (or is held off): wait, then start again from the
	// first one that may be tried by then.
	clear(p.tries)
	p.restarted = true
	at := now.Add(backoff)
	best := -1
	for j := 0; j < p.n; j++ {
		if !p.notBefore[j].After(at) {
			best = j
			break
		}
	}
	if best < 0 { // all held off: the one free soonest
		best = 0
		for j := 1; j < p.n; j++ {
			if p.notBefore[j].Before(p.notBefore[best]) {
				best = j
			}
		}
		at = p.notBefore[best]
	}
	why := "every server failed: starting the list again after the RFC 5626 retry delay"
	if p.n == 1 {
		why = "retrying after the RFC 5626 retry delay"
	}
	if at.After(now.Add(backoff)) {
		why += " (held off by Retry-After)"
	}
	return step{server: best, wait: at.Sub(now), why: why}
}
