package webticket

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // WS-Trust 1.3 §4.4.4 PSHA1 is defined on SHA-1.
)

// PSHA1 is the WS-Trust computed-key algorithm
// (http://docs.oasis-open.org/ws-sx/ws-trust/200512/CK/PSHA1, WS-Trust 1.3
// §4.4.4): P_SHA-1 of RFC 2246 §5 with secret = the requestor's entropy and
// seed = the issuer's entropy, n bytes. The web ticket's proof key is
// PSHA1(client entropy, server entropy, 32) (protocols.md §6.2 step 5).
func PSHA1(secret, seed []byte, n int) []byte {
	out := make([]byte, 0, n+sha1.Size)
	a := seed
	for len(out) < n {
		m := hmac.New(sha1.New, secret)
		m.Write(a)
		a = m.Sum(nil)
		m.Reset()
		m.Write(a)
		m.Write(seed)
		out = m.Sum(out)
	}
	return out[:n]
}
