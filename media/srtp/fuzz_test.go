package srtp

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/handset-dev/handset/media/sdp"
)

// FuzzCryptoLine: an a=crypto value that parses round-trips through
// Value(), and its key drives a working Session (protect → unprotect).
func FuzzCryptoLine(f *testing.F) {
	key := "WnD7c1ksDGs+dIefCEjbKOTi6uoyvJD3f+MG1AAH"
	f.Add("1 AES_CM_128_HMAC_SHA1_80 inline:" + key + "|2^31|1:1")
	f.Add("2 AES_CM_128_HMAC_SHA1_80 inline:" + key + "|2^31")
	f.Add("3 AES_CM_128_HMAC_SHA1_32 inline:" + key + "|65536:3")
	f.Add("4 AES_CM_128_HMAC_SHA1_80 inline:" + key + "|2^10|255:1 UNENCRYPTED_SRTCP")
	f.Fuzz(func(t *testing.T, line string) {
		c, err := sdp.ParseCrypto(line)
		if err != nil {
			return
		}
		c2, err := sdp.ParseCrypto(c.Value())
		if err != nil || !cmp.Equal(c, c2) {
			t.Fatalf("round trip %q: %v", line, err)
		}
		k, err := KeyFromCrypto(c)
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewSession(Config{Suite: c.Suite, Send: k, Recv: k})
		if err != nil {
			t.Fatal(err)
		}
		p := rtpPacket(1, 1, 20)
		enc, err := s.ProtectRTP(nil, p)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := s.UnprotectRTP(nil, enc)
		if err != nil || !bytes.Equal(dec, p) {
			t.Fatalf("session from %q: %v", line, err)
		}
	})
}
