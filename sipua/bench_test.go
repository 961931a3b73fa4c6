package sipua_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"testing"

	"github.com/handset-dev/handset/labfe/labfetest"
	"github.com/handset-dev/handset/sipua"
)

// BenchmarkSignInLabfe: one full sign-in (TLS dial + 3 REGISTERs with NTLM
// and signing) and Close per iteration against a co-located labfe
// (PERFORMANCE.md B4b; the wall time includes labfe's side).
func BenchmarkSignInLabfe(b *testing.B) {
	fe := labfetest.Start(b)
	roots := &tls.Config{RootCAs: fe.CAPool()}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		cfg := aliceConfig()
		cfg.Epid = fmt.Sprintf("%010x", i)
		i++
		h, err := sipua.New(cfg, sipua.WithTLSConfig(roots), sipua.WithDialAddr(fe.Addr()))
		if err != nil {
			b.Fatal(err)
		}
		if err := h.Register(context.Background()); err != nil {
			b.Fatal(err)
		}
		_ = h.Close()
	}
}
