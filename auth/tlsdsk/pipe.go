package tlsdsk

import (
	"io"
	"net"
	"sync"
	"time"
)

// pipe is the in-memory net.Conn under crypto/tls. Writes never block: they
// collect the outgoing flight. Reads block until the pump feeds a token, and
// a read that finds the buffer empty marks the handshake as waiting for the
// peer, which is how Step knows that a flight is complete (protocols.md
// §5.1: one flight per SIP round trip).
type pipe struct {
	mu       sync.Mutex
	cond     *sync.Cond
	in, out  []byte
	waiting  bool // the handshake blocks in Read on an empty buffer
	finished bool // the handshake goroutine has returned
	closed   bool
	hsErr    error
}

func newPipe() *pipe {
	p := &pipe{}
	p.cond = sync.NewCond(&p.mu)
	return p
}

func (p *pipe) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.in) == 0 && !p.closed {
		p.waiting = true
		p.cond.Broadcast()
		p.cond.Wait()
	}
	if len(p.in) == 0 {
		return 0, io.EOF
	}
	p.waiting = false
	n := copy(b, p.in)
	p.in = p.in[n:]
	return n, nil
}

func (p *pipe) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, net.ErrClosed
	}
	p.out = append(p.out, b...)
	return len(b), nil
}

// Close ends any blocked Read with io.EOF.
func (p *pipe) Close() error {
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	p.mu.Unlock()
	return nil
}

// finish records the end of the handshake goroutine.
func (p *pipe) finish(err error) {
	p.mu.Lock()
	p.finished = true
	p.hsErr = err
	p.cond.Broadcast()
	p.mu.Unlock()
}

// exchange feeds in and waits until the handshake has consumed it and either
// waits for the peer again or has finished. It returns the bytes written
// meanwhile.
func (p *pipe) exchange(in []byte) (out []byte, finished bool, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(in) > 0 && !p.finished {
		p.in = append(p.in, in...)
		p.waiting = false
		p.cond.Broadcast()
	}
	for !p.finished && (!p.waiting || len(p.in) != 0) {
		p.cond.Wait()
	}
	out, p.out = p.out, nil
	return out, p.finished, p.hsErr
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "tlsdsk" }
func (pipeAddr) String() string  { return "gssapi-data" }

func (p *pipe) LocalAddr() net.Addr              { return pipeAddr{} }
func (p *pipe) RemoteAddr() net.Addr             { return pipeAddr{} }
func (p *pipe) SetDeadline(time.Time) error      { return nil }
func (p *pipe) SetReadDeadline(time.Time) error  { return nil }
func (p *pipe) SetWriteDeadline(time.Time) error { return nil }
