package relay

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/media/msturn"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func startRelay(t *testing.T, cfg Config, store *Store, clk *fakeClock) *Server {
	t.Helper()
	if cfg.ListenUDP == "" {
		cfg.ListenUDP = "127.0.0.1:0"
	}
	if cfg.ListenTCP == "" {
		cfg.ListenTCP = "127.0.0.1:0"
	}
	opts := []Option{WithRand(testutil.NewReader(1))}
	if clk != nil {
		opts = append(opts, WithClock(clk.now))
	}
	s, err := New(cfg, store, opts...)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Serve(context.Background()) }()
	t.Cleanup(func() { _ = s.Close(); <-done })
	return s
}

func newClient(t *testing.T, network string, server netip.AddrPort, user, pass string, seed uint64) *msturn.Client {
	t.Helper()
	c, err := msturn.New(msturn.Config{Server: server.String(), Network: network, Username: user, Password: pass,
		RTO: 50 * time.Millisecond, Retries: 4}, msturn.WithRand(testutil.NewReader(seed)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// recvFrom sends data until the other side has received a packet from the
// expected address (the first packets may be dropped until both relays have
// the peer permitted), bounded by a deadline.
func exchange(t *testing.T, a, b *msturn.Client, aRelayed, bRelayed netip.AddrPort, payload []byte) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if err := a.Send(bRelayed, payload); err != nil {
			t.Fatal(err)
		}
		if err := b.Send(aRelayed, []byte("permit")); err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		p, err := b.Recv(rctx)
		cancel()
		if err == nil && bytes.Equal(p.Data, payload) {
			if p.From != aRelayed {
				t.Fatalf("from %v, want %v", p.From, aRelayed)
			}
			return
		}
	}
	t.Fatalf("payload %q never arrived", payload)
}

// TestClientRelayClient: a UDP client and a TCP client allocate on labfe's
// relay and exchange data through it, first as Send / Data Indication, then
// raw after Set Active Destination.
func TestClientRelayClient(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	store := NewStore(nil)
	store.Issue("alice", "pa", time.Hour)
	store.Issue("bob", "pb", time.Hour)
	s := startRelay(t, Config{}, store, nil)

	var states []msturn.State
	var smu sync.Mutex
	a, err := msturn.New(msturn.Config{Server: s.UDPAddr().String(), Username: "alice", Password: "pa", RTO: 50 * time.Millisecond},
		msturn.WithRand(testutil.NewReader(2)),
		msturn.WithObserver(func(_, to msturn.State) { smu.Lock(); states = append(states, to); smu.Unlock() }))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b := newClient(t, "tcp", s.TCPAddr(), "bob", "pb", 3)

	aa, err := a.Allocate(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	ba, err := b.Allocate(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if aa.Relayed.Addr() != s.UDPAddr().Addr() || aa.Relayed == ba.Relayed || aa.Lifetime != msturn.DefaultLifetime {
		t.Fatalf("allocations %+v %+v", aa, ba)
	}
	if !aa.Reflexive.Addr().IsLoopback() || aa.Reflexive.Port() == 0 {
		t.Fatalf("reflexive %v", aa.Reflexive)
	}
	smu.Lock()
	if want := []msturn.State{msturn.StateChallenging, msturn.StateAuthenticating, msturn.StateAllocated}; !equalStates(states, want) {
		t.Fatalf("states %v, want %v", states, want)
	}
	smu.Unlock()

	exchange(t, a, b, aa.Relayed, ba.Relayed, []byte("hello via data indication"))
	exchange(t, b, a, ba.Relayed, aa.Relayed, []byte("and back"))

	if err := a.SetActiveDestination(ctx(t), ba.Relayed); err != nil {
		t.Fatal(err)
	}
	if err := b.SetActiveDestination(ctx(t), aa.Relayed); err != nil {
		t.Fatal(err)
	}
	exchange(t, a, b, aa.Relayed, ba.Relayed, []byte{0x80, 0, 0, 1, 0xca, 0xfe}) // raw, RTP-like
	exchange(t, b, a, ba.Relayed, aa.Relayed, []byte{0x80, 0, 0, 2})

	if _, err := a.Refresh(ctx(t)); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Allocations != 2 || st.Allocated != 3 || st.Challenges != 2 || st.Rejected != 0 || st.RelayedToPeer == 0 {
		t.Fatalf("stats %+v", st)
	}
	_ = a.Close()
	_ = b.Close()
	waitFor(t, func() bool { return s.Stats().Allocations == 0 }, "deallocation on close")
}

func equalStates(a, b []msturn.State) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// TestWrongPassword: credentials MRAS did not issue end in "no relay".
func TestWrongPassword(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	store := NewStore(nil)
	store.Issue("alice", "right", time.Hour)
	s := startRelay(t, Config{}, store, nil)
	c := newClient(t, "udp", s.UDPAddr(), "alice", "wrong", 4)
	_, err := c.Allocate(ctx(t))
	var re *msturn.ResponseError
	if !errors.Is(err, msturn.ErrNoRelay) || !errors.As(err, &re) || re.Code != 401 {
		t.Fatalf("err %v", err)
	}
	if c.State() != msturn.StateFailed || s.Stats().Rejected != 1 {
		t.Fatalf("state %v stats %+v", c.State(), s.Stats())
	}
}

// TestExpiredCredentialsAndRenewal: the allocation survives a credential
// renewal (UpdateCredentials, then refresh); after the old credential is
// gone, Send with it no longer relays.
func TestCredentialRenewal(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	store := NewStore(clk.now)
	store.Issue("u1", "p1", 8*time.Minute)
	s := startRelay(t, Config{}, store, clk)
	c := newClient(t, "udp", s.UDPAddr(), "u1", "p1", 5)
	if _, err := c.Allocate(ctx(t)); err != nil {
		t.Fatal(err)
	}
	relayed := c.Allocation().Relayed
	store.Issue("u2", "p2", 8*time.Minute)
	c.UpdateCredentials("u2", "p2")
	clk.add(9 * time.Minute) // u1 expired, u2 valid
	store.Issue("u2", "p2", 8*time.Minute)
	a, err := c.Refresh(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if a.Relayed != relayed {
		t.Fatalf("refresh moved the allocation: %v -> %v", relayed, a.Relayed)
	}
}

// TestStaleNonce: a refresh with a nonce older than NonceLifetime gets 438
// and the client retries with the new nonce.
func TestStaleNonce(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	store := NewStore(clk.now)
	store.Issue("u", "p", 100*time.Hour)
	s := startRelay(t, Config{NonceLifetime: time.Minute}, store, clk)
	c := newClient(t, "udp", s.UDPAddr(), "u", "p", 6)
	if _, err := c.Allocate(ctx(t)); err != nil {
		t.Fatal(err)
	}
	clk.add(2 * time.Minute)
	if _, err := c.Refresh(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Challenges != 2 || st.Allocated != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// TestRelayDown: nothing listening; Allocate fails with ErrNoRelay within
// the retransmission budget, not hanging.
func TestRelayDown(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	store := NewStore(nil)
	s, err := New(Config{ListenUDP: "127.0.0.1:0"}, store)
	if err != nil {
		t.Fatal(err)
	}
	addr := s.UDPAddr()
	_ = s.Close() // the port is now closed
	c := newClient(t, "udp", addr, "u", "p", 7)
	start := time.Now()
	_, err = c.Allocate(ctx(t))
	if !errors.Is(err, msturn.ErrNoRelay) {
		t.Fatalf("err %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
}

// TestRunRefreshes: Run refreshes at half the granted lifetime.
func TestRunRefreshes(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	store := NewStore(nil)
	store.Issue("u", "p", time.Hour)
	s := startRelay(t, Config{MaxLifetime: 2 * time.Second}, store, nil)
	c := newClient(t, "udp", s.UDPAddr(), "u", "p", 8)
	if _, err := c.Allocate(ctx(t)); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(rctx) }()
	waitFor(t, func() bool { return s.Stats().Allocated >= 2 }, "a refresh")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestTryAlternate: a relay that redirects (300 with ALTERNATE-SERVER)
// sends the client to the other relay, once; the alternate each relay puts
// in its own 401 (itself) does not move the client.
func TestTryAlternate(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	store := NewStore(nil)
	store.Issue("u", "p", time.Hour)
	target := startRelay(t, Config{}, store, nil)
	redirector := startRelay(t, Config{Alternate: target.UDPAddr().String()}, store, nil)
	c := newClient(t, "udp", redirector.UDPAddr(), "u", "p", 9)
	if _, err := c.Allocate(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if target.Stats().Allocations != 1 || redirector.Stats().Allocations != 0 {
		t.Fatalf("target %+v redirector %+v", target.Stats(), redirector.Stats())
	}
	if err := c.Send(c.Allocation().Relayed, []byte("x")); err != nil {
		t.Fatal(err)
	}
}

// TestRelayRestartUDP: while the relay is down, a packet the client sends
// comes back as ICMP port unreachable, which a connected UDP socket reports
// as a read error. The client's reader must survive it: when the relay is
// back on the same address, the next refresh gets answers (438 for the old
// relay's nonce, then success on the new relay) instead of timing out.
func TestRelayRestartUDP(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	store := NewStore(nil)
	store.Issue("u", "p", time.Hour)
	s1, err := New(Config{ListenUDP: "127.0.0.1:0"}, store)
	if err != nil {
		t.Fatal(err)
	}
	done1 := make(chan struct{})
	go func() { defer close(done1); _ = s1.Serve(context.Background()) }()
	addr := s1.UDPAddr()
	c := newClient(t, "udp", addr, "u", "p", 10)
	if _, err := c.Allocate(ctx(t)); err != nil {
		t.Fatal(err)
	}
	_ = s1.Close()
	<-done1
	// On loopback the ICMP error is queued on the socket during this send.
	if err := c.Send(netip.MustParseAddrPort("127.0.0.1:9"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	s2 := startRelay(t, Config{ListenUDP: addr.String()}, store, nil)
	if _, err := c.Refresh(ctx(t)); err != nil {
		t.Fatalf("refresh after the relay came back: %v", err)
	}
	if st := s2.Stats(); st.Allocations != 1 || st.Challenges != 1 {
		t.Fatalf("new relay %+v", st)
	}
}
