package certrenew

import "fmt"

//go:generate go run golang.org/x/tools/cmd/stringer -type=State -trimprefix=State
//go:generate go run golang.org/x/tools/cmd/stringer -type=Trigger -trimprefix=Trigger
//go:generate go run golang.org/x/tools/cmd/stringer -type=EventKind -trimprefix=Event

// State is the renewer's state (STYLE rule 8).
//
// Transition table (the seed's renewal process as a machine; every other
// (state, trigger) pair is an error):
//
//	from        trigger       to          why
//	Idle        Start         Waiting     a valid certificate is in the Store
//	Idle        StartExpired  Expired     the certificate had expired at start (seed step 3)
//	Idle        Cancel        Stopped
//	Waiting     Due           Attempting  the planned start, min(¼ lifetime, 30 d) before expiry
//	Waiting     Expire        Expired     the clock passed NotAfter with no attempt left
//	Waiting     Cancel        Stopped
//	Attempting  Issued        Rekeying    a new certificate was accepted and swapped in
//	Attempting  Failed        Backoff     the Issuer failed, or its certificate was refused
//	Attempting  Cancel        Stopped
//	Rekeying    Rekeyed       Waiting     a new TLS-DSK SA was started (or failed: the handset retries)
//	Rekeying    Cancel        Stopped
//	Backoff     Due           Attempting  10, 20 … 60 minutes after the last failure
//	Backoff     Expire        Expired     the certificate expired while renewal kept failing
//	Backoff     Cancel        Stopped
//
// Expired and Stopped are final.
type State uint8

// States of a [Renewer].
const (
	StateIdle State = iota
	StateWaiting
	StateAttempting
	StateRekeying
	StateBackoff
	StateExpired
	StateStopped
)

// Trigger is an input to the renewer's state machine.
type Trigger uint8

// Triggers of the transition table on [State].
const (
	TriggerStart Trigger = iota
	TriggerStartExpired
	TriggerDue
	TriggerIssued
	TriggerFailed
	TriggerRekeyed
	TriggerExpire
	TriggerCancel
)

type edge struct {
	from State
	on   Trigger
}

var transitions = map[edge]State{
	{StateIdle, TriggerStart}:        StateWaiting,
	{StateIdle, TriggerStartExpired}: StateExpired,
	{StateIdle, TriggerCancel}:       StateStopped,

	{StateWaiting, TriggerDue}:    StateAttempting,
	{StateWaiting, TriggerExpire}: StateExpired,
	{StateWaiting, TriggerCancel}: StateStopped,

	{StateAttempting, TriggerIssued}: StateRekeying,
	{StateAttempting, TriggerFailed}: StateBackoff,
	{StateAttempting, TriggerCancel}: StateStopped,

	{StateRekeying, TriggerRekeyed}: StateWaiting,
	{StateRekeying, TriggerCancel}:  StateStopped,

	{StateBackoff, TriggerDue}:    StateAttempting,
	{StateBackoff, TriggerExpire}: StateExpired,
	{StateBackoff, TriggerCancel}: StateStopped,
}

// On returns the state that trigger t leads to from s, or an error for a
// transition the table does not allow.
func (s State) On(t Trigger) (State, error) {
	next, ok := transitions[edge{s, t}]
	if !ok {
		return s, fmt.Errorf("certrenew: %w: %v on %v", errTransition, t, s)
	}
	return next, nil
}

// Final reports whether s is a final state.
func (s State) Final() bool { return s == StateExpired || s == StateStopped }
