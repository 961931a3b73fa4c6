package cli

import (
	"bytes"
	"context"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/handset-dev/handset/internal/testutil"
)

// exitRecorder stands in for os.Exit.
type exitRecorder struct {
	mu    sync.Mutex
	codes []int
	ch    chan int
}

func newExitRecorder() *exitRecorder { return &exitRecorder{ch: make(chan int, 4)} }

func (e *exitRecorder) exit(code int) {
	e.mu.Lock()
	e.codes = append(e.codes, code)
	e.mu.Unlock()
	e.ch <- code
}

func (e *exitRecorder) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.codes)
}

// syncBuffer is a bytes.Buffer safe for the watcher goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestStopOnSignals: first signal → graceful (ctx cancelled, no exit); the
// command returning in time → no exit; a second signal → exit at once;
// grace passing → exit. No goroutine outlives done.
func TestStopOnSignals(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	t.Run("graceful", func(t *testing.T) {
		sigs := make(chan os.Signal, 2)
		ex := newExitRecorder()
		var out syncBuffer
		ctx, done := StopOnSignals(context.Background(), sigs, time.Hour, &out, ex.exit)
		if ctx.Err() != nil {
			t.Fatal("cancelled before any signal")
		}
		sigs <- syscall.SIGTERM
		<-ctx.Done()
		done() // the command returned within the grace
		if ex.count() != 0 {
			t.Errorf("exit called: %v", ex.codes)
		}
		if !bytes.Contains([]byte(out.String()), []byte("stopping gracefully")) {
			t.Errorf("stderr %q", out.String())
		}
	})
	t.Run("second signal", func(t *testing.T) {
		sigs := make(chan os.Signal, 2)
		ex := newExitRecorder()
		ctx, done := StopOnSignals(context.Background(), sigs, time.Hour, &syncBuffer{}, ex.exit)
		defer done()
		sigs <- os.Interrupt
		<-ctx.Done()
		sigs <- os.Interrupt
		if code := <-ex.ch; code != ExitRunFailed {
			t.Errorf("exit code %d", code)
		}
	})
	t.Run("grace exceeded", func(t *testing.T) {
		sigs := make(chan os.Signal, 2)
		ex := newExitRecorder()
		var out syncBuffer
		ctx, done := StopOnSignals(context.Background(), sigs, 10*time.Millisecond, &out, ex.exit)
		defer done()
		sigs <- syscall.SIGTERM
		<-ctx.Done()
		if code := <-ex.ch; code != ExitRunFailed {
			t.Errorf("exit code %d", code)
		}
		if !bytes.Contains([]byte(out.String()), []byte("longer than")) {
			t.Errorf("stderr %q", out.String())
		}
	})
	t.Run("no signal", func(t *testing.T) {
		ex := newExitRecorder()
		ctx, done := StopOnSignals(context.Background(), make(chan os.Signal), time.Millisecond, &syncBuffer{}, ex.exit)
		done()
		done() // idempotent
		if ctx.Err() == nil || ex.count() != 0 {
			t.Errorf("after done: ctx %v, exits %v", ctx.Err(), ex.codes)
		}
	})
}
