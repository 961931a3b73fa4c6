package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// DefaultStopGrace bounds the graceful stop after the first SIGINT/SIGTERM:
// `handset load` drains within --stop-timeout (10 s) and writes its files,
// `handset register` ends calls and un-REGISTERs within 5 s; past this
// grace the process exits anyway (RELIABILITY.md F14).
const DefaultStopGrace = 20 * time.Second

// StopOnSignals implements the two-signal stop of every command: the first
// signal from sigs cancels the returned context (graceful stop: BYE for
// active calls, un-REGISTER, files flushed); a second signal, or grace
// passing without done being called, calls exit(ExitRunFailed) at once.
// done releases the watcher (call it when the command has returned); it
// waits for the watcher goroutine, so none outlives it.
func StopOnSignals(parent context.Context, sigs <-chan os.Signal, grace time.Duration, stderr io.Writer, exit func(code int)) (ctx context.Context, done func()) {
	ctx, cancel := context.WithCancel(parent)
	finished := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case s := <-sigs:
			fmt.Fprintf(stderr, "handset: %v: stopping gracefully (ending calls, un-REGISTER; again to exit at once)\n", s)
			cancel()
		case <-finished:
			return
		}
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case s := <-sigs:
			fmt.Fprintf(stderr, "handset: %v again: exiting now\n", s)
			exit(ExitRunFailed)
		case <-t.C:
			fmt.Fprintf(stderr, "handset: graceful stop took longer than %v: exiting now\n", grace)
			exit(ExitRunFailed)
		case <-finished:
		}
	})
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			close(finished)
			wg.Wait()
			cancel()
		})
	}
}
