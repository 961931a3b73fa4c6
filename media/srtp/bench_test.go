package srtp

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/pion/srtp/v3"
)

// PERFORMANCE.md §6 B1: SRTP protect/unprotect per packet, 160-byte G.711
// payload, with and without a 1-byte MKI; ours vs raw pion vs the stdlib
// floor (reference_test.go) in one run. libsrtp2 runs in TestPrintBenchRatio.

const benchPayload = 160

func benchKey(b testing.TB, mki []byte) Key { return newKey(b, 42, mki) }

func BenchmarkSRTP(b *testing.B) {
	for _, mc := range []struct {
		name string
		mki  []byte
	}{{"mki", []byte{1}}, {"nomki", nil}} {
		b.Run("ours/protect/"+mc.name, func(b *testing.B) { benchOursProtect(b, mc.mki) })
		b.Run("ours/unprotect/"+mc.name, func(b *testing.B) { benchOursUnprotect(b, mc.mki) })
		b.Run("pion/protect/"+mc.name, func(b *testing.B) { benchPionProtect(b, mc.mki) })
		b.Run("floor/protect/"+mc.name, func(b *testing.B) { benchFloorProtect(b, mc.mki) })
	}
}

func benchOursProtect(b *testing.B, mki []byte) {
	k := benchKey(b, mki)
	s, err := NewSession(Config{Send: k, Recv: k})
	if err != nil {
		b.Fatal(err)
	}
	pkt := rtpPacket(0, 1, benchPayload)
	dst := make([]byte, 0, len(pkt)+32)
	b.SetBytes(benchPayload)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		pkt[2], pkt[3] = byte(i>>8), byte(i)
		if _, err := s.ProtectRTP(dst, pkt); err != nil {
			b.Fatal(err)
		}
	}
}

// benchOursUnprotect decrypts a ring of 65536 pre-protected packets with
// replay protection on; a fresh receiver starts each lap.
func benchOursUnprotect(b *testing.B, mki []byte) {
	k := benchKey(b, mki)
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
	rx, _ := NewSession(Config{Send: k, Recv: k})
	dst := make([]byte, 0, 256)
	b.SetBytes(benchPayload)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i&0xffff == 0 && i > 0 {
			b.StopTimer()
			rx, _ = NewSession(Config{Send: k, Recv: k})
			b.StartTimer()
		}
		if _, err := rx.UnprotectRTP(dst, ring[i&0xffff]); err != nil {
			b.Fatal(err)
		}
	}
}

func benchPionProtect(b *testing.B, mki []byte) {
	k := benchKey(b, mki)
	var opts []srtp.ContextOption
	if mki != nil {
		opts = append(opts, srtp.MasterKeyIndicator(mki))
	}
	c, err := srtp.CreateContext(k.Master, k.Salt, srtp.ProtectionProfileAes128CmHmacSha1_80, opts...)
	if err != nil {
		b.Fatal(err)
	}
	pkt := rtpPacket(0, 1, benchPayload)
	dst := make([]byte, 0, len(pkt)+32)
	b.SetBytes(benchPayload)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		pkt[2], pkt[3] = byte(i>>8), byte(i)
		if _, err := c.EncryptRTP(dst, pkt, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func benchFloorProtect(b *testing.B, mki []byte) {
	k := benchKey(b, mki)
	r := newRefProtector(k.Master, k.Salt, mki)
	pkt := rtpPacket(0, 1, benchPayload)
	dst := make([]byte, 0, len(pkt)+32)
	b.SetBytes(benchPayload)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		pkt[2], pkt[3] = byte(i>>8), byte(i)
		dst = r.protect(dst, pkt)
	}
}

// TestPrintBenchRatio prints ours vs libsrtp2 (and pion, floor) per packet.
// It is a measurement, not a check: run it with
//
//	HANDSET_BENCH_SRTP=1 go test -run TestPrintBenchRatio -v ./media/srtp
func TestPrintBenchRatio(t *testing.T) {
	if os.Getenv("HANDSET_BENCH_SRTP") == "" {
		t.Skip("set HANDSET_BENCH_SRTP=1 to run the SRTP benchmark comparison")
	}
	ns := func(f func(*testing.B)) float64 {
		r := testing.Benchmark(f)
		return float64(r.T.Nanoseconds()) / float64(r.N)
	}
	h := libsrtp(t)
	for _, mc := range []struct {
		name string
		mki  []byte
	}{{"1-byte MKI", []byte{1}}, {"no MKI", nil}} {
		oursP := ns(func(b *testing.B) { benchOursProtect(b, mc.mki) })
		oursU := ns(func(b *testing.B) { benchOursUnprotect(b, mc.mki) })
		pionP := ns(func(b *testing.B) { benchPionProtect(b, mc.mki) })
		floorP := ns(func(b *testing.B) { benchFloorProtect(b, mc.mki) })
		out, err := exec.Command(h, "bench", "200000", strconv.Itoa(benchPayload), keySpec(benchKey(t, mc.mki))).Output()
		if err != nil {
			t.Fatalf("libsrtp bench: %v", err)
		}
		var lp, lu float64
		for _, f := range strings.Fields(string(out)) {
			if v, ok := strings.CutPrefix(f, "protect_ns="); ok {
				lp, _ = strconv.ParseFloat(v, 64)
			}
			if v, ok := strings.CutPrefix(f, "unprotect_ns="); ok {
				lu, _ = strconv.ParseFloat(v, 64)
			}
		}
		t.Logf("%s, %d B payload: ours protect %.0f ns, unprotect %.0f ns | pion protect %.0f ns | stdlib floor %.0f ns | %s"+
			" | libsrtp2/ours protect %.1fx, unprotect %.1fx; ours/pion %.2f; ours/floor %.2f",
			mc.name, benchPayload, oursP, oursU, pionP, floorP, strings.TrimSpace(string(out)),
			lp/oursP, lu/oursU, oursP/pionP, oursP/floorP)
	}
}
