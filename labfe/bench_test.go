package labfe_test

import (
	"fmt"
	"testing"

	"github.com/handset-dev/handset/labfe"
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
