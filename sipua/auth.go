package sipua

import (
	"crypto/sha1" //nolint:gosec // MS-SIPRE instance derivation is defined with SHA-1
	"fmt"
	"strings"
)

// signer is the MS-SIPAE security association's signing half
// (sipae.NTLMMechanism(sess)): Sign with the client keys, Verify with the
// server keys, over a §2.3 signature buffer.
type signer interface {
	Sign(buf []byte) (string, error)
	Verify(buf []byte, sig string) error
}

// authenticator runs the client's only NTLM computation in connectionless
// mode: CHALLENGE (from the second 401) → AUTHENTICATE plus the session's
// signer (protocols.md §3, §4). Every call starts a fresh session.
type authenticator interface {
	Authenticate(challenge []byte) (authMsg []byte, s signer, err error)
}

// authenticatorFunc adapts a function.
type authenticatorFunc func(challenge []byte) ([]byte, signer, error)

func (f authenticatorFunc) Authenticate(c []byte) ([]byte, signer, error) { return f(c) }

// instanceNamespace is fcacfb03-8a73-46ef-91b1-e5ebeeaba4fe with its first
// three fields little-endian (protocols.md §1.3, MS-SIPRE).
var instanceNamespace = []byte{
	0x03, 0xfb, 0xac, 0xfc, 0x73, 0x8a, 0xef, 0x46,
	0x91, 0xb1, 0xe5, 0xeb, 0xee, 0xab, 0xa4, 0xfe,
}

// instanceFromEpid derives +sip.instance from the epid as the server checks
// it (MS-SIPAE 3.3.5.2; algorithm and vectors in protocols.md §1.3).
//
// TODO(sipae): use sipae.InstanceFromEpid once it lands.
func instanceFromEpid(epid string) string {
	h := sha1.New() //nolint:gosec // see import
	h.Write(instanceNamespace)
	h.Write([]byte(epid))
	sum := h.Sum(nil)[:16]
	// Fields 1-3 are read little-endian.
	d1 := uint32(sum[0]) | uint32(sum[1])<<8 | uint32(sum[2])<<16 | uint32(sum[3])<<24
	d2 := uint16(sum[4]) | uint16(sum[5])<<8
	d3 := uint16(sum[6]) | uint16(sum[7])<<8
	d3 = d3&0x0fff | 0x5000
	b8 := sum[8]&0x3f | 0x80
	return strings.ToUpper(fmt.Sprintf("%08x-%04x-%04x-%02x%02x-%x", d1, d2, d3, b8, sum[9], sum[10:16]))
}
