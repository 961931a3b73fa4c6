package media

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/media/sdp"
)

// pairedConn is a socket that sends everything to its peer whatever the
// destination, as an ICE conn does (the address in the SDP is the relay's).
type pairedConn struct {
	*net.UDPConn
	peer *net.UDPAddr
}

func (c pairedConn) WriteTo(b []byte, _ net.Addr) (int, error) { return c.WriteToUDP(b, c.peer) }

// TestTransport: a session over a caller's conn writes the transport's
// address in c=, m= and a=rtcp and its attributes (ICE candidates) in
// offer and answer, runs SRTP over the conn both ways, and Close closes it.
func TestTransport(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	ua, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ub, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ca := pairedConn{ua, ub.LocalAddr().(*net.UDPAddr)}
	cb := pairedConn{ub, ua.LocalAddr().(*net.UDPAddr)}
	relayA, relayB := netip.MustParseAddrPort("192.0.2.10:50000"), netip.MustParseAddrPort("192.0.2.10:50002")
	attrs := func(ufrag string, ap netip.AddrPort) []sdp.Attribute {
		return []sdp.Attribute{
			{Key: "candidate", Value: "1 1 UDP 16777215 " + ap.Addr().String() + " " + itoa(int(ap.Port())) + " typ relay raddr 10.0.0.1 rport 4000"},
			{Key: "ice-ufrag", Value: ufrag}, {Key: "ice-pwd", Value: "0123456789abcdefghijkl"},
		}
	}
	p := &pair{clock: newFakeClock()}
	if p.a, err = NewSession(testConfig(), WithRand(testutil.NewReader(1)), WithClock(p.clock),
		WithTransport(Transport{Conn: ca, Addr: relayA, Attributes: attrs("aaaa", relayA)})); err != nil {
		t.Fatal(err)
	}
	defer p.a.Close()
	if p.b, err = NewSession(testConfig(), WithRand(testutil.NewReader(2)), WithClock(p.clock),
		WithTransport(Transport{Conn: cb, Addr: relayB, Attributes: attrs("bbbb", relayB)})); err != nil {
		t.Fatal(err)
	}
	defer p.b.Close()
	offer, err := p.a.Offer(sdp.SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	answer, err := p.b.Answer(offer)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		body  []byte
		addr  netip.AddrPort
		ufrag string
	}{{offer, relayA, "aaaa"}, {answer, relayB, "bbbb"}} {
		s := string(c.body)
		for _, want := range []string{"c=IN IP4 192.0.2.10", "m=audio " + itoa(int(c.addr.Port())) + " ",
			"a=rtcp:" + itoa(int(c.addr.Port())), "a=candidate:1 1 UDP 16777215 192.0.2.10", "a=ice-ufrag:" + c.ufrag} {
			if !strings.Contains(s, want) {
				t.Errorf("no %q in\n%s", want, s)
			}
		}
		if strings.Contains(s, "127.0.0.1") {
			t.Errorf("the bound address leaked into the SDP:\n%s", s)
		}
	}
	if err := p.a.Accept(answer); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Session{p.a, p.b} {
		if err := s.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	p.clock.waitTickers(t, 2)
	p.flow(t, 60)
	for name, s := range map[string]*Session{"a": p.a, "b": p.b} {
		st := s.Stats()
		if st.PacketsSent != 60 || st.PacketsReceived != 60 || !st.Encrypted || !st.MKI {
			t.Errorf("%s: %+v", name, st)
		}
		noSRTPErrors(t, name, st)
		if s.LocalAddr() != s.LocalRTCPAddr() {
			t.Errorf("%s: rtcp %v not multiplexed on %v", name, s.LocalRTCPAddr(), s.LocalAddr())
		}
	}
	if err := p.a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ua.WriteToUDP([]byte{0}, cb.peer); err == nil {
		t.Error("Close left the transport conn open")
	}
	if _, err := NewSession(testConfig(), WithTransport(Transport{Addr: relayA})); err == nil {
		t.Error("a transport without a conn accepted")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
