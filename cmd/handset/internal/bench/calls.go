package bench

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/handset-dev/handset/media"
	"github.com/handset-dev/handset/media/sdp"
	"github.com/handset-dev/handset/sipua"
)

// CallRateResult is B6's subject: handset pairs through labfe, each caller
// placing calls back to back (INVITE with the SDES offer, 200, ACK, media
// start, BYE; no hold) for a window.
type CallRateResult struct {
	Pairs    int
	Window   time.Duration
	Calls    int64 // established and hung up
	Failures int64
	FirstErr error
}

// PerSecond is completed calls per second of the window.
func (r CallRateResult) PerSecond() float64 {
	if r.Window <= 0 {
		return 0
	}
	return float64(r.Calls) / r.Window.Seconds()
}

// benchMedia is a line's media as the seed's base profile sets it: G.711,
// SRTP offered with a 1-byte MKI starting at 1 (protocols.md §0).
func benchMedia() media.Config {
	return media.Config{
		LocalIP: netip.MustParseAddr("127.0.0.1"), Codecs: []sdp.Codec{sdp.PCMU, sdp.PCMA},
		Policy: sdp.PolicyFromConfig(true, true, false), MKI: true, MKILength: 1, MKIStartSessionAtOne: true,
		KeyLifetime: 1 << 31, Source: media.ToneSource(1000),
	}
}

// CallRate signs in 2×pairs handsets against a fresh labfe (TLS, NTLM,
// every message signed) and measures calls set up and torn down per second
// over window, callers in parallel, callees answering at once.
func CallRate(ctx context.Context, pairs int, window time.Duration) (CallRateResult, error) {
	res := CallRateResult{Pairs: pairs}
	lab, err := StartLab(2*pairs, nil)
	if err != nil {
		return res, err
	}
	defer func() { _ = lab.Close() }()
	hs := make([]*sipua.Handset, 2*pairs)
	defer func() {
		for _, h := range hs {
			if h != nil {
				_ = h.Close()
			}
		}
	}()
	for i := range hs {
		h, err := sipua.New(lab.handsetConfig(i), sipua.WithTLSConfig(lab.TLS), sipua.WithDialAddr(lab.FE.Addr()),
			sipua.WithCalls(sipua.CallConfig{AnswerDelay: -1}), sipua.WithMediaConfig(benchMedia()), sipua.WithMessageText(false))
		if err != nil {
			return res, fmt.Errorf("bench: %w", err)
		}
		hs[i] = h
		if err := h.Register(ctx); err != nil {
			return res, fmt.Errorf("bench: handset %d: %w", i, err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, window)
	defer cancel()
	var calls, fails atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for p := range pairs {
		caller, callee := hs[2*p], lab.Users[2*p+1].Address
		wg.Add(1)
		go func() {
			defer wg.Done()
			for wctx.Err() == nil {
				r, err := caller.PlaceCall(wctx, callee, 0)
				switch {
				case err == nil && r.Established:
					calls.Add(1)
				case wctx.Err() != nil:
					return // cut by the window's end
				default:
					fails.Add(1)
					mu.Lock()
					if res.FirstErr == nil {
						res.FirstErr = fmt.Errorf("call %s: %s %s: %w", callee, r.Outcome, r.Reason, err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	res.Window = time.Since(start)
	res.Calls, res.Failures = calls.Load(), fails.Load()
	return res, nil
}
