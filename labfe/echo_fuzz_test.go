package labfe

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/media/sdp"
)

// FuzzEchoNegotiate: whatever offer parses, the echo bot either refuses it
// with a typed error (a *sdp.NegotiationError, which becomes 488 + Warning,
// or another media/sdp error) or answers with SDP the offerer can
// negotiate: the answer parses, its crypto is one the offer made, a
// required level is never answered in clear, and a repeated offer (a
// re-INVITE without rekey) keeps the bot's key.
func FuzzEchoNegotiate(f *testing.F) {
	lync, err := os.ReadFile("testdata/lync-offer.sdp")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(lync, uint8(0))
	f.Add(bytes.Replace(lync, []byte("RTP/SAVP"), []byte("RTP/AVP"), 1), uint8(1))
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=s\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"), uint8(2))
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=s\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/SAVP 0\r\na=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd|2^20|1:4\r\na=sendonly\r\n"), uint8(0))
	levels := []string{RequireEncryption, SupportEncryption, DoNotSupportEncryption}
	f.Fuzz(func(t *testing.T, b []byte, level uint8) {
		off, err := sdp.Parse(b)
		if err != nil {
			return
		}
		s := &Server{cfg: Config{EchoEncryption: levels[int(level)%len(levels)]}}
		m := &echoMedia{ports: [2]int{40000, 40001}, rand: testutil.NewReader(uint64(len(b))), policy: s.echoPolicy(), addr: "127.0.0.1"}
		ans, err := m.negotiate(off, 1)
		if err != nil {
			var ne *sdp.NegotiationError
			var pe *sdp.ParseError
			var ce *sdp.CryptoError
			if !errors.As(err, &ne) && !errors.As(err, &pe) && !errors.As(err, &ce) && !isSDPSentinel(err) {
				t.Fatalf("untyped refusal: %v", err)
			}
			if ne != nil && (ne.Status != 488 || ne.Warning == "") {
				t.Fatalf("negotiation error without 488 + Warning: %+v", ne)
			}
			return
		}
		as, err := sdp.Parse(ans)
		if err != nil {
			t.Fatalf("answer does not parse: %v\n%s", err, ans)
		}
		res, err := sdp.Negotiate(off, as, sdp.Offerer, sdp.NegotiateConfig{})
		if err != nil {
			t.Fatalf("offerer cannot use the answer: %v\n%s", err, ans)
		}
		if m.policy.Require && !res.Encrypted {
			t.Fatalf("RequireEncryption answered in clear:\n%s", ans)
		}
		if res.Encrypted && bytes.Equal(res.Local.Key, res.Remote.Key) {
			t.Fatal("the bot reused the caller's key")
		}
		key := m.local.Key
		if _, err := m.negotiate(off, 2); err != nil {
			t.Fatalf("same offer again: %v", err)
		}
		if !bytes.Equal(key, m.local.Key) {
			t.Fatal("a repeated offer changed the bot's key")
		}
	})
}

func isSDPSentinel(err error) bool {
	for _, e := range []error{sdp.ErrConfig, sdp.ErrNoAudio, sdp.ErrNoCommonCodec, sdp.ErrCryptoMismatch,
		sdp.ErrMKILengthMismatch, sdp.ErrMKIRequired, sdp.ErrEncryptionIncompatible} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
