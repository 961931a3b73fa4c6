package ntlm

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

// ClientConfig configures the initiator. Rand defaults to crypto/rand; Now is
// needed only when the CHALLENGE carries no MsvAvTimestamp.
type ClientConfig struct {
	Credentials Credentials
	Rand        io.Reader
	Now         func() time.Time
}

func (cfg ClientConfig) rand() io.Reader {
	if cfg.Rand != nil {
		return cfg.Rand
	}
	return rand.Reader
}

// Negotiate returns the connection-oriented NEGOTIATE (MS-NLMP 3.1.5.1.1),
// the first HTTP NTLM token. It is deterministic, so AuthenticateConnection
// rebuilds the same bytes for the MIC.
func Negotiate(cfg ClientConfig) []byte {
	v := defaultVersion
	m := NegotiateMessage{Flags: negotiateFlags, Version: &v}
	return m.Marshal()
}

// Authenticate is the connectionless (SIP) client of MS-NLMP 3.1.5.2 as Lync
// expects it (protocols.md §4.2, §4.3): no NEGOTIATE, the AUTHENTICATE flags
// are (CHALLENGE flags ∧ SIPE's set) ∨ REQUEST_TARGET with 56 cleared when 128
// is set, NTLMv2 with LMv2, KEY_EXCH and no MIC. A CHALLENGE without extended
// session security (NTLMv1) or without SIGN/DATAGRAM/KEY_EXCH is refused with
// a *FlagError.
func Authenticate(cfg ClientConfig, challenge []byte) (authenticate []byte, s *Session, err error) {
	ch, err := ParseChallenge(challenge)
	if err != nil {
		return nil, nil, err
	}
	if err := requireFlags(ch.Flags, connectionlessRequired); err != nil {
		return nil, nil, err
	}
	flags := ch.Flags&connectionlessOffer | FlagRequestTarget
	if flags.Has(Flag128) {
		flags &^= Flag56
	}
	return buildAuthenticate(cfg, ch, flags, nil, challenge)
}

// AuthenticateConnection answers a connection-oriented CHALLENGE (HTTP) that
// followed Negotiate(cfg). Flags are the intersection of both messages. When
// the CHALLENGE carries MsvAvTimestamp the client sends Z(24) as LM response,
// sets MsvAvFlags bit 0x2 and a MIC over NEGOTIATE ‖ CHALLENGE ‖
// AUTHENTICATE (MS-NLMP 3.1.5.1.2).
func AuthenticateConnection(cfg ClientConfig, challenge []byte) ([]byte, *Session, error) {
	ch, err := ParseChallenge(challenge)
	if err != nil {
		return nil, nil, err
	}
	if err := requireFlags(ch.Flags, connectionRequired); err != nil {
		return nil, nil, err
	}
	flags := ch.Flags & negotiateFlags &^ FlagOEM
	if flags.Has(Flag128) {
		flags &^= Flag56
	}
	return buildAuthenticate(cfg, ch, flags, Negotiate(cfg), challenge)
}

func requireFlags(got, want Flags) error {
	if !got.Has(FlagExtendedSessionSecurity) {
		return &FlagError{Missing: FlagExtendedSessionSecurity, Reason: "challenge without extended session security refused (NTLMv1 is not offered)"}
	}
	if missing := want &^ got; missing != 0 {
		return &FlagError{Missing: missing, Reason: "challenge lacks required flags"}
	}
	return nil
}

// filetime converts t to a Windows FILETIME (100 ns since 1601-01-01).
func filetime(t time.Time) uint64 {
	// Unix seconds first: UnixNano overflows before 1678.
	return uint64(t.Unix()*10_000_000 + int64(t.Nanosecond()/100) + epochDiff) //nolint:gosec // FILETIME is unsigned; dates before 1601 wrap
}

// epochDiff is 1601-01-01 → 1970-01-01 in 100 ns units.
const epochDiff = 116444736000000000

func timeFromFiletime(ft uint64) time.Time {
	v := int64(ft) - epochDiff //nolint:gosec // FILETIME fits in int64 until 30828
	return time.Unix(v/10_000_000, v%10_000_000*100)
}

// buildAuthenticate builds the AUTHENTICATE (MS-NLMP 3.1.5.1.2 / 3.3.2). negotiate
// is nil in connectionless mode (no MIC).
func buildAuthenticate(cfg ClientConfig, ch *ChallengeMessage, flags Flags, negotiate, challenge []byte) ([]byte, *Session, error) {
	pairs, err := ParseAVPairs(orEOL(ch.TargetInfo))
	if err != nil {
		return nil, nil, err
	}
	var ts []byte
	if v, ok := findAV(pairs, AvTimestamp); ok && len(v) == 8 {
		ts = v
	} else {
		if cfg.Now == nil {
			return nil, nil, fmt.Errorf("ntlm: authenticate: challenge has no MsvAvTimestamp and ClientConfig.Now is nil: %w", ErrUnsupported)
		}
		ts = binary.LittleEndian.AppendUint64(nil, filetime(cfg.Now()))
	}
	withMIC := negotiate != nil && len(ts) == 8 && hasAV(pairs, AvTimestamp)
	targetInfo := ch.TargetInfo
	if withMIC {
		targetInfo = MarshalAVPairs(setMICFlag(pairs))
	}

	var cc [8]byte
	if _, err := io.ReadFull(cfg.rand(), cc[:]); err != nil {
		return nil, nil, fmt.Errorf("ntlm: authenticate: client challenge: %w", err)
	}
	cred := cfg.Credentials
	key := ntowfv2(cred.Password, cred.User, cred.Domain)
	temp := ntlmv2Temp(ts, cc, orEOL(targetInfo))
	nt, lm, sessionBaseKey := ntlmv2Responses(key, ch.ServerChallenge, cc, temp)
	if withMIC {
		lm = make([]byte, 24) // MS-NLMP 3.1.5.1.2: Z(24) when MsvAvTimestamp is present
	}

	// For NTLMv2, KeyExchangeKey = SessionBaseKey (MS-NLMP 3.4.5.1).
	exported := sessionBaseKey
	var encrypted []byte
	if flags.Has(FlagKeyExch) {
		exported = make([]byte, 16)
		if _, err := io.ReadFull(cfg.rand(), exported); err != nil {
			return nil, nil, fmt.Errorf("ntlm: authenticate: session key: %w", err)
		}
		encrypted = rc4Crypt(sessionBaseKey, exported)
	}
	m := AuthenticateMessage{
		Flags:                     flags,
		LmChallengeResponse:       lm,
		NtChallengeResponse:       nt,
		Domain:                    encodeName(cred.Domain, flags),
		User:                      encodeName(cred.User, flags),
		Workstation:               encodeName(cred.Workstation, flags),
		EncryptedRandomSessionKey: encrypted,
	}
	if flags.Has(FlagVersion) || withMIC {
		v := defaultVersion
		m.Version = &v
	}
	if withMIC {
		m.MIC = make([]byte, 16)
	}
	out := m.Marshal()
	if withMIC {
		copy(out[micOffset:], hmacMD5(exported, negotiate, challenge, out))
	}
	return out, newSession(flags, exported, true), nil
}

func orEOL(ti []byte) []byte {
	if len(ti) == 0 {
		return []byte{0, 0, 0, 0}
	}
	return ti
}

func hasAV(pairs []AVPair, id uint16) bool {
	_, ok := findAV(pairs, id)
	return ok
}

// avFlagMIC is MsvAvFlags bit 0x2: "the client is providing a MIC".
const avFlagMIC = 0x2

func setMICFlag(pairs []AVPair) []AVPair {
	out := make([]AVPair, 0, len(pairs)+1)
	found := false
	for _, p := range pairs {
		if p.ID == AvFlags && len(p.Value) == 4 {
			v := binary.LittleEndian.Uint32(p.Value) | avFlagMIC
			p = AVPair{ID: AvFlags, Value: binary.LittleEndian.AppendUint32(nil, v)}
			found = true
		}
		out = append(out, p)
	}
	if !found {
		out = append(out, AVPair{ID: AvFlags, Value: binary.LittleEndian.AppendUint32(nil, avFlagMIC)})
	}
	return out
}
