package sipua

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
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
