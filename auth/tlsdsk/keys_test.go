package tlsdsk

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// msSIPAE cuts keys at the offsets of MS-SIPAE 3.2.5.1 (protocols.md §5.3)
// and signs with the suite's MAC.
func TestDeriveKeysOffsetsAndMAC(t *testing.T) {
	mat := make([]byte, MaterialLen)
	for i := range mat {
		mat[i] = byte(i)
	}
	for _, tc := range []struct {
		mac    MAC
		hexLen int
	}{{MACSHA1, 40}, {MACMD5, 32}} {
		k, err := DeriveKeys(mat, tc.mac)
		if err != nil {
			t.Fatal(err)
		}
		if k.Client[0] != 64 || k.Client[31] != 95 || k.Server[0] != 96 || k.Server[31] != 127 {
			t.Fatalf("offsets: %x %x", k.Client, k.Server)
		}
		m, _ := NewMechanism(k, RoleClient)
		sig, _ := m.Sign([]byte("buf"))
		if len(sig) != tc.hexLen {
			t.Errorf("%v: %d hex", tc.mac, len(sig))
		}
		h := hmac.New(sha1.New, mat[64:96])
		if tc.mac == MACMD5 {
			h = hmac.New(md5.New, mat[64:96])
		}
		h.Write([]byte("buf"))
		if want := strings.ToUpper(hex.EncodeToString(h.Sum(nil))); sig != want {
			t.Errorf("%v: sig %s want %s", tc.mac, sig, want)
		}
		for _, s := range []string{k.String(), fmt.Sprintf("%v", k), fmt.Sprintf("%+v", m)} {
			if !strings.Contains(s, "[redacted]") || strings.Contains(s, "404142") {
				t.Errorf("not redacted: %s", s)
			}
		}
		var b strings.Builder
		slog.New(slog.NewJSONHandler(&b, nil)).Info("x", "keys", k, "mech", m)
		if strings.Contains(b.String(), "QEFC") || !strings.Contains(b.String(), "redacted") {
			t.Errorf("slog leaks: %s", b.String())
		}
	}
	if _, err := DeriveKeys(mat[:127], MACSHA1); err == nil {
		t.Error("short material accepted")
	}
}

func TestSuiteMAC(t *testing.T) {
	// protocols.md §5.2: SIPE's suites and their MACs.
	for id, want := range map[uint16]MAC{0x0004: MACMD5, 0x0005: MACSHA1, 0x002F: MACSHA1, 0x0035: MACSHA1, 0x0003: MACMD5} {
		if got, err := SuiteMAC(id); err != nil || got != want {
			t.Errorf("%#04x: %v %v", id, got, err)
		}
	}
	if _, err := SuiteMAC(0x009c); err == nil {
		t.Error("GCM suite accepted")
	}
}
