package sdp

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParse: parse → marshal → parse gives the same value.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/lync-offer.sdp", "testdata/baresip-answer.sdp"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("v=0\no=- 1 1 IN IP6 ::1\ns=\nt=0 0\nk=prompt\ni=x\nm=audio 0 udp x\nc=IN IP6 ::1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b)
		if err != nil {
			return
		}
		out := s.Marshal()
		s2, err := Parse(out)
		if err != nil {
			t.Fatalf("reparse of %q: %v", out, err)
		}
		if d := cmp.Diff(s, s2); d != "" {
			t.Fatalf("round trip diff:\n%s\nbody:\n%q", d, out)
		}
	})
}

// FuzzParseCrypto: ParseCrypto → Value → ParseCrypto gives the same value.
func FuzzParseCrypto(f *testing.F) {
	key := "WnD7c1ksDGs+dIefCEjbKOTi6uoyvJD3f+MG1AAH"
	for _, s := range []string{
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + key + "|2^31|1:1",
		"3 AES_CM_128_HMAC_SHA1_80 inline:" + key + "|2^31",
		"1 AES_CM_128_HMAC_SHA1_32 inline:" + key + "|1024|4294967295:4 KDR=0",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + key + "|1:5",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCrypto(s)
		if err != nil {
			return
		}
		c2, err := ParseCrypto(c.Value())
		if err != nil {
			t.Fatalf("reparse %q: %v", c.Value(), err)
		}
		if !cmp.Equal(c, c2) {
			t.Fatalf("round trip %q: %v != %v", s, c, c2)
		}
	})
}
