package sdp

import (
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"math/bits"
	"strconv"
	"strings"
)

// Crypto suites (RFC 4568 §6.2). Lync uses only AES_CM_128_HMAC_SHA1_80
// (protocols.md §10.3); _32 is parsed so that an answerer can skip it.
const (
	SuiteAES128SHA1_80 = "AES_CM_128_HMAC_SHA1_80"
	SuiteAES128SHA1_32 = "AES_CM_128_HMAC_SHA1_32"
)

// KeyLen is the inline key length for the AES_CM_128 suites: 16-byte master
// key followed by a 14-byte master salt (RFC 4568 §6.2.1).
const KeyLen = 30

// DefaultLifetime is Lync's and the handset's key lifetime, 2^31 packets
// (sec.srtp.key.lifetime default).
const DefaultLifetime uint64 = 1 << 31

// Crypto is one a=crypto attribute (RFC 4568 §9.1) with a single inline key.
// Key holds the 30 bytes of master key ‖ master salt; it is a secret and
// String/LogValue redact it. Lifetime 0 means "not written"; MKILen 0 means
// "no MKI".
type Crypto struct {
	Tag      uint32
	Suite    string
	Key      []byte
	Lifetime uint64
	MKI      uint32
	MKILen   int
	// Params holds session parameters after the key (e.g. UNENCRYPTED_SRTCP).
	Params []string
}

// HasMKI reports whether the line carries an MKI.
func (c Crypto) HasMKI() bool { return c.MKILen > 0 }

// MKIBytes returns the MKI as it appears on the wire: MKILen bytes, big
// endian (RFC 3711 §3.1), or nil without MKI.
func (c Crypto) MKIBytes() []byte {
	if c.MKILen == 0 {
		return nil
	}
	b := make([]byte, c.MKILen)
	v := c.MKI
	for i := c.MKILen - 1; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
	return b
}

// MasterKey returns the 16-byte master key part of Key.
func (c Crypto) MasterKey() []byte { return c.Key[:16] }

// MasterSalt returns the 14-byte master salt part of Key.
func (c Crypto) MasterSalt() []byte { return c.Key[16:] }

// Value is the attribute value as written on the wire, with the key:
// `1 AES_CM_128_HMAC_SHA1_80 inline:KEY|2^31|1:1`. Use it only for SDP bodies.
func (c Crypto) Value() string {
	var b strings.Builder
	b.WriteString(strconv.FormatUint(uint64(c.Tag), 10))
	b.WriteByte(' ')
	b.WriteString(c.Suite)
	b.WriteString(" inline:")
	b.WriteString(base64.StdEncoding.EncodeToString(c.Key))
	c.writeTail(&b)
	return b.String()
}

func (c Crypto) writeTail(b *strings.Builder) {
	if c.Lifetime != 0 {
		b.WriteByte('|')
		b.WriteString(formatLifetime(c.Lifetime))
	}
	if c.MKILen > 0 {
		b.WriteByte('|')
		b.WriteString(strconv.FormatUint(uint64(c.MKI), 10))
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(c.MKILen))
	}
	for _, p := range c.Params {
		b.WriteByte(' ')
		b.WriteString(p)
	}
}

// String prints the line with the key redacted.
func (c Crypto) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s inline:[redacted]", c.Tag, c.Suite)
	c.writeTail(&b)
	return b.String()
}

// LogValue redacts the key in slog output.
func (c Crypto) LogValue() slog.Value { return slog.StringValue(c.String()) }

// GoString redacts the key in %#v output.
func (c Crypto) GoString() string { return "sdp.Crypto{" + c.String() + "}" }

func formatLifetime(v uint64) string {
	if v&(v-1) == 0 {
		return "2^" + strconv.Itoa(bits.TrailingZeros64(v))
	}
	return strconv.FormatUint(v, 10)
}

// ParseCrypto parses an a=crypto value (without "a=crypto:"). MS-SDPEXT
// requires exactly one space between fields; anything else is rejected, as
// are the RELIABILITY.md P6 cases (non-base64 or non-30-byte key, unknown
// suite, MKI length 0 or > 4, MKI value ≥ 256^len, lifetime not a power of 2
// in 2^10..2^48).
func ParseCrypto(v string) (Crypto, error) {
	var c Crypto
	fields := strings.Split(v, " ")
	if len(fields) < 3 {
		return c, &CryptoError{Field: "syntax", Err: fmt.Errorf("%w: want \"tag suite key-params\"", ErrCryptoSyntax)}
	}
	tagText := fields[0]
	tag, err := strconv.ParseUint(tagText, 10, 32)
	if err != nil || len(tagText) > 9 || tagText[0] == '+' {
		return c, &CryptoError{Tag: tagText, Field: "tag", Err: fmt.Errorf("%w: tag must be 1-9 digits", ErrCryptoSyntax)}
	}
	c.Tag = uint32(tag)
	tagErr := func(field string, err error) error { return &CryptoError{Tag: tagText, Field: field, Err: err} }
	c.Suite = fields[1]
	if c.Suite != SuiteAES128SHA1_80 && c.Suite != SuiteAES128SHA1_32 {
		return c, tagErr("suite", fmt.Errorf("%w: %q", ErrUnknownSuite, truncate(c.Suite)))
	}
	kp, ok := strings.CutPrefix(fields[2], "inline:")
	if !ok {
		return c, tagErr("key", fmt.Errorf("%w: key method must be inline", ErrCryptoSyntax))
	}
	if strings.Contains(kp, ";") {
		return c, tagErr("key", fmt.Errorf("%w: only one inline key is supported", ErrCryptoSyntax))
	}
	parts := strings.Split(kp, "|")
	if len(parts) > 3 {
		return c, tagErr("key", fmt.Errorf("%w: too many '|' fields", ErrCryptoSyntax))
	}
	key, err := base64.StdEncoding.Strict().DecodeString(parts[0])
	if err != nil {
		return c, tagErr("key", ErrKeyEncoding)
	}
	if len(key) != KeyLen {
		return c, tagErr("key", fmt.Errorf("%w: got %d", ErrKeyLength, len(key)))
	}
	c.Key = key
	rest := parts[1:]
	// RFC 4568 §9.1: lifetime and MKI are both optional; an MKI contains ':'.
	if len(rest) > 0 && !strings.Contains(rest[0], ":") {
		lt, err := parseLifetime(rest[0])
		if err != nil {
			return c, tagErr("lifetime", err)
		}
		c.Lifetime = lt
		rest = rest[1:]
	}
	if len(rest) > 0 {
		mki, mlen, err := parseMKI(rest[0])
		if err != nil {
			return c, tagErr("mki", err)
		}
		c.MKI, c.MKILen = mki, mlen
		rest = rest[1:]
	}
	if len(rest) > 0 {
		return c, tagErr("key", fmt.Errorf("%w: unexpected %q", ErrCryptoSyntax, truncate(rest[0])))
	}
	for _, p := range fields[3:] {
		if p == "" || strings.ContainsAny(p, "\r\n\t") {
			return c, tagErr("syntax", fmt.Errorf("%w: empty session parameter (double space?)", ErrCryptoSyntax))
		}
		c.Params = append(c.Params, p)
	}
	return c, nil
}

func parseLifetime(s string) (uint64, error) {
	var v uint64
	if exp, ok := strings.CutPrefix(s, "2^"); ok {
		n, err := strconv.ParseUint(exp, 10, 8)
		if err != nil || len(exp) > 2 || n > 48 {
			return 0, fmt.Errorf("%w: %q", ErrLifetime, truncate(s))
		}
		v = 1 << n
	} else {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || len(s) > 15 {
			return 0, fmt.Errorf("%w: %q", ErrLifetime, truncate(s))
		}
		v = n
	}
	if v < 1<<10 || v > 1<<48 || v&(v-1) != 0 {
		return 0, fmt.Errorf("%w: %q", ErrLifetime, truncate(s))
	}
	return v, nil
}

func parseMKI(s string) (uint32, int, error) {
	vs, ls, ok := strings.Cut(s, ":")
	if !ok || vs == "" || ls == "" || len(vs) > 10 || len(ls) > 3 {
		return 0, 0, fmt.Errorf("%w: mki must be value:length", ErrCryptoSyntax)
	}
	l, err := strconv.ParseUint(ls, 10, 8)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: mki length %q", ErrCryptoSyntax, ls)
	}
	if l < 1 || l > 4 {
		return 0, 0, fmt.Errorf("%w: got %d", ErrMKILength, l)
	}
	v, err := strconv.ParseUint(vs, 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: mki value %q", ErrCryptoSyntax, vs)
	}
	if v >= 1<<(8*l) {
		return 0, 0, fmt.Errorf("%w: %d does not fit %d byte(s)", ErrMKIValue, v, l)
	}
	return uint32(v), int(l), nil
}

// NewKey reads a fresh 30-byte master key ‖ salt from rand.
func NewKey(rand io.Reader) ([]byte, error) {
	k := make([]byte, KeyLen)
	if _, err := io.ReadFull(rand, k); err != nil {
		return nil, fmt.Errorf("sdp: read key: %w", err)
	}
	return k, nil
}
