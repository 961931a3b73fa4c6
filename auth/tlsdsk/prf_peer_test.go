package tlsdsk

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/handset-dev/handset/internal/testutil"
)

// The fallback PRF (prf.go) against OpenSSL's TLS1-PRF: MD5-SHA1 for TLS
// 1.0/1.1 (RFC 2246 §5) and SHA256 for TLS 1.2 (RFC 5246 §5), with the
// "client EAP encryption" label and a 48-byte master secret.
func TestPRFOpenSSL(t *testing.T) {
	bin := testutil.RequirePeer(t, "openssl")
	r := testutil.Rand(8)
	for _, tc := range []struct {
		version uint16
		digest  string
	}{{tls.VersionTLS10, "MD5-SHA1"}, {tls.VersionTLS11, "MD5-SHA1"}, {tls.VersionTLS12, "SHA256"}} {
		ms, seed := make([]byte, 48), make([]byte, 64)
		for i := range ms {
			ms[i] = byte(r.Uint32())
		}
		for i := range seed {
			seed[i] = byte(r.Uint32())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out, err := exec.CommandContext(ctx, bin, "kdf", "-keylen", strconv.Itoa(MaterialLen), "-kdfopt", "digest:"+tc.digest,
			"-kdfopt", "hexsecret:"+hex.EncodeToString(ms),
			"-kdfopt", "hexseed:"+hex.EncodeToString(append([]byte(ExporterLabel), seed...)), "TLS1-PRF").Output()
		cancel()
		if err != nil {
			t.Fatalf("openssl kdf %s: %v", tc.digest, err)
		}
		want := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(string(out)), ":", ""))
		if got := hex.EncodeToString(prf(tc.version, ms, ExporterLabel, seed, MaterialLen)); got != want {
			t.Errorf("%#04x: prf %s\nopenssl %s", tc.version, got, want)
		}
	}
}
