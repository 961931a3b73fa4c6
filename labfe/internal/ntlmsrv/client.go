package ntlmsrv

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

// Authenticate is a minimal NTLMv2 initiator (MS-NLMP 3.1.5.1.2) for tests
// that drive labfe: it answers chal with an AUTHENTICATE for user/domain/
// password and returns the client-side session. It follows protocols.md §4.3
// (KEY_EXCH, no MIC) but shares no code with the handset's client.
func Authenticate(chal []byte, user, domain, password, workstation string, rand io.Reader, now time.Time) ([]byte, *Session, error) {
	if len(chal) < 48 || !bytes.Equal(chal[:8], signature) || binary.LittleEndian.Uint32(chal[8:]) != 2 {
		return nil, nil, fmt.Errorf("%w: not a CHALLENGE", ErrMalformed)
	}
	sflags := binary.LittleEndian.Uint32(chal[20:])
	var server [8]byte
	copy(server[:], chal[24:32])
	ti, err := field(chal, 40)
	if err != nil {
		return nil, nil, err
	}
	flags := sflags&(FlagUnicode|FlagNTLM|FlagAlwaysSign|FlagESS|FlagTargetInfo|FlagVersion|Flag128|Flag56|FlagSign|FlagDatagram|FlagIdentify|FlagKeyExch) | FlagReqTarget
	if flags&Flag128 != 0 {
		flags &^= Flag56
	}
	var cc [8]byte
	exported := make([]byte, 16)
	if _, err := io.ReadFull(rand, cc[:]); err != nil {
		return nil, nil, fmt.Errorf("ntlmsrv: rand: %w", err)
	}
	if _, err := io.ReadFull(rand, exported); err != nil {
		return nil, nil, fmt.Errorf("ntlmsrv: rand: %w", err)
	}
	ts := binary.LittleEndian.AppendUint64(nil, filetime(now))
	temp := []byte{1, 1, 0, 0, 0, 0, 0, 0}
	temp = append(temp, ts...)
	temp = append(temp, cc[:]...)
	temp = append(temp, 0, 0, 0, 0)
	temp = append(temp, ti...)
	temp = append(temp, 0, 0, 0, 0)
	key := NTOWFv2(password, user, domain)
	proof := hmacMD5(key, server[:], temp)
	nt := append(append([]byte{}, proof...), temp...)
	lm := append(hmacMD5(key, server[:], cc[:]), cc[:]...)
	base := hmacMD5(key, proof)
	enc := rc4x(base, exported)
	payload := [][]byte{lm, nt, utf16le(domain), utf16le(user), utf16le(workstation), enc}
	hdr := make([]byte, 72)
	copy(hdr, signature)
	binary.LittleEndian.PutUint32(hdr[8:], 3)
	binary.LittleEndian.PutUint32(hdr[60:], flags)
	copy(hdr[64:], []byte{5, 1, 0x28, 0x0a, 0, 0, 0, 0x0f})
	off := len(hdr)
	// Payload order as SIPE: domain, user, host, LM, NT, session key.
	order := []int{2, 3, 4, 0, 1, 5}
	offs := make([]int, 6)
	for _, i := range order {
		offs[i] = off
		off += len(payload[i])
	}
	for i := range payload {
		putField(hdr[12+8*i:], len(payload[i]), offs[i])
	}
	msg := hdr
	for _, i := range order {
		msg = append(msg, payload[i]...)
	}
	return msg, NewSession(flags, exported, true), nil
}
