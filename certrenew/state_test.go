package certrenew

import (
	"errors"
	"testing"
)

// TestTransitions has one row per allowed transition of the table on State.
func TestTransitions(t *testing.T) {
	tests := []struct {
		from State
		on   Trigger
		to   State
	}{
		{StateIdle, TriggerStart, StateWaiting},
		{StateIdle, TriggerStartExpired, StateExpired},
		{StateIdle, TriggerCancel, StateStopped},
		{StateWaiting, TriggerDue, StateAttempting},
		{StateWaiting, TriggerExpire, StateExpired},
		{StateWaiting, TriggerCancel, StateStopped},
		{StateAttempting, TriggerIssued, StateRekeying},
		{StateAttempting, TriggerFailed, StateBackoff},
		{StateAttempting, TriggerCancel, StateStopped},
		{StateRekeying, TriggerRekeyed, StateWaiting},
		{StateRekeying, TriggerCancel, StateStopped},
		{StateBackoff, TriggerDue, StateAttempting},
		{StateBackoff, TriggerExpire, StateExpired},
		{StateBackoff, TriggerCancel, StateStopped},
	}
	if len(tests) != len(transitions) {
		t.Fatalf("%d rows for %d transitions: keep one row per transition", len(tests), len(transitions))
	}
	for _, tc := range tests {
		t.Run(tc.from.String()+"/"+tc.on.String(), func(t *testing.T) {
			got, err := tc.from.On(tc.on)
			if err != nil || got != tc.to {
				t.Errorf("%v.On(%v) = %v, %v; want %v", tc.from, tc.on, got, err, tc.to)
			}
		})
	}
}

// TestIllegalTransitions: every pair not in the table is an error and leaves
// the state unchanged.
func TestIllegalTransitions(t *testing.T) {
	illegal := 0
	for s := StateIdle; s <= StateStopped; s++ {
		for tr := TriggerStart; tr <= TriggerCancel; tr++ {
			if _, ok := transitions[edge{s, tr}]; ok {
				continue
			}
			illegal++
			got, err := s.On(tr)
			if !errors.Is(err, errTransition) || got != s {
				t.Errorf("%v.On(%v) = %v, %v; want errTransition", s, tr, got, err)
			}
		}
	}
	if illegal == 0 {
		t.Fatal("no illegal pairs checked")
	}
	for _, s := range []State{StateExpired, StateStopped} {
		if !s.Final() {
			t.Errorf("%v is not final", s)
		}
	}
}

func TestStrings(t *testing.T) {
	if StateBackoff.String() != "Backoff" || TriggerStartExpired.String() != "StartExpired" || EventRekeyed.String() != "Rekeyed" {
		t.Errorf("stringer output: %v %v %v", StateBackoff, TriggerStartExpired, EventRekeyed)
	}
}
