package labfe_test

import (
	"fmt"
	"testing"

	"github.com/handset-dev/handset/labfe"
	"github.com/handset-dev/handset/labfe/internal/sipmsg"
	"github.com/handset-dev/handset/labfe/labfetest"
)

// BenchmarkSignIn measures one full sign-in against labfe: TLS handshake,
// the three REGISTERs of the NTLM flow, signing both ways. Client and
// server share the process, so ns/op is the sum of both sides.
func BenchmarkSignIn(b *testing.B) {
	for _, rsa := range []bool{false, true} {
		b.Run(fmt.Sprintf("rsa=%v", rsa), func(b *testing.B) {
			users := labfe.GenerateUsers(b.N, "contoso.test")
			fe := labfetest.Start(b, labfetest.WithUsers(users...), labfetest.WithConfig(func(c *labfe.Config) { c.RSACert = rsa }))
			b.ResetTimer()
			for i := range b.N {
				u := users[i]
				c := dial(b, fe, u.AOR(), fmt.Sprintf("%010x", i))
				c.mustRegister(u.UserID, u.Password.Reveal())
				_ = c.conn.Close()
			}
		})
	}
}

// BenchmarkCallThroughLabfe measures one call set up and torn down through
// labfe between two signed-in raw clients (PERFORMANCE.md B6, the labfe
// side): INVITE with SDP, 100, 200, ACK, BYE, 200, every hop verified and
// re-signed by labfe and signed by the clients. One call at a time, so
// ns/op is the round-trip bound; client and server share the process.
func BenchmarkCallThroughLabfe(b *testing.B) {
	fe := labfetest.Start(b)
	a := dial(b, fe, "alice@contoso.test", "8248ca9ebb")
	a.mustRegister("alice", pw)
	bob := dial(b, fe, "bob@contoso.test", "2ebb6f264f")
	bob.mustRegister("bob", pw)
	next := func(c *client, want string) *sipmsg.Message {
		m := c.read()
		if m == nil {
			b.Fatalf("%s: flow closed waiting for %s", c.aor, want)
		}
		got := m.Method
		if !m.IsRequest() {
			got = fmt.Sprint(m.StatusCode)
		}
		if got != want {
			b.Fatalf("%s: got %s, want %s", c.aor, got, want)
		}
		return m
	}
	b.ResetTimer()
	for i := range b.N {
		id := fmt.Sprintf("bench-%d", i)
		inv := request("INVITE", "sip:bob@contoso.test", "<sip:alice@contoso.test>;tag=a"+id, "<sip:bob@contoso.test>", id, 1, "")
		inv.Add("Content-Type", "application/sdp")
		inv.Body = []byte(offer)
		a.sign(inv)
		a.send(inv)
		next(a, "100")
		in := next(bob, "INVITE")
		ok := answer(in, 200, "OK", "b"+id, "")
		bob.sign(ok)
		bob.send(ok)
		next(a, "200")
		to := "<sip:bob@contoso.test>;tag=b" + id
		ack := inDialog("ACK", "sip:bob@contoso.test", "<sip:alice@contoso.test>;tag=a"+id, to, id, 1)
		a.sign(ack)
		a.send(ack)
		next(bob, "ACK")
		bye := inDialog("BYE", "sip:bob@contoso.test", "<sip:alice@contoso.test>;tag=a"+id, to, id, 2)
		a.sign(bye)
		a.send(bye)
		in = next(bob, "BYE")
		done := answer(in, 200, "OK", "", "")
		done.Set("To", in.Value("To"))
		bob.sign(done)
		bob.send(done)
		next(a, "200")
	}
	b.StopTimer()
	if st := fe.Stats(); st.Dialogs != 0 || st.Pending != 0 {
		b.Fatalf("state left: %+v", st)
	}
}
