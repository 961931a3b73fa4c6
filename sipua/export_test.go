package sipua

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"sync"
	"testing"
	"time"
)

// WithTamperedSignatures makes every signature the handset sends wrong
// (real NTLM underneath), for the external e2e tests against labfe.
func WithTamperedSignatures() Option {
	return func(h *Handset) error {
		h.auth = authenticatorFunc(func(c []byte) ([]byte, signer, error) {
			m, s, err := newNTLMAuthenticator(h.cfg, h.rand, h.now).Authenticate(c)
			if err != nil {
				return nil, nil, err
			}
			return m, tamperSigner{s}, nil
		})
		return nil
	}
}

// ServerTLSForTest returns a server TLS config with a certificate for hosts
// from a fresh test CA, and that CA's pool.
func ServerTLSForTest(t *testing.T, hosts ...string) (*tls.Config, *x509.CertPool) {
	ca := newTestCA(t, hosts...)
	return &tls.Config{Certificates: []tls.Certificate{ca.cert}, MinVersion: tls.VersionTLS12}, ca.pool
}

// FakeRecoveryClock is a recovery time source for Run that never sleeps:
// each backoff wait advances it and returns at once, so the retry timing is
// asserted exactly (from EventBackoff) without waiting for it.
type FakeRecoveryClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewFakeRecoveryClock starts at t0.
func NewFakeRecoveryClock(t0 time.Time) *FakeRecoveryClock { return &FakeRecoveryClock{t: t0} }

func (c *FakeRecoveryClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *FakeRecoveryClock) wait(ctx context.Context, closing <-chan struct{}, d time.Duration) bool {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
	select {
	case <-ctx.Done():
		return false
	case <-closing:
		return false
	default:
		return true
	}
}

// WithRecoveryClock makes Run wait on c instead of real timers.
func WithRecoveryClock(c *FakeRecoveryClock) Option { return withRecoveryClock(c) }
