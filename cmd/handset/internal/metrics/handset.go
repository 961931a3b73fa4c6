package metrics

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/handset-dev/handset/sipua"
)

// Handset observes one handset: it implements sipua.Observer, keeps the
// handset's row for handsets.csv and feeds the shared counters. Events of
// one handset arrive in turn (sipua's contract), so the small mutex is
// uncontended; it only orders them against report rendering.
type Handset struct {
	c     *Collector
	index int

	mu         sync.Mutex
	id         string
	state      sipua.State
	registered bool // between a sign-in and its loss or un-REGISTER
	ever       bool
	exited     bool
	n          struct{ logons, refreshes, failedLogons, disconnects, calls, callsOK int32 }
	last       FailureKey
	lastErr    string
}

var _ sipua.Observer = (*Handset)(nil)

// SetID names the handset (MAC or AOR) for handsets.csv.
func (h *Handset) SetID(id string) {
	h.mu.Lock()
	h.id = id
	h.mu.Unlock()
}

// Observe implements sipua.Observer.
func (h *Handset) Observe(ev sipua.Event) {
	c := h.c
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.id == "" {
		h.id = ev.Handset
	}
	switch ev.Kind {
	case sipua.EventState:
		c.moveState(h.state, ev.State)
		from := h.state
		h.state = ev.State
		// Leaving Registered for anything but a re-auth or a graceful
		// un-REGISTER loses the registration (LyncPerfTool's "Endpoints
		// Disconnected"); a failure event may have counted it already.
		if from == sipua.StateRegistered && h.registered {
			switch ev.State {
			case sipua.StateConnecting, sipua.StateBackoff, sipua.StateFailed, sipua.StateIdle:
				h.disconnect()
			}
		}
	case sipua.EventRegistered:
		if h.registered {
			h.n.refreshes++
			c.add(Reregistrations, 1)
			return
		}
		h.registered = true
		c.setActive(1)
		h.n.logons++
		c.add(LogonAttempts, 1)
		c.add(Logons, 1)
		c.signIn.observe(ev.Latency)
		if !h.ever {
			h.ever = true
			c.add(HandsetsRegistered, 1)
		}
	case sipua.EventFailure:
		h.failure(ev.Outcome, ev.Status, ev.Reason, ev.Err)
	case sipua.EventUnregistered:
		if h.registered {
			h.registered = false
			c.setActive(-1)
		}
		c.add(Unregistrations, 1)
	case sipua.EventKeepAlive:
		c.add(KeepAlives, 1)
	case sipua.EventMessage:
		if ev.Outgoing {
			c.add(MessagesSent, 1)
		} else {
			c.add(MessagesReceived, 1)
		}
	case sipua.EventBackoff:
		c.add(RetryBackoffs, 1)
	case sipua.EventServer:
		c.add(ServerChanges, 1)
	case sipua.EventAuthStep:
		// Plain-language steps are for the debugging user, not for counts.
	}
}

// failure buckets one failure; h.mu is held. A sign-in cut short by the
// run's own graceful stop (its context cancelled) is counted apart: it is
// neither a logon attempt that failed nor a lost registration.
func (h *Handset) failure(o sipua.Outcome, status int, reason string, err error) {
	if errors.Is(err, context.Canceled) {
		h.c.add(LogonsAborted, 1)
		return
	}
	if reason == "" {
		_, reason = sipua.Classify(err)
	}
	if reason == "" {
		reason = "unspecified"
	}
	k := FailureKey{Kind: "logon", Outcome: o, Status: status, Reason: reason}
	if h.registered {
		k.Kind = "registered"
		h.disconnect()
	} else {
		h.n.failedLogons++
		h.c.add(LogonAttempts, 1)
		h.c.add(FailedLogons, 1)
	}
	h.c.fail(k)
	h.last = k
	if err != nil {
		h.lastErr = err.Error()
	}
}

func (h *Handset) disconnect() {
	h.registered = false
	h.c.setActive(-1)
	h.n.disconnects++
	h.c.add(EndpointsDisconnected, 1)
}

// Exited records the end of the handset's Run. An error that the handset
// did not already report as a failure event (it ended outside the sign-in
// loop, e.g. a config error from the factory) is counted here, so that every
// failure has a bucket. Cancellation is a graceful stop, not a failure.
func (h *Handset) Exited(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.exited = true
	if h.registered { // closed without an un-REGISTER (forced stop)
		h.registered = false
		h.c.setActive(-1)
	}
	if err == nil || errors.Is(err, context.Canceled) {
		return
	}
	if h.lastErr == err.Error() {
		return // already reported through Observe
	}
	o, reason := sipua.Classify(err)
	var ce interface{ Status() int }
	status := 0
	if errors.As(err, &ce) {
		status = ce.Status()
	}
	h.failure(o, status, reason, err)
}

// Row is one handset's line in handsets.csv.
type Row struct {
	Index        int
	ID           string
	State        sipua.State
	Registered   bool // registered when the row was taken
	Logons       int32
	Refreshes    int32
	FailedLogons int32
	Disconnects  int32
	Calls        int32
	CallsOK      int32
	Last         FailureKey // zero if no failure
	LastError    string
}

// Row returns the handset's current row.
func (h *Handset) Row() Row {
	h.mu.Lock()
	defer h.mu.Unlock()
	return Row{
		Index: h.index, ID: h.id, State: h.state, Registered: h.registered,
		Logons: h.n.logons, Refreshes: h.n.refreshes, FailedLogons: h.n.failedLogons,
		Disconnects: h.n.disconnects, Calls: h.n.calls, CallsOK: h.n.callsOK,
		Last: h.last, LastError: h.lastErr,
	}
}

// CallRecord is one call's line in calls.csv (a CDR).
type CallRecord struct {
	Handset     int
	From        string
	Callee      string
	Start       time.Time
	Setup       time.Duration // INVITE → 200; 0 if not established
	Duration    time.Duration // established → BYE
	Established bool
	Outcome     sipua.Outcome
	Status      int
	Reason      string
	// Media (0 when the call had none).
	PacketsSent, PacketsReceived, Lost uint64
	Jitter                             time.Duration
	SRTPFailures                       uint64 // authentication failures + MKI mismatches + replays
	Encrypted                          bool   // the media was SRTP
}

// CallStarted counts a call attempt and returns its start time.
func (h *Handset) CallStarted() time.Time {
	c := h.c
	c.add(CallsAttempted, 1)
	storeMax(&c.peakCalls, c.callsActive.Add(1))
	h.mu.Lock()
	h.n.calls++
	h.mu.Unlock()
	return c.now()
}

// MinMediaHold is how long an established call must have been held before
// its media is judged: 50 packets of 20 ms are due by then, so a call with
// no packet in one direction has failed media, not a slow start.
const MinMediaHold = time.Second

// MediaVerdict is why an established call's media failed, or "" when it
// passed (or was held too briefly to judge). The reasons are fixed strings,
// the failure table's buckets.
func (r CallRecord) MediaVerdict() string {
	switch {
	case !r.Established || r.Duration < MinMediaHold:
		return ""
	case r.PacketsSent == 0:
		return "no packets sent"
	case r.PacketsReceived == 0:
		return "no packets received"
	case r.SRTPFailures > 0:
		return "srtp failures"
	}
	return ""
}

// CallEnded records a finished call (established or failed). A failed call
// without a reason gets one from sipua.Classify(err). A call still in setup
// when the run's graceful stop cancelled it (err is context.Canceled) is
// counted as aborted, not failed, like a sign-in cut by the stop. An
// established call whose media failed (MediaVerdict) is counted in
// CallsMediaFailed and in the failure table under outcome media.
func (h *Handset) CallEnded(rec CallRecord, err error) {
	c := h.c
	c.callsActive.Add(-1)
	rec.Handset = h.index
	mediaWhy := rec.MediaVerdict()
	h.mu.Lock()
	rec.From = h.id
	if rec.Established && mediaWhy == "" {
		h.n.callsOK++
	}
	h.mu.Unlock()
	switch {
	case rec.Established:
		c.add(CallsEstablished, 1)
		c.callSetup.observe(rec.Setup)
		if mediaWhy != "" {
			c.add(CallsMediaFailed, 1)
			rec.Outcome, rec.Reason = sipua.OutcomeMedia, mediaWhy
			c.fail(FailureKey{Kind: "call", Outcome: sipua.OutcomeMedia, Reason: mediaWhy})
		}
	case errors.Is(err, context.Canceled):
		c.add(CallsAborted, 1)
		rec.Reason = "aborted by stop"
	default:
		c.add(CallsFailed, 1)
		if rec.Reason == "" {
			o, r := sipua.Classify(err)
			if rec.Outcome == sipua.OutcomeSuccess {
				rec.Outcome = o
			}
			rec.Reason = r
		}
		if rec.Reason == "" {
			rec.Reason = "unspecified"
		}
		c.fail(FailureKey{Kind: "call", Outcome: rec.Outcome, Status: rec.Status, Reason: rec.Reason})
	}
	c.mu.Lock()
	c.calls = append(c.calls, rec)
	c.mu.Unlock()
}

// Calls returns a copy of the call records so far.
func (c *Collector) Calls() []CallRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]CallRecord(nil), c.calls...)
}

// Registered reports whether the handset is signed in now; the load runner
// places calls only from registered handsets.
func (h *Handset) Registered() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.registered
}
