package srtp

import (
	"bytes"
	"errors"
	"slices"
	"sync"
	"testing"

	libsrtppeer "github.com/handset-dev/handset/internal/peers/libsrtp"
)

// libsrtp builds the libsrtp2 peer (internal/peers/libsrtp), once per test.
func libsrtp(t testing.TB) string {
	t.Helper()
	if p, ok := harnessCache.Load(t.Name()); ok {
		return p.(string)
	}
	out := libsrtppeer.Build(t)
	harnessCache.Store(t.Name(), out)
	return out
}

// harnessCache maps a test name to its built harness (one build per test).
var harnessCache sync.Map

// keySpec renders keys in the harness's KEYS syntax.
func keySpec(keys ...Key) string {
	var ks []libsrtppeer.Key
	for _, k := range keys {
		ks = append(ks, libsrtppeer.Key{KeySalt: append(slices.Clone(k.Master), k.Salt...), MKI: k.MKI})
	}
	return libsrtppeer.Spec(ks...)
}

// runHarness feeds packets to the harness and returns one output per packet:
// the packet, or nil with the "ERR n" text.
func runHarness(t *testing.T, mode string, keys []Key, pkts [][]byte) (out [][]byte, errs []string) {
	t.Helper()
	return libsrtppeer.Run(t, libsrtp(t), mode, keySpec(keys...), pkts)
}

func rtpBatch(n int, ssrc uint32) [][]byte {
	var ps [][]byte
	for i := range n {
		ps = append(ps, rtpPacket(uint16(65530+i), ssrc, 160)) // crosses a ROC wrap
	}
	return ps
}

func TestLibsrtpInterop(t *testing.T) {
	libsrtp(t)
	for _, mki := range [][]byte{{1}, {0, 0, 0, 1}, nil} {
		k := newKey(t, 10, mki)
		plain := rtpBatch(12, 0xCAFE)
		rtcps := [][]byte{rtcpPacket(0xCAFE), rtcpPacket(0xCAFE)}

		// Ours → libsrtp, and byte-identical ciphertext both ways.
		ours, err := NewSession(Config{Send: k, Recv: k})
		if err != nil {
			t.Fatal(err)
		}
		var enc, encRTCP [][]byte
		for _, p := range plain {
			e, perr := ours.ProtectRTP(nil, p)
			if perr != nil {
				t.Fatal(perr)
			}
			enc = append(enc, e)
		}
		for _, p := range rtcps {
			e, perr := ours.ProtectRTCP(nil, p)
			if perr != nil {
				t.Fatal(perr)
			}
			encRTCP = append(encRTCP, e)
		}
		dec, errs := runHarness(t, "unprotect", []Key{k}, enc)
		for i := range plain {
			if !bytes.Equal(dec[i], plain[i]) {
				t.Errorf("mki %x: libsrtp unprotect %d: %s", mki, i, errs[i])
			}
		}
		decRTCP, errs := runHarness(t, "unprotect_rtcp", []Key{k}, encRTCP)
		for i := range rtcps {
			if !bytes.Equal(decRTCP[i], rtcps[i]) {
				t.Errorf("mki %x: libsrtp unprotect_rtcp %d: %s", mki, i, errs[i])
			}
		}
		theirs, _ := runHarness(t, "protect", []Key{k}, plain)
		for i := range plain {
			if !bytes.Equal(theirs[i], enc[i]) {
				t.Errorf("mki %x pkt %d: ciphertext differs\n ours %x\n libsrtp %x", mki, i, enc[i], theirs[i])
			}
		}
		theirsRTCP, _ := runHarness(t, "protect_rtcp", []Key{k}, rtcps)

		// libsrtp → ours.
		rx, err := NewSession(Config{Send: k, Recv: k})
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range theirs {
			got, err := rx.UnprotectRTP(nil, p)
			if err != nil || !bytes.Equal(got, plain[i]) {
				t.Errorf("mki %x: our unprotect %d: %v", mki, i, err)
			}
		}
		for i, p := range theirsRTCP {
			got, err := rx.UnprotectRTCP(nil, p)
			if err != nil || !bytes.Equal(got, rtcps[i]) {
				t.Errorf("mki %x: our unprotect_rtcp %d: %v", mki, i, err)
			}
		}
		// Replay: libsrtp rejects our packet sent twice (srtp_err_status_replay_fail = 9).
		_, errs = runHarness(t, "unprotect", []Key{k}, [][]byte{enc[0], enc[0]})
		if errs[0] != "" || errs[1] != "ERR 9" {
			t.Errorf("mki %x: libsrtp replay: %q", mki, errs)
		}
		if _, err := rx.UnprotectRTP(nil, theirs[0]); !errors.Is(err, ErrReplay) {
			t.Errorf("mki %x: our replay: %v", mki, err)
		}
	}
}

func TestLibsrtpRejectsBadMKI(t *testing.T) {
	libsrtp(t)
	k1 := newKey(t, 11, []byte{1})
	k2 := k1
	k2.MKI = []byte{2}
	bare := k1
	bare.MKI = nil
	plain := rtpBatch(2, 0xBEEF)

	protect := func(k Key) [][]byte {
		s, err := NewSession(Config{Send: k, Recv: k})
		if err != nil {
			t.Fatal(err)
		}
		var out [][]byte
		for _, p := range plain {
			e, err := s.ProtectRTP(nil, p)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, e)
		}
		return out
	}
	// libsrtp side: wrong MKI → srtp_err_status_bad_mki (25); missing MKI →
	// the tag's last byte is read as the MKI, so bad_mki or auth_fail (7).
	for _, tc := range []struct {
		name string
		send Key
		recv Key
		want []string
	}{
		{"wrong mki", k2, k1, []string{"ERR 25"}},
		{"missing mki", bare, k1, []string{"ERR 25", "ERR 7"}},
	} {
		_, errs := runHarness(t, "unprotect", []Key{tc.recv}, protect(tc.send))
		for _, e := range errs {
			if !slices.Contains(tc.want, e) {
				t.Errorf("libsrtp %s: %q, want %q", tc.name, e, tc.want)
			}
		}
	}
	// Our side: libsrtp packets under MKI 2, or without MKI, to our MKI-1 receiver.
	for _, tc := range []struct {
		name string
		send Key
		want error
	}{
		{"wrong mki", k2, ErrUnknownMKI},
		{"missing mki", bare, nil},
	} {
		theirs, _ := runHarness(t, "protect", []Key{tc.send}, plain)
		rx, err := NewSession(Config{Send: k1, Recv: k1})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range theirs {
			_, err := rx.UnprotectRTP(nil, p)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Errorf("ours %s: %v, want %v", tc.name, err, tc.want)
			}
		}
	}
}

// Several keys by MKI at once: we re-key mid-stream; libsrtp holding both
// master keys decrypts every packet, and we decrypt libsrtp's packets under
// either key.
func TestLibsrtpRekeyMKI(t *testing.T) {
	libsrtp(t)
	k1, k2 := newKey(t, 12, []byte{1}), newKey(t, 13, []byte{2})
	s, err := NewSession(Config{Send: k1, Recv: k1})
	if err != nil {
		t.Fatal(err)
	}
	plain := rtpBatch(8, 0xF00D)
	var enc [][]byte
	for i, p := range plain {
		if i == 4 {
			if rerr := s.RekeySend(k2); rerr != nil {
				t.Fatal(rerr)
			}
		}
		e, perr := s.ProtectRTP(nil, p)
		if perr != nil {
			t.Fatal(perr)
		}
		enc = append(enc, e)
	}
	dec, errs := runHarness(t, "unprotect", []Key{k1, k2}, enc)
	for i := range plain {
		if !bytes.Equal(dec[i], plain[i]) {
			t.Errorf("libsrtp with two keys, pkt %d: %s", i, errs[i])
		}
	}
	theirs1, _ := runHarness(t, "protect", []Key{k1}, plain[:4])
	theirs2, _ := runHarness(t, "protect", []Key{k2}, plain[4:])
	rx, err := NewSession(Config{Send: k1, Recv: k1})
	if err != nil {
		t.Fatal(err)
	}
	if err := rx.AddRecvKey(k2); err != nil {
		t.Fatal(err)
	}
	for i, p := range append(theirs1, theirs2...) {
		if got, err := rx.UnprotectRTP(nil, p); err != nil || !bytes.Equal(got, plain[i]) {
			t.Errorf("ours with two keys, pkt %d: %v", i, err)
		}
	}
}
