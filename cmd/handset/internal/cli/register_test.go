package cli

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/labfe"
	"github.com/handset-dev/handset/labfe/labfetest"
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

// startLabfeForCLI runs labfe and writes its CA to a file, as `handset labfe`
// does.
func startLabfeForCLI(t *testing.T) (addr, caFile string, fe *labfe.Server) {
	t.Helper()
	fe = labfetest.Start(t)
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, fe.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return fe.Addr(), caFile, fe
}

// TestRegisterOnceAgainstLabfe is the acceptance check: the printed
// command signs in over TLS with NTLM and exits 0; with a wrong password it
// exits 1 after one attempt with the reason.
func TestRegisterOnceAgainstLabfe(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	addr, ca, fe := startLabfeForCLI(t)
	prov := "../../../../configs/templates/flat"
	var out, errb bytes.Buffer
	code := Main(t.Context(), []string{"register", "--prov", prov, "--mac", "0004f2000001", "--target", addr, "--ca", ca, "--once", "--trace"}, &out, &errb)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"auth: sent REGISTER with empty NTLM gssapi-data", ">>> sent\nREGISTER sip:contoso.test SIP/2.0", `gssapi-data="[redacted]"`, "unregistered", "ok: alice@contoso.test signed in"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out.String()+errb.String(), "Passw0rd!") {
		t.Error("password printed")
	}

	bad := t.TempDir()
	for _, f := range []string{"0004f2000001.cfg", "0004f2000001-ext.cfg", "site.cfg"} {
		b, err := os.ReadFile(filepath.Join(prov, f))
		if err != nil {
			t.Fatal(err)
		}
		b = bytes.ReplaceAll(b, []byte("Passw0rd!"), []byte("WrongPw1"))
		if err := os.WriteFile(filepath.Join(bad, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out.Reset()
	errb.Reset()
	code = Main(t.Context(), []string{"register", "--prov", bad, "--mac", "0004f2000001", "--target", addr, "--ca", ca, "--once"}, &out, &errb)
	if code != ExitRunFailed || !strings.Contains(errb.String(), "401 after AUTHENTICATE") {
		t.Errorf("wrong password: exit %d, stderr %q", code, errb.String())
	}
	if st := fe.Stats().Users["alice@contoso.test"]; st.AuthFailures != 1 {
		t.Errorf("labfe saw %d failed AUTHENTICATEs, want exactly 1", st.AuthFailures)
	}

	// Without --ca the lab CA is not trusted: an environment error.
	errb.Reset()
	code = Main(t.Context(), []string{"register", "--prov", prov, "--mac", "0004f2000001", "--target", addr, "--once"}, &out, &errb)
	if code != ExitEnvironment || !strings.Contains(errb.String(), "tls handshake") {
		t.Errorf("untrusted: exit %d, stderr %q", code, errb.String())
	}
}

// TestTracePrinterRecovery: backoff, server changes and the reason of each
// state change are printed for the person debugging a registration.
func TestTracePrinterRecovery(t *testing.T) {
	var out bytes.Buffer
	p := &tracePrinter{w: &out, trace: true}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p.Observe(sipua.Event{Time: at, Kind: sipua.EventFailure, Outcome: sipua.OutcomeServerError, Reason: "503", Server: "pool.contoso.test (10.0.0.1:5061)"})
	p.Observe(sipua.Event{Time: at, Kind: sipua.EventState, Prev: sipua.StateFailed, State: sipua.StateBackoff, Reason: "retrying after the RFC 5626 retry delay (held off by Retry-After)"})
	p.Observe(sipua.Event{Time: at, Kind: sipua.EventBackoff, Server: "pool.contoso.test (10.0.0.1:5061)", Delay: 30 * time.Second, Reason: "held off by Retry-After"})
	p.Observe(sipua.Event{Time: at, Kind: sipua.EventServer, Server: "backup.contoso.test (10.0.0.2:5061)", Reason: "server 1 failed 3 times: moving to server 2"})
	want := "03:04:05.000 failure: server_error (503) on pool.contoso.test (10.0.0.1:5061)\n" +
		"03:04:05.000 state: failed -> backoff (retrying after the RFC 5626 retry delay (held off by Retry-After))\n" +
		"03:04:05.000 backoff: next attempt on pool.contoso.test (10.0.0.1:5061) in 30s: held off by Retry-After\n" +
		"03:04:05.000 server: now backup.contoso.test (10.0.0.2:5061): server 1 failed 3 times: moving to server 2\n"
	if out.String() != want {
		t.Errorf("trace output:\n%s\nwant:\n%s", out.String(), want)
	}
}

// TestRegisterGracefulStopOnSignal (RELIABILITY.md F14): `handset register`
// (no --once) stays registered; the first signal makes it un-REGISTER and
// exit 0 within the grace, without any exit forced by the watcher.
func TestRegisterGracefulStopOnSignal(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	addr, ca, fe := startLabfeForCLI(t)
	prov := "../../../../configs/templates/flat"
	sigs := make(chan os.Signal, 2)
	ex := newExitRecorder()
	ctx, release := StopOnSignals(t.Context(), sigs, DefaultStopGrace, io.Discard, ex.exit)
	out := &watchWriter{want: "registered (sign-in took", seen: make(chan struct{})}
	var errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"register", "--prov", prov, "--mac", "0004f2000001", "--target", addr, "--ca", ca}, out, &errb)
	}()
	select {
	case <-out.seen:
	case code := <-done:
		t.Fatalf("exit %d before registering: %s %s", code, out.String(), errb.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("not registered: %s %s", out.String(), errb.String())
	}
	if fe.Bindings("alice@contoso.test") != 1 {
		t.Fatal("labfe holds no binding")
	}
	sigs <- syscall.SIGTERM
	if code := <-done; code != ExitOK {
		t.Fatalf("exit %d: %s %s", code, out.String(), errb.String())
	}
	release()
	if ex.count() != 0 {
		t.Errorf("watcher forced an exit: %v", ex.codes)
	}
	st := fe.Stats().Users["alice@contoso.test"]
	if st.Unregistrations != 1 || st.ActiveBindings != 0 {
		t.Errorf("labfe stats after the signal: %+v, want one un-REGISTER and no binding", st)
	}
	if !strings.Contains(out.String(), "signed out") {
		t.Errorf("output %q", out.String())
	}
}

// watchWriter is a syncBuffer that closes seen once want was written.
type watchWriter struct {
	syncBuffer
	want string
	seen chan struct{}
	once sync.Once
}

func (w *watchWriter) Write(p []byte) (int, error) {
	n, err := w.syncBuffer.Write(p)
	if strings.Contains(w.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return n, err
}
