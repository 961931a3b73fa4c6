package rtp

import (
	"net"
	"sync"
	"time"
)

// memConn is an in-memory net.PacketConn pair for synctest: channel
// operations block durably, so fake time advances only when both streams
// are idle.
type memConn struct {
	addr memAddr
	in   chan []byte
	peer *memConn
	drop func(n int) bool // drops the n-th packet written (1-based)

	mu       sync.Mutex
	written  int
	deadline chan struct{}
}

type memAddr string

func (a memAddr) Network() string { return "mem" }
func (a memAddr) String() string  { return string(a) }

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

func memPair() (*memConn, *memConn) {
	a := &memConn{addr: "a", in: make(chan []byte, 1024), deadline: make(chan struct{})}
	b := &memConn{addr: "b", in: make(chan []byte, 1024), deadline: make(chan struct{})}
	a.peer, b.peer = b, a
	return a, b
}

func (c *memConn) ReadFrom(p []byte) (int, net.Addr, error) {
	c.mu.Lock()
	dl := c.deadline
	c.mu.Unlock()
	select {
	case b := <-c.in:
		return copy(p, b), c.peer.addr, nil
	case <-dl:
		return 0, nil, timeoutError{}
	}
}

func (c *memConn) WriteTo(p []byte, _ net.Addr) (int, error) {
	c.mu.Lock()
	c.written++
	n := c.written
	c.mu.Unlock()
	if c.drop != nil && c.drop(n) {
		return len(p), nil
	}
	select {
	case c.peer.in <- append([]byte(nil), p...):
	default: // full: drop like a congested link
	}
	return len(p), nil
}

func (c *memConn) Close() error                     { return nil }
func (c *memConn) LocalAddr() net.Addr              { return c.addr }
func (c *memConn) SetDeadline(t time.Time) error    { return c.SetReadDeadline(t) }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }

func (c *memConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.IsZero() {
		select {
		case <-c.deadline:
			c.deadline = make(chan struct{})
		default:
		}
		return nil
	}
	select {
	case <-c.deadline:
	default:
		close(c.deadline)
	}
	return nil
}
