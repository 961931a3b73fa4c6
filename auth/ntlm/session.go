package ntlm

import (
	"bytes"
	"crypto/hmac"
	"crypto/rc4" //nolint:gosec // MS-NLMP is defined with RC4
	"encoding/binary"
	"hash/crc32"
	"log/slog"
	"sync"
)

// Session is an established NTLM security context: the negotiated flags, the
// exported session key and the signing/sealing keys of both directions
// (MS-NLMP 3.4). It signs with its own direction's keys and verifies with the
// peer's.
//
// In datagram (connectionless) mode, which SIP uses, every MAC starts a
// fresh RC4 keyed with MD5(SealingKey ‖ SeqNum) and the sequence number is
// chosen by the application (SIP: always 100, protocols.md §4.5, MS-NLMP
// 3.4.4). In connection-oriented mode (HTTP web services) each direction
// keeps one RC4 stream for the whole session (MS-NLMP 3.4.4.2), so calls must
// come in order; the mutex makes concurrent callers safe but not ordered.
type Session struct {
	flags    Flags
	datagram bool
	client   bool
	exported []byte

	signOut, sealOut []byte // our direction
	signIn, sealIn   []byte // the peer's direction

	mu            sync.Mutex
	rc4Out, rc4In *rc4.Cipher // connection-oriented only
}

func newSession(f Flags, exported []byte, client bool) *Session {
	s := &Session{
		flags:    f,
		datagram: f.Has(FlagDatagram),
		client:   client,
		exported: bytes.Clone(exported),
		signOut:  signKey(f, exported, client),
		sealOut:  sealKey(f, exported, client),
		signIn:   signKey(f, exported, !client),
		sealIn:   sealKey(f, exported, !client),
	}
	if !f.Has(FlagExtendedSessionSecurity) {
		// Without ESS both directions share one key (MS-NLMP 3.4.5.3).
		s.sealIn = s.sealOut
	}
	if !s.datagram {
		s.rc4Out, _ = rc4.NewCipher(s.sealOut) //nolint:gosec // see import
		s.rc4In, _ = rc4.NewCipher(s.sealIn)   //nolint:gosec // see import
	}
	return s
}

// Flags returns the negotiated flags.
func (s *Session) Flags() Flags { return s.flags }

// Datagram reports whether the session is connectionless.
func (s *Session) Datagram() bool { return s.datagram }

// ExportedSessionKey returns a copy of the exported session key (MS-NLMP
// 3.1.5.1.2, KEY_EXCH). It is a secret.
func (s *Session) ExportedSessionKey() []byte { return bytes.Clone(s.exported) }

// String never prints key material.
func (s *Session) String() string {
	role := "server"
	if s.client {
		role = "client"
	}
	mode := "connection"
	if s.datagram {
		mode = "datagram"
	}
	return "ntlm.Session{" + role + ", " + mode + ", flags=" + s.flags.String() + ", keys=[redacted]}"
}

// LogValue redacts the keys for log/slog.
func (s *Session) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Bool("client", s.client),
		slog.Bool("datagram", s.datagram),
		slog.String("flags", s.flags.String()),
		slog.String("keys", "[redacted]"),
	)
}

// MAC returns the 16-byte NTLMSSP_MESSAGE_SIGNATURE of msg with our
// direction's keys (GSS_GetMIC, MS-NLMP 3.4.4). SIP always passes seq 100.
func (s *Session) MAC(msg []byte, seq uint32) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mac(msg, seq, s.signOut, s.sealOut, s.rc4Out)
}

// VerifyMAC checks a signature made by the peer. It returns an error
// wrapping ErrBadSignature on mismatch. Without extended session security
// the RandomPad bytes are not compared: SIPE sends 0 there while MS-NLMP
// 4.2.2.4 shows the encrypted pad (protocols.md §4.5).
func (s *Session) VerifyMAC(msg, sig []byte, seq uint32) error {
	if len(sig) != 16 {
		return errBadSigLength
	}
	s.mu.Lock()
	want := s.mac(msg, seq, s.signIn, s.sealIn, s.rc4In)
	s.mu.Unlock()
	a, b := want, sig
	if !s.flags.Has(FlagExtendedSessionSecurity) {
		a = append(append([]byte{}, want[:4]...), want[8:]...)
		b = append(append([]byte{}, sig[:4]...), sig[8:]...)
	}
	if !hmac.Equal(a, b) {
		return ErrBadSignature
	}
	return nil
}

var errBadSigLength = &sigError{"signature is not 16 bytes"}

type sigError struct{ reason string }

func (e *sigError) Error() string { return "ntlm: bad message signature: " + e.reason }
func (e *sigError) Unwrap() error { return ErrBadSignature }

// handle returns the RC4 to use for one message: a fresh one in datagram mode
// (MS-NLMP 3.4.4: "the sealing key MUST be reset for every message"), else
// the direction's persistent stream.
func (s *Session) handle(seal []byte, seq uint32, stream *rc4.Cipher) *rc4.Cipher {
	if !s.datagram {
		return stream
	}
	key := seal
	if s.flags.Has(FlagExtendedSessionSecurity) {
		// SealingKey' = MD5(SealingKey ‖ SeqNum) (MS-NLMP 3.4.4.2 via
		// 3.4.5.3); confirmed against gss-ntlmssp (peers.md).
		var le [4]byte
		binary.LittleEndian.PutUint32(le[:], seq)
		key = md5Sum(seal, le[:])
	}
	// Without ESS the old OCS datagram MAC keys RC4 with the sealing key
	// itself (protocols.md §4.7, vector B).
	c, _ := rc4.NewCipher(key) //nolint:gosec // see import
	return c
}

func (s *Session) mac(msg []byte, seq uint32, sign, seal []byte, stream *rc4.Cipher) []byte {
	return s.macWith(s.handle(seal, seq, stream), msg, seq, sign)
}

// Seal encrypts msg and signs it (GSS_WrapEx, MS-NLMP 3.4.3), for
// connection-oriented sessions. In datagram mode the per-message key of seq
// is used for both the data and the checksum.
func (s *Session) Seal(msg []byte, seq uint32) (sealed, sig []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.handle(s.sealOut, seq, s.rc4Out)
	sealed = make([]byte, len(msg))
	h.XORKeyStream(sealed, msg)
	sig = s.macWith(h, msg, seq, s.signOut)
	return sealed, sig
}

// Unseal decrypts and verifies a message sealed by the peer.
func (s *Session) Unseal(sealed, sig []byte, seq uint32) ([]byte, error) {
	if len(sig) != 16 {
		return nil, errBadSigLength
	}
	s.mu.Lock()
	h := s.handle(s.sealIn, seq, s.rc4In)
	msg := make([]byte, len(sealed))
	h.XORKeyStream(msg, sealed)
	want := s.macWith(h, msg, seq, s.signIn)
	s.mu.Unlock()
	a, b := want, sig
	if !s.flags.Has(FlagExtendedSessionSecurity) {
		a = append(append([]byte{}, want[:4]...), want[8:]...)
		b = append(append([]byte{}, sig[:4]...), sig[8:]...)
	}
	if !hmac.Equal(a, b) {
		return nil, ErrBadSignature
	}
	return msg, nil
}

// macWith builds the signature with an already positioned RC4 (after
// sealing, the checksum continues the stream, MS-NLMP 3.4.3 / 4.2.4.4).
// With ESS it is MS-NLMP 3.4.4.2; without, 3.4.4.1: RC4 over RandomPad(0) ‖
// CRC32 ‖ 0, SeqNum XOR seq, and RandomPad sent as 0 (what SIPE does).
func (s *Session) macWith(h *rc4.Cipher, msg []byte, seq uint32, sign []byte) []byte {
	out := make([]byte, 16)
	binary.LittleEndian.PutUint32(out, 1)
	var le [4]byte
	binary.LittleEndian.PutUint32(le[:], seq)
	if s.flags.Has(FlagExtendedSessionSecurity) {
		sum := hmacMD5(sign, le[:], msg)[:8]
		if s.flags.Has(FlagKeyExch) {
			h.XORKeyStream(out[4:12], sum)
		} else {
			copy(out[4:12], sum)
		}
		copy(out[12:], le[:])
		return out
	}
	var plain [12]byte
	binary.LittleEndian.PutUint32(plain[4:], crc32.ChecksumIEEE(msg))
	h.XORKeyStream(out[4:16], plain[:])
	for i := range 4 {
		out[12+i] ^= le[i]
	}
	clear(out[4:8])
	return out
}

// SessionFromKey builds a session from a known exported session key and the
// negotiated flags, as the client (client = true) or the server. It exists
// for published signature vectors (protocols.md §4.7 gives only the key) and
// for tests of code layered on Session; normal sessions come from
// Authenticate, AuthenticateConnection and Accept.
func SessionFromKey(flags Flags, exportedSessionKey []byte, client bool) *Session {
	return newSession(flags, exportedSessionKey, client)
}
