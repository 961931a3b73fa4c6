package ice_test

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/labfe/relay"
	"github.com/handset-dev/handset/media/ice"
	"github.com/handset-dev/handset/media/srtp"
)

func srtpKey(t *testing.T, seed uint64) srtp.Key {
	t.Helper()
	r := testutil.NewReader(seed)
	k := srtp.Key{Master: make([]byte, 16), Salt: make([]byte, 14), MKI: []byte{1}}
	_, _ = r.Read(k.Master)
	_, _ = r.Read(k.Salt)
	return k
}

func srtpPair(t *testing.T) (*srtp.Session, *srtp.Session) {
	t.Helper()
	ka, kb := srtpKey(t, 11), srtpKey(t, 12)
	a, err := srtp.NewSession(srtp.Config{Send: ka, Recv: kb})
	if err != nil {
		t.Fatal(err)
	}
	b, err := srtp.NewSession(srtp.Config{Send: kb, Recv: ka})
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

func rtp(seq uint16, ssrc uint32) []byte {
	p := make([]byte, 12+160) // 20 ms of G.711
	p[0], p[1] = 0x80, 0
	p[2], p[3] = byte(seq>>8), byte(seq)
	p[8], p[9], p[10], p[11] = byte(ssrc>>24), byte(ssrc>>16), byte(ssrc>>8), byte(ssrc)
	for i := 12; i < len(p); i++ {
		p[i] = byte(int(seq) + i)
	}
	return p
}

// srtpExchange sends n SRTP packets each way in lockstep over the ICE
// conns and checks every one arrives, in order, and decrypts; between[i]
// runs before packet i (a mid-call event).
func srtpExchange(t *testing.T, ca, cb net.Conn, n int, between map[int]func()) {
	t.Helper()
	sa, sb := srtpPair(t)
	buf := make([]byte, 1500)
	recv := func(c net.Conn, s *srtp.Session, want []byte) {
		t.Helper()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		m, err := c.Read(buf)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		got, err := s.UnprotectRTP(nil, buf[:m])
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("unprotect: %v (equal %v)", err, bytes.Equal(got, want))
		}
	}
	for i := 0; i < n; i++ {
		if f := between[i]; f != nil {
			f()
		}
		p := rtp(uint16(i), 0xA1)
		out, err := sa.ProtectRTP(nil, p)
		if err != nil {
			t.Fatal(err)
		}
		if _, werr := ca.Write(out); werr != nil {
			t.Fatal(werr)
		}
		recv(cb, sb, p)
		q := rtp(uint16(i), 0xB2)
		out, err = sb.ProtectRTP(nil, q)
		if err != nil {
			t.Fatal(err)
		}
		if _, werr := cb.Write(out); werr != nil {
			t.Fatal(werr)
		}
		recv(ca, sa, q)
	}
	if st := sb.Stats(); st.AuthFailures != 0 || st.ReplayDrops != 0 || st.RTPReceived != uint64(n) {
		t.Fatalf("srtp stats %+v", st)
	}
}

// TestRelayedSRTPCallWithRenewal: two handsets behind the relay-only "NAT"
// call through labfe's MS-TURN relay with SRTP (MKI 1); half-way the
// relay credentials are renewed (new MRAS user name, refresh with it, old
// one revoked) and not one packet is lost. Without an active destination
// every packet is a Send request signed with the current credentials; with
// one (the default) media flows raw after Set Active Destination.
func TestRelayedSRTPCallWithRenewal(t *testing.T) {
	for _, sad := range []bool{false, true} {
		t.Run(map[bool]string{false: "send-requests", true: "active-destination"}[sad], func(t *testing.T) {
			testutil.VerifyNoLeaks(t)
			store := relay.NewStore(nil)
			store.Issue("a1", "pa1", time.Hour)
			store.Issue("b1", "pb1", time.Hour)
			rs := startRelay(t, store)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			ra := allocate(t, ctx, "udp", rs.UDPAddr().String(), "a1", "pa1", 21)
			rb := allocate(t, ctx, "udp", rs.UDPAddr().String(), "b1", "pb1", 22)
			a, err := ice.New(ice.Config{Controlling: true, NoHost: true, NoActiveDestination: !sad}, ice.WithRelay(ra))
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			b, err := ice.New(ice.Config{NoHost: true, NoActiveDestination: !sad}, ice.WithRelay(rb))
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			ca, cb := pair(t, ctx, a, b)
			relayed := ra.Allocation().Relayed
			srtpExchange(t, ca, cb, 200, map[int]func(){
				100: func() {
					store.Issue("a2", "pa2", time.Hour)
					ra.UpdateCredentials("a2", "pa2")
					if _, err := ra.Refresh(ctx); err != nil {
						t.Fatal(err)
					}
					store.Revoke("a1") // from now on only the renewed credentials relay
				},
			})
			if ra.Allocation().Relayed != relayed {
				t.Fatal("the renewal moved the allocation")
			}
			st := rs.Stats()
			if st.Rejected != 0 {
				t.Fatalf("relay rejected %d messages", st.Rejected)
			}
			if sad && (st.ActiveDests != 2 || st.RawFromUser < 400) {
				t.Fatalf("active destination not used: %+v", st)
			}
			if !sad && (st.ActiveDests != 0 || st.RawFromUser != 0) {
				t.Fatalf("unexpected raw relaying: %+v", st)
			}
		})
	}
}

// TestCoturnRelayedSRTPCall: the GENERIC-mode call: SRTP over ICE relay
// candidates on coturn, both ways.
func TestCoturnRelayedSRTPCall(t *testing.T) {
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
	srtpExchange(t, ca, cb, 100, nil)
}

// TestRelayDownMidCall (RELIABILITY.md F8): the relay stops during a
// relay-only call; both agents report failure within the keep-alive
// interval plus the ICE failed timeout (about 4 s here), nothing hangs.
func TestRelayDownMidCall(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	store := relay.NewStore(nil)
	store.Issue("a", "pa", time.Hour)
	store.Issue("b", "pb", time.Hour)
	rs := startRelay(t, store)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ra := allocate(t, ctx, "udp", rs.UDPAddr().String(), "a", "pa", 31)
	rb := allocate(t, ctx, "tcp", rs.TCPAddr().String(), "b", "pb", 32)
	cfg := ice.Config{NoHost: true, FailedTimeout: 2 * time.Second}
	cfg.Controlling = true
	a, err := ice.New(cfg, ice.WithRelay(ra))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	cfg.Controlling = false
	b, err := ice.New(cfg, ice.WithRelay(rb))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ca, cb := pair(t, ctx, a, b)
	srtpExchange(t, ca, cb, 10, nil)
	start := time.Now()
	_ = rs.Close()
	for name, ag := range map[string]*ice.Agent{"a": a, "b": b} {
		select {
		case <-ag.Failed():
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: no failure 20 s after the relay went down", name)
		}
	}
	t.Logf("both agents failed %v after the relay stopped", time.Since(start).Round(100*time.Millisecond))
}
