package srtp

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/media/sdp"
)

func newKey(t testing.TB, seed uint64, mki []byte) Key {
	t.Helper()
	r := testutil.NewReader(seed)
	k := Key{Master: make([]byte, 16), Salt: make([]byte, 14), MKI: mki}
	if _, err := r.Read(k.Master); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(k.Salt); err != nil {
		t.Fatal(err)
	}
	return k
}

func rtpPacket(seq uint16, ssrc uint32, payload int) []byte {
	p := make([]byte, 12+payload)
	p[0] = 0x80
	p[2], p[3] = byte(seq>>8), byte(seq)
	p[4], p[5], p[6], p[7] = 0, 0, byte(seq>>8), byte(seq) // timestamp
	p[8], p[9], p[10], p[11] = byte(ssrc>>24), byte(ssrc>>16), byte(ssrc>>8), byte(ssrc)
	for i := 12; i < len(p); i++ {
		p[i] = byte(i)
	}
	return p
}

// An RTCP RR with one report block.
func rtcpPacket(ssrc uint32) []byte {
	p := make([]byte, 32)
	p[0], p[1], p[3] = 0x81, 201, 7
	p[4], p[5], p[6], p[7] = byte(ssrc>>24), byte(ssrc>>16), byte(ssrc>>8), byte(ssrc)
	return p
}

// pair returns (a, b) such that a's send key is b's receive key and back.
func pair(t testing.TB, mkiA, mkiB []byte, lifetime uint64, opts ...Option) (*Session, *Session) {
	t.Helper()
	ka, kb := newKey(t, 1, mkiA), newKey(t, 2, mkiB)
	a, err := NewSession(Config{Send: ka, Recv: kb, Lifetime: lifetime}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewSession(Config{Send: kb, Recv: ka})
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

func TestRoundTripMKI(t *testing.T) {
	for _, mki := range [][]byte{nil, {1}, {0, 2}, {0, 0, 0, 9}} {
		a, b := pair(t, mki, mki, 0)
		for seq := range uint16(5) {
			p := rtpPacket(seq+65533, 0x1234, 160) // crosses the ROC boundary
			enc, err := a.ProtectRTP(nil, p)
			if err != nil {
				t.Fatal(err)
			}
			if len(enc) != len(p)+len(mki)+10 || !bytes.Equal(enc[len(p):len(p)+len(mki)], mki) {
				t.Errorf("mki %x: srtp len %d, tail %x", mki, len(enc), enc[len(p):])
			}
			dec, err := b.UnprotectRTP(nil, enc)
			if err != nil || !bytes.Equal(dec, p) {
				t.Fatalf("mki %x seq %d: %v", mki, seq, err)
			}
		}
		rc := rtcpPacket(0x1234)
		enc, err := a.ProtectRTCP(nil, rc)
		if err != nil {
			t.Fatal(err)
		}
		// SRTCP: E-flag|index (4) then MKI then the 10-byte tag (RFC 3711 §3.4).
		if enc[len(rc)]&0x80 == 0 || !bytes.Equal(enc[len(rc)+4:len(rc)+4+len(mki)], mki) {
			t.Errorf("srtcp trailer %x", enc[len(rc):])
		}
		dec, err := b.UnprotectRTCP(nil, enc)
		if err != nil || !bytes.Equal(dec, rc) {
			t.Fatalf("rtcp: %v", err)
		}
		if got := b.Stats(); got.RTPReceived != 5 || got.RTCPReceived != 1 {
			t.Errorf("stats %+v", got)
		}
	}
}

func TestRejections(t *testing.T) {
	a, b := pair(t, []byte{1}, []byte{1}, 0)
	p := rtpPacket(1, 7, 160)
	enc, err := a.ProtectRTP(nil, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.UnprotectRTP(nil, enc); err != nil {
		t.Fatal(err)
	}
	if _, err := b.UnprotectRTP(nil, enc); !errors.Is(err, ErrReplay) {
		t.Errorf("replay: %v", err)
	}
	enc2, _ := a.ProtectRTP(nil, rtpPacket(2, 7, 160))
	tampered := bytes.Clone(enc2)
	tampered[20] ^= 1
	if _, err := b.UnprotectRTP(nil, tampered); !errors.Is(err, ErrAuth) {
		t.Errorf("tampered: %v", err)
	}
	wrongMKI := bytes.Clone(enc2)
	wrongMKI[len(wrongMKI)-11] = 2
	if _, err := b.UnprotectRTP(nil, wrongMKI); !errors.Is(err, ErrUnknownMKI) {
		t.Errorf("wrong mki: %v", err)
	}
	// A packet without MKI to an MKI receiver must not pass.
	noMKI, _ := pair(t, nil, nil, 0)
	bare, _ := noMKI.ProtectRTP(nil, rtpPacket(3, 7, 160))
	if _, err := b.UnprotectRTP(nil, bare); err == nil {
		t.Error("packet without mki accepted")
	}
	rtcpEnc, _ := a.ProtectRTCP(nil, rtcpPacket(7))
	if _, err := b.UnprotectRTCP(nil, rtcpEnc); err != nil {
		t.Fatal(err)
	}
	if _, err := b.UnprotectRTCP(nil, rtcpEnc); !errors.Is(err, ErrReplay) {
		t.Errorf("rtcp replay: %v", err)
	}
	if _, err := b.UnprotectRTP(nil, []byte{0x80}); !errors.Is(err, ErrMalformed) {
		t.Errorf("short: %v", err)
	}
	got := b.Stats()
	if got.ReplayDrops != 2 || got.AuthFailures < 1 || got.MKIMismatches < 1 || got.Malformed != 1 {
		t.Errorf("stats %+v", got)
	}
	// The good packet still decrypts after the failures.
	if _, err := b.UnprotectRTP(nil, enc2); err != nil {
		t.Errorf("valid packet after failures: %v", err)
	}
}

// Half the lifetime fires the re-key signal once; RekeySend switches MKI
// while the receiver holds both keys; the full lifetime stops sending.
func TestLifetimeAndRekey(t *testing.T) {
	fired := 0
	a, b := pair(t, []byte{1}, []byte{1}, 1024, WithRekeyFunc(func() { fired++ }))
	var seq uint16
	send := func() ([]byte, error) {
		seq++
		return a.ProtectRTP(nil, rtpPacket(seq, 9, 20))
	}
	for range 511 {
		if _, err := send(); err != nil {
			t.Fatal(err)
		}
	}
	if a.NeedsRekey() || fired != 0 {
		t.Fatal("rekey signalled early")
	}
	if _, err := send(); err != nil {
		t.Fatal(err)
	}
	if !a.NeedsRekey() || fired != 1 {
		t.Fatalf("rekey not signalled at 512: %v %d", a.NeedsRekey(), fired)
	}
	var old []byte // the last packet under MKI 1, held back (arrives late)
	for range 512 {
		var err error
		if old, err = send(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := send(); !errors.Is(err, ErrKeyExpired) {
		t.Fatalf("send past lifetime: %v", err)
	}
	seq--
	if fired != 1 {
		t.Errorf("fired %d times", fired)
	}
	k2 := newKey(t, 3, []byte{2})
	if err := b.AddRecvKey(k2); err != nil {
		t.Fatal(err)
	}
	if err := a.RekeySend(k2); err != nil {
		t.Fatal(err)
	}
	if a.NeedsRekey() {
		t.Error("NeedsRekey after RekeySend")
	}
	enc, err := send()
	if err != nil {
		t.Fatal(err)
	}
	if enc[len(enc)-11] != 2 {
		t.Errorf("new mki not used: %x", enc[len(enc)-11:])
	}
	if _, err := b.UnprotectRTP(nil, enc); err != nil {
		t.Fatalf("new key: %v", err)
	}
	if _, err := b.UnprotectRTP(nil, old); err != nil { // late packet under MKI 1
		t.Fatalf("old key still valid: %v", err)
	}
	if err := b.RemoveRecvKey([]byte{1}); err == nil {
		t.Error("removing the primary recv mki should fail (pion keeps it as default)")
	}
	if err := a.RekeySend(newKey(t, 4, []byte{0, 3})); !errors.Is(err, ErrConfig) {
		t.Errorf("mki length change: %v", err)
	}
}

func TestRekeyWithoutMKI(t *testing.T) {
	a, b := pair(t, nil, nil, 0)
	k2 := newKey(t, 5, nil)
	if err := a.RekeySend(k2); err != nil {
		t.Fatal(err)
	}
	if err := b.AddRecvKey(k2); err != nil {
		t.Fatal(err)
	}
	enc, _ := a.ProtectRTP(nil, rtpPacket(1, 1, 10))
	if _, err := b.UnprotectRTP(nil, enc); err != nil {
		t.Fatal(err)
	}
}

func TestKeyFromCryptoAndRedaction(t *testing.T) {
	c, err := sdp.ParseCrypto("1 AES_CM_128_HMAC_SHA1_80 inline:WnD7c1ksDGs+dIefCEjbKOTi6uoyvJD3f+MG1AAH|2^31|1:1")
	if err != nil {
		t.Fatal(err)
	}
	k, err := KeyFromCrypto(c)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k.MKI, []byte{1}) || len(k.Master) != 16 || len(k.Salt) != 14 {
		t.Errorf("key %v", k)
	}
	for _, s := range []string{k.String(), fmt.Sprintf("%v %+v %#v", k, k, k)} {
		if strings.Contains(s, fmt.Sprintf("%x", k.Master[:4])) || !strings.Contains(s, "[redacted]") {
			t.Errorf("not redacted: %s", s)
		}
	}
	if _, err := NewSession(Config{Send: k, Recv: Key{Master: []byte{1}}}); !errors.Is(err, ErrConfig) {
		t.Errorf("bad key: %v", err)
	}
	if _, err := NewSession(Config{Suite: "F8_128_HMAC_SHA1_80", Send: k, Recv: k}); !errors.Is(err, ErrConfig) {
		t.Errorf("bad suite: %v", err)
	}
}

// The negotiated sdp.Crypto pair drives a Session, and a re-negotiation
// with one changed key touches only that direction.
func TestConfigForAndUpdateKeys(t *testing.T) {
	mk := func(seed uint64, mki uint32) sdp.Crypto {
		k := newKey(t, seed, nil)
		return sdp.Crypto{Tag: 1, Suite: sdp.SuiteAES128SHA1_80, Key: append(k.Master, k.Salt...), Lifetime: 1 << 31, MKI: mki, MKILen: 1}
	}
	ours, theirs := mk(20, 1), mk(21, 1)
	cfgA, err := ConfigFor(ours, theirs)
	if err != nil || cfgA.Lifetime != 1<<31 || !bytes.Equal(cfgA.Send.MKI, []byte{1}) {
		t.Fatalf("ConfigFor: %+v %v", cfgA, err)
	}
	cfgB, _ := ConfigFor(theirs, ours)
	a, err := NewSession(cfgA)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewSession(cfgB)
	if err != nil {
		t.Fatal(err)
	}
	ours2 := mk(22, 2)
	k2, _ := KeyFromCrypto(ours2)
	if err := a.UpdateKeys(k2, cfgA.Recv); err != nil {
		t.Fatal(err)
	}
	if err := b.UpdateKeys(cfgB.Send, k2); err != nil {
		t.Fatal(err)
	}
	if err := b.UpdateKeys(cfgB.Send, k2); err != nil { // idempotent
		t.Fatal(err)
	}
	if got := a.Stats().Rekeys + b.Stats().Rekeys; got != 1 {
		t.Errorf("rekeys %d, want 1", got)
	}
	enc, _ := a.ProtectRTP(nil, rtpPacket(1, 5, 20))
	if _, err := b.UnprotectRTP(nil, enc); err != nil {
		t.Fatal(err)
	}
	bad := theirs
	bad.Suite = sdp.SuiteAES128SHA1_32
	if _, err := ConfigFor(ours, bad); !errors.Is(err, ErrConfig) {
		t.Errorf("suite mismatch: %v", err)
	}
}

func TestMKICounter(t *testing.T) {
	c, err := NewMKICounter(1, true)
	if err != nil {
		t.Fatal(err)
	}
	got := []uint32{c.StartSession(), c.Next(), c.Next(), c.StartSession()}
	if d := cmp.Diff([]uint32{1, 2, 3, 1}, got); d != "" {
		t.Errorf("startSessionAtOne=1: %s", d)
	}
	c, _ = NewMKICounter(1, false)
	got = []uint32{c.StartSession(), c.Next(), c.StartSession()}
	if d := cmp.Diff([]uint32{1, 2, 3}, got); d != "" {
		t.Errorf("startSessionAtOne=0: %s", d)
	}
	for range 300 {
		if c.Next() == 0 {
			t.Fatal("mki 0 handed out")
		}
	}
	if _, err := NewMKICounter(5, true); !errors.Is(err, ErrConfig) {
		t.Errorf("length 5: %v", err)
	}
}

func TestKeyPolicy(t *testing.T) {
	def := KeyPolicy{}
	if def.NewKeyFor(EventHold) || def.NewKeyFor(EventResume) || !def.NewKeyFor(EventRekey) || def.NewKeyFor(EventRefresh) {
		t.Error("defaults: no new key on hold/resume, always on rekey")
	}
	p := KeyPolicy{HoldWithNewKey: true, ResumeWithNewKey: true}
	if !p.NewKeyFor(EventHold) || !p.NewKeyFor(EventResume) {
		t.Error("holdWithNewKey/resumeWithNewKey=1 ignored")
	}
}
