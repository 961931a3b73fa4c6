// Package testutil holds helpers shared by the project's tests: peer lookup
// (a missing third-party peer skips locally and fails in CI), seeded
// randomness, golden files and goroutine-leak checks.
package testutil

import (
	"flag"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"
)

// Update is set by `go test -update` and makes golden-file helpers rewrite
// their files instead of comparing.
var Update = flag.Bool("update", false, "rewrite golden files")

// InCI reports whether the tests run under CI (CI=true), where a missing peer
// is a failure rather than a skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// RequirePeer returns the absolute path of a third-party peer binary (or any
// file path, if name contains a slash). Locally a missing peer skips the test
// with a reason; in CI it fails the test, because .ci/run installs every peer.
func RequirePeer(t testing.TB, name string) string {
	t.Helper()
	var p string
	var err error
	if filepath.IsAbs(name) {
		_, err = os.Stat(name)
		p = name
	} else {
		p, err = exec.LookPath(name)
	}
	if err != nil {
		if InCI() {
			t.Fatalf("peer %s is missing in CI (.ci/run must install it): %v", name, err)
		}
		t.Skipf("peer %s not installed: %v", name, err)
	}
	return p
}

// Rand returns a deterministic *rand.Rand for tests.
func Rand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

// Reader is a deterministic io.Reader of pseudo-random bytes for tests that
// need an injected entropy source (Config.Rand style).
type Reader struct{ r *rand.Rand }

// NewReader returns a seeded deterministic byte reader.
func NewReader(seed uint64) *Reader { return &Reader{r: Rand(seed)} }

func (r *Reader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r.r.Uint32())
	}
	return len(p), nil
}

// Golden compares got with the file at path, or rewrites it with -update.
func Golden(t testing.TB, path string, got []byte) {
	t.Helper()
	if *Update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run with -update to create it)", path, err)
	}
	if string(want) != string(got) {
		t.Errorf("golden %s differs:\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

// VerifyNoLeaks fails the test if goroutines started during it are still
// running when it ends. Call it first in a test: defer-style via t.Cleanup.
func VerifyNoLeaks(t testing.TB) {
	t.Helper()
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}
