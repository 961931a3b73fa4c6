package sipua

import (
	"errors"
	"io"
	"time"
)

// newNTLMAuthenticator wires auth/ntlm + auth/sipae.
//
// TODO(ntlm): integrate ntlm.Authenticate + sipae.NTLMMechanism as soon as
// auth/ntlm and auth/sipae land.
func newNTLMAuthenticator(cfg Config, rnd io.Reader, now func() time.Time) authenticator {
	return authenticatorFunc(func([]byte) ([]byte, signer, error) {
		return nil, nil, errors.New("sipua: ntlm not available yet")
	})
}
