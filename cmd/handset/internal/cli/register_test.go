package cli

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/handset-dev/handset/sipua"
)

func TestRegisterUsage(t *testing.T) {
	for _, args := range [][]string{
		{"register"},
		{"register", "--prov", "/tmp"},
		{"register", "--mac", "0004f2000001"},
		{"register", "--prov", "/tmp", "--mac", "0004f2000001", "extra"},
		{"register", "--bogus"},
	} {
		var out, errb bytes.Buffer
		if code := Main(t.Context(), args, &out, &errb); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, ExitUsage, errb.String())
		}
	}
}

// TestRegisterFailureExitCodes: a wrong password is a failed run (1), an
// untrusted certificate the environment (3), a bad config usage (2).
func TestRegisterFailureExitCodes(t *testing.T) {
	var errb bytes.Buffer
	env := &Env{Stderr: &errb}
	for _, tc := range []struct {
		err  error
		want int
	}{
		{&sipua.Error{Op: "register a@b", Class: sipua.OutcomeAuthRejected, Why: "401 after AUTHENTICATE", Final: true}, ExitRunFailed},
		{&sipua.Error{Op: "connect", Class: sipua.OutcomeTransport, Why: "tls handshake"}, ExitEnvironment},
		{&sipua.Error{Op: "register", Class: sipua.OutcomeServerError, Why: "503"}, ExitRunFailed},
		{&sipua.ConfigError{Field: "AOR"}, ExitUsage},
		{errors.New("other"), ExitRunFailed},
	} {
		errb.Reset()
		if got := failRegister(env, tc.err); got != tc.want {
			t.Errorf("failRegister(%v) = %d, want %d", tc.err, got, tc.want)
		}
		if !strings.Contains(errb.String(), "sign-in failed") {
			t.Errorf("no reason printed: %q", errb.String())
		}
	}
}

func TestTracePrinter(t *testing.T) {
	var out bytes.Buffer
	p := &tracePrinter{w: &out, trace: true}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p.Observe(sipua.Event{Time: at, Kind: sipua.EventAuthStep, Step: "sent REGISTER with empty NTLM gssapi-data (connectionless: no NEGOTIATE)"})
	p.Observe(sipua.Event{Time: at, Kind: sipua.EventMessage, Outgoing: true, Message: "REGISTER sip:contoso.test SIP/2.0\r\nCSeq: 1 REGISTER\r\n\r\n"})
	p.Observe(sipua.Event{Time: at, Kind: sipua.EventRegistered, Latency: 12 * time.Millisecond})
	want := "03:04:05.000 auth: sent REGISTER with empty NTLM gssapi-data (connectionless: no NEGOTIATE)\n" +
		"03:04:05.000 >>> sent\nREGISTER sip:contoso.test SIP/2.0\nCSeq: 1 REGISTER\n" +
		"03:04:05.000 registered (sign-in took 12ms)\n"
	if out.String() != want {
		t.Errorf("trace output:\n%s\nwant:\n%s", out.String(), want)
	}
	out.Reset()
	p.trace = false
	p.Observe(sipua.Event{Time: at, Kind: sipua.EventMessage, Message: "x"})
	if out.Len() != 0 {
		t.Errorf("message printed without --trace")
	}
}
