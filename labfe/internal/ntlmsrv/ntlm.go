// Package ntlmsrv is labfe's NTLM acceptor for connectionless NTLMv2 as
// used by SIP (MS-NLMP 3.2 server side, MS-SIPAE 3.3), plus a minimal
// initiator used only to drive labfe in tests.
//
// It is deliberately independent of the handset's client code (STYLE.md
// §3.2: a simulator that reuses client logic proves nothing); it is checked
// against the MS-NLMP 4.2.4 vectors in msnlmp_test.go.
package ntlmsrv

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5" //nolint:gosec // MS-NLMP mandates MD5
	"crypto/rc4" //nolint:gosec // MS-NLMP mandates RC4
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf16"
)

// Errors.
var (
	ErrMalformed   = errors.New("ntlmsrv: malformed message")
	ErrUnsupported = errors.New("ntlmsrv: unsupported negotiation")
	ErrUnknownUser = errors.New("ntlmsrv: unknown user")
	ErrBadResponse = errors.New("ntlmsrv: wrong credentials")
	ErrBadSig      = errors.New("ntlmsrv: bad message signature")
)

// Negotiate flags (MS-NLMP 2.2.2.5).
const (
	FlagUnicode     uint32 = 0x00000001
	FlagOEM         uint32 = 0x00000002
	FlagReqTarget   uint32 = 0x00000004
	FlagSign        uint32 = 0x00000010
	FlagSeal        uint32 = 0x00000020
	FlagDatagram    uint32 = 0x00000040
	FlagLMKey       uint32 = 0x00000080
	FlagNTLM        uint32 = 0x00000200
	FlagAlwaysSign  uint32 = 0x00008000
	FlagESS         uint32 = 0x00080000
	FlagIdentify    uint32 = 0x00100000
	FlagTargetInfo  uint32 = 0x00800000
	FlagVersion     uint32 = 0x02000000
	Flag128         uint32 = 0x20000000
	FlagKeyExch     uint32 = 0x40000000
	Flag56          uint32 = 0x80000000
	ChallengeFlags  uint32 = 0xE29882F3 // the OCS server CHALLENGE of protocols.md §4.2
	requiredOnReply        = FlagUnicode | FlagNTLM | FlagSign | FlagDatagram | FlagESS
)

// SIPSeqNum is the NTLM SeqNum SIP always uses (protocols.md §4.5).
const SIPSeqNum = 100

var signature = []byte("NTLMSSP\x00")

// AcceptorConfig names the server in the CHALLENGE target info.
type AcceptorConfig struct {
	NbDomain, NbComputer, DNSDomain, DNSComputer string
	Rand                                         io.Reader
	Now                                          func() time.Time
}

// Challenge is one outstanding server challenge.
type Challenge struct {
	server [8]byte
	flags  uint32
	ti     []byte
}

// NewChallenge builds a CHALLENGE message (MS-NLMP 2.2.1.2) for the
// connectionless (datagram) handshake: no NEGOTIATE precedes it.
func NewChallenge(cfg AcceptorConfig) (*Challenge, []byte, error) {
	c := &Challenge{flags: ChallengeFlags}
	if _, err := io.ReadFull(cfg.Rand, c.server[:]); err != nil {
		return nil, nil, fmt.Errorf("ntlmsrv: challenge rand: %w", err)
	}
	ts := make([]byte, 8)
	binary.LittleEndian.PutUint64(ts, filetime(cfg.Now()))
	c.ti = marshalAV([]av{
		{2, utf16le(cfg.NbDomain)}, {1, utf16le(cfg.NbComputer)},
		{4, utf16le(cfg.DNSDomain)}, {3, utf16le(cfg.DNSComputer)}, {7, ts},
	})
	target := utf16le(cfg.NbDomain)
	hdr := make([]byte, 56)
	copy(hdr, signature)
	binary.LittleEndian.PutUint32(hdr[8:], 2)
	binary.LittleEndian.PutUint32(hdr[20:], c.flags)
	copy(hdr[24:], c.server[:])
	copy(hdr[48:], []byte{6, 1, 0xb1, 0x1d, 0, 0, 0, 0x0f}) // 6.1.7601, NTLMSSP revision 15
	off := len(hdr)
	putField(hdr[12:], len(target), off)
	putField(hdr[40:], len(c.ti), off+len(target))
	msg := append(append(hdr, target...), c.ti...)
	return c, msg, nil
}

// Identity is who an AUTHENTICATE proved to be.
type Identity struct{ Domain, User, Workstation string }

// Accept verifies an AUTHENTICATE against the password lookup returns for
// (domain, user). Only NTLMv2 is accepted (Lync 2013 default LmCompatibility
// refuses v1); the response must prove the password.
func (c *Challenge) Accept(msg []byte, lookup func(domain, user string) (string, bool)) (*Session, Identity, error) {
	if len(msg) < 64 || !bytes.Equal(msg[:8], signature) || binary.LittleEndian.Uint32(msg[8:]) != 3 {
		return nil, Identity{}, fmt.Errorf("%w: not an AUTHENTICATE", ErrMalformed)
	}
	fields := make([][]byte, 6)
	for i := range fields {
		f, err := field(msg, 12+8*i)
		if err != nil {
			return nil, Identity{}, err
		}
		fields[i] = f
	}
	lm, nt, dom, usr, ws, encKey := fields[0], fields[1], fields[2], fields[3], fields[4], fields[5]
	flags := binary.LittleEndian.Uint32(msg[60:])
	_ = lm
	if flags&requiredOnReply != requiredOnReply {
		return nil, Identity{}, fmt.Errorf("%w: AUTHENTICATE flags %#08x lack UNICODE/NTLM/SIGN/DATAGRAM/ESS", ErrUnsupported, flags)
	}
	id := Identity{Domain: fromUTF16(dom), User: fromUTF16(usr), Workstation: fromUTF16(ws)}
	if id.User == "" {
		return nil, id, fmt.Errorf("%w: anonymous", ErrBadResponse)
	}
	if len(nt) <= 24 {
		return nil, id, fmt.Errorf("%w: NTLMv1 response refused", ErrUnsupported)
	}
	if len(nt) < 16+28 {
		return nil, id, fmt.Errorf("%w: short NTLMv2 response", ErrMalformed)
	}
	pw, ok := lookup(id.Domain, id.User)
	if !ok {
		return nil, id, fmt.Errorf("%w: %s\\%s", ErrUnknownUser, id.Domain, id.User)
	}
	key := NTOWFv2(pw, id.User, id.Domain)
	proof, temp := nt[:16], nt[16:]
	want := hmacMD5(key, c.server[:], temp)
	if !hmac.Equal(proof, want) {
		return nil, id, ErrBadResponse
	}
	base := hmacMD5(key, proof)
	exported := base
	if flags&FlagKeyExch != 0 {
		if len(encKey) != 16 {
			return nil, id, fmt.Errorf("%w: KEY_EXCH without a 16-byte session key", ErrMalformed)
		}
		exported = rc4x(base, encKey)
	}
	return NewSession(flags, exported, false), id, nil
}

// Session holds the per-direction keys of an established context.
type Session struct {
	flags                              uint32
	mySign, mySeal, peerSign, peerSeal []byte
}

// NewSession derives keys (MS-NLMP 3.4.5.2/3) from the exported session key;
// client selects which direction is "mine".
func NewSession(flags uint32, exported []byte, client bool) *Session {
	cs := md5Sum(exported, []byte("session key to client-to-server signing key magic constant\x00"))
	ss := md5Sum(exported, []byte("session key to server-to-client signing key magic constant\x00"))
	sealBase := exported
	switch {
	case flags&Flag128 != 0:
	case flags&Flag56 != 0:
		sealBase = exported[:7]
	default:
		sealBase = exported[:5]
	}
	cz := md5Sum(sealBase, []byte("session key to client-to-server sealing key magic constant\x00"))
	sz := md5Sum(sealBase, []byte("session key to server-to-client sealing key magic constant\x00"))
	s := &Session{flags: flags}
	if client {
		s.mySign, s.mySeal, s.peerSign, s.peerSeal = cs, cz, ss, sz
	} else {
		s.mySign, s.mySeal, s.peerSign, s.peerSeal = ss, sz, cs, cz
	}
	return s
}

// String never shows keys.
func (s *Session) String() string {
	return fmt.Sprintf("ntlmsrv.Session{flags:%#08x keys:[redacted]}", s.flags)
}

// mac is the datagram GSS_GetMIC with ESS (MS-NLMP 3.4.4.2): the RC4
// handle is re-keyed per message with MD5(SealKey ‖ SeqNum).
func (s *Session) mac(sign, seal, msg []byte, seq uint32) []byte {
	sq := binary.LittleEndian.AppendUint32(nil, seq)
	cks := hmacMD5(sign, sq, msg)[:8]
	if s.flags&FlagKeyExch != 0 {
		cks = rc4x(md5Sum(seal, sq), cks)
	}
	out := binary.LittleEndian.AppendUint32(nil, 1)
	out = append(out, cks...)
	return append(out, sq...)
}

// Sign returns the 16-byte signature of msg with my keys.
func (s *Session) Sign(msg []byte, seq uint32) []byte { return s.mac(s.mySign, s.mySeal, msg, seq) }

// Verify checks a peer signature over msg.
func (s *Session) Verify(msg, sig []byte, seq uint32) error {
	if !hmac.Equal(sig, s.mac(s.peerSign, s.peerSeal, msg, seq)) {
		return ErrBadSig
	}
	return nil
}

// NTOWFv2 is MS-NLMP 3.3.2 NTOWFv2.
func NTOWFv2(password, user, domain string) []byte {
	return hmacMD5(md4(utf16le(password)), utf16le(strings.ToUpper(user)+domain))
}

type av struct {
	id  uint16
	val []byte
}

func marshalAV(pairs []av) []byte {
	var b []byte
	for _, p := range pairs {
		b = binary.LittleEndian.AppendUint16(b, p.id)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(p.val))) //nolint:gosec // names are short
		b = append(b, p.val...)
	}
	return append(b, 0, 0, 0, 0)
}

func putField(b []byte, n, off int) {
	binary.LittleEndian.PutUint16(b, uint16(n))       //nolint:gosec // bounded by message size
	binary.LittleEndian.PutUint16(b[2:], uint16(n))   //nolint:gosec // bounded by message size
	binary.LittleEndian.PutUint32(b[4:], uint32(off)) //nolint:gosec // bounded by message size
}

func field(msg []byte, at int) ([]byte, error) {
	n := int(binary.LittleEndian.Uint16(msg[at:]))
	off := int(binary.LittleEndian.Uint32(msg[at+4:]))
	if off > len(msg) || n > len(msg)-off {
		return nil, fmt.Errorf("%w: field at %d runs past the message", ErrMalformed, at)
	}
	return msg[off : off+n], nil
}

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

func fromUTF16(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

func hmacMD5(key []byte, parts ...[]byte) []byte {
	m := hmac.New(md5.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

func md5Sum(parts ...[]byte) []byte {
	h := md5.New() //nolint:gosec // MS-NLMP
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

func rc4x(key, data []byte) []byte {
	c, _ := rc4.NewCipher(key) //nolint:gosec // key length is always 16 here
	out := make([]byte, len(data))
	c.XORKeyStream(out, data)
	return out
}

func filetime(t time.Time) uint64 {
	return uint64(t.UnixNano()/100) + 116444736000000000 //nolint:gosec // times after 1601
}
