// Package labfetest gives tests a running lab front end in one call.
package labfetest

import (
	"context"
	"testing"

	"github.com/handset-dev/handset/labfe"
)

// Option adjusts the Config or Server options of Start.
type Option func(*labfe.Config, *[]labfe.Option)

// WithConfig lets the caller edit the Config (defaults: loopback
// ephemeral port, contoso.test / pool.contoso.test, DefaultUsers).
func WithConfig(fn func(*labfe.Config)) Option {
	return func(c *labfe.Config, _ *[]labfe.Option) { fn(c) }
}

// WithUsers sets the users.
func WithUsers(u ...labfe.User) Option {
	return func(c *labfe.Config, _ *[]labfe.Option) { c.Users = u }
}

// WithServerOptions passes labfe options (WithLogger, WithRand, WithClock).
func WithServerOptions(o ...labfe.Option) Option {
	return func(_ *labfe.Config, opts *[]labfe.Option) { *opts = append(*opts, o...) }
}

// Start runs a front end on 127.0.0.1 with a generated CA and the built-in
// users (alice, bob @contoso.test, password Passw0rd!) unless told
// otherwise. It is closed, and its goroutines waited for, by t.Cleanup.
func Start(t testing.TB, opts ...Option) *labfe.Server {
	t.Helper()
	cfg := labfe.Config{ListenAddr: "127.0.0.1:0"}
	var sopts []labfe.Option
	for _, o := range opts {
		o(&cfg, &sopts)
	}
	s, err := labfe.New(cfg, sopts...)
	if err != nil {
		t.Fatalf("labfetest: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := s.Close(); err != nil {
			t.Errorf("labfetest: close: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("labfetest: serve: %v", err)
		}
	})
	return s
}
