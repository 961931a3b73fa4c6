package tlsdsk

import (
	"crypto/hmac"
	"crypto/md5"  //nolint:gosec // MS-SIPAE 3.2.5.1: HMAC-MD5 for MD5-MAC suites.
	"crypto/sha1" //nolint:gosec // MS-SIPAE 3.2.5.1: HMAC-SHA1 for SHA-MAC suites.
	"crypto/subtle"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"hash"
	"log/slog"
	"strings"
)

// ExporterLabel is the TLS PRF label of the TLS-DSK key material
// (protocols.md §5.3, MS-SIPAE 3.2.5.1; the EAP-TLS label of RFC 5216).
const ExporterLabel = "client EAP encryption"

// MaterialLen is how many bytes of key material are exported: the client key
// is bytes 64..95 and the server key bytes 96..127.
const MaterialLen = 128

// MAC names the HMAC a TLS-DSK security association signs with: the MAC of
// the negotiated cipher suite (protocols.md §5.3, §14 pitfall 7).
type MAC uint8

const (
	// MACSHA1 signs with HMAC-SHA1: 40 hex characters.
	MACSHA1 MAC = iota + 1
	// MACMD5 signs with HMAC-MD5: 32 hex characters.
	MACMD5
)

func (m MAC) String() string {
	switch m {
	case MACSHA1:
		return "HMAC-SHA1"
	case MACMD5:
		return "HMAC-MD5"
	}
	return fmt.Sprintf("MAC(%d)", uint8(m))
}

// SuiteMAC returns the signing MAC for a cipher suite: MD5 for the MD5-MAC
// suites SIPE offers, SHA-1 for the SHA-MAC ones; other suites (SHA-256 or
// AEAD) are refused because MS-SIPAE defines no signature for them.
func SuiteMAC(suite uint16) (MAC, error) {
	switch suite {
	case 0x0003, 0x0004: // RSA_EXPORT_WITH_RC4_40_MD5, RSA_WITH_RC4_128_MD5
		return MACMD5, nil
	case tls.TLS_RSA_WITH_RC4_128_SHA, tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA,
		tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_256_CBC_SHA,
		tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
		tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA,
		tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA:
		return MACSHA1, nil
	}
	return 0, fmt.Errorf("tlsdsk: suite %#04x: %w", suite, errSuite)
}

// Keys are the TLS-DSK signing keys of one security association. They are
// secret: String and LogValue print them redacted.
type Keys struct {
	Client [32]byte // signs client messages (bytes 64..95 of the material)
	Server [32]byte // signs server messages (bytes 96..127)
	MAC    MAC
}

// DeriveKeys cuts the signing keys out of the 128 bytes of "client EAP
// encryption" key material (protocols.md §5.3).
func DeriveKeys(material []byte, mac MAC) (Keys, error) {
	if len(material) != MaterialLen {
		return Keys{}, fmt.Errorf("tlsdsk: key material is %d bytes, want %d", len(material), MaterialLen)
	}
	if mac != MACSHA1 && mac != MACMD5 {
		return Keys{}, fmt.Errorf("tlsdsk: %v: %w", mac, errSuite)
	}
	var k Keys
	copy(k.Client[:], material[64:96])
	copy(k.Server[:], material[96:128])
	k.MAC = mac
	return k, nil
}

func (k Keys) String() string               { return "tlsdsk.Keys{" + k.MAC.String() + " [redacted]}" }
func (k Keys) GoString() string             { return k.String() }
func (k Keys) LogValue() slog.Value         { return slog.StringValue(k.String()) }
func (k Keys) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// Role says which end of the security association a Mechanism belongs to.
type Role uint8

const (
	// RoleClient signs with the client key and verifies with the server key.
	RoleClient Role = iota + 1
	// RoleServer signs with the server key and verifies with the client key.
	RoleServer
)

// Mechanism signs and verifies MS-SIPAE signature buffers (protocols.md
// §2.3) with TLS-DSK keys. It has the method set of sipae.Mechanism.
// It is safe for concurrent use.
type Mechanism struct {
	sign, verify []byte
	mac          MAC
}

// NewMechanism returns the Mechanism of one end of the association.
func NewMechanism(k Keys, r Role) (*Mechanism, error) {
	if k.MAC != MACSHA1 && k.MAC != MACMD5 {
		return nil, fmt.Errorf("tlsdsk: mechanism: %v: %w", k.MAC, errSuite)
	}
	m := &Mechanism{mac: k.MAC}
	switch r {
	case RoleClient:
		m.sign, m.verify = append([]byte(nil), k.Client[:]...), append([]byte(nil), k.Server[:]...)
	case RoleServer:
		m.sign, m.verify = append([]byte(nil), k.Server[:]...), append([]byte(nil), k.Client[:]...)
	default:
		return nil, fmt.Errorf("tlsdsk: mechanism: unknown role %d", r)
	}
	return m, nil
}

func (m *Mechanism) newHash() func() hash.Hash {
	if m.mac == MACMD5 {
		return md5.New
	}
	return sha1.New
}

func (m *Mechanism) sum(key, buf []byte) []byte {
	h := hmac.New(m.newHash(), key)
	h.Write(buf)
	return h.Sum(nil)
}

// Sign returns the signature of a signature buffer in uppercase hex, as SIPE
// emits it (protocols.md §2.2).
func (m *Mechanism) Sign(buf []byte) (string, error) {
	return strings.ToUpper(hex.EncodeToString(m.sum(m.sign, buf))), nil
}

// Verify checks a peer's hex signature (either case, protocols.md §2.2) over
// buf in constant time.
func (m *Mechanism) Verify(buf []byte, sig string) error {
	got, err := hex.DecodeString(sig)
	if err != nil {
		return fmt.Errorf("%w: %w", errBadHex, err)
	}
	want := m.sum(m.verify, buf)
	if len(got) != len(want) || subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrBadSignature
	}
	return nil
}

// MAC returns the signing algorithm.
func (m *Mechanism) MAC() MAC { return m.mac }

func (m *Mechanism) String() string       { return "tlsdsk.Mechanism{" + m.mac.String() + " [redacted]}" }
func (m *Mechanism) LogValue() slog.Value { return slog.StringValue(m.String()) }

func (r Role) String() string {
	switch r {
	case RoleClient:
		return "client"
	case RoleServer:
		return "server"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}
