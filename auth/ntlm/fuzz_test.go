package ntlm

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/handset-dev/handset/internal/testutil"
)

// seeds returns real messages of each type from a seeded exchange.
func seeds() (neg, chal, auth, dgChal, dgAuth []byte) {
	cfg := ClientConfig{
		Credentials: Credentials{Domain: "CONTOSO", User: "alice", Workstation: "HANDSET", Password: "secret"},
		Rand:        testutil.NewReader(7),
		Now:         func() time.Time { return labNow },
	}
	acc := AcceptorConfig{NbDomain: "CONTOSO", NbComputer: "POOL", Rand: testutil.NewReader(8), Now: cfg.Now}
	neg = Negotiate(cfg)
	_, chal, _ = NewConnectionChallenge(acc, neg)
	auth, _, _ = AuthenticateConnection(cfg, chal)
	_, dgChal, _ = NewChallenge(acc, true)
	dgAuth, _, _ = Authenticate(cfg, dgChal)
	return
}

func checkParseErr(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("untyped parse error: %v", err)
	}
}

// FuzzParseAuthenticate: parse → marshal → parse gives the same message.
func FuzzParseAuthenticate(f *testing.F) {
	_, _, auth, _, dgAuth := seeds()
	f.Add(auth)
	f.Add(dgAuth)
	f.Add([]byte("NTLMSSP\x00\x03\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseAuthenticate(b)
		if err != nil {
			checkParseErr(t, err)
			return
		}
		m2, err := ParseAuthenticate(m.Marshal())
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if diff := cmp.Diff(m, m2); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

// FuzzParseChallenge: parse → marshal → parse gives the same message, and
// the client either answers or refuses with a typed error.
func FuzzParseChallenge(f *testing.F) {
	_, chal, _, dgChal, _ := seeds()
	f.Add(chal)
	f.Add(dgChal)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseChallenge(b)
		if err != nil {
			checkParseErr(t, err)
			return
		}
		m2, err := ParseChallenge(m.Marshal())
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if diff := cmp.Diff(m, m2); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
		_, _, err = Authenticate(ClientConfig{Rand: testutil.NewReader(1), Now: func() time.Time { return labNow }}, b)
		if err != nil && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrMalformed) {
			t.Fatalf("untyped client error: %v", err)
		}
	})
}

// FuzzParseNegotiate: parse → marshal → parse gives the same message.
func FuzzParseNegotiate(f *testing.F) {
	neg, _, _, _, _ := seeds()
	f.Add(neg)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseNegotiate(b)
		if err != nil {
			checkParseErr(t, err)
			return
		}
		m2, err := ParseNegotiate(m.Marshal())
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if diff := cmp.Diff(m, m2); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

// FuzzAccept: arbitrary AUTHENTICATE bytes never panic the acceptor and
// every error classifies.
func FuzzAccept(f *testing.F) {
	_, _, _, _, dgAuth := seeds()
	f.Add(dgAuth)
	f.Fuzz(func(t *testing.T, b []byte) {
		sc, _, err := NewChallenge(AcceptorConfig{Rand: testutil.NewReader(8), Now: func() time.Time { return labNow }}, true)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = sc.Accept(b, func(string, string) (string, bool) { return "secret", true })
		if err != nil && !errors.Is(err, ErrAuthFailed) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
			t.Fatalf("unclassified error: %v", err)
		}
	})
}

// FuzzAVPairs: parse → marshal → parse gives the same list.
func FuzzAVPairs(f *testing.F) {
	_, chal, _, _, _ := seeds()
	if m, err := ParseChallenge(chal); err == nil {
		f.Add(m.TargetInfo)
	}
	f.Add([]byte{0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		pairs, err := ParseAVPairs(b)
		if err != nil {
			checkParseErr(t, err)
			return
		}
		again, err := ParseAVPairs(MarshalAVPairs(pairs))
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if diff := cmp.Diff(pairs, again); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}
