package tlsdsk

import (
	"errors"
	"testing"
)

// One row per transition of the table in state.go.
func TestStateTransitions(t *testing.T) {
	all := []State{StateStart, StateHandshaking, StateDone, StateFailed, StateClosed}
	want := map[[2]State]bool{
		{StateStart, StateHandshaking}: true, {StateStart, StateDone}: true, {StateStart, StateFailed}: true,
		{StateHandshaking, StateHandshaking}: true, {StateHandshaking, StateDone}: true, {StateHandshaking, StateFailed}: true,
		{StateStart, StateClosed}: true, {StateHandshaking, StateClosed}: true, {StateDone, StateClosed}: true, {StateFailed, StateClosed}: true,
	}
	for _, from := range all {
		for _, to := range all {
			if got := legal(from, to); got != want[[2]State{from, to}] {
				t.Errorf("%v → %v: legal = %v", from, to, got)
			}
		}
	}
	if State(9).String() != "State(9)" || StateDone.String() != "Done" {
		t.Error("String")
	}
}

// The states a real handshake walks through, and that failure is final.
func TestStatesDuringHandshake(t *testing.T) {
	c, s := newPumps(t, "user", nil)
	if c.State() != StateStart {
		t.Fatal(c.State())
	}
	hello, _, _ := c.Step(nil)
	if c.State() != StateHandshaking {
		t.Fatal(c.State())
	}
	f1, _, _ := s.Step(hello)
	f2, _, _ := c.Step(f1)
	fin, done, err := s.Step(f2)
	if !done || err != nil || s.State() != StateDone {
		t.Fatalf("server %v %v %v", done, err, s.State())
	}
	if _, done, _ = c.Step(fin); !done || c.State() != StateDone {
		t.Fatalf("client %v", c.State())
	}
	_ = c.Close()
	if c.State() != StateClosed {
		t.Fatal(c.State())
	}

	_, s2 := newPumps(t, "user", nil)
	if _, _, err := s2.Step([]byte{99, 3, 1, 0, 1, 0}); !errors.Is(err, ErrHandshake) || s2.State() != StateFailed {
		t.Fatalf("%v %v", err, s2.State())
	}
	if _, _, err := s2.Step(hello); !errors.Is(err, ErrHandshake) {
		t.Fatalf("failed pump accepted a flight: %v", err)
	}
}
