package sipae

import (
	"errors"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/handset-dev/handset/auth/ntlm"
	"github.com/handset-dev/handset/internal/testutil"
)

// One row per transition of the table in state.go, then every other pair
// must be refused.
func TestTransitions(t *testing.T) {
	rows := []struct {
		from State
		ev   Event
		to   State
	}{
		{StateIdle, EventChallenge, StateHandshake},
		{StateIdle, EventFail, StateFailed},
		{StateIdle, EventReset, StateIdle},
		{StateHandshake, EventChallenge, StateHandshake},
		{StateHandshake, EventKeys, StateSigning},
		{StateHandshake, EventFail, StateFailed},
		{StateHandshake, EventReset, StateIdle},
		{StateSigning, EventSign, StateSigning},
		{StateSigning, EventVerified, StateEstablished},
		{StateSigning, EventFail, StateFailed},
		{StateSigning, EventReset, StateIdle},
		{StateEstablished, EventSign, StateEstablished},
		{StateEstablished, EventVerified, StateEstablished},
		{StateEstablished, EventFail, StateFailed},
		{StateEstablished, EventReset, StateIdle},
		{StateFailed, EventReset, StateIdle},
	}
	legal := map[[2]uint8]bool{}
	for _, r := range rows {
		t.Run(fmt.Sprintf("%v+%v", r.from, r.ev), func(t *testing.T) {
			got, err := Next(r.from, r.ev)
			if err != nil || got != r.to {
				t.Fatalf("Next = %v, %v; want %v", got, err, r.to)
			}
		})
		legal[[2]uint8{uint8(r.from), uint8(r.ev)}] = true
	}
	for s := StateIdle; s <= StateFailed; s++ {
		for e := EventChallenge; e <= EventReset; e++ {
			if legal[[2]uint8{uint8(s), uint8(e)}] {
				continue
			}
			got, err := Next(s, e)
			var te *TransitionError
			if !errors.As(err, &te) || !errors.Is(err, ErrState) || got != s {
				t.Errorf("Next(%v, %v) = %v, %v; want refusal", s, e, got, err)
			}
		}
	}
	if State(99).String() != "State(99)" || Event(42).String() != "Event(42)" {
		t.Error("unknown values print badly")
	}
}

// pair runs a real NTLM handshake (our client and acceptor) and returns
// established-to-be client and server SAs over it.
func pair(t *testing.T, version int) (client, server *SA, transitions *[]string) {
	t.Helper()
	now := func() time.Time { return time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC) }
	sc, chal, err := ntlm.NewChallenge(ntlm.AcceptorConfig{NbDomain: "CONTOSO", NbComputer: "POOL", Rand: testutil.NewReader(1), Now: now}, true)
	if err != nil {
		t.Fatal(err)
	}
	auth, cs, err := ntlm.Authenticate(ntlm.ClientConfig{
		Credentials: ntlm.Credentials{Domain: "CONTOSO", User: "alice", Password: "secret"},
		Rand:        testutil.NewReader(2), Now: now,
	}, chal)
	if err != nil {
		t.Fatal(err)
	}
	ss, _, err := sc.Accept(auth, func(string, string) (string, bool) { return "secret", true })
	if err != nil {
		t.Fatal(err)
	}
	var log []string
	obs := func(from, to State, ev Event) { log = append(log, fmt.Sprintf("%v-%v->%v", from, ev, to)) }
	challenge := Params{Scheme: NTLM, Realm: realm, TargetName: "pool.contoso.test", Version: version}
	client = NewClientSA(SAConfig{Rand: testutil.NewReader(3), OnTransition: obs})
	server = NewServerSA(SAConfig{Scheme: NTLM, Realm: realm, TargetName: "pool.contoso.test", Version: version, Rand: testutil.NewReader(4)})
	for _, step := range []error{
		client.Begin(challenge), client.Establish(NTLMMechanism(cs), "1E3A4F2C"),
		server.Begin(Params{}), server.Establish(NTLMMechanism(ss), "1E3A4F2C"),
	} {
		if step != nil {
			t.Fatal(step)
		}
	}
	return client, server, &log
}

func register(cseq int) SignedFields {
	return SignedFields{
		CallID: "4037df9284354df39065195bd57a4b14", CSeqNum: fmt.Sprint(cseq), CSeqMethod: "REGISTER",
		FromURI: "sip:alice@contoso.test", FromTag: "3e49177a52", ToURI: "sip:alice@contoso.test",
	}
}

func okFor(req SignedFields) SignedFields {
	r := req
	r.ToTag, r.Expires, r.StatusCode = "5E61CCD925D17E043D9A74835A88F664", "7200", 200
	return r
}

func TestSAExchange(t *testing.T) {
	for _, version := range []int{2, 3, 4} {
		t.Run(fmt.Sprint("v", version), func(t *testing.T) {
			client, server, log := pair(t, version)
			hexRe := regexp.MustCompile(`^[0-9a-f]{8}$`)
			for i := 1; i <= 3; i++ {
				req := register(i + 2)
				p, err := client.Sign(req)
				if err != nil {
					t.Fatal(err)
				}
				if p.Cnum != fmt.Sprint(i) || !hexRe.MatchString(p.Crand) || len(p.Response) != 32 || p.Opaque != "1E3A4F2C" || p.Qop != "auth" {
					t.Fatalf("client params %+v", p)
				}
				if (version > 2) != (p.Version == version) {
					t.Errorf("version echo %d for v%d", p.Version, version)
				}
				// The server parses the header as sent and verifies it.
				wire, err := Parse(p.String())
				if err != nil {
					t.Fatal(err)
				}
				if verr := server.Verify(req, wire); verr != nil {
					t.Fatalf("server verify %d: %v", i, verr)
				}
				resp, err := server.Sign(okFor(req))
				if err != nil {
					t.Fatal(err)
				}
				if resp.Snum != fmt.Sprint(i) || resp.Rspauth == "" {
					t.Fatalf("server params %+v", resp)
				}
				if err := client.Verify(okFor(req), resp); err != nil {
					t.Fatalf("client verify %d: %v", i, err)
				}
			}
			if client.State() != StateEstablished || server.State() != StateEstablished {
				t.Fatalf("states %v %v", client.State(), server.State())
			}
			want := []string{"idle-challenge->handshake", "handshake-keys->signing", "signing-sign->signing", "signing-verified->established",
				"established-sign->established", "established-verified->established", "established-sign->established", "established-verified->established"}
			if diff := cmp.Diff(want, *log); diff != "" {
				t.Errorf("observer (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSANegative(t *testing.T) {
	client, server, _ := pair(t, 4)
	req := register(3)
	p, _ := client.Sign(req)

	t.Run("tampered field", func(t *testing.T) {
		bad := req
		bad.CSeqMethod = "register" // values are signed exactly as sent
		if err := server.Verify(bad, p); !errors.Is(err, ErrBadSignature) || !errors.Is(err, ntlm.ErrBadSignature) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("tampered signature", func(t *testing.T) {
		bad := p
		bad.Response = "00" + p.Response[2:]
		if err := server.Verify(req, bad); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("err = %v", err)
		}
		bad.Response = "zz"
		if err := server.Verify(req, bad); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("non-hex: %v", err)
		}
		bad = p
		bad.Response = ""
		if err := server.Verify(req, bad); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("unsigned: %v", err)
		}
		bad = p
		bad.Cnum = "one"
		if err := server.Verify(req, bad); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("bad cnum: %v", err)
		}
	})
	t.Run("replayed cnum", func(t *testing.T) {
		if err := server.Verify(req, p); err != nil {
			t.Fatal(err)
		}
		if err := server.Verify(req, p); !errors.Is(err, ErrReplay) {
			t.Fatalf("replay: %v", err)
		}
	})
	t.Run("out of order within the window", func(t *testing.T) {
		var ps []Params
		var fs []SignedFields
		for i := range 3 {
			f := register(10 + i)
			q, _ := client.Sign(f)
			ps, fs = append(ps, q), append(fs, f)
		}
		for _, i := range []int{2, 0, 1} {
			if err := server.Verify(fs[i], ps[i]); err != nil {
				t.Fatalf("cnum %s: %v", ps[i].Cnum, err)
			}
		}
		if err := server.Verify(fs[0], ps[0]); !errors.Is(err, ErrReplay) {
			t.Fatalf("replay after reorder: %v", err)
		}
	})
	t.Run("older than the window", func(t *testing.T) {
		old := register(50)
		q, _ := client.Sign(old)
		for i := range replayWindow {
			f := register(100 + i)
			r, _ := client.Sign(f)
			if err := server.Verify(f, r); err != nil {
				t.Fatal(err)
			}
		}
		if err := server.Verify(old, q); !errors.Is(err, ErrReplay) {
			t.Fatalf("stale cnum: %v", err)
		}
	})
	t.Run("other SA", func(t *testing.T) {
		for _, mut := range []func(*Params){
			func(q *Params) { q.Opaque = "DEADBEEF" },
			func(q *Params) { q.TargetName = "other.contoso.test" },
			func(q *Params) { q.Realm = "Other" },
			func(q *Params) { q.Scheme = TLSDSK },
		} {
			q := p
			mut(&q)
			if err := server.Verify(req, q); !errors.Is(err, ErrMismatch) {
				t.Errorf("%+v: %v", q, err)
			}
		}
	})
	t.Run("wrong keys", func(t *testing.T) {
		resp, _ := server.Sign(okFor(req))
		// A server signature checked with client keys of an unrelated session.
		c2 := NewClientSA(SAConfig{})
		_ = c2.Begin(Params{Scheme: NTLM, Realm: realm, TargetName: "pool.contoso.test", Version: 4})
		_ = c2.Establish(NTLMMechanism(ntlm.SessionFromKey(ntlm.FlagDatagram|ntlm.FlagExtendedSessionSecurity|ntlm.FlagKeyExch, make([]byte, 16), true)), "1E3A4F2C")
		if err := c2.Verify(okFor(req), resp); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestSAIllegal(t *testing.T) {
	sa := NewClientSA(SAConfig{})
	if _, err := sa.Sign(register(1)); !errors.Is(err, ErrState) {
		t.Errorf("sign while idle: %v", err)
	}
	if err := sa.Verify(register(1), Params{Scheme: NTLM}); !errors.Is(err, ErrState) {
		t.Errorf("verify while idle: %v", err)
	}
	if err := sa.Establish(nil, ""); !errors.Is(err, ErrState) {
		t.Errorf("keys while idle: %v", err)
	}
	client, _, _ := pair(t, 4)
	client.Fail()
	if _, err := client.Sign(register(1)); !errors.Is(err, ErrState) {
		t.Errorf("sign after fail: %v", err)
	}
	client.Reset()
	if client.State() != StateIdle || client.Opaque() != "" {
		t.Errorf("after reset: %v", client)
	}
	// After a reset the next handshake starts from cnum 1 again.
	if err := client.Begin(Params{Scheme: NTLM}); err != nil {
		t.Fatal(err)
	}
	_ = client.Establish(NTLMMechanism(ntlm.SessionFromKey(ntlm.FlagDatagram|ntlm.FlagExtendedSessionSecurity, make([]byte, 16), true)), "X")
	if p, err := client.Sign(register(1)); err != nil || p.Cnum != "1" {
		t.Errorf("after reset: %+v %v", p, err)
	}
}

func TestSAMatches(t *testing.T) {
	client, _, _ := pair(t, 4)
	if !client.Matches(Params{Scheme: NTLM, Realm: realm, TargetName: "pool.contoso.test"}) {
		t.Error("own key does not match")
	}
	if client.Matches(Params{Scheme: Kerberos, Realm: realm, TargetName: "sip/pool.contoso.test"}) {
		t.Error("Kerberos key matches the NTLM SA")
	}
	if client.Role() != RoleClient || client.Version() != 4 {
		t.Error("role/version")
	}
}
