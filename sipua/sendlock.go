package sipua

import (
	"strconv"

	"github.com/emiago/sipgo/sip"

	"github.com/handset-dev/handset/auth/sipae"
)

// The server rejects a signed message whose cnum is not above the last one
// it saw (replay protection, MS-SIPAE; labfe answers 403 ms-diagnostics
// 1011 "Replayed or out-of-order cnum"). Registration refreshes,
// subscriptions, MRAS, responses to server requests and call messages are
// signed on different goroutines, so signing and writing happen together
// under h.calls.sendMu. Requests that were signed before they reached
// roundTrip are signed again there, under the lock (a cnum skipped is
// fine; one out of order is not).

// resign replaces the signature of a request that carries one from sa
// once sa is the handset's established SA; the handshake-finishing
// REGISTER (NTLM AUTHENTICATE or TLS-DSK Finished) is left alone: nothing
// else is signed with sa before its 200 OK.
func (h *Handset) resign(req *sip.Request, sa *secAssoc) {
	h.mu.Lock()
	established := h.sa == sa
	h.mu.Unlock()
	if !established {
		return
	}
	hs := req.GetHeaders(sa.family.Authorization())
	if len(hs) == 0 {
		return
	}
	p, err := sipae.Parse(hs[0].Value())
	if err != nil || p.Cnum == "" || p.GssapiData != "" {
		return
	}
	if n, err := strconv.ParseUint(p.Cnum, 10, 64); err == nil && n >= h.calls.lastCnum(sa) {
		return // nothing signed after it: already in order
	}
	if _, err := h.sign(req, sa, ""); err != nil {
		h.log.Warn("re-sign failed; sending the first signature", "err", err)
	}
}

// noteCnum records the highest cnum signed with sa (a new SA starts
// again at 1).
func (r *callRegistry) noteCnum(sa *secAssoc, cnum string) {
	n, err := strconv.ParseUint(cnum, 10, 64)
	if err != nil {
		return
	}
	r.cnumMu.Lock()
	defer r.cnumMu.Unlock()
	if r.cnumSA != sa {
		r.cnumSA, r.cnumMax = sa, 0
	}
	r.cnumMax = max(r.cnumMax, n)
}

// lastCnum is the highest cnum signed with sa so far.
func (r *callRegistry) lastCnum(sa *secAssoc) uint64 {
	r.cnumMu.Lock()
	defer r.cnumMu.Unlock()
	if r.cnumSA != sa {
		return 0
	}
	return r.cnumMax
}
