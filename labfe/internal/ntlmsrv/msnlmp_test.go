package ntlmsrv

import (
	"encoding/hex"
	"strings"
	"testing"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ToLower(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMD4RFC1320 checks the RFC 1320 A.5 test suite.
func TestMD4RFC1320(t *testing.T) {
	for in, want := range map[string]string{
		"":    "31d6cfe0d16ae931b73c59d7e0c089c0",
		"a":   "bde52cb31de33e46245e05fbdbd6fb24",
		"abc": "a448017aaf21d8525fc10ae87aa6729d",
		"12345678901234567890123456789012345678901234567890123456789012345678901234567890": "e33b4ddc9c38f2199c3e7b164fcc0536",
	} {
		if got := hex.EncodeToString(md4([]byte(in))); got != want {
			t.Errorf("md4(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestMSNLMP424 checks MS-NLMP 4.2.4 (NTLMv2) values: NTOWFv2, NTProofStr,
// SessionBaseKey, and the client sign/seal keys from RandomSessionKey 55..55.
func TestMSNLMP424(t *testing.T) {
	key := NTOWFv2("Password", "User", "Domain")
	if got := strings.ToUpper(hex.EncodeToString(key)); got != "0C868A403BFD7A93A3001EF22EF02E3F" {
		t.Fatalf("NTOWFv2 = %s", got)
	}
	server := unhex(t, "0123456789abcdef")
	// The target info is 36 bytes: protocols.md prints one stray 00 too many.
	ti := unhex(t, "02000c0044006f006d00610069006e0001000c0053006500720076006500720000000000")
	temp := append(unhex(t, "0101000000000000"), make([]byte, 8)...)
	temp = append(temp, unhex(t, "aaaaaaaaaaaaaaaa")...)
	temp = append(temp, 0, 0, 0, 0)
	temp = append(temp, ti...)
	temp = append(temp, 0, 0, 0, 0)
	proof := hmacMD5(key, server, temp)
	if got := strings.ToUpper(hex.EncodeToString(proof)); got != "68CD0AB851E51C96AABC927BEBEF6A1C" {
		t.Fatalf("NTProofStr = %s", got)
	}
	base := hmacMD5(key, proof)
	if got := strings.ToUpper(hex.EncodeToString(base)); got != "8DE40CCADBC14A82F15CB0AD0DE95CA3" {
		t.Fatalf("SessionBaseKey = %s", got)
	}
	exported := unhex(t, strings.Repeat("55", 16))
	if got := strings.ToUpper(hex.EncodeToString(rc4x(base, exported))); got != "C5DAD2544FC9799094CE1CE90BC9D03E" {
		t.Errorf("EncryptedRandomSessionKey = %s", got)
	}
	s := NewSession(0xE28A8233, exported, true)
	if got := strings.ToUpper(hex.EncodeToString(s.mySign)); got != "4788DC861B4782F35D43FD98FE1A2D39" {
		t.Errorf("client SignKey = %s", got)
	}
	if got := strings.ToUpper(hex.EncodeToString(s.mySeal)); got != "59F600973CC4960A25480A7C196E4C58" {
		t.Errorf("client SealKey = %s", got)
	}
}
