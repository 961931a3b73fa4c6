package ice_test

import (
	"bytes"
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	pice "github.com/pion/ice/v4"
	"github.com/pion/logging"
	"github.com/pion/turn/v5"

	"github.com/handset-dev/handset/internal/peers/coturn"
	"github.com/handset-dev/handset/media/ice"
)

// startCoturn runs Debian's coturn (internal/peers/coturn) and returns its
// address.
func startCoturn(t *testing.T) string {
	t.Helper()
	return "127.0.0.1:" + strconv.Itoa(coturn.Start(t))
}

func quietLogs() logging.LoggerFactory {
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelDisabled
	return lf
}

func turnClient(t *testing.T, server, user, pass string) *turn.Client {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := turn.NewClient(&turn.ClientConfig{STUNServerAddr: server, TURNServerAddr: server, Conn: conn,
		Username: user, Password: pass, Realm: "contoso.test", LoggerFactory: quietLogs()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); _ = conn.Close() })
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	return c
}

func readFrom(t *testing.T, pc net.PacketConn) ([]byte, net.Addr) {
	t.Helper()
	_ = pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1500)
	n, from, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n], from
}

// TestCoturnAllocationAndPermissions is the tcpIpApp.ice.mode=GENERIC
// ("standard") relay against a real RFC 5766 server: pion/turn allocates on
// coturn; sending to a peer installs its permission, so the peer's answer
// is relayed back while a peer without a permission is dropped; a wrong
// password gets no allocation.
func TestCoturnAllocationAndPermissions(t *testing.T) {
	server := startCoturn(t)
	c := turnClient(t, server, "alice", "secret")
	relayed, err := c.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer relayed.Close()
	peer, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	// TURN permissions are per IP address (RFC 5766 §8), so the stranger
	// sends from another loopback address.
	stranger, err := net.ListenPacket("udp4", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()

	if _, err := relayed.WriteTo([]byte("to peer"), peer.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	got, from := readFrom(t, peer)
	if string(got) != "to peer" || from.String() != relayed.LocalAddr().String() {
		t.Fatalf("peer got %q from %v (relayed %v)", got, from, relayed.LocalAddr())
	}
	// The stranger has no permission: coturn drops its packet, so the next
	// packet the client sees is the peer's, sent after it.
	if _, err := stranger.WriteTo([]byte("no permission"), relayed.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if _, err := peer.WriteTo([]byte("from peer"), relayed.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	got, from = readFrom(t, relayed)
	if string(got) != "from peer" || from.String() != peer.LocalAddr().String() {
		t.Fatalf("client got %q from %v", got, from)
	}

	bad := turnClient(t, server, "alice", "wrong")
	if pc, err := bad.Allocate(); err == nil {
		_ = pc.Close()
		t.Fatal("allocation with a wrong password")
	}
}

// TestCoturnICERelayOnly: two GENERIC-mode agents behind the test "NAT"
// (relay candidates only) connect through coturn and exchange media.
func TestCoturnICERelayOnly(t *testing.T) {
	server := startCoturn(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := ice.New(ice.Config{Mode: ice.ModeGeneric, Controlling: true, NoHost: true, TURN: server, TURNUser: "alice", TURNPassword: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := ice.New(ice.Config{Mode: ice.ModeGeneric, NoHost: true, TURN: server, TURNUser: "bob", TURNPassword: "secret2"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ca, cb := pair(t, ctx, a, b)
	echo(t, ca, cb, []byte{0x80, 0, 0, 1})
	echo(t, cb, ca, bytes.Repeat([]byte{0x80}, 172))
	l, r, err := a.Selected()
	if err != nil {
		t.Fatal(err)
	}
	if l.Type() != pice.CandidateTypeRelay || r.Type() != pice.CandidateTypeRelay {
		t.Fatalf("selected %v -> %v", l, r)
	}
}

// TestCoturnServerReflexive: with a STUN server (coturn answers Binding
// requests) the agent gathers a server-reflexive candidate next to its host
// candidates, and writes it with raddr/rport.
func TestCoturnServerReflexive(t *testing.T) {
	server := startCoturn(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, err := ice.New(ice.Config{STUN: server, IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	cands, err := a.Gather(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	srflx := false
	for _, c := range cands {
		l := ice.CandidateLine(c)
		lines = append(lines, l)
		if c.Type() == pice.CandidateTypeServerReflexive && strings.Contains(l, " raddr ") {
			srflx = true
		}
	}
	if !srflx {
		t.Fatalf("no srflx candidate:\n%s", strings.Join(lines, "\n"))
	}
}
