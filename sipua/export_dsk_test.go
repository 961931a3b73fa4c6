package sipua

import (
	"crypto/rsa"
	"io"
)

// WithCertKeyForTest makes certificate provisioning reuse key instead of
// generating an RSA-2048 key per request (one generation costs ~100 ms).
func WithCertKeyForTest(key *rsa.PrivateKey) Option {
	return func(h *Handset) error {
		h.certs.newKey = func(io.Reader) (*rsa.PrivateKey, error) { return key, nil }
		return nil
	}
}

// WithDSKTamperForTest rewrites TLS-DSK flights: out=true for the
// handset's flight of round trip round before it is sent, false for the
// server's flight before the handset reads it.
func WithDSKTamperForTest(f func(out bool, round int, flight []byte) []byte) Option {
	return func(h *Handset) error { h.certs.tamper = f; return nil }
}
