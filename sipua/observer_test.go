package sipua

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestStateMachineTable(t *testing.T) {
	for _, tc := range []struct {
		from, to State
		ok       bool
	}{
		{StateIdle, StateConnecting, true},
		{StateConnecting, StateAuthenticating, true},
		{StateConnecting, StateFailed, true}, // TLS handshake, DNS
		{StateAuthenticating, StateRegistered, true},
		{StateAuthenticating, StateConnecting, true}, // 301
		{StateAuthenticating, StateFailed, true},     // wrong password
		{StateRegistered, StateAuthenticating, true}, // re-REGISTER, SA refresh
		{StateRegistered, StateUnregistering, true},
		{StateRegistered, StateFailed, true}, // connection lost
		{StateFailed, StateBackoff, true},
		{StateBackoff, StateConnecting, true},
		{StateUnregistering, StateStopped, true},
		{StateStopped, StateConnecting, true},
		{StateIdle, StateRegistered, false},
		{StateBackoff, StateRegistered, false},
		{StateUnregistering, StateRegistered, false},
		{StateConnecting, StateRegistered, false},
	} {
		if got := Legal(tc.from, tc.to); got != tc.ok {
			t.Errorf("Legal(%v, %v) = %v, want %v", tc.from, tc.to, got, tc.ok)
		}
	}
}

func TestNames(t *testing.T) {
	if StateRegistered.String() != "registered" || OutcomeAuthRejected.String() != "auth_rejected" ||
		EventAuthStep.String() != "auth_step" || State(99).String() != "state(99)" {
		t.Error("String methods")
	}
}

func TestClassify(t *testing.T) {
	e := &Error{Op: "register a@b", Class: OutcomeServerError, Why: "503"}
	if o, why := Classify(fmt.Errorf("wrapped: %w", e)); o != OutcomeServerError || why != "503" {
		t.Errorf("Classify(wrapped) = %v %q", o, why)
	}
	if o, why := Classify(errors.New("x")); o != OutcomeTransport || why != "unknown" {
		t.Errorf("Classify(plain) = %v %q", o, why)
	}
	if o, _ := Classify(nil); o != OutcomeSuccess {
		t.Errorf("Classify(nil) = %v", o)
	}
	if o, _ := Classify(&ConfigError{Field: "AOR"}); o != OutcomeConfig {
		t.Errorf("Classify(ConfigError) = %v", o)
	}
}

func TestReRegisterMargin(t *testing.T) {
	for _, tc := range []struct{ overlap, expires, want time.Duration }{
		{30 * time.Second, time.Hour, 30 * time.Second},                  // SIPE: 30 s early
		{60 * time.Second, 90 * time.Second, 45 * time.Second},           // overlap above half: half
		{25 * time.Millisecond, 3 * time.Second, 750 * time.Millisecond}, // time-scaled: a quarter
		{30 * time.Second, 20 * time.Second, 10 * time.Second},
	} {
		if got := reRegisterMargin(tc.overlap, tc.expires); got != tc.want {
			t.Errorf("reRegisterMargin(%v, %v) = %v, want %v", tc.overlap, tc.expires, got, tc.want)
		}
	}
}
