package msturn

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/handset-dev/handset/internal/testutil"
)

// TestCloseDuringAllocate: a relay that never answers; Close ends the
// pending Allocate at once (ErrClosed inside ErrNoRelay) and leaves no
// goroutine behind.
func TestCloseDuringAllocate(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	hole, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hole.Close()
	c, err := New(Config{Server: hole.LocalAddr().String(), Username: "u", Password: "p", RTO: time.Second, Retries: 30},
		WithRand(testutil.NewReader(1)))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := c.Allocate(context.Background()); done <- err }()
	// Wait until the request has reached the hole, then close.
	buf := make([]byte, 1500)
	_ = hole.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := hole.ReadFrom(buf); err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNoRelay) || !errors.Is(err, ErrClosed) {
			t.Fatalf("err %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Allocate still pending after Close")
	}
	if c.State() != StateClosed && c.State() != StateFailed {
		t.Fatalf("state %v", c.State())
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{}, {Server: "x:1"}, {Server: "x:1", Username: "u", Password: "p", Network: "sctp"}} {
		if c.Validate() == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if _, err := New(Config{Server: "x:1", Username: "u", Password: "p"}); err != nil {
		t.Fatal(err)
	}
}
