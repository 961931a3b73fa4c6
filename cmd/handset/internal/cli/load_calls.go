package cli

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/handset-dev/handset/cmd/handset/internal/metrics"
	"github.com/handset-dev/handset/media"
	"github.com/handset-dev/handset/media/sdp"
)

// Call defaults of `handset load`. Against the embedded labfe a fresh run
// places a few calls to the echo bot: 50 handsets × 60 calls/hour give
// about 0.8 call setups per second, 15 in the default 20 s run with about 8
// up at once (10 s each), a few hundredths of a core of media (README "Load
// run outputs"). Against --target calls are
// off unless asked for: a real pool's users are not ours to ring.
const (
	defaultEmbeddedCallsPerHour = 60.0
	defaultCallDuration         = 10 * time.Second
)

// Callee keywords of --callee.
const (
	calleeEcho = "echo" // the pool's test-call bot (Lync's botSipUriForTestCall)
	calleePeer = "peer" // a random registered handset of this run
)

// calleeFunc expands --callee into the fleet's callee chooser. from is the
// caller's position in plan (fleet.Config.Callee). Peer picks prefer a
// registered handset other than the caller, so a ramping run does not count
// calls to handsets that are not signed in yet as failures.
func calleeFunc(pattern string, plan []handsetPlan, tgt *loadTarget, col *metrics.Collector) (func(int, *rand.Rand) string, error) {
	if pattern == "" {
		pattern = calleePeer
		if tgt.fe != nil {
			pattern = calleeEcho
		}
	}
	aor := func(j int) string { return strings.TrimPrefix(plan[j].cfg.AOR, "sip:") }
	switch pattern {
	case calleeEcho:
		if tgt.fe != nil {
			uri := tgt.fe.Config().EchoURI
			return func(int, *rand.Rand) string { return uri }, nil
		}
		// A remote pool: the test-call bot of the caller's own domain.
		return func(from int, _ *rand.Rand) string {
			_, domain, _ := strings.Cut(aor(from), "@")
			return "sip:echo@" + domain
		}, nil
	case calleePeer:
		pattern = "sip:{aor}"
	}
	if !strings.Contains(pattern, "{") && !strings.Contains(pattern, "@") && !strings.HasPrefix(pattern, "sip:") {
		return nil, fmt.Errorf("load: --callee %q: want echo, peer, a SIP URI or a pattern with {aor}, {i}, {next} or {n}", pattern)
	}
	if len(plan) < 2 && (strings.Contains(pattern, "{aor}") || strings.Contains(pattern, "{i}") || strings.Contains(pattern, "{next}")) {
		return nil, fmt.Errorf("load: --callee %q: handset-to-handset calls need at least 2 handsets in the run (or shard)", pattern)
	}
	return func(from int, r *rand.Rand) string {
		j := pickPeer(from, len(plan), r, func(j int) bool { return col.Handset(j).Registered() })
		next := (from + 1) % len(plan)
		return strings.NewReplacer(
			"{aor}", aor(j), "{i}", strconv.Itoa(plan[j].spec.Index),
			"{next}", aor(next), "{n}", strconv.Itoa(plan[from].spec.Index),
		).Replace(pattern)
	}, nil
}

// pickPeer draws a handset other than from, preferring a registered one (a
// few draws, then any other).
func pickPeer(from, n int, r *rand.Rand, registered func(int) bool) int {
	if n < 2 {
		return from
	}
	j := from
	for range 8 {
		j = r.IntN(n - 1)
		if j >= from {
			j++ // uniform over the others
		}
		if registered(j) {
			return j
		}
	}
	return j
}

// loadMediaConfig is the media of a load run's handsets: the Lync base
// profile's SRTP (seed Appendix A: 1-byte MKI starting at 1, key lifetime
// 2^31) and G.711, with SRTP offered (reg.1.srtp.offer=1, as in-band
// ucPC2PCAVEncryption RequireEncryption sets it), so handset-to-handset
// calls are encrypted as on Lync. The local address comes from each
// handset's flow.
func loadMediaConfig() media.Config {
	return media.Config{Codecs: []sdp.Codec{sdp.PCMU, sdp.PCMA}, Policy: sdp.PolicyFromConfig(true, true, false),
		MKI: true, MKILength: 1, MKIStartSessionAtOne: true, KeyLifetime: 1 << 31, DSCP: media.DefaultDSCP}
}
