package srtp

import (
	"testing"

	"github.com/pion/srtp/v3"

	"github.com/handset-dev/handset/internal/testutil"
)

// BenchmarkB1 is PERFORMANCE.md §6 B1 as ratios from one run: our protect
// and unprotect of a 160-byte G.711 packet (1-byte MKI and none) against
// raw pion/srtp v3 and the stdlib floor (reference_test.go's RFC 3711
// protector). Goals: ours/pion ≤ 0.7, ours/floor ≤ 1.0. libsrtp2 is compared
// by TestPrintBenchRatio (a C harness, a separate process).
func BenchmarkB1(b *testing.B) {
	for _, mc := range []struct {
		name string
		mki  []byte
	}{{"mki", []byte{1}}, {"nomki", nil}} {
		b.Run("protect/"+mc.name, func(b *testing.B) {
			k := benchKey(b, mc.mki)
			s, err := NewSession(Config{Send: k, Recv: k})
			if err != nil {
				b.Fatal(err)
			}
			var opts []srtp.ContextOption
			if mc.mki != nil {
				opts = append(opts, srtp.MasterKeyIndicator(mc.mki))
			}
			pc, err := srtp.CreateContext(k.Master, k.Salt, srtp.ProtectionProfileAes128CmHmacSha1_80, opts...)
			if err != nil {
				b.Fatal(err)
			}
			ref := newRefProtector(k.Master, k.Salt, mc.mki)
			pkt := rtpPacket(0, 1, benchPayload)
			dst := make([]byte, 0, len(pkt)+32)
			b.SetBytes(benchPayload)
			seq := func(i int) { pkt[2], pkt[3] = byte(i>>8), byte(i) }
			testutil.BenchRatio(b, func(i int) {
				seq(i)
				if _, err := s.ProtectRTP(dst, pkt); err != nil {
					b.Fatal(err)
				}
			}, testutil.Peer{Name: "pion", Fn: func(i int) {
				seq(i)
				if _, err := pc.EncryptRTP(dst, pkt, nil); err != nil {
					b.Fatal(err)
				}
			}}, testutil.Peer{Name: "floor", Fn: func(i int) {
				seq(i)
				dst = ref.protect(dst, pkt)
			}})
		})
		b.Run("unprotect/"+mc.name, func(b *testing.B) {
			k := benchKey(b, mc.mki)
			tx, err := NewSession(Config{Send: k, Recv: k})
			if err != nil {
				b.Fatal(err)
			}
			ring := make([][]byte, 1<<16)
			for i := range ring {
				if ring[i], err = tx.ProtectRTP(nil, rtpPacket(uint16(i), 1, benchPayload)); err != nil {
					b.Fatal(err)
				}
			}
			var opts []srtp.ContextOption
			if mc.mki != nil {
				opts = append(opts, srtp.MasterKeyIndicator(mc.mki))
			}
			newPion := func() *srtp.Context {
				c, err := srtp.CreateContext(k.Master, k.Salt, srtp.ProtectionProfileAes128CmHmacSha1_80, opts...)
				if err != nil {
					b.Fatal(err)
				}
				return c
			}
			rx, _ := NewSession(Config{Send: k, Recv: k})
			pc := newPion()
			dst := make([]byte, 0, 256)
			b.SetBytes(benchPayload)
			// Each lap of the ring starts a fresh receiver (replay window);
			// both sides pay for it alike.
			testutil.BenchRatio(b, func(i int) {
				if i&0xffff == 0 && i > 0 {
					rx, _ = NewSession(Config{Send: k, Recv: k})
				}
				if _, err := rx.UnprotectRTP(dst, ring[i&0xffff]); err != nil {
					b.Fatal(err)
				}
			}, testutil.Peer{Name: "pion", Fn: func(i int) {
				if i&0xffff == 0 {
					pc = newPion()
				}
				if _, err := pc.DecryptRTP(dst, ring[i&0xffff], nil); err != nil {
					b.Fatal(err)
				}
			}})
		})
	}
}
