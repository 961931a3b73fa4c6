package labfetest_test

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/labfe"
	"github.com/handset-dev/handset/labfe/labfetest"
)

func TestStart(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := labfetest.Start(t,
		labfetest.WithUsers(labfe.GenerateUsers(3, "contoso.test")...),
		labfetest.WithConfig(func(c *labfe.Config) { c.RegisterExpiry = time.Minute }),
		labfetest.WithServerOptions(labfe.WithRand(testutil.NewReader(1))))
	if got := fe.Config().RegisterExpiry; got != time.Minute {
		t.Errorf("expiry %v", got)
	}
	if len(fe.Stats().Users) != 3 {
		t.Errorf("users %v", fe.Stats().Users)
	}
	c, err := tls.Dial("tcp", fe.Addr(), &tls.Config{RootCAs: fe.CAPool(), ServerName: "pool.contoso.test", MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
}
