package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/handset-dev/handset/labfe"
)

func TestLabfeUsage(t *testing.T) {
	for _, args := range [][]string{
		{"labfe", "extra"},
		{"labfe", "--cert", "x.pem"},
		{"labfe", "--users", "u.csv", "--generate", "3"},
		{"labfe", "--users", filepath.Join(t.TempDir(), "missing.csv")},
		{"labfe", "--bogus"},
		{"labfe", "--inband", filepath.Join(t.TempDir(), "missing.xml")},
		{"labfe", "--echo-encryption", "Sometimes", "--ca-out", filepath.Join(t.TempDir(), "ca.pem")},
		{"labfe", "--echo-uri", "echo", "--ca-out", filepath.Join(t.TempDir(), "ca.pem")},
	} {
		var out, errb bytes.Buffer
		if code := Main(t.Context(), args, &out, &errb); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, ExitUsage, errb.String())
		}
	}
}

// TestLabfeServes runs `handset labfe` with defaults, checks the printed
// sign-in command and CA file, dials it with that CA, and stops it.
func TestLabfeServes(t *testing.T) {
	o, err := parseLabfeFlags(&Env{Stderr: &bytes.Buffer{}}, []string{"--ca-out", filepath.Join(t.TempDir(), "ca.pem"), "--generate", "2"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan *labfe.Server, 1)
	var out bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &out, Log: slog.New(slog.DiscardHandler)}
	done := make(chan int, 1)
	go func() { done <- runLabfeWith(ctx, env, o, ready) }()
	srv := <-ready
	pem, err := os.ReadFile(o.caOut)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.Dial("tcp", srv.Addr(), &tls.Config{RootCAs: srv.CAPool(), ServerName: "pool.contoso.test", MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatalf("dial with the written CA: %v", err)
	}
	_ = c.Close()
	cancel()
	if code := <-done; code != ExitOK {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	want := "handset register --prov configs/templates/flat --mac 0004f2000001 --target " + srv.Addr() + " --ca " + o.caOut + " --once"
	if !strings.Contains(out.String(), want) || !strings.Contains(string(pem), "BEGIN CERTIFICATE") {
		t.Errorf("output:\n%s\nwant line %q", out.String(), want)
	}
}

// TestLabfeEchoFlags: the echo bot's flags reach labfe.Config and its line
// is printed.
func TestLabfeEchoFlags(t *testing.T) {
	o, err := parseLabfeFlags(&Env{Stderr: &bytes.Buffer{}}, []string{"--ca-out", filepath.Join(t.TempDir(), "ca.pem"),
		"--echo-uri", "sip:testcall@contoso.test", "--echo-delay", "-1s", "--echo-encryption", "SupportEncryption"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan *labfe.Server, 1)
	var out bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &out, Log: slog.New(slog.DiscardHandler)}
	done := make(chan int, 1)
	go func() { done <- runLabfeWith(ctx, env, o, ready) }()
	srv := <-ready
	c := srv.Config()
	cancel()
	if code := <-done; code != ExitOK {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	if c.EchoURI != "sip:testcall@contoso.test" || c.EchoAnswerDelay != -time.Second || c.EchoEncryption != labfe.SupportEncryption {
		t.Errorf("config %q %v %q", c.EchoURI, c.EchoAnswerDelay, c.EchoEncryption)
	}
	if !strings.Contains(out.String(), "labfe: echo bot sip:testcall@contoso.test (answers at once, SupportEncryption, media on 127.0.0.1)") {
		t.Errorf("output:\n%s", out.String())
	}
}
