package msturn

import "testing"

// One row per transition of the State diagram.
func TestTransitions(t *testing.T) {
	rows := []struct {
		from State
		ev   event
		to   State
		ok   bool
	}{
		{StateIdle, evAllocate, StateChallenging, true},
		{StateChallenging, evChallenge, StateAuthenticating, true},
		{StateChallenging, evSuccess, StateAllocated, true},
		{StateChallenging, evFailure, StateFailed, true},
		{StateAuthenticating, evStaleNonce, StateAuthenticating, true},
		{StateAuthenticating, evSuccess, StateAllocated, true},
		{StateAuthenticating, evFailure, StateFailed, true},
		{StateAllocated, evRefresh, StateAllocated, true},
		{StateAllocated, evSuccess, StateAllocated, true},
		{StateAllocated, evStaleNonce, StateAllocated, true},
		{StateAllocated, evFailure, StateFailed, true},
		{StateAllocated, evClose, StateClosed, true},
		{StateIdle, evClose, StateClosed, true},
		{StateIdle, evSuccess, StateIdle, false},
		{StateFailed, evAllocate, StateFailed, false},
		{StateClosed, evRefresh, StateClosed, false},
		{StateAllocated, evChallenge, StateAllocated, false},
	}
	for _, r := range rows {
		got, err := transition(r.from, r.ev)
		if (err == nil) != r.ok || got != r.to {
			t.Errorf("%v --%v--> %v, %v; want %v ok=%v", r.from, r.ev, got, err, r.to, r.ok)
		}
	}
}
