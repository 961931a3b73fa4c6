package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/labfe"
)

func TestParseControl(t *testing.T) {
	tests := []struct {
		line string
		want controlCmd
		ok   bool
		err  bool
	}{
		{"", controlCmd{}, false, false},
		{"   # a comment", controlCmd{}, false, false},
		{"503", controlCmd{verb: "503", pool: "primary"}, true, false},
		{"503 retry-after=30s for=1m", controlCmd{verb: "503", pool: "primary", retryAfter: 30 * time.Second, period: time.Minute}, true, false},
		{"blackhole for=10s pool=backup", controlCmd{verb: "blackhole", pool: "backup", period: 10 * time.Second}, true, false},
		{"kill rst aor=alice@contoso.test", controlCmd{verb: "kill", pool: "primary", mode: labfe.CloseRST, aor: "alice@contoso.test"}, true, false},
		{"KILL fin # all flows", controlCmd{verb: "kill", pool: "primary", mode: labfe.CloseFIN}, true, false},
		{"restart down=5s", controlCmd{verb: "restart", pool: "primary", period: 5 * time.Second}, true, false},
		{"resume", controlCmd{verb: "resume", pool: "primary"}, true, false},
		{"clear pool=primary", controlCmd{verb: "clear", pool: "primary"}, true, false},
		{"reboot", controlCmd{}, false, true},
		{"503 retry-after=soon", controlCmd{}, false, true},
		{"503 for=-1s", controlCmd{}, false, true},
		{"kill sideways", controlCmd{}, false, true},
		{"restart for=1s", controlCmd{}, false, true},
		{"clear pool=tertiary", controlCmd{}, false, true},
		{"blackhole for", controlCmd{}, false, true},
	}
	for _, tc := range tests {
		got, ok, err := parseControl(tc.line)
		if (err != nil) != tc.err || ok != tc.ok || got != tc.want {
			t.Errorf("parseControl(%q) = %+v, %v, %v; want %+v, %v, err=%v", tc.line, got, ok, err, tc.want, tc.ok, tc.err)
		}
		if err != nil && !errors.Is(err, errControl) {
			t.Errorf("parseControl(%q): untyped error %v", tc.line, err)
		}
	}
}

// FuzzParseControl: never panics, errors are typed, and a parsed command
// renders to a line that parses back to the same command.
func FuzzParseControl(f *testing.F) {
	for _, s := range []string{"503 retry-after=30s for=1m", "blackhole for=10s pool=backup", "kill rst aor=a@b", "restart down=5s", "resume", "clear", "# x", "kill fin fin", "503 for=1h1m1.5s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, ok, err := parseControl(line)
		if err != nil {
			if !errors.Is(err, errControl) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if !ok {
			return
		}
		c2, ok2, err2 := parseControl(c.String())
		if err2 != nil || !ok2 || c2 != c {
			t.Fatalf("round trip %q → %+v → %q → %+v, %v", line, c, c.String(), c2, err2)
		}
	})
}

// TestLabfeControlAndBackup: `handset labfe --backup-fqdn … --control`
// serves two pools, prints the failover parameters, and applies fault
// commands to the named pool.
func TestLabfeControlAndBackup(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	o, err := parseLabfeFlags(&Env{Stderr: io.Discard}, []string{"--ca-out", filepath.Join(t.TempDir(), "ca.pem"), "--generate", "2",
		"--backup-fqdn", "backup.contoso.test", "--control", "-", "--no-echo"})
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	defer func() { _ = pw.Close() }()
	o.controlIn = pr
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ready := make(chan *labfe.Server, 1)
	out := &watchWriter{want: "resume: accepting connections", seen: make(chan struct{})}
	env := &Env{Stdout: out, Stderr: out, Log: slog.New(slog.DiscardHandler)}
	done := make(chan int, 1)
	go func() { done <- runLabfeWith(ctx, env, o, ready) }()
	srv := <-ready
	c, err := tls.Dial("tcp", srv.Addr(), &tls.Config{RootCAs: srv.CAPool(), ServerName: "pool.contoso.test", MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	// The flow is counted once labfe has accepted it; the handshake proves it.
	if _, err := io.WriteString(pw, "bogus\n503 retry-after=30s pool=backup\nkill rst pool=backup\nrestart down=1s\nresume\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-out.seen:
	case <-time.After(10 * time.Second):
		t.Fatalf("control output:\n%s", out.String())
	}
	_ = pw.Close()
	cancel()
	if code := <-done; code != ExitOK {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
	for _, want := range []string{
		"labfe: backup pool backup.contoso.test serving 127.0.0.1:",
		`reg.1.server.2.address="backup.contoso.test"`,
		"labfe: control: labfe control: unknown command \"bogus\"",
		"labfe: control: 503 retry-after=30s pool=backup: sign-ins answered 503",
		"labfe: control: kill rst pool=backup: 0 flows closed",
		"labfe: control: restart down=1s: 1 flows dropped",
		"labfe: control: resume: accepting connections",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
