package media

import (
	"bytes"
	"encoding/binary"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/media/sdp"
	"github.com/handset-dev/handset/media/srtp"
)

// baresip's answer to an SDES offer (sdp/testdata, captured from baresip)
// keeps our MKI line's tag 1 but writes no MKI. With sec.srtp.mki.enabled=1
// the handset accepts it and both directions run without an MKI: our
// packets decrypt with our tag-1 key and no MKI, and packets under
// baresip's key decrypt at our end.
func TestAcceptBaresipAnswer(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	raw, err := os.ReadFile("sdp/testdata/baresip-answer.sdp")
	if err != nil {
		t.Fatal(err)
	}
	peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	port := peer.LocalAddr().(*net.UDPAddr).Port
	answer := bytes.Replace(raw, []byte("m=audio 10008 "), []byte("m=audio "+strconv.Itoa(port)+" "), 1)

	clock := newFakeClock()
	c := testConfig()
	c.Policy = sdp.PolicyFromConfig(true, true, true) // RTP/SAVP, as baresip answered
	s, err := NewSession(c, WithRand(testutil.NewReader(31)), WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	offer, err := s.Offer(sdp.SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	if err = s.Accept(answer); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); !st.Encrypted || st.MKI || st.Codec != "PCMU" {
		t.Fatalf("%+v", st)
	}
	ours := cryptoLine(t, offer) // tag 1
	ans, err := sdp.Parse(answer)
	if err != nil {
		t.Fatal(err)
	}
	theirs := ans.Media[0].Crypto[0]
	key := func(c sdp.Crypto) srtp.Key {
		return srtp.Key{Master: c.MasterKey(), Salt: c.MasterSalt()}
	}
	// baresip's side: sends with its key, receives with ours (no MKI).
	bs, err := srtp.NewSession(srtp.Config{Send: key(theirs), Recv: key(ours)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	clock.waitTickers(t, 1)
	clock.Tick(5)
	buf := make([]byte, 1500)
	for i := range 5 {
		_ = peer.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, _, err := peer.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		if n != 12+160+10 {
			t.Errorf("packet %d: %d bytes, want %d (no MKI)", i, n, 12+160+10)
		}
		if _, err := bs.UnprotectRTP(nil, buf[:n]); err != nil {
			t.Errorf("packet %d: %v", i, err)
		}
	}
	for i := range 5 {
		p := make([]byte, 12+160)
		p[0] = 0x80
		binary.BigEndian.PutUint16(p[2:], uint16(i+1))
		binary.BigEndian.PutUint32(p[8:], 1716461009)
		enc, err := bs.ProtectRTP(nil, p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := peer.WriteTo(enc, net.UDPAddrFromAddrPort(s.LocalAddr())); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, func() bool { return s.Stats().PacketsReceived == 5 }, "5 packets from the baresip key (%+v)", s.Stats())
	noSRTPErrors(t, "handset", s.Stats())
}
