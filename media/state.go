package media

import "fmt"

// State is where a Session stands in RFC 3264 offer/answer.
//
//	         Offer            Accept
//	Idle ──────────▶ OfferSent ──────▶ Active ─┐
//	  │                ▲   │ Offer       │ ▲   │ Offer (re-offer: media keeps
//	  │ Answer         │   └─────────────┘ │   │ running on the last exchange)
//	  └────────────────┼──────────────────▶│◀──┘ Answer (re-INVITE)
//	                   └─── Offer ─────────┘
//	any ── Close ──▶ Closed
//
// Answer in OfferSent is the glare case (RFC 3264 §4 and RFC 3261 §14.1):
// the SIP layer abandoned our offer, so the answer replaces it.
type State uint8

// States.
const (
	StateIdle      State = iota // sockets bound, nothing negotiated
	StateOfferSent              // our offer awaits its answer
	StateActive                 // an exchange completed; media may run
	StateClosed
)

func (s State) String() string {
	switch s {
	case StateIdle:
		return "idle"
	case StateOfferSent:
		return "offer-sent"
	case StateActive:
		return "active"
	case StateClosed:
		return "closed"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// event is what the SIP layer asks of the session.
type event uint8

const (
	evOffer event = iota
	evAnswer
	evAccept
	evClose
)

func (e event) String() string {
	return [...]string{"offer", "answer", "accept", "close"}[e]
}

// transition is the offer/answer state machine: the next state for
// (state, event), or an ErrState error for an illegal pair.
func transition(s State, e event) (State, error) {
	switch {
	case e == evClose:
		return StateClosed, nil
	case s == StateClosed:
	case e == evOffer:
		return StateOfferSent, nil
	case e == evAnswer:
		return StateActive, nil
	case e == evAccept && s == StateOfferSent:
		return StateActive, nil
	}
	return s, fmt.Errorf("%w: %s in state %s", ErrState, e, s)
}
