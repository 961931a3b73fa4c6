package sipua

import "github.com/handset-dev/handset/auth/sipae"

// signer is the MS-SIPAE mechanism of an SA (sipae.NTLMMechanism): Sign with
// the client keys, Verify with the server keys, over a §2.3 buffer.
type signer = sipae.Mechanism

// authenticator runs the client's only NTLM computation in connectionless
// mode: CHALLENGE (from the second 401) → AUTHENTICATE plus the session's
// mechanism (protocols.md §3, §4). Every call starts a fresh session.
type authenticator interface {
	Authenticate(challenge []byte) (authMsg []byte, s signer, err error)
}

// authenticatorFunc adapts a function.
type authenticatorFunc func(challenge []byte) ([]byte, signer, error)

func (f authenticatorFunc) Authenticate(c []byte) ([]byte, signer, error) { return f(c) }
