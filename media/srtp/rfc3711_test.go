package srtp

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RFC 3711 Appendix B.3: key derivation test vectors.
func TestRFC3711B3KeyDerivation(t *testing.T) {
	master := unhex(t, "E1F97A0D3E018BE0D64FA32C06DE4139")
	salt := unhex(t, "0EC675AD498AFEEBB6960B3AABE6")
	k := deriveSessionKeys(master, salt, false)
	if got, want := k.encKey, unhex(t, "C61E7A93744F39EE10734AFE3FF7A087"); !bytes.Equal(got, want) {
		t.Errorf("cipher key %X, want %X", got, want)
	}
	if got, want := k.salt, unhex(t, "30CBBC08863D8C85D49DB34A9AE1"); !bytes.Equal(got, want) {
		t.Errorf("cipher salt %X, want %X", got, want)
	}
	if got, want := k.authKey, unhex(t, "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"); !bytes.Equal(got, want) {
		t.Errorf("auth key %X, want %X", got, want)
	}
}

// RFC 3711 Appendix B.2: AES-CM keystream.
func TestRFC3711B2KeystreamAESCM(t *testing.T) {
	key := unhex(t, "2B7E151628AED2A6ABF7158809CF4F3C")
	iv := unhex(t, "F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000")
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	ks := make([]byte, 48)
	cipher.NewCTR(b, iv).XORKeyStream(ks, ks)
	want := unhex(t, "E03EAD0935C95E80E166B16DD92B4EB4"+"D23513162B02D0F72A43A2FE4A5F97AB"+"41E95B3BB0A2E8DD477901E4FCA894C0")
	if !bytes.Equal(ks, want) {
		t.Errorf("keystream %X\nwant %X", ks, want)
	}
}

// The Session (pion underneath) must produce what the RFC 3711 reference
// above produces from the Appendix B.3 master key, with and without MKI,
// and libsrtp's srtp_driver AES_CM_128_HMAC_SHA1_80 ciphertext.
func TestRFC3711SessionMatchesReference(t *testing.T) {
	master := unhex(t, "E1F97A0D3E018BE0D64FA32C06DE4139")
	salt := unhex(t, "0EC675AD498AFEEBB6960B3AABE6")
	pkt := unhex(t, "800f1234decafbadcafebabe"+"abababababababababababababababab")
	for _, mki := range [][]byte{nil, {1}, {0, 0, 0, 7}} {
		k := Key{Master: master, Salt: salt, MKI: mki}
		s, err := NewSession(Config{Send: k, Recv: k})
		if err != nil {
			t.Fatal(err)
		}
		ref := newRefProtector(master, salt, mki)
		for i := range 3 {
			p := bytes.Clone(pkt)
			p[3] += byte(i)
			got, err := s.ProtectRTP(nil, p)
			if err != nil {
				t.Fatal(err)
			}
			if want := ref.protect(nil, p); !bytes.Equal(got, want) {
				t.Errorf("mki %x pkt %d:\n got %x\nwant %x", mki, i, got, want)
			}
			plain, err := s.UnprotectRTP(nil, got)
			if err != nil || !bytes.Equal(plain, p) {
				t.Errorf("unprotect: %x %v", plain, err)
			}
		}
	}
	// libsrtp test/srtp_driver.c srtp_aes_cm_128_hmac_sha1_80 ciphertext.
	k := Key{Master: master, Salt: salt}
	s, err := NewSession(Config{Send: k, Recv: k})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.ProtectRTP(nil, pkt)
	if err != nil {
		t.Fatal(err)
	}
	want := unhex(t, "800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d6acc99ea179b8dbb")
	if !bytes.Equal(got, want) {
		t.Errorf("libsrtp vector:\n got %x\nwant %x", got, want)
	}
}
