package media

import (
	"sync"
	"testing"
	"time"

	"github.com/handset-dev/handset/media/rtp"
)

// fakeClock is an rtp.Clock whose tickers fire only when the test calls
// Tick. Tick hands one tick to every live ticker and returns when each
// stream has handled it: the send loop evaluates C() each time it enters its
// select, so a token from C() after the tick means the packet is out.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	tickers []*fakeTicker
}

type fakeTicker struct {
	c       chan time.Time
	entered chan struct{} // one token per C() call (select entry)
	stopped chan struct{}
	once    sync.Once
	armed   bool // the token of the current select entry was taken (Tick only)
}

func (t *fakeTicker) C() <-chan time.Time {
	select {
	case t.entered <- struct{}{}:
	default:
	}
	return t.c
}
func (t *fakeTicker) Stop() { t.once.Do(func() { close(t.stopped) }) }

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTicker(time.Duration) rtp.Ticker {
	t := &fakeTicker{c: make(chan time.Time), entered: make(chan struct{}, 1), stopped: make(chan struct{})}
	c.mu.Lock()
	c.tickers = append(c.tickers, t)
	c.mu.Unlock()
	return t
}

// live returns the tickers not stopped yet.
func (c *fakeClock) live() []*fakeTicker {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*fakeTicker
	for _, t := range c.tickers {
		select {
		case <-t.stopped:
		default:
			out = append(out, t)
		}
	}
	c.tickers = out
	return out
}

// Tick advances 20 ms n times.
func (c *fakeClock) Tick(n int) {
	for range n {
		c.mu.Lock()
		c.now = c.now.Add(rtp.Ptime)
		now := c.now
		c.mu.Unlock()
		for _, t := range c.live() {
			if !t.armed && !t.wait() {
				continue
			}
			select {
			case t.c <- now:
			case <-t.stopped:
				continue
			}
			t.armed = t.wait()
		}
	}
}

// wait takes the token of the next select entry; false when the loop
// stopped instead.
func (t *fakeTicker) wait() bool {
	select {
	case <-t.entered:
		return true
	case <-t.stopped:
		return false
	}
}

// waitTickers waits until n tickers are live (the streams' send loops have
// started).
func (c *fakeClock) waitTickers(t *testing.T, n int) {
	t.Helper()
	eventually(t, func() bool { return len(c.live()) == n }, "%d live tickers", n)
}

// eventually polls cond until it holds or 10 s pass (loopback UDP delivery
// is asynchronous; this is a deadline, not a sleep to wait for something).
func eventually(t *testing.T, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for "+format, args...)
		}
		time.Sleep(time.Millisecond)
	}
}
