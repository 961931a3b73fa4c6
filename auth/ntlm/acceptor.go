package ntlm

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"time"
)

// AcceptorConfig configures the server side (labfe). The names go into the
// CHALLENGE TargetInfo (MS-NLMP 3.2.5.1.1). Rand defaults to crypto/rand and
// Now is required (it stamps MsvAvTimestamp). MaxSkew > 0 makes Accept refuse
// client blobs whose timestamp is further than that from Now.
type AcceptorConfig struct {
	NbDomain, NbComputer, DNSDomain, DNSComputer string

	Rand    io.Reader
	Now     func() time.Time
	MaxSkew time.Duration
}

// Identity is the authenticated user as sent in the AUTHENTICATE.
type Identity struct {
	Domain, User, Workstation string
}

// ServerChallenge is one issued CHALLENGE. It accepts exactly one
// AUTHENTICATE; later calls fail with ErrChallengeUsed, so a captured
// AUTHENTICATE cannot be replayed against it.
type ServerChallenge struct {
	cfg       AcceptorConfig
	msg       []byte
	challenge [8]byte
	flags     Flags
	datagram  bool
	negotiate []byte // connection-oriented NEGOTIATE, for the MIC

	mu   sync.Mutex
	used bool
}

// NewChallenge issues a CHALLENGE. datagram selects connectionless mode
// (SIP): the flags then include DATAGRAM, IDENTIFY and KEY_EXCH, as the OCS
// CHALLENGE does (protocols.md §4.2).
func NewChallenge(cfg AcceptorConfig, datagram bool) (*ServerChallenge, []byte, error) {
	flags := serverConnectionFlags
	if datagram {
		flags = serverDatagramFlags
	}
	return newChallenge(cfg, flags, datagram, nil)
}

// NewConnectionChallenge answers a connection-oriented NEGOTIATE (HTTP):
// flags are the server's set limited to what the NEGOTIATE asked for, plus
// the ones NTLMv2 cannot do without, and the NEGOTIATE is kept so a MIC can
// be verified.
func NewConnectionChallenge(cfg AcceptorConfig, negotiate []byte) (*ServerChallenge, []byte, error) {
	n, err := ParseNegotiate(negotiate)
	if err != nil {
		return nil, nil, err
	}
	if !n.Flags.Has(FlagExtendedSessionSecurity) {
		return nil, nil, &FlagError{Missing: FlagExtendedSessionSecurity, Reason: "negotiate without extended session security refused (NTLMv1 is not offered)"}
	}
	flags := serverConnectionFlags&n.Flags | FlagUnicode | FlagNTLM | FlagTargetInfo | FlagTargetTypeDomain | FlagExtendedSessionSecurity
	return newChallenge(cfg, flags, false, bytes.Clone(negotiate))
}

func newChallenge(cfg AcceptorConfig, flags Flags, datagram bool, negotiate []byte) (*ServerChallenge, []byte, error) {
	if cfg.Now == nil {
		return nil, nil, fmt.Errorf("ntlm: new challenge: AcceptorConfig.Now is nil: %w", ErrUnsupported)
	}
	r := cfg.Rand
	if r == nil {
		r = rand.Reader
	}
	c := &ServerChallenge{cfg: cfg, flags: flags, datagram: datagram, negotiate: negotiate}
	if _, err := io.ReadFull(r, c.challenge[:]); err != nil {
		return nil, nil, fmt.Errorf("ntlm: new challenge: %w", err)
	}
	pairs := []AVPair{
		{ID: AvNbDomainName, Value: utf16le(cfg.NbDomain)},
		{ID: AvNbComputerName, Value: utf16le(cfg.NbComputer)},
		{ID: AvDNSDomainName, Value: utf16le(cfg.DNSDomain)},
		{ID: AvDNSComputerName, Value: utf16le(cfg.DNSComputer)},
		{ID: AvTimestamp, Value: binary.LittleEndian.AppendUint64(nil, filetime(cfg.Now()))},
	}
	v := defaultVersion
	m := ChallengeMessage{
		Flags:           flags,
		TargetName:      utf16le(cfg.NbDomain),
		ServerChallenge: c.challenge,
		TargetInfo:      MarshalAVPairs(pairs),
		Version:         &v,
	}
	c.msg = m.Marshal()
	return c, bytes.Clone(c.msg), nil
}

// Accept verifies the AUTHENTICATE against the password that lookup returns
// for (domain, user) as sent, and returns the server-side session (it signs
// with the server keys and verifies with the client keys) and the identity.
// A wrong password, unknown user, NTLMv1 or anonymous response, or a stale
// timestamp give an error wrapping ErrAuthFailed (MS-NLMP 3.2.5.1.2).
func (c *ServerChallenge) Accept(authenticate []byte, lookup func(domain, user string) (password string, ok bool)) (*Session, Identity, error) {
	c.mu.Lock()
	used := c.used
	c.used = true
	c.mu.Unlock()
	if used {
		return nil, Identity{}, ErrChallengeUsed
	}
	m, err := ParseAuthenticate(authenticate)
	if err != nil {
		return nil, Identity{}, err
	}
	id := Identity{
		Domain:      decodeName(m.Domain, m.Flags),
		User:        decodeName(m.User, m.Flags),
		Workstation: decodeName(m.Workstation, m.Flags),
	}
	fail := func(reason string) error {
		return fmt.Errorf("ntlm: accept %s\\%s: %s: %w", id.Domain, id.User, reason, ErrAuthFailed)
	}
	if !m.Flags.Has(FlagExtendedSessionSecurity) {
		return nil, id, &FlagError{Missing: FlagExtendedSessionSecurity, Reason: "authenticate without extended session security refused"}
	}
	if c.datagram && !m.Flags.Has(FlagDatagram) {
		return nil, id, &FlagError{Missing: FlagDatagram, Reason: "connectionless challenge answered without DATAGRAM"}
	}
	if id.User == "" {
		return nil, id, fail("anonymous authentication refused")
	}
	// NTLMv2 response: NTProofStr(16) ‖ temp(≥ 28 + EOL + 4).
	if len(m.NtChallengeResponse) < 16+28+4 {
		return nil, id, fail("not an NTLMv2 response")
	}
	password, ok := lookup(id.Domain, id.User)
	if !ok {
		return nil, id, fail("unknown user")
	}
	key := ntowfv2(password, id.User, id.Domain)
	proof, temp := m.NtChallengeResponse[:16], m.NtChallengeResponse[16:]
	if !hmac.Equal(proof, hmacMD5(key, c.challenge[:], temp)) {
		return nil, id, fail("wrong password")
	}
	if c.cfg.MaxSkew > 0 {
		ts := timeFromFiletime(binary.LittleEndian.Uint64(temp[8:16]))
		if d := c.cfg.Now().Sub(ts); d > c.cfg.MaxSkew || d < -c.cfg.MaxSkew {
			return nil, id, fail("timestamp outside allowed skew")
		}
	}
	sessionBaseKey := hmacMD5(key, proof)
	exported := sessionBaseKey
	if m.Flags.Has(FlagKeyExch) {
		if len(m.EncryptedRandomSessionKey) != 16 {
			return nil, id, &ParseError{Message: "AUTHENTICATE", Field: "EncryptedRandomSessionKey", Reason: "not 16 bytes with KEY_EXCH"}
		}
		exported = rc4Crypt(sessionBaseKey, m.EncryptedRandomSessionKey)
	}
	if err := c.checkMIC(m, temp, authenticate, exported); err != nil {
		return nil, id, fail(err.Error())
	}
	return newSession(m.Flags, exported, false), id, nil
}

// checkMIC verifies the MIC when the client says it sent one (MsvAvFlags
// 0x2 in its blob, MS-NLMP 3.2.5.1.2). In connectionless mode there is no
// NEGOTIATE; for NewChallenge in connection mode the NEGOTIATE is unknown
// and the MIC cannot be checked.
func (c *ServerChallenge) checkMIC(m *AuthenticateMessage, temp, raw, exported []byte) error {
	pairs, err := ParseAVPairs(temp[28:])
	if err != nil {
		return fmt.Errorf("blob target info: %w", err)
	}
	v, ok := findAV(pairs, AvFlags)
	if !ok || len(v) != 4 || binary.LittleEndian.Uint32(v)&avFlagMIC == 0 {
		return nil
	}
	if m.MIC == nil {
		return fmt.Errorf("MsvAvFlags announce a MIC but none is present")
	}
	if !c.datagram && c.negotiate == nil {
		return nil
	}
	zeroed := bytes.Clone(raw)
	clear(zeroed[micOffset : micOffset+16])
	if !hmac.Equal(m.MIC, hmacMD5(exported, c.negotiate, c.msg, zeroed)) {
		return fmt.Errorf("bad MIC")
	}
	return nil
}
