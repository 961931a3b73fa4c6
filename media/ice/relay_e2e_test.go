package ice_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"testing"
	"time"

	pice "github.com/pion/ice/v4"

	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/labfe/relay"
	"github.com/handset-dev/handset/media/ice"
	"github.com/handset-dev/handset/media/msturn"
)

func startRelay(t *testing.T, store *relay.Store) *relay.Server {
	t.Helper()
	s, err := relay.New(relay.Config{ListenUDP: "127.0.0.1:0", ListenTCP: "127.0.0.1:0"}, store, relay.WithRand(testutil.NewReader(1)))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Serve(context.Background()) }()
	t.Cleanup(func() { _ = s.Close(); <-done })
	return s
}

func allocate(t *testing.T, ctx context.Context, network, server, user, pass string, seed uint64) *msturn.Client {
	t.Helper()
	c, err := msturn.New(msturn.Config{Server: server, Network: network, Username: user, Password: pass, RTO: 50 * time.Millisecond},
		msturn.WithRand(testutil.NewReader(seed)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := c.Allocate(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

// pair gathers both agents, exchanges candidates as SDP lines (the MS-ICE2
// form, parsed back) and connects them.
func pair(t *testing.T, ctx context.Context, a, b *ice.Agent) (net.Conn, net.Conn) {
	t.Helper()
	ca, err := a.Gather(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := b.Gather(ctx)
	if err != nil {
		t.Fatal(err)
	}
	viaSDP := func(dst *ice.Agent, cands []pice.Candidate) {
		for _, c := range cands {
			pc, perr := ice.ParseCandidateLine(ice.CandidateLine(c))
			if perr != nil {
				t.Fatal(perr)
			}
			if perr = dst.AddRemote(pc); perr != nil {
				t.Fatal(perr)
			}
		}
	}
	viaSDP(b, ca)
	viaSDP(a, cb)
	au, ap := a.Credentials()
	bu, bp := b.Credentials()
	type res struct {
		c   net.Conn
		err error
	}
	rb := make(chan res, 1)
	go func() { c, cerr := b.Connect(ctx, au, ap); rb <- res{c, cerr} }()
	connA, err := a.Connect(ctx, bu, bp)
	if err != nil {
		t.Fatal(err)
	}
	r := <-rb
	if r.err != nil {
		t.Fatal(r.err)
	}
	return connA, r.c
}

func echo(t *testing.T, from, to net.Conn, msg []byte) {
	t.Helper()
	if _, err := from.Write(msg); err != nil {
		t.Fatal(err)
	}
	_ = to.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1500)
	n, err := to.Read(buf)
	if err != nil || !bytes.Equal(buf[:n], msg) {
		t.Fatalf("read %q %v, want %q", buf[:n], err, msg)
	}
}

// TestRelayOnlyBehindNAT: both handsets are behind a "NAT" that lets
// nothing but the relay through (no host candidates): with MSOCS each
// injects its labfe MS-TURN allocation (one over UDP, one over TCP) as a
// virtual relay candidate, and ICE connects relay to relay; media flows
// both ways.
func TestRelayOnlyBehindNAT(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	store := relay.NewStore(nil)
	store.Issue("alice-relay", "pa", time.Hour)
	store.Issue("bob-relay", "pb", time.Hour)
	rs := startRelay(t, store)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ra := allocate(t, ctx, "udp", rs.UDPAddr().String(), "alice-relay", "pa", 2)
	rb := allocate(t, ctx, "tcp", rs.TCPAddr().String(), "bob-relay", "pb", 3)

	a, err := ice.New(ice.Config{Controlling: true, NoHost: true}, ice.WithRelay(ra))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := ice.New(ice.Config{NoHost: true}, ice.WithRelay(rb))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ca, cb := pair(t, ctx, a, b)
	echo(t, ca, cb, []byte{0x80, 0x00, 0x00, 0x01, 'r', 't', 'p'})
	echo(t, cb, ca, []byte{0x80, 0x00, 0x00, 0x02, 'b', 'a', 'c', 'k'})
	l, r, err := a.Selected()
	if err != nil {
		t.Fatal(err)
	}
	if l.Type() != pice.CandidateTypeRelay || r.Type() != pice.CandidateTypeRelay {
		t.Fatalf("selected %v -> %v", l, r)
	}
	if rs.Stats().RelayedToPeer == 0 {
		t.Fatal("nothing went through the relay")
	}
}

// TestHostPathPreferred: with host candidates on loopback the agents pair
// host to host; the relay candidate is offered too.
func TestHostPathPreferred(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	store := relay.NewStore(nil)
	store.Issue("u", "p", time.Hour)
	rs := startRelay(t, store)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ra := allocate(t, ctx, "udp", rs.UDPAddr().String(), "u", "p", 4)
	a, err := ice.New(ice.Config{Controlling: true, IncludeLoopback: true}, ice.WithRelay(ra))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := ice.New(ice.Config{IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ca, cb := pair(t, ctx, a, b)
	echo(t, ca, cb, []byte("hello"))
	l, _, err := a.Selected()
	if err != nil {
		t.Fatal(err)
	}
	if l.Type() != pice.CandidateTypeHost {
		t.Fatalf("selected local %v", l)
	}
}

// TestNoRelayFailsFast: MSOCS behind the NAT with the relay gone: no
// candidate at all is an immediate ErrNoRelay, not a hang.
func TestNoRelayFailsFast(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	if _, err := ice.New(ice.Config{NoHost: true}); !errors.Is(err, ice.ErrNoRelay) {
		t.Fatalf("agent without any candidate: %v", err)
	}
}
