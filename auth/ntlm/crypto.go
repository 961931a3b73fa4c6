package ntlm

import (
	"crypto/hmac"
	"crypto/md5" //nolint:gosec // MS-NLMP is defined with MD5
	"crypto/rc4" //nolint:gosec // MS-NLMP is defined with RC4
	"strings"
)

// ntowfv2 is NTOWFv2 (MS-NLMP 3.3.2): HMAC_MD5(MD4(UNICODE(password)),
// UNICODE(ConcatenationOf(Uppercase(user), domain))).
func ntowfv2(password, user, domain string) []byte {
	h := md4(utf16le(password))
	return hmacMD5(h[:], utf16le(strings.ToUpper(user)+domain))
}

func hmacMD5(key []byte, parts ...[]byte) []byte {
	m := hmac.New(md5.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

func md5Sum(parts ...[]byte) []byte {
	h := md5.New() //nolint:gosec // see import
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

func rc4Crypt(key, data []byte) []byte {
	c, err := rc4.NewCipher(key) //nolint:gosec // see import
	if err != nil {
		// Only for a key outside 1..256 bytes, which this package never builds.
		return nil
	}
	out := make([]byte, len(data))
	c.XORKeyStream(out, data)
	return out
}

// ntlmv2Temp is the client blob "temp" of MS-NLMP 3.3.2: Responserversion,
// HiResponserversion, Z(6), Time, ClientChallenge, Z(4), ServerName
// (the AV_PAIR list), Z(4).
func ntlmv2Temp(timestamp []byte, clientChallenge [8]byte, targetInfo []byte) []byte {
	t := make([]byte, 0, 28+len(targetInfo)+4)
	t = append(t, 1, 1, 0, 0, 0, 0, 0, 0)
	t = append(t, timestamp...)
	t = append(t, clientChallenge[:]...)
	t = append(t, 0, 0, 0, 0)
	t = append(t, targetInfo...)
	return append(t, 0, 0, 0, 0)
}

// ntlmv2Responses computes NtChallengeResponse, LmChallengeResponse (LMv2)
// and SessionBaseKey (MS-NLMP 3.3.2).
func ntlmv2Responses(respKeyNT []byte, serverChallenge, clientChallenge [8]byte, temp []byte) (nt, lm, sessionBaseKey []byte) {
	proof := hmacMD5(respKeyNT, serverChallenge[:], temp)
	nt = append(proof, temp...)
	lm = append(hmacMD5(respKeyNT, serverChallenge[:], clientChallenge[:]), clientChallenge[:]...)
	sessionBaseKey = hmacMD5(respKeyNT, proof)
	return nt, lm, sessionBaseKey
}

// Magic constants of MS-NLMP 3.4.5.2 and 3.4.5.3 (with the trailing NUL).
var (
	magicClientSign = []byte("session key to client-to-server signing key magic constant\x00")
	magicServerSign = []byte("session key to server-to-client signing key magic constant\x00")
	magicClientSeal = []byte("session key to client-to-server sealing key magic constant\x00")
	magicServerSeal = []byte("session key to server-to-client sealing key magic constant\x00")
)

// signKey is SIGNKEY (MS-NLMP 3.4.5.2); nil without extended session
// security, where signing uses the sealing key (CRC32 MAC).
func signKey(f Flags, exported []byte, client bool) []byte {
	if !f.Has(FlagExtendedSessionSecurity) {
		return nil
	}
	if client {
		return md5Sum(exported, magicClientSign)
	}
	return md5Sum(exported, magicServerSign)
}

// sealKey is SEALKEY (MS-NLMP 3.4.5.3).
func sealKey(f Flags, exported []byte, client bool) []byte {
	switch {
	case f.Has(FlagExtendedSessionSecurity):
		k := exported
		switch {
		case f.Has(Flag128):
		case f.Has(Flag56):
			k = exported[:7]
		default:
			k = exported[:5]
		}
		if client {
			return md5Sum(k, magicClientSeal)
		}
		return md5Sum(k, magicServerSeal)
	case f.Has(FlagLMKey):
		if f.Has(Flag56) {
			return append(append([]byte{}, exported[:7]...), 0xA0)
		}
		return append(append([]byte{}, exported[:5]...), 0xE5, 0x38, 0xB0)
	default:
		return append([]byte{}, exported...)
	}
}
