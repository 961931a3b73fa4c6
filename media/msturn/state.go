package msturn

import "fmt"

// State is the state of one MS-TURN allocation (client side).
//
// The allocation flow of [MS-TURN] 3.2.5 / protocols.md §9:
//
//	Idle --allocate--> Challenging --401 (realm, nonce)--> Authenticating
//	Authenticating --success--> Allocated --refresh ok--> Allocated
//	Authenticating --438 stale nonce--> Authenticating (once)
//	Allocated --lifetime ends unrefreshed / refresh fails--> Failed
//	any --Close--> Closed
//	Challenging/Authenticating --error or timeout--> Failed
type State uint8

// States.
const (
	StateIdle State = iota
	StateChallenging
	StateAuthenticating
	StateAllocated
	StateFailed
	StateClosed
)

func (s State) String() string {
	switch s {
	case StateIdle:
		return "idle"
	case StateChallenging:
		return "challenging"
	case StateAuthenticating:
		return "authenticating"
	case StateAllocated:
		return "allocated"
	case StateFailed:
		return "failed"
	case StateClosed:
		return "closed"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// event drives the allocation state machine.
type event uint8

const (
	evAllocate   event = iota // send the unauthenticated Allocate
	evChallenge               // 401 with REALM and NONCE
	evStaleNonce              // 438: new NONCE, resend once
	evSuccess                 // Allocate success response
	evFailure                 // error response, timeout or integrity failure
	evRefresh                 // refresh sent from Allocated
	evClose
)

func (e event) String() string {
	return [...]string{"allocate", "challenge", "stale-nonce", "success", "failure", "refresh", "close"}[e]
}

// transition is the one place the client's state changes. An illegal
// (state, event) pair is an error, never ignored (STYLE.md rule 8).
func transition(s State, e event) (State, error) {
	if e == evClose {
		return StateClosed, nil
	}
	switch {
	case s == StateIdle && e == evAllocate:
		return StateChallenging, nil
	case s == StateChallenging && e == evChallenge:
		return StateAuthenticating, nil
	case s == StateChallenging && e == evSuccess: // a server that does not challenge
		return StateAllocated, nil
	case s == StateAuthenticating && e == evStaleNonce:
		return StateAuthenticating, nil
	case s == StateAuthenticating && e == evSuccess:
		return StateAllocated, nil
	case (s == StateChallenging || s == StateAuthenticating) && e == evFailure:
		return StateFailed, nil
	case s == StateAllocated && e == evRefresh:
		return StateAllocated, nil
	case s == StateAllocated && e == evSuccess:
		return StateAllocated, nil
	case s == StateAllocated && e == evStaleNonce:
		return StateAllocated, nil
	case s == StateAllocated && e == evFailure:
		return StateFailed, nil
	}
	return s, fmt.Errorf("msturn: illegal transition %v on %v", s, e)
}
