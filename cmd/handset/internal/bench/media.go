package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/handset-dev/handset/media/rtp"
	"github.com/handset-dev/handset/media/srtp"
)

// MediaResult is B7 for one side: N calls (two 20 ms G.711 streams each,
// both ends in this process) for a measured window after a warm-up.
type MediaResult struct {
	Calls         int
	Window        time.Duration
	CPU           time.Duration // process CPU over the window
	PacketsSent   uint64
	PacketsRecv   uint64
	SRTPFailures  uint64
	JitterP99     time.Duration // p99 over streams of the RFC 3550 receive jitter
	SetupFailures int
}

// CoresPer1000 is the CPU used per 1,000 concurrent calls, in cores.
func (r MediaResult) CoresPer1000() float64 {
	if r.Window <= 0 || r.Calls == 0 {
		return 0
	}
	return r.CPU.Seconds() / r.Window.Seconds() * 1000 / float64(r.Calls)
}

func udpPair() (net.PacketConn, net.PacketConn, error) {
	a, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return nil, nil, fmt.Errorf("bench: udp: %w", err)
	}
	b, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		_ = a.Close()
		return nil, nil, fmt.Errorf("bench: udp: %w", err)
	}
	return a, b, nil
}

func benchKey(seed byte) srtp.Key {
	k := srtp.Key{Master: make([]byte, 16), Salt: make([]byte, 14), MKI: []byte{1}}
	for i := range k.Master {
		k.Master[i] = seed + byte(i)
	}
	for i := range k.Salt {
		k.Salt[i] = seed ^ byte(i*7)
	}
	return k
}

// MediaOurs runs n SRTP calls on media/rtp streams (1-byte MKI, as Lync)
// for warmup+window and measures the window.
func MediaOurs(ctx context.Context, n int, warmup, window time.Duration) (MediaResult, error) {
	res := MediaResult{Calls: n}
	frame := make([]byte, 160)
	for i := range frame {
		frame[i] = 0xd5 // PCMU silence-ish
	}
	var streams []*rtp.Stream
	var conns []net.PacketConn
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for i := range n {
		a, b, err := udpPair()
		if err != nil {
			return res, err
		}
		conns = append(conns, a, b)
		ka, kb := benchKey(byte(2*i)), benchKey(byte(2*i+1))
		sa, err := srtp.NewSession(srtp.Config{Send: ka, Recv: kb})
		if err != nil {
			return res, fmt.Errorf("bench: %w", err)
		}
		sb, err := srtp.NewSession(srtp.Config{Send: kb, Recv: ka})
		if err != nil {
			return res, fmt.Errorf("bench: %w", err)
		}
		for _, e := range []struct {
			c    net.PacketConn
			p    *srtp.Session
			to   net.Addr
			ssrc uint32
		}{{a, sa, b.LocalAddr(), uint32(2*i + 1)}, {b, sb, a.LocalAddr(), uint32(2*i + 2)}} {
			src, err := rtp.NewFrames([][]byte{frame})
			if err != nil {
				return res, fmt.Errorf("bench: %w", err)
			}
			st, err := rtp.NewStream(e.c, rtp.Config{Format: rtp.FormatPCMU, SSRC: e.ssrc, Seq0: uint16(i), TS0: uint32(i), Source: src, Remote: e.to},
				rtp.WithProtector(e.p))
			if err != nil {
				return res, fmt.Errorf("bench: %w", err)
			}
			streams = append(streams, st)
		}
	}
	rctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, st := range streams {
		wg.Add(1)
		go func() { defer wg.Done(); _ = st.Run(rctx) }()
	}
	sleep(ctx, warmup)
	var before []rtp.Stats
	for _, st := range streams {
		before = append(before, st.Stats())
	}
	cpu0, t0 := cpuTime(), time.Now()
	sleep(ctx, window)
	res.CPU, res.Window = cpuTime()-cpu0, time.Since(t0)
	jit := make([]time.Duration, 0, len(streams))
	for i, st := range streams {
		s := st.Stats()
		res.PacketsSent += s.PacketsSent - before[i].PacketsSent
		res.PacketsRecv += s.PacketsReceived - before[i].PacketsReceived
		res.SRTPFailures += s.SRTPAuthFailures
		jit = append(jit, s.Jitter)
	}
	cancel()
	wg.Wait()
	res.JitterP99 = p99(jit)
	return res, nil
}

// MediaFloor is B7's raw-UDP floor: the same n calls as bare UDP socket
// pairs, 172-byte packets (12 RTP header + 160 G.711) each way every 20 ms
// from 20 sharded pacers, a reader goroutine per socket, no RTP engine and
// no SRTP.
func MediaFloor(ctx context.Context, n int, warmup, window time.Duration) (MediaResult, error) {
	res := MediaResult{Calls: n}
	type leg struct {
		c  net.PacketConn
		to net.Addr
	}
	var legs []leg
	var conns []net.PacketConn
	for range n {
		a, b, err := udpPair()
		if err != nil {
			for _, c := range conns {
				_ = c.Close()
			}
			return res, err
		}
		conns = append(conns, a, b)
		legs = append(legs, leg{a, b.LocalAddr()}, leg{b, a.LocalAddr()})
	}
	const shards = 20
	var sent [shards]atomic.Uint64
	var mu sync.Mutex
	var totalRecv uint64
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1500)
			var got uint64
			for {
				if _, _, err := c.ReadFrom(buf); err != nil {
					mu.Lock()
					totalRecv += got
					mu.Unlock()
					return
				}
				got++
			}
		}()
	}
	rctx, cancel := context.WithCancel(ctx)
	for s := range shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pkt := make([]byte, 172)
			pkt[0] = 0x80
			t := time.NewTicker(rtp.Ptime)
			defer t.Stop()
			for seq := uint16(0); ; seq++ {
				select {
				case <-rctx.Done():
					return
				case <-t.C:
				}
				binary.BigEndian.PutUint16(pkt[2:], seq)
				for i := s; i < len(legs); i += shards {
					if _, err := legs[i].c.WriteTo(pkt, legs[i].to); err == nil {
						sent[s].Add(1)
					}
				}
			}
		}()
	}
	sleep(ctx, warmup)
	var s0 uint64
	for i := range sent {
		s0 += sent[i].Load()
	}
	cpu0, t0 := cpuTime(), time.Now()
	sleep(ctx, window)
	res.CPU, res.Window = cpuTime()-cpu0, time.Since(t0)
	cancel()
	for _, c := range conns {
		_ = c.SetReadDeadline(time.Unix(1, 0))
	}
	wg.Wait()
	for _, c := range conns {
		_ = c.Close()
	}
	for i := range sent {
		res.PacketsSent += sent[i].Load()
	}
	res.PacketsSent -= s0
	res.PacketsRecv = totalRecv
	return res, nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func p99(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[min(len(ds)-1, len(ds)*99/100)]
}
