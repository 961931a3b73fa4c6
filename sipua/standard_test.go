package sipua_test

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/handset-dev/handset/internal/peers/kamailio"
	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/sipua"
)

// specialInterop=standard against a real kamailio (issue #4): RFC 3261
// digest over TLS, no MS-SIPAE.

func standardConfig(user, pass string) sipua.Config {
	return sipua.Config{Handset: "0004f2000101", AOR: user + "@" + kamailio.Domain, Password: sipua.Password(pass),
		Server: kamailio.Host, SpecialInterop: "standard", TransactionTimeout: 5 * time.Second}
}

func newStandardHandset(t *testing.T, k *kamailio.Server, cfg sipua.Config, ev *events, opts ...sipua.Option) *sipua.Handset {
	t.Helper()
	h, err := sipua.New(cfg, append([]sipua.Option{
		sipua.WithTLSConfig(&tls.Config{RootCAs: k.PKI.CAPool, MinVersion: tls.VersionTLS12}),
		sipua.WithDialAddr(k.TLSAddr),
		sipua.WithRand(testutil.NewReader(7)),
		sipua.WithObserver(ev)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// count returns how many recorded events satisfy f.
func (e *events) count(f func(sipua.Event) bool) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.all {
		if f(ev) {
			n++
		}
	}
	return n
}

func isStatus(code string) func(sipua.Event) bool {
	return func(ev sipua.Event) bool {
		return ev.Kind == sipua.EventMessage && !ev.Outgoing && strings.HasPrefix(ev.Message, "SIP/2.0 "+code+" ")
	}
}

// TestKamailioStandardRegister: REGISTER → 401 Digest → REGISTER with
// Authorization → 200 over TLS, then the un-REGISTER with the same nonce
// (nc=2, which kamailio checks with nonce_count); MD5 and SHA-256.
func TestKamailioStandardRegister(t *testing.T) {
	for _, alg := range []string{"", "SHA-256"} {
		t.Run("alg="+alg, func(t *testing.T) {
			testutil.VerifyNoLeaks(t)
			k := kamailio.Start(t, kamailio.Options{Algorithm: alg, NonceCount: true})
			ev := newEvents()
			h := newStandardHandset(t, k, standardConfig("alice", "secret"), ev)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := h.Register(ctx); err != nil {
				t.Fatalf("register: %v\n%s", err, transcript(ev))
			}
			if err := k.WaitRegistered(ctx, "alice", 1); err != nil {
				t.Fatal(err)
			}
			if err := h.Unregister(ctx); err != nil {
				t.Fatalf("unregister: %v\n%s", err, transcript(ev))
			}
			if err := k.WaitRegistered(ctx, "alice", 2); err != nil {
				t.Fatal(err)
			}
			_ = h.Close()
			tr := transcript(ev)
			for _, want := range []string{"WWW-Authenticate: Digest", `Authorization: Digest username="alice"`, "nc=00000001", "nc=00000002", `response="[redacted]"`, "Expires: 0"} {
				if !strings.Contains(tr, want) {
					t.Errorf("transcript lacks %q:\n%s", want, tr)
				}
			}
			if alg != "" && !strings.Contains(tr, "algorithm="+alg) {
				t.Errorf("transcript lacks algorithm=%s", alg)
			}
			if strings.Contains(tr, "NTLM") || strings.Contains(tr, "secret") {
				t.Errorf("NTLM or the password in the transcript:\n%s", tr)
			}
			if n := ev.count(isStatus("401")); n != 1 {
				t.Errorf("%d 401s, want 1", n)
			}
			if n := k.AuthFailures("REGISTER", "alice"); n != 0 {
				t.Errorf("kamailio counted %d auth failures", n)
			}
		})
	}
}

// TestKamailioStandardWrongPassword: a wrong password ends as a final
// auth_rejected failure after one attempt with credentials, whether the
// server answers a new 401 (kamailio's default) or 403; Run does not retry.
func TestKamailioStandardWrongPassword(t *testing.T) {
	for _, forbid := range []bool{false, true} {
		name := map[bool]string{false: "401", true: "403"}[forbid]
		t.Run(name, func(t *testing.T) {
			testutil.VerifyNoLeaks(t)
			k := kamailio.Start(t, kamailio.Options{ForbiddenOnBadPassword: forbid})
			ev := newEvents()
			cfg := standardConfig("alice", "wrong")
			cfg.RetryBase, cfg.RetryMax = time.Millisecond, time.Millisecond
			h := newStandardHandset(t, k, cfg, ev)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := h.Run(ctx)
			var se *sipua.Error
			if !errors.As(err, &se) || se.Class != sipua.OutcomeAuthRejected || !sipua.IsFinal(err) || se.Status != map[bool]int{false: 401, true: 403}[forbid] {
				t.Fatalf("Run = %v (%+v), want a final auth_rejected %s", err, se, name)
			}
			if o, why := sipua.Classify(err); o != sipua.OutcomeAuthRejected || !strings.Contains(why, "after digest credentials") {
				t.Errorf("Classify = %v %q", o, why)
			}
			if err := k.WaitAuthFailures(ctx, "REGISTER", "alice", 1); err != nil {
				t.Fatal(err)
			}
			if n := k.AuthFailures("REGISTER", "alice"); n != 1 {
				t.Errorf("kamailio saw %d wrong credentials, want exactly 1 (no retry)", n)
			}
			if k.Registrations("alice") != 0 {
				t.Error("kamailio registered alice with a wrong password")
			}
			if h.State() != sipua.StateFailed {
				t.Errorf("state %v", h.State())
			}
		})
	}
}

// TestKamailioStandardStaysRegistered: Run with a 3 s expiry re-REGISTERs
// with the nonce it has (nc counting up); when kamailio's 2 s nonce has
// expired it answers 401 stale=true and the handset authenticates again
// without a failure; cancelling Run un-REGISTERs.
func TestKamailioStandardStaysRegistered(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	k := kamailio.Start(t, kamailio.Options{NonceCount: true, NonceExpire: 2 * time.Second})
	ev := newEvents()
	cfg := standardConfig("bob", "secret2")
	cfg.Expires = 3 * time.Second
	h := newStandardHandset(t, k, cfg, ev)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer wcancel()
	if err := k.WaitRegistered(wctx, "bob", 4); err != nil {
		t.Fatalf("%v\n%s", err, transcript(ev))
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-wctx.Done():
		t.Fatal("Run did not return")
	}
	if err := k.WaitRegistered(wctx, "bob", 5); err != nil { // the un-REGISTER
		t.Fatal(err)
	}
	if n := ev.count(func(e sipua.Event) bool { return e.Kind == sipua.EventFailure }); n != 0 {
		t.Errorf("%d failures:\n%s", n, transcript(ev))
	}
	if n := ev.count(func(e sipua.Event) bool { return e.Kind == sipua.EventUnregistered }); n != 1 {
		t.Errorf("%d un-REGISTERs", n)
	}
	tr := transcript(ev)
	if !strings.Contains(tr, "nc=00000002") {
		t.Errorf("no re-REGISTER reused the nonce:\n%s", tr)
	}
	if !strings.Contains(tr, "stale=true") {
		t.Errorf("kamailio never said stale=true:\n%s", tr)
	}
}
