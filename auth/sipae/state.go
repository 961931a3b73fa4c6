package sipae

// State is the security association state (MS-SIPAE 3.2.1 / 3.3.1: an SA is
// created by the authentication handshake, used for signing, and expires).
type State uint8

// SA states.
const (
	// StateIdle: no SA; messages go unsigned (first REGISTER, or after a
	// 401 to a re-REGISTER, pitfall 6).
	StateIdle State = iota
	// StateHandshake: a challenge was taken and security tokens are being
	// exchanged in gssapi-data.
	StateHandshake
	// StateSigning: the mechanism has keys; our messages are signed but no
	// peer signature has verified yet (pitfall 5: for the client, the 200 OK
	// to the AUTHENTICATE REGISTER is the first message verified).
	StateSigning
	// StateEstablished: a peer signature verified; the SA is in use.
	StateEstablished
	// StateFailed: the handshake or a signature check failed fatally; only
	// Reset leaves it.
	StateFailed
)

func (s State) String() string {
	switch s {
	case StateIdle:
		return "idle"
	case StateHandshake:
		return "handshake"
	case StateSigning:
		return "signing"
	case StateEstablished:
		return "established"
	case StateFailed:
		return "failed"
	}
	return "State(" + itoa(int(s)) + ")"
}

// Event drives the SA.
type Event uint8

// SA events.
const (
	EventChallenge Event = iota // Begin: a challenge for this scheme was accepted
	EventKeys                   // Establish: the mechanism produced keys
	EventSign                   // Sign: a message is signed
	EventVerified               // Verify: a peer signature verified
	EventFail                   // Fail: fatal error
	EventReset                  // Reset: expiry or re-authentication
)

func (e Event) String() string {
	switch e {
	case EventChallenge:
		return "challenge"
	case EventKeys:
		return "keys"
	case EventSign:
		return "sign"
	case EventVerified:
		return "verified"
	case EventFail:
		return "fail"
	case EventReset:
		return "reset"
	}
	return "Event(" + itoa(int(e)) + ")"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// transitions is the SA transition table (one table-test row per entry in
// sa_test.go). Anything not listed is a *TransitionError.
//
//	from          event      to
//	idle          challenge  handshake
//	handshake     challenge  handshake     (next round trip, e.g. TLS-DSK)
//	handshake     keys       signing
//	signing       sign       signing
//	signing       verified   established
//	established   sign       established
//	established   verified   established
//	idle|handshake|signing|established  fail   failed
//	any           reset      idle
var transitions = map[State]map[Event]State{
	StateIdle:        {EventChallenge: StateHandshake, EventFail: StateFailed, EventReset: StateIdle},
	StateHandshake:   {EventChallenge: StateHandshake, EventKeys: StateSigning, EventFail: StateFailed, EventReset: StateIdle},
	StateSigning:     {EventSign: StateSigning, EventVerified: StateEstablished, EventFail: StateFailed, EventReset: StateIdle},
	StateEstablished: {EventSign: StateEstablished, EventVerified: StateEstablished, EventFail: StateFailed, EventReset: StateIdle},
	StateFailed:      {EventReset: StateIdle},
}

// Next returns the state after event e in state s, or a *TransitionError.
func Next(s State, e Event) (State, error) {
	if to, ok := transitions[s][e]; ok {
		return to, nil
	}
	return s, &TransitionError{From: s, Event: e}
}
