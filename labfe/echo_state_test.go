package labfe

import (
	"errors"
	"testing"
)

// TestEchoTransitions: one row per (state, event) of echoTransition's
// table; every pair not listed is illegal and leaves the state unchanged.
func TestEchoTransitions(t *testing.T) {
	legal := map[[2]uint8]echoState{
		{uint8(echoProceeding), uint8(evAnswer)}:   echoAnswered,
		{uint8(echoProceeding), uint8(evCancel)}:   echoTerminated,
		{uint8(echoProceeding), uint8(evStop)}:     echoTerminated,
		{uint8(echoAnswered), uint8(evAck)}:        echoConfirmed,
		{uint8(echoAnswered), uint8(evAckTimeout)}: echoTerminated,
		{uint8(echoAnswered), uint8(evBye)}:        echoTerminated,
		{uint8(echoAnswered), uint8(evStop)}:       echoTerminated,
		{uint8(echoConfirmed), uint8(evAck)}:       echoConfirmed,
		{uint8(echoConfirmed), uint8(evReInvite)}:  echoConfirmed,
		{uint8(echoConfirmed), uint8(evBye)}:       echoTerminated,
		{uint8(echoConfirmed), uint8(evStop)}:      echoTerminated,
	}
	for st := echoProceeding; st <= echoTerminated; st++ {
		for ev := evAnswer; ev <= evStop; ev++ {
			next, err := echoTransition(st, ev)
			want, ok := legal[[2]uint8{uint8(st), uint8(ev)}]
			switch {
			case ok && (err != nil || next != want):
				t.Errorf("%s --%s--> %s, %v; want %s", st, ev, next, err, want)
			case !ok && (!errors.Is(err, errEchoTransition) || next != st):
				t.Errorf("%s --%s--> %s, %v; want an illegal-transition error", st, ev, next, err)
			}
		}
	}
	if s := echoState(9).String(); s != "echoState(9)" {
		t.Errorf("unknown state prints %q", s)
	}
}
