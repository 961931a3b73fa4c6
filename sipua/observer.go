// Package sipua is one emulated handset's registration with a Lync 2013
// front end on sipgo: TLS to the registrar (configured or DNS SRV), the
// connectionless NTLM sign-in of MS-SIPAE (three REGISTERs) or TLS-DSK with
// the user certificate (tlsdsk.go; the certificate obtained with extension
// and PIN, pin.go, or with NTLM, and renewed by a certrenew.Renewer the
// Handset owns, cert.go), signing of every
// later message and verification of the server's, then staying registered
// (re-REGISTER, CRLF keep-alive, SA refresh, 301, RFC 5626 backoff) until
// stopped, with typed events for tracing and the load runner. Recovery
// (failover.go, failback.go, deadflow.go): a failover list from
// reg.1.server.y or DNS SRV, dead flows noticed at once, retryMaxCount and
// 503/Retry-After deciding when to move on, failOver.failBack.mode when to
// go back.
package sipua

import (
	"errors"
	"fmt"
	"time"
)

// State is the registration state of one handset.
//
// Transitions (see registration.go):
//
//	Idle -> Connecting -> Authenticating -> Registered -> Unregistering -> Stopped
//	Registered -> Authenticating (re-REGISTER, 401 -> full re-auth, SA refresh)
//	Registered -> Connecting (301 redirect, connection lost)
//	any -> Backoff (retryable failure), any -> Failed (final failure)
//	Unregistering -> Connecting (fail-back: un-REGISTER on the backup, then the first server)
type State uint8

// Registration states.
const (
	StateIdle State = iota
	StateConnecting
	StateAuthenticating
	StateRegistered
	StateBackoff
	StateUnregistering
	StateStopped
	StateFailed
)

// legalTransitions is the registration state machine (see the State
// comment; MS-SIPAE 3.2.2 for SA refresh, protocols.md §1.4 for 301). A
// transition outside it is a bug and is logged at Error.
var legalTransitions = map[State][]State{
	StateIdle:           {StateConnecting, StateStopped},
	StateConnecting:     {StateAuthenticating, StateFailed, StateStopped},
	StateAuthenticating: {StateRegistered, StateConnecting, StateFailed, StateStopped},
	StateRegistered:     {StateAuthenticating, StateConnecting, StateUnregistering, StateFailed, StateStopped},
	StateBackoff:        {StateConnecting, StateStopped},
	StateUnregistering:  {StateStopped, StateConnecting},
	StateStopped:        {StateConnecting},
	StateFailed:         {StateBackoff, StateConnecting, StateStopped},
}

// Legal reports whether from → to is a transition of the state machine.
func Legal(from, to State) bool {
	for _, s := range legalTransitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

var stateNames = [...]string{
	StateIdle:           "idle",
	StateConnecting:     "connecting",
	StateAuthenticating: "authenticating",
	StateRegistered:     "registered",
	StateBackoff:        "backoff",
	StateUnregistering:  "unregistering",
	StateStopped:        "stopped",
	StateFailed:         "failed",
}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// Outcome is the bucket a registration attempt falls into, for metrics.
type Outcome uint8

// Outcome buckets (STYLE.md rule 6).
const (
	OutcomeSuccess Outcome = iota
	OutcomeAuthRejected
	OutcomeServerError
	OutcomeTimeout
	OutcomeTransport
	OutcomeMedia
	OutcomeConfig
	// OutcomeRejected: the far end (or our own call limit) refused a call:
	// 486 busy, 480/404/603, no answer.
	OutcomeRejected
)

var outcomeNames = [...]string{
	OutcomeSuccess:      "success",
	OutcomeAuthRejected: "auth_rejected",
	OutcomeServerError:  "server_error",
	OutcomeTimeout:      "timeout",
	OutcomeTransport:    "transport",
	OutcomeMedia:        "media",
	OutcomeConfig:       "config",
	OutcomeRejected:     "rejected",
}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// EventKind says what an Event reports.
type EventKind uint8

// Event kinds.
const (
	EventState        EventKind = iota // State/Prev hold the transition
	EventAuthStep                      // Step holds a plain-language description
	EventRegistered                    // Latency holds the sign-in latency
	EventUnregistered                  // un-REGISTER completed
	EventFailure                       // Outcome/Reason/Status/Err classify the failure
	EventMessage                       // trace: one SIP message in or out (Message, Outgoing)
	EventKeepAlive                     // a CRLF keep-alive was sent
	EventSubscribed                    // a self-SUBSCRIBE answered (Reason: event package; Status; Err on failure)
	EventInBand                        // in-band provisioning arrived (Reason: carrying message) or was rejected (Err)
	EventBackoff                       // Run waits Delay before the next attempt on Server; Reason says why
	EventServer                        // the handset moves to Server (failover, fail-back, redirect); Reason says why
	EventCallState                     // a call changed state: CallID, CallState, Peer, Incoming; Latency = setup time when established; Outcome/Reason/Status/Err when ended
	EventDiversion                     // an incoming call carried a Diversion header (voIpProt.SIP.header.diversion.enable=1): Diversion
)

var eventKindNames = [...]string{
	EventState:        "state",
	EventAuthStep:     "auth_step",
	EventRegistered:   "registered",
	EventUnregistered: "unregistered",
	EventFailure:      "failure",
	EventMessage:      "message",
	EventKeepAlive:    "keepalive",
	EventSubscribed:   "subscribed",
	EventInBand:       "in_band",
	EventBackoff:      "backoff",
	EventServer:       "server",
	EventCallState:    "call_state",
	EventDiversion:    "diversion",
}

func (k EventKind) String() string {
	if int(k) < len(eventKindNames) {
		return eventKindNames[k]
	}
	return fmt.Sprintf("event(%d)", uint8(k))
}

// Event is one observation of a handset, delivered to an Observer.
type Event struct {
	Time     time.Time
	Handset  string // identity: MAC or AOR
	Kind     EventKind
	State    State // new state (EventState)
	Prev     State
	Step     string        // plain-language auth step (EventAuthStep)
	Outcome  Outcome       // EventFailure, EventRegistered (OutcomeSuccess)
	Reason   string        // EventFailure: short fixed reason for metrics ("401 after AUTHENTICATE", "503", "tls handshake"); EventState, EventBackoff, EventServer: why, in plain language
	Server   string        // registrar concerned, "pool.contoso.test (10.0.0.1:5061)" (EventState to connecting, EventBackoff, EventServer, EventFailure)
	Delay    time.Duration // EventBackoff: how long Run waits (protocol time, before TimeScale)
	Status   int           // SIP status code if any
	Latency  time.Duration // e.g. sign-in latency for EventRegistered
	Message  string        // EventMessage only: the full SIP message text, secrets redacted
	Outgoing bool          // EventMessage direction
	Err      error

	// Calls (EventCallState, EventDiversion).
	CallID    string
	CallState CallState
	Peer      string // the other party's URI
	Incoming  bool
	Diversion string
}

// Observer receives events. Observe must not block; it is called without
// locks held, possibly from several goroutines of one handset in turn.
type Observer interface{ Observe(Event) }

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(Event)

// Observe calls f(ev).
func (f ObserverFunc) Observe(ev Event) { f(ev) }

// Classified is implemented by every error that ends a registration.
type Classified interface {
	error
	Outcome() Outcome
	Reason() string
}

// Classify walks err's chain for a Classified error and returns its bucket.
// A nil error is a success; an unclassified one is a transport failure with
// reason "unknown".
func Classify(err error) (Outcome, string) {
	if err == nil {
		return OutcomeSuccess, ""
	}
	var c Classified
	if errors.As(err, &c) {
		return c.Outcome(), c.Reason()
	}
	return OutcomeTransport, "unknown"
}
