package certrenew

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"sync/atomic"
)

// Store holds the handset's current user certificate. Readers (the TLS-DSK
// handshake through GetClientCertificate) never block and always see either
// the old or the new certificate, never a mix: Swap replaces it atomically.
// The zero value is an empty store, ready to use.
type Store struct {
	cur atomic.Pointer[tls.Certificate]
}

// Current returns the current certificate, or nil when there is none. Its
// Leaf is always set. Callers must not modify it.
func (s *Store) Current() *tls.Certificate { return s.cur.Load() }

// Leaf returns the parsed leaf of the current certificate, or nil.
func (s *Store) Leaf() *x509.Certificate {
	if c := s.cur.Load(); c != nil {
		return c.Leaf
	}
	return nil
}

// Swap makes c the current certificate and returns the previous one (nil if
// none). c must hold a certificate chain and a private key; its Leaf is
// parsed if missing. Store keeps its own shallow copy.
func (s *Store) Swap(c *tls.Certificate) (*tls.Certificate, error) {
	if c == nil || len(c.Certificate) == 0 {
		return nil, fmt.Errorf("certrenew: swap: %w", ErrNoCertificate)
	}
	if c.PrivateKey == nil {
		return nil, fmt.Errorf("certrenew: swap: %w", errNoKey)
	}
	cp := *c
	if cp.Leaf == nil {
		leaf, err := x509.ParseCertificate(cp.Certificate[0])
		if err != nil {
			return nil, fmt.Errorf("certrenew: swap: parse leaf: %w", err)
		}
		cp.Leaf = leaf
	}
	return s.cur.Swap(&cp), nil
}

// GetClientCertificate is a tls.Config.GetClientCertificate hook that offers
// the current certificate, so a TLS-DSK handshake started after a renewal
// uses the new one without rebuilding the tls.Config.
func (s *Store) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	c := s.cur.Load()
	if c == nil {
		return nil, fmt.Errorf("certrenew: client certificate: %w", ErrNoCertificate)
	}
	return c, nil
}
