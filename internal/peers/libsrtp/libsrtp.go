// Package libsrtp builds and drives the libsrtp2 peer (testdata/harness.c, written for
// this project from the libsrtp2 public API) for SRTP interop tests and the
// SRTP benchmark: media/srtp checks its contexts against it, media its
// Sessions. Test-only: nothing in the product imports it.
package libsrtp

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/handset-dev/handset/internal/testutil"
)

//go:embed testdata/harness.c
var harnessC []byte

// Build compiles the harness with gcc and pkg-config libsrtp2 (Debian
// libsrtp2-dev) into t.TempDir() and returns its path. A missing compiler or
// library skips the test locally and fails it in CI.
func Build(t testing.TB) string {
	t.Helper()
	gcc := testutil.RequirePeer(t, "gcc")
	pc := testutil.RequirePeer(t, "pkg-config")
	flags, err := exec.Command(pc, "--cflags", "--libs", "libsrtp2").Output()
	if err != nil {
		msg := "pkg-config libsrtp2 failed (install libsrtp2-dev)"
		if testutil.InCI() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "harness.c")
	if err := os.WriteFile(src, harnessC, 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "harness")
	args := append([]string{"-O2", "-o", out, src}, strings.Fields(string(flags))...)
	if b, err := exec.Command(gcc, args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc harness.c: %v\n%s", err, b)
	}
	return out
}

// Key is one master key ‖ salt (30 bytes for AES_CM_128) and its MKI (nil:
// no MKI on the wire).
type Key struct {
	KeySalt []byte
	MKI     []byte
}

// Spec renders keys in the harness's KEYS syntax: KEYSALT_HEX[/MKI_HEX],...
// (protect uses the first key).
func Spec(keys ...Key) string {
	var parts []string
	for _, k := range keys {
		s := hex.EncodeToString(k.KeySalt)
		if len(k.MKI) > 0 {
			s += "/" + hex.EncodeToString(k.MKI)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ",")
}

// Run feeds packets to the harness in mode (protect, unprotect,
// protect_rtcp, unprotect_rtcp) and returns one output per packet: the
// packet, or nil with the harness's "ERR <srtp_err_status_t>" text.
func Run(t testing.TB, bin, mode, spec string, pkts [][]byte) (out [][]byte, errs []string) {
	t.Helper()
	var in bytes.Buffer
	for _, p := range pkts {
		in.WriteString(hex.EncodeToString(p) + "\n")
	}
	cmd := exec.Command(bin, mode, spec)
	cmd.Stdin = &in
	b, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("harness %s: %v\n%s", mode, err, ee.Stderr)
		}
		t.Fatalf("harness %s: %v", mode, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<16), 1<<16)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "ERR") {
			out, errs = append(out, nil), append(errs, line)
			continue
		}
		p, err := hex.DecodeString(line)
		if err != nil {
			t.Fatalf("harness output %q: %v", line, err)
		}
		out, errs = append(out, p), append(errs, "")
	}
	if len(out) != len(pkts) {
		t.Fatalf("harness %s gave %d lines for %d packets", mode, len(out), len(pkts))
	}
	return out, errs
}
