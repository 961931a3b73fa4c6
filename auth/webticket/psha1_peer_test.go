package webticket

import (
	"context"
	"encoding/hex"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/handset-dev/handset/internal/testutil"
)

// PSHA1 against OpenSSL's TLS1-PRF with digest SHA1, which is P_SHA1(secret,
// seed) (RFC 2246 §5 P_hash with the label folded into the seed).
func TestPSHA1OpenSSL(t *testing.T) {
	bin := testutil.RequirePeer(t, "openssl")
	r := testutil.Rand(4)
	for _, n := range []int{20, 32, 40, 64} {
		secret, seed := make([]byte, 32), make([]byte, 32)
		for i := range secret {
			secret[i], seed[i] = byte(r.Uint32()), byte(r.Uint32())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out, err := exec.CommandContext(ctx, bin, "kdf", "-keylen", itoa(n), "-kdfopt", "digest:SHA1",
			"-kdfopt", "hexsecret:"+hex.EncodeToString(secret), "-kdfopt", "hexseed:"+hex.EncodeToString(seed), "TLS1-PRF").Output()
		cancel()
		if err != nil {
			t.Fatalf("openssl kdf: %v", err)
		}
		want := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(string(out)), ":", ""))
		if got := hex.EncodeToString(PSHA1(secret, seed, n)); got != want {
			t.Errorf("n=%d: PSHA1 %s, openssl %s", n, got, want)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
