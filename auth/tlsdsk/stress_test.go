package tlsdsk

import (
	"sync"
	"testing"

	"github.com/handset-dev/handset/internal/testutil"
)

// Many handshakes at once, some abandoned half way: every pump finishes or
// closes, no goroutine is left behind.
func TestConcurrentHandshakes(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		c, s := newPumps(t, "user", nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			defer s.Close()
			out, _, err := c.Step(nil)
			if err != nil {
				errs <- err
				return
			}
			if i%4 == 3 {
				return // abandoned after the ClientHello
			}
			for {
				back, _, err := s.Step(out)
				if err != nil {
					errs <- err
					return
				}
				var done bool
				if out, done, err = c.Step(back); err != nil || done {
					if err != nil {
						errs <- err
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
