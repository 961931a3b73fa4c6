package tlsdsk

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"  //nolint:gosec // RFC 2246 §5: the TLS 1.0/1.1 PRF is MD5 ⊕ SHA-1.
	"crypto/sha1" //nolint:gosec // RFC 2246 §5.
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"hash"
	"sync"
)

// pHash is P_hash of RFC 5246 §5.
func pHash(h func() hash.Hash, secret, seed []byte, n int) []byte {
	out := make([]byte, 0, n)
	m := hmac.New(h, secret)
	m.Write(seed)
	a := m.Sum(nil)
	for len(out) < n {
		m.Reset()
		m.Write(a)
		m.Write(seed)
		out = m.Sum(out)
		m.Reset()
		m.Write(a)
		a = m.Sum(nil)
	}
	return out[:n]
}

// prf is the TLS PRF of the negotiated version: RFC 2246 §5 (MD5 ⊕ SHA-1
// over the split secret) for TLS 1.0/1.1, RFC 5246 §5 P_SHA256 for TLS 1.2
// (every suite SuiteMAC accepts uses the SHA-256 PRF).
func prf(version uint16, secret []byte, label string, seed []byte, n int) []byte {
	ls := append([]byte(label), seed...)
	if version >= tls.VersionTLS12 {
		return pHash(sha256.New, secret, ls, n)
	}
	half := (len(secret) + 1) / 2
	a := pHash(md5.New, secret[:half], ls, n)
	b := pHash(sha1.New, secret[len(secret)-half:], ls, n)
	for i := range a {
		a[i] ^= b[i]
	}
	return a
}

// keyLog receives crypto/tls's NSS key log lines (tls.Config.KeyLogWriter)
// in memory, to recover the master secret when Extended Master Secret was
// not negotiated and ExportKeyingMaterial refuses (see the package comment).
type keyLog struct {
	mu           sync.Mutex
	clientRandom []byte
	master       []byte
}

func (k *keyLog) Write(p []byte) (int, error) {
	f := bytes.Fields(p)
	if len(f) == 3 && string(f[0]) == "CLIENT_RANDOM" {
		cr, err1 := hex.DecodeString(string(f[1]))
		ms, err2 := hex.DecodeString(string(f[2]))
		if err1 == nil && err2 == nil {
			k.mu.Lock()
			k.clientRandom, k.master = cr, ms
			k.mu.Unlock()
		}
	}
	return len(p), nil
}

func (k *keyLog) get() (cr, ms []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.clientRandom, k.master
}

// serverHelloRandom finds ServerHello.random in a flight's plaintext
// handshake records (RFC 5246 §7.4.1.3: type 2, length, version, random).
// Only called before ChangeCipherSpec, so no ciphertext is mistaken for it.
func serverHelloRandom(flight []byte) []byte {
	recs, err := ParseRecords(flight)
	if err != nil {
		return nil
	}
	for _, r := range recs {
		if r.Type == RecordChangeCipherSpec {
			return nil
		}
		if r.Type == RecordHandshake && len(r.Payload) >= 38 && r.Payload[0] == 2 {
			return append([]byte(nil), r.Payload[6:38]...)
		}
	}
	return nil
}
