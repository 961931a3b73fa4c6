package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/handset-dev/handset/internal/peers/libsrtp"
	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/media/sdp"
)

// keySpec is the harness's KEYS syntax for an a=crypto line.
func keySpec(c sdp.Crypto) string {
	return libsrtp.Spec(libsrtp.Key{KeySalt: c.Key, MKI: c.MKIBytes()})
}

// Our Session against libsrtp2 (issue #4: "libsrtp2 decrypts our SRTP and
// SRTCP with MKI and we decrypt its packets"), with a rekey in the middle:
// libsrtp2 holds both of our keys by MKI, as a Lync peer would.
func TestSessionAgainstLibsrtp(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	bin := libsrtp.Build(t)
	clock := newFakeClock()
	cfg := testConfig()
	cfg.RTCPInterval = 100 * time.Millisecond // an SR every 5 packets
	s, err := NewSession(cfg, WithRand(testutil.NewReader(21)), WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	listen := func() *net.UDPConn {
		c, lerr := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if lerr != nil {
			t.Fatal(lerr)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	peerRTP, peerRTCP := listen(), listen()
	peerKey, err := sdp.NewKey(testutil.NewReader(22))
	if err != nil {
		t.Fatal(err)
	}
	// The peer answers with tag 1 (MKI 1) and a fixed key.
	exchange := func(offer []byte, version uint64) sdp.Crypto {
		off, perr := sdp.Parse(offer)
		if perr != nil {
			t.Fatal(perr)
		}
		ans, aerr := sdp.Answer(off, sdp.AnswerConfig{
			Address: "127.0.0.1", Port: peerRTP.LocalAddr().(*net.UDPAddr).Port, RTCPPort: peerRTCP.LocalAddr().(*net.UDPAddr).Port,
			Version: version, Codecs: []sdp.Codec{sdp.PCMU}, Policy: sdp.PolicyFromConfig(true, false, false), Key: peerKey,
		})
		if aerr != nil {
			t.Fatal(aerr)
		}
		if aerr = s.Accept(ans.Marshal()); aerr != nil {
			t.Fatal(aerr)
		}
		if c := ans.Media[0].Crypto[0]; c.Tag != 1 || !c.HasMKI() {
			t.Fatalf("peer answered %v", c)
		}
		return off.Media[0].Crypto[0]
	}
	read := func(c *net.UDPConn, n int) [][]byte {
		var out [][]byte
		buf := make([]byte, 1500)
		for len(out) < n {
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			m, _, rerr := c.ReadFrom(buf)
			if rerr != nil {
				t.Fatalf("read %d of %d: %v", len(out), n, rerr)
			}
			out = append(out, bytes.Clone(buf[:m]))
		}
		return out
	}

	offer, err := s.Offer(sdp.SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	key1 := exchange(offer, 0)
	if err = s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	clock.waitTickers(t, 1)
	clock.Tick(10)
	pkts := read(peerRTP, 10)
	rtcps := read(peerRTCP, 2)
	offer, err = s.OfferNewKey(sdp.SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	key2 := exchange(offer, 1)
	if key2.MKI != 2 || bytes.Equal(key1.Key, key2.Key) {
		t.Fatalf("rekey offered mki %d, same key %v", key2.MKI, bytes.Equal(key1.Key, key2.Key))
	}
	clock.Tick(10)
	pkts = append(pkts, read(peerRTP, 10)...)
	rtcps = append(rtcps, read(peerRTCP, 2)...)

	keys := keySpec(key1) + "," + keySpec(key2)
	dec, errs := libsrtp.Run(t, bin, "unprotect", keys, pkts)
	for i, p := range dec {
		if p == nil || len(p) != 12+160 || p[1]&0x7f != 0 {
			t.Fatalf("libsrtp2 unprotect packet %d: %s (%d bytes)", i, errs[i], len(p))
		}
		if i > 0 && binary.BigEndian.Uint16(p[2:]) != binary.BigEndian.Uint16(dec[i-1][2:])+1 {
			t.Errorf("packet %d: sequence gap", i)
		}
	}
	if last := pkts[len(pkts)-1]; last[len(last)-11] != 2 { // MKI byte before the 10-byte tag (RFC 3711 §3.1)
		t.Errorf("last packet's MKI %d, want 2", last[len(last)-11])
	}
	decRTCP, errs := libsrtp.Run(t, bin, "unprotect_rtcp", keys, rtcps)
	for i, p := range decRTCP {
		if p == nil || p[1] != 200 { // SR
			t.Errorf("libsrtp2 unprotect_rtcp %d: %s", i, errs[i])
		}
	}

	// libsrtp2 → us: its protect uses the peer's key with MKI 1.
	var plain [][]byte
	for i := range 20 {
		p := make([]byte, 12+160)
		p[0], p[1] = 0x80, 0
		binary.BigEndian.PutUint16(p[2:], uint16(1000+i))
		binary.BigEndian.PutUint32(p[4:], uint32(160*i))
		binary.BigEndian.PutUint32(p[8:], 0x5EED)
		plain = append(plain, p)
	}
	enc, errs := libsrtp.Run(t, bin, "protect", libsrtp.Spec(libsrtp.Key{KeySalt: peerKey, MKI: []byte{1}}), plain)
	for i, p := range enc {
		if p == nil {
			t.Fatalf("libsrtp2 protect %d: %s", i, errs[i])
		}
		if _, err := peerRTP.WriteTo(p, net.UDPAddrFromAddrPort(s.LocalAddr())); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, func() bool { return s.Stats().PacketsReceived >= 20 }, "20 packets from libsrtp2 (%+v)", s.Stats())
	if st := s.Stats(); st.PacketsReceived != 20 || st.SRTPAuthFailures+st.MKIMismatches+st.ReplayDrops+st.Malformed != 0 {
		t.Errorf("%+v", st)
	}
	// A replayed libsrtp2 packet is dropped and counted.
	if _, err := peerRTP.WriteTo(enc[0], net.UDPAddrFromAddrPort(s.LocalAddr())); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return s.Stats().ReplayDrops == 1 }, "replay drop")
	if err := s.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		t.Fatal(err)
	}
}
