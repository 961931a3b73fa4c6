package cli

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/handset-dev/handset/labfe"
	"github.com/handset-dev/handset/media/msturn"
)

// TestLabfeRelayFlag: with --relay, `handset labfe` prints its MS-TURN
// relay, which answers an Allocate with the MS-TURN 401 challenge, and
// stops with the front end.
func TestLabfeRelayFlag(t *testing.T) {
	o, err := parseLabfeFlags(&Env{Stderr: &bytes.Buffer{}}, []string{"--ca-out", filepath.Join(t.TempDir(), "ca.pem"), "--relay", "--no-echo"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ready := make(chan *labfe.Server, 1)
	var out bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &out, Log: slog.New(slog.DiscardHandler)}
	done := make(chan int, 1)
	go func() { done <- runLabfeWith(ctx, env, o, ready) }()
	<-ready
	m := regexp.MustCompile(`MS-TURN relay on udp (\S+), tcp (\S+) \(realm SIP\)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no relay line:\n%s", out.String())
	}
	c, err := msturn.New(msturn.Config{Server: m[1], Username: "nobody", Password: "x", RTO: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	actx, acancel := context.WithTimeout(ctx, 5*time.Second)
	defer acancel()
	_, err = c.Allocate(actx)
	_ = c.Close()
	var re *msturn.ResponseError
	if !errors.As(err, &re) || re.Code != 401 {
		t.Fatalf("allocate with unknown credentials: %v", err)
	}
	cancel()
	if code := <-done; code != ExitOK {
		t.Fatalf("exit %d: %s", code, out.String())
	}
}
