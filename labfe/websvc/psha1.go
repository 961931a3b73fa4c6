package websvc

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // WS-Trust 1.3 §4.4.4 PSHA1 is defined on SHA-1.
)

// pSHA1 is the issuer's side of the WS-Trust PSHA1 computed key (WS-Trust
// 1.3 §4.4.4, RFC 2246 §5 P_SHA-1): key = P_SHA1(requestor entropy, issuer
// entropy). Written here independently of the handset's implementation; the
// end-to-end test shows both agree.
func pSHA1(secret, seed []byte, n int) []byte {
	var out []byte
	a := hmacSHA1(secret, seed)
	for len(out) < n {
		out = append(out, hmacSHA1(secret, append(append([]byte(nil), a...), seed...))...)
		a = hmacSHA1(secret, a)
	}
	return out[:n]
}

func hmacSHA1(key, msg []byte) []byte {
	m := hmac.New(sha1.New, key)
	m.Write(msg)
	return m.Sum(nil)
}
