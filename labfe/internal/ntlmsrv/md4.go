package ntlmsrv

import (
	"encoding/binary"
	"math/bits"
)

// md4 is RFC 1320 MD4, needed only for NTOWF (MS-NLMP 3.3.2). The standard
// library has none and labfe takes no module dependency for 40 lines.
func md4(msg []byte) []byte {
	a, b, c, d := uint32(0x67452301), uint32(0xefcdab89), uint32(0x98badcfe), uint32(0x10325476)
	n := len(msg)
	p := append([]byte{}, msg...)
	p = append(p, 0x80)
	for len(p)%64 != 56 {
		p = append(p, 0)
	}
	p = binary.LittleEndian.AppendUint64(p, uint64(n)*8) //nolint:gosec // length in bits
	var x [16]uint32
	for blk := 0; blk < len(p); blk += 64 {
		for i := range x {
			x[i] = binary.LittleEndian.Uint32(p[blk+4*i:])
		}
		aa, bb, cc, dd := a, b, c, d
		f := func(x, y, z uint32) uint32 { return x&y | ^x&z }
		g := func(x, y, z uint32) uint32 { return x&y | x&z | y&z }
		h := func(x, y, z uint32) uint32 { return x ^ y ^ z }
		r1 := [4]int{3, 7, 11, 19}
		for i := 0; i < 16; i++ {
			v := a + f(b, c, d) + x[i]
			a, b, c, d = d, bits.RotateLeft32(v, r1[i%4]), b, c
		}
		r2 := [4]int{3, 5, 9, 13}
		for i := 0; i < 16; i++ {
			k := (i%4)*4 + i/4
			v := a + g(b, c, d) + x[k] + 0x5a827999
			a, b, c, d = d, bits.RotateLeft32(v, r2[i%4]), b, c
		}
		r3 := [4]int{3, 9, 11, 15}
		order := [16]int{0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15}
		for i := 0; i < 16; i++ {
			v := a + h(b, c, d) + x[order[i]] + 0x6ed9eba1
			a, b, c, d = d, bits.RotateLeft32(v, r3[i%4]), b, c
		}
		a, b, c, d = a+aa, b+bb, c+cc, d+dd
	}
	out := binary.LittleEndian.AppendUint32(nil, a)
	out = binary.LittleEndian.AppendUint32(out, b)
	out = binary.LittleEndian.AppendUint32(out, c)
	return binary.LittleEndian.AppendUint32(out, d)
}
