package media

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/media/sdp"
)

// FuzzAnswer feeds arbitrary offers to a Session (RELIABILITY.md P5/P6).
// Property: Answer never panics; every failure is answerable (AnswerFailure
// gives a 400 or 488 with a Warning); every success is an answer that parses and
// negotiates against the offer on the offerer's side.
func FuzzAnswer(f *testing.F) {
	for _, p := range []string{"sdp/testdata/lync-offer.sdp", "sdp/testdata/handset-offer.golden.sdp"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	s, err := NewSession(testConfig(), WithRand(testutil.NewReader(5)))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	off, err := s.Offer(sdp.SendRecv)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(off)
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"))
	f.Fuzz(func(t *testing.T, offer []byte) {
		ans, err := s.Answer(offer)
		if err != nil {
			if code, warn, ok := AnswerFailure(err); !ok || (code != 400 && code != 488) || warn == "" {
				t.Fatalf("unanswerable failure %v → %d %q %v", err, code, warn, ok)
			}
			return
		}
		o, err := sdp.Parse(offer)
		if err != nil {
			t.Fatalf("answered an unparsable offer: %v", err)
		}
		a, err := sdp.Parse(ans)
		if err != nil {
			t.Fatalf("our answer does not parse: %v\n%s", err, ans)
		}
		if _, err := sdp.Negotiate(o, a, sdp.Offerer, sdp.NegotiateConfig{}); err != nil {
			t.Fatalf("offerer cannot use our answer: %v\n%s", err, ans)
		}
	})
}

// FuzzAccept feeds arbitrary answers to our pending offer. Property: Accept
// never panics; a rejected answer is an ErrNegotiation and leaves the offer
// pending; an accepted one completes the exchange.
func FuzzAccept(f *testing.F) {
	a, err := NewSession(testConfig(), WithRand(testutil.NewReader(6)))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { a.Close() })
	b, err := NewSession(testConfig(), WithRand(testutil.NewReader(7)))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { b.Close() })
	off, err := a.Offer(sdp.SendRecv)
	if err != nil {
		f.Fatal(err)
	}
	ans, err := b.Answer(off)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ans)
	f.Add(bytes.Replace(ans, []byte("|2^31|1:1"), []byte("|2^31"), 1))
	f.Add([]byte("v=0\r\n"))
	f.Fuzz(func(t *testing.T, answer []byte) {
		if _, err := a.Offer(sdp.SendRecv); err != nil {
			t.Fatal(err)
		}
		if err := a.Accept(answer); err != nil {
			if !errors.Is(err, ErrNegotiation) || a.State() != StateOfferSent {
				t.Fatalf("rejected answer: %v, state %v", err, a.State())
			}
			return
		}
		if a.State() != StateActive {
			t.Fatalf("accepted answer, state %v", a.State())
		}
	})
}
