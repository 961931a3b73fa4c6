package rtp

// G.711 µ-law and A-law companding (ITU-T G.711, the segment/mantissa
// encoding also given in Sun's public-domain g711.c).

const ulawBias = 0x84
const ulawClip = 32635

// ULaw encodes one linear 16-bit sample as µ-law.
func ULaw(s int16) byte {
	v := int(s)
	sign := 0
	if v < 0 {
		v, sign = -v, 0x80
	}
	if v > ulawClip {
		v = ulawClip
	}
	v += ulawBias
	exp := 7
	for mask := 0x4000; v&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (v >> (exp + 3)) & 0x0F
	return ^byte(sign | exp<<4 | mant)
}

// ULawDecode decodes one µ-law byte.
func ULawDecode(u byte) int16 {
	u = ^u
	sign := u & 0x80
	exp := int(u>>4) & 7
	mant := int(u & 0x0F)
	v := ((mant << 3) + ulawBias) << exp
	v -= ulawBias
	if sign != 0 {
		return int16(-v)
	}
	return int16(v)
}

// ALaw encodes one linear 16-bit sample as A-law.
func ALaw(s int16) byte {
	v := int(s) >> 3 // A-law works on 13-bit magnitudes
	sign := 0x80
	if v < 0 {
		v, sign = -v-1, 0
	}
	var out int
	if v < 32 {
		out = v >> 1
	} else {
		exp := 1
		for t := v >> 5; t > 1 && exp < 7; t >>= 1 {
			exp++
		}
		if v >= 4096 {
			v = 4095
			exp = 7
		}
		out = exp<<4 | (v>>exp)&0x0F
	}
	return byte(out|sign) ^ 0x55
}

// ALawDecode decodes one A-law byte.
func ALawDecode(a byte) int16 {
	a ^= 0x55
	exp := int(a>>4) & 7
	mant := int(a & 0x0F)
	var v int
	if exp == 0 {
		v = mant<<4 + 8
	} else {
		v = (mant<<4 + 0x108) << (exp - 1)
	}
	if a&0x80 == 0 {
		return int16(-v)
	}
	return int16(v)
}
