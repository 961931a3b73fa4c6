package rtp

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/media/srtp"
)

func TestG711(t *testing.T) {
	// ITU-T G.711 reference points: 0 → 0xFF (µ) / 0xD5 (A); full scale.
	if ULaw(0) != 0xFF || ALaw(0) != 0xD5 || ULaw(32767) != 0x80 || ULaw(-32768) != 0x00 || ALaw(32767) != 0xAA || ALaw(-32768) != 0x2A {
		t.Errorf("reference points: µ(0)=%#x A(0)=%#x µ(max)=%#x µ(min)=%#x A(max)=%#x A(min)=%#x",
			ULaw(0), ALaw(0), ULaw(32767), ULaw(-32768), ALaw(32767), ALaw(-32768))
	}
	for v := -32768; v <= 32767; v += 7 {
		s := int16(v)
		for name, rt := range map[string]int16{"ulaw": ULawDecode(ULaw(s)), "alaw": ALawDecode(ALaw(s))} {
			tol := int(abs(int(s)))/16 + 16 // logarithmic quantisation: ~6% + small-step floor
			if abs(int(rt)-int(s)) > tol {
				t.Fatalf("%s(%d) round trip %d", name, s, rt)
			}
		}
	}
	for b := range 256 {
		if ULaw(ULawDecode(byte(b))) != byte(b) && byte(b) != 0x7F { // 0x7F/0xFF both decode to 0
			t.Errorf("µ-law byte %#x not stable", b)
		}
		if ALaw(ALawDecode(byte(b))) != byte(b) {
			t.Errorf("A-law byte %#x not stable", b)
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func TestToneAndFrames(t *testing.T) {
	tone, err := NewTone(FormatPCMU, 1000, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	f1, _ := tone.Frame(nil)
	if len(f1) != 160 {
		t.Fatalf("frame %d bytes", len(f1))
	}
	// 1 kHz at 8 kHz repeats every 8 samples.
	if !bytes.Equal(f1[:8], f1[8:16]) || bytes.Equal(f1[:4], f1[4:8]) {
		t.Errorf("tone not periodic: %x", f1[:16])
	}
	if _, terr := NewTone(FormatPCMU, 5000, 0.5); !errors.Is(terr, ErrConfig) {
		t.Errorf("5 kHz tone: %v", terr)
	}
	g729 := [][]byte{bytes.Repeat([]byte{1}, 20), bytes.Repeat([]byte{2}, 20)}
	fs, err := NewFrames(g729)
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	for range 3 {
		got, _ = fs.Frame(got)
	}
	if len(got) != 60 || got[0] != 1 || got[20] != 2 || got[40] != 1 {
		t.Errorf("frames loop: %x", got)
	}
	f, err := FormatFor("G7221", 112, 16000, "bitrate=24000")
	if err != nil || f.FrameBytes != 60 || f.Samples() != 320 {
		t.Errorf("G.722.1 format %+v %v", f, err)
	}
	if f, _ := FormatFor("G722", 9, 8000, ""); f.Samples() != 160 {
		t.Errorf("G.722 timestamp step %d", f.Samples())
	}
}

func wav(tag, bits uint16, rate uint32, data []byte) []byte {
	var b bytes.Buffer
	b.WriteString("RIFF")
	_ = binary.Write(&b, binary.LittleEndian, uint32(36+len(data)))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), tag, uint16(1), rate, rate * uint32(bits/8), bits / 8, bits} {
		_ = binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("LIST")
	_ = binary.Write(&b, binary.LittleEndian, uint32(3))
	b.WriteString("abc\x00") // odd chunk + pad byte
	b.WriteString("data")
	_ = binary.Write(&b, binary.LittleEndian, uint32(len(data)))
	b.Write(data)
	return b.Bytes()
}

func TestReadWAV(t *testing.T) {
	pcm := make([]byte, 2*200) // 200 samples → 2 frames, the second padded
	for i := range 200 {
		binary.LittleEndian.PutUint16(pcm[2*i:], uint16(int16(i*100)))
	}
	frames, err := ReadWAV(bytes.NewReader(wav(1, 16, 8000, pcm)), FormatPCMU)
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 2 || frames[0][5] != ULaw(500) || frames[1][39] != ULaw(19900) || frames[1][40] != ULaw(0) {
		t.Errorf("frames: %d %#x %#x", len(frames), frames[0][5], frames[1][40])
	}
	mu := bytes.Repeat([]byte{0x12}, 160)
	frames, err = ReadWAV(bytes.NewReader(wav(7, 8, 8000, mu)), FormatPCMU)
	if err != nil || !bytes.Equal(frames[0], mu) {
		t.Errorf("µ-law passthrough: %v", err)
	}
	for name, b := range map[string][]byte{
		"16 kHz":  wav(1, 16, 16000, pcm),
		"8-bit":   wav(1, 8, 8000, pcm),
		"not wav": []byte("RIFF\x00\x00\x00\x00AVI LIST"),
		"short":   []byte("RI"),
	} {
		if _, err := ReadWAV(bytes.NewReader(b), FormatPCMU); !errors.Is(err, ErrWAV) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestPacketizer(t *testing.T) {
	p, err := NewPacketizer(0xABCD, 0, 65535, 1000, 160)
	if err != nil {
		t.Fatal(err)
	}
	var h rtp.Header
	for i := range 3 {
		pkt := p.Packet(nil, make([]byte, 160), i == 0)
		n, err := h.Unmarshal(pkt)
		if err != nil || n != 12 || len(pkt) != 172 {
			t.Fatal(err)
		}
		if h.SequenceNumber != uint16(65535+i) || h.Timestamp != uint32(1000+160*i) || h.SSRC != 0xABCD || h.Marker != (i == 0) || h.Version != 2 {
			t.Errorf("packet %d: %+v", i, h)
		}
	}
}

// RFC 3550 A.1/A.3/A.8 on a scripted arrival pattern.
func TestReceiverStats(t *testing.T) {
	r := NewReceiver(8000)
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	// seq 65530.. with a wrap, on time: no jitter, no loss.
	for i := range 10 {
		r.Update(7, uint16(65530+i), uint32(160*i), 160, at(20*i))
	}
	var s Stats
	r.Snapshot(&s)
	if s.PacketsReceived != 10 || s.Lost != 0 || s.Late != 0 || s.Jitter != 0 || r.extMax() != 1<<16+3 {
		t.Fatalf("on-time: %+v ext %d", s, r.extMax())
	}
	// Lose seq 4 and 5 (i=10,11), deliver 7 before 6 (late), duplicate 7.
	r.Update(7, 6, 160*12, 160, at(240))
	r.Update(7, 8, 160*14, 160, at(280))
	r.Update(7, 7, 160*13, 160, at(281))
	r.Update(7, 8, 160*14, 160, at(282))
	r.Snapshot(&s)
	if s.PacketsReceived != 13 || s.Lost != 2 || s.Late != 2 {
		t.Errorf("loss/late: %+v", s)
	}
	rb, ok := r.ReportBlock(at(300))
	if !ok || rb.TotalLost != 2 || rb.LastSequenceNumber != 1<<16+8 || rb.FractionLost != uint8(2*256/15) {
		t.Errorf("report block %+v", rb)
	}
	// A.8: alternate transit +0 / +20 ms → |D| = 160 units each step;
	// J converges to 160 (20 ms).
	j := NewReceiver(8000)
	for i := range 400 {
		d := 0
		if i%2 == 1 {
			d = 20
		}
		j.Update(9, uint16(i), uint32(160*i), 160, at(20*i+d))
	}
	if got := j.Jitter(); got < 19*time.Millisecond || got > 20*time.Millisecond {
		t.Errorf("jitter %v, want ≈20ms", got)
	}
	// Golden A.8 arithmetic: first step J = 160/16 = 10 units.
	k := NewReceiver(8000)
	k.Update(1, 0, 0, 0, at(0))
	k.Update(1, 1, 160, 0, at(40))
	if k.jitter>>4 != 10 {
		t.Errorf("first jitter step %d units, want 10", k.jitter>>4)
	}
}

func TestRTCPReports(t *testing.T) {
	r := NewReceiver(8000)
	now := time.Unix(1700000000, 500_000_000)
	for i := range 5 {
		r.Update(42, uint16(i), uint32(160*i), 160, now)
	}
	b, err := MarshalSR(SenderInfo{SSRC: 1, Now: now, RTPTime: 800, PacketCount: 5, OctetCount: 800}, r)
	if err != nil {
		t.Fatal(err)
	}
	pkts, err := rtcp.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	sr, ok := pkts[0].(*rtcp.SenderReport)
	if !ok || sr.SSRC != 1 || sr.PacketCount != 5 || sr.NTPTime != (uint64(1700000000+2208988800)<<32|1<<31) || len(sr.Reports) != 1 || sr.Reports[0].SSRC != 42 {
		t.Fatalf("sr %+v", pkts[0])
	}
	// The peer's SR sets LSR; its RR then carries LSR and DLSR.
	peer := NewReceiver(8000)
	peer.Update(1, 0, 0, 160, now)
	if _, herr := HandleRTCP(b, peer, now); herr != nil {
		t.Fatal(herr)
	}
	rr, err := MarshalRR(42, peer, now.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	reports, err := HandleRTCP(rr, nil, now)
	if err != nil || len(reports) != 1 || reports[0].LastSenderReport != uint32(sr.NTPTime>>16) || reports[0].Delay != 65536 {
		t.Errorf("rr reports %+v %v", reports, err)
	}
	if _, err := HandleRTCP([]byte{0x80}, nil, now); err == nil {
		t.Error("short rtcp accepted")
	}
}

func TestDSCPLoopback(t *testing.T) {
	for _, network := range []string{"udp4", "udp6"} {
		addr := "127.0.0.1:0"
		if network == "udp6" {
			addr = "[::1]:0"
		}
		c, err := net.ListenPacket(network, addr)
		if err != nil {
			t.Logf("%s: %v (skipped)", network, err)
			continue
		}
		conn := c.(*net.UDPConn)
		if serr := SetDSCP(conn, 46); serr != nil {
			t.Fatalf("%s: %v", network, serr)
		}
		got, err := DSCP(conn)
		if err != nil || got != 46 {
			t.Errorf("%s: dscp read back %d, %v", network, got, err)
		}
		conn.Close()
	}
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := SetDSCP(c, 64); !errors.Is(err, ErrConfig) {
		t.Errorf("dscp 64: %v", err)
	}
}

func srtpPair(t *testing.T) (*srtp.Session, *srtp.Session) {
	t.Helper()
	r := testutil.NewReader(3)
	key := func(mki byte) srtp.Key {
		k := srtp.Key{Master: make([]byte, 16), Salt: make([]byte, 14), MKI: []byte{mki}}
		_, _ = r.Read(k.Master)
		_, _ = r.Read(k.Salt)
		return k
	}
	ka, kb := key(1), key(1)
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

// Two SRTP streams over an in-memory link for one fake second: 50 packets
// each way, every 10th packet from a dropped, RTCP exchanged, hold stops
// sending, and Run returns when the context ends with no goroutine left.
func TestStreamSRTPCall(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		ca, cb := memPair()
		ca.drop = func(n int) bool { return n%10 == 0 }
		sa, sb := srtpPair(t)
		toneA, _ := NewTone(FormatPCMU, 440, 0.3)
		toneB, _ := NewTone(FormatPCMU, 880, 0.3)
		a, err := NewStream(ca, Config{Format: FormatPCMU, SSRC: 0xA, Seq0: 100, Source: toneA, Remote: cb.addr, RemoteRTCP: cb.addr, RTCPInterval: 500 * time.Millisecond}, WithProtector(sa))
		if err != nil {
			t.Fatal(err)
		}
		b, err := NewStream(cb, Config{Format: FormatPCMU, SSRC: 0xB, Seq0: 65500, Source: toneB, Remote: ca.addr, RemoteRTCP: ca.addr, RTCPInterval: 500 * time.Millisecond}, WithProtector(sb))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 2)
		go func() { done <- a.Run(ctx) }()
		go func() { done <- b.Run(ctx) }()
		time.Sleep(time.Second + time.Millisecond) // fake time: 50 ticks
		synctest.Wait()
		stA, stB := a.Stats(), b.Stats()
		if stA.PacketsSent != 50 || stB.PacketsSent != 50 || stA.BytesSent != 50*160 {
			t.Errorf("sent a=%d b=%d", stA.PacketsSent, stB.PacketsSent)
		}
		if stA.PacketsReceived != 50 || stA.Lost != 0 || stA.SRTPAuthFailures != 0 {
			t.Errorf("a received %+v", stA)
		}
		// a's writes 10, 20, … are dropped (RTP and RTCP share the count).
		if stB.PacketsReceived+stB.Lost != 50 || stB.Lost == 0 || stB.RTCPReceived == 0 || stA.RTCPReceived != 2 {
			t.Errorf("b stats %+v / a rtcp %d", stB, stA.RTCPReceived)
		}
		if stA.Jitter != 0 {
			t.Errorf("jitter on a perfect fake clock: %v", stA.Jitter)
		}
		a.SetSending(false)
		time.Sleep(200 * time.Millisecond)
		synctest.Wait()
		if got := a.Stats().PacketsSent; got != 50 {
			t.Errorf("sent on hold: %d", got)
		}
		// Tampered and replayed packets are counted, not delivered.
		ca.peer.in <- []byte{0x80, 0, 0, 200, 0, 0, 0, 0, 0, 0, 0, 0xA, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
		synctest.Wait()
		if st := b.Stats(); st.SRTPAuthFailures != 1 {
			t.Errorf("tampered packet: %+v", st)
		}
		cancel()
		for range 2 {
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("Run: %v", err)
			}
		}
	})
}

func TestStreamTotals(t *testing.T) {
	s := Stats{PacketsSent: 1, Lost: 2, Jitter: time.Millisecond}.Add(Stats{PacketsSent: 3, Lost: 1, Jitter: 3 * time.Millisecond, ReplayDrops: 1})
	if s.PacketsSent != 4 || s.Lost != 3 || s.Jitter != 3*time.Millisecond || s.ReplayDrops != 1 {
		t.Errorf("Add: %+v", s)
	}
}
