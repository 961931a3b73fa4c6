package labfe_test

import (
	"crypto/tls"
	"errors"
	"io"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/labfe"
	"github.com/handset-dev/handset/labfe/labfetest"
)

// stepClock is a labfe clock the test moves by hand.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *stepClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestReject503ForAPeriod: every sign-in gets 503 with Retry-After until the
// period ends (labfe's clock), then NTLM is offered again.
func TestReject503ForAPeriod(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	clk := &stepClock{now: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
	fe := labfetest.Start(t, labfetest.WithServerOptions(labfe.WithClock(clk.Now)))
	fe.Reject503(30*time.Second, time.Minute)
	c := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	for range 3 {
		r := c.roundTrip(c.newRegister(-1))
		if r.StatusCode != 503 || r.Value("Retry-After") != "30" {
			t.Fatalf("during the period: %d Retry-After %q", r.StatusCode, r.Value("Retry-After"))
		}
	}
	clk.Advance(time.Minute)
	c.mustRegister("alice", pw)
	if got := fe.Stats().Total.FaultsInjected; got != 3 {
		t.Errorf("FaultsInjected = %d, want 3", got)
	}
}

// TestBlackHoleAllRequests: a black-holed front end answers nothing, not
// even a signed refresh; after ClearFault it answers again.
func TestBlackHoleAllRequests(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := labfetest.Start(t)
	c := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	c.mustRegister("alice", pw)
	fe.BlackHole(0)
	m := c.newRegister(3600)
	c.sign(m)
	c.send(m)
	_ = c.conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := c.r.Peek(1); err == nil {
		t.Fatal("black-holed refresh was answered")
	}
	fe.ClearFault()
	// The flow is still open: the next signed refresh is answered.
	c.r.Reset(c.conn)
	m = c.newRegister(3600)
	c.sign(m)
	if r := c.roundTrip(m); r.StatusCode != 200 {
		t.Fatalf("after ClearFault: %d", r.StatusCode)
	}
}

// TestCloseFlowsRST: the client sees a connection reset, not an orderly
// close; with FIN it sees EOF.
func TestCloseFlowsRST(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := labfetest.Start(t)
	for _, tc := range []struct {
		mode labfe.CloseMode
		rst  bool
	}{{labfe.CloseFIN, false}, {labfe.CloseRST, true}} {
		c := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
		c.mustRegister("alice", pw)
		if n := fe.CloseFlowsMode("alice@contoso.test", tc.mode); n != 1 {
			t.Fatalf("%v: closed %d flows", tc.mode, n)
		}
		_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := c.conn.Read(make([]byte, 1))
		if got := errors.Is(err, syscall.ECONNRESET); got != tc.rst {
			t.Errorf("%v: read error %v (reset=%v), want reset=%v", tc.mode, err, got, tc.rst)
		}
		if !tc.rst && !errors.Is(err, io.EOF) {
			t.Errorf("fin: read error %v, want EOF", err)
		}
	}
}

// TestRestartRefusesWhileDown: Restart drops every flow and binding; for
// the down period new connections are reset; afterwards sign-in works.
func TestRestartRefusesWhileDown(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	clk := &stepClock{now: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
	fe := labfetest.Start(t, labfetest.WithServerOptions(labfe.WithClock(clk.Now)))
	c := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	c.mustRegister("alice", pw)
	if n := fe.Restart(10 * time.Second); n != 1 {
		t.Fatalf("Restart dropped %d flows", n)
	}
	if c.read() != nil {
		t.Fatal("flow survived the restart")
	}
	conn, err := tls.Dial("tcp", fe.Addr(), &tls.Config{RootCAs: fe.CAPool(), ServerName: "pool.contoso.test", MinVersion: tls.VersionTLS12})
	if err == nil {
		_ = conn.Close()
		t.Fatal("connection accepted while down")
	}
	clk.Advance(10 * time.Second)
	c = dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	c.mustRegister("alice", pw)
	if st := fe.Stats(); st.Total.ActiveBindings != 1 {
		t.Errorf("bindings after restart = %d, want 1 (the old one is gone)", st.Total.ActiveBindings)
	}
}
