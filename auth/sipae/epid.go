package sipae

import (
	"crypto/sha1" //nolint:gosec // MS-SIPRE defines the instance derivation with SHA-1
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

// instanceNamespace is fcacfb03-8a73-46ef-91b1-e5ebeeaba4fe with its first
// three fields little-endian (protocols.md §1.3).
var instanceNamespace = [16]byte{
	0x03, 0xfb, 0xac, 0xfc, 0x73, 0x8a, 0xef, 0x46,
	0x91, 0xb1, 0xe5, 0xeb, 0xee, 0xab, 0xa4, 0xfe,
}

// InstanceFromEpid derives the +sip.instance UUID (uppercase, without
// "urn:uuid:") from the epid, the way the server validates it (MS-SIPAE
// 3.3.5.2 via MS-SIPRE; vectors MS-SIPAE 4.1 and 4.2): a version-5 style
// UUID over namespace ‖ epid whose first three fields are read
// little-endian.
func InstanceFromEpid(epid string) string {
	h := sha1.New() //nolint:gosec // see import
	h.Write(instanceNamespace[:])
	h.Write([]byte(epid))
	s := h.Sum(nil)[:16]
	d1 := uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
	d2 := uint16(s[4]) | uint16(s[5])<<8
	d3 := (uint16(s[6])|uint16(s[7])<<8)&0x0fff | 0x5000
	b8 := s[8]&0x3f | 0x80
	return strings.ToUpper(fmt.Sprintf("%08x-%04x-%04x-%02x%02x-%s", d1, d2, d3, b8, s[9], hex.EncodeToString(s[10:16])))
}

// NewEpid returns a fresh epid: 10 lowercase hex characters, as Microsoft
// clients use (protocols.md §1.3). It returns "" if r fails.
func NewEpid(r io.Reader) string {
	var b [5]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return ""
	}
	return hex.EncodeToString(b[:])
}
