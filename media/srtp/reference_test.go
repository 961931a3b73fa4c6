package srtp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/binary"
	"hash"
)

// A from-the-RFC AES_CM_128_HMAC_SHA1_80 reference (RFC 3711 §4.1.1, §4.2,
// §4.3) used to check the pion-backed Session against Appendix B, and as the
// "stdlib floor" in the benchmark (PERFORMANCE.md §6 B1).

// deriveKey is the AES-CM PRF of RFC 3711 §4.3.1 with KDR 0 (index/KDR = 0).
func deriveKey(master, salt []byte, label byte, n int) []byte {
	var iv [16]byte
	copy(iv[:14], salt)
	iv[7] ^= label // x = label‖(index DIV kdr) (48 bits) XOR salt, shifted left 16 bits
	block, err := aes.NewCipher(master)
	if err != nil {
		panic(err) // test helper: fixed-size keys
	}
	out := make([]byte, n)
	cipher.NewCTR(block, iv[:]).XORKeyStream(out, out)
	return out
}

type sessionKeys struct{ encKey, salt, authKey []byte }

func deriveSessionKeys(master, salt []byte, rtcp bool) sessionKeys {
	var base byte
	if rtcp {
		base = 3
	}
	return sessionKeys{
		encKey:  deriveKey(master, salt, base+0, 16),
		authKey: deriveKey(master, salt, base+1, 20),
		salt:    deriveKey(master, salt, base+2, 14),
	}
}

type refProtector struct {
	keys  sessionKeys
	block cipher.Block
	mac   hash.Hash
	mki   []byte
	roc   uint32
	sum   [20]byte
}

func newRefProtector(master, salt, mki []byte) *refProtector {
	k := deriveSessionKeys(master, salt, false)
	b, err := aes.NewCipher(k.encKey)
	if err != nil {
		panic(err)
	}
	return &refProtector{keys: k, block: b, mac: hmac.New(sha1.New, k.authKey), mki: mki}
}

// protect implements RFC 3711 §3.3 for a packet without CSRC/extension
// (12-byte header), ROC fixed at p.roc.
func (p *refProtector) protect(dst, pkt []byte) []byte {
	dst = append(dst[:0], pkt...)
	ssrc := binary.BigEndian.Uint32(pkt[8:12])
	seq := binary.BigEndian.Uint16(pkt[2:4])
	index := uint64(p.roc)<<16 | uint64(seq)
	// IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16) (§4.1.1)
	var iv [16]byte
	copy(iv[:14], p.keys.salt)
	var x [16]byte
	binary.BigEndian.PutUint32(x[4:8], ssrc)
	binary.BigEndian.PutUint64(x[6:14], binary.BigEndian.Uint64(x[6:14])^index<<16>>16) // i occupies bytes 8..13
	for i := range iv {
		iv[i] ^= x[i]
	}
	cipher.NewCTR(p.block, iv[:]).XORKeyStream(dst[12:], dst[12:])
	p.mac.Reset()
	p.mac.Write(dst)
	var roc [4]byte
	binary.BigEndian.PutUint32(roc[:], p.roc)
	p.mac.Write(roc[:])
	tag := p.mac.Sum(p.sum[:0])[:10]
	dst = append(dst, p.mki...)
	return append(dst, tag...)
}
