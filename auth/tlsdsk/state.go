package tlsdsk

import "fmt"

// State is where a pump is in the TLS-DSK handshake (STYLE rule 8).
//
//	          Step(first flight)                Step(last flight)
//	Start ───────────────────────▶ Handshaking ──────────────────▶ Done
//	  │                              │   ▲  │ Step(next flight)
//	  │                              │   └──┘
//	  └──────────── error ───────────┴──────────────▶ Failed
//	any ── Close ──▶ Closed
//
// Failed, Done and Closed are final for the handshake: a new security
// association needs a new pump (MS-SIPAE 3.2.5: a fresh unsigned REGISTER).
type State uint8

const (
	// StateStart: no flight exchanged yet.
	StateStart State = iota
	// StateHandshaking: a flight was sent; waiting for the peer's.
	StateHandshaking
	// StateDone: the handshake completed and the keys are derived.
	StateDone
	// StateFailed: the handshake failed (bad record, certificate, Finished).
	StateFailed
	// StateClosed: Close was called.
	StateClosed
)

var stateNames = [...]string{"Start", "Handshaking", "Done", "Failed", "Closed"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// legal is the transition table above.
func legal(from, to State) bool {
	if to == StateClosed {
		return from != StateClosed
	}
	switch from {
	case StateStart, StateHandshaking:
		return to == StateHandshaking || to == StateDone || to == StateFailed
	}
	return false
}
