package msturn

import (
	"net"
	"net/netip"
	"time"

	"github.com/pion/transport/v5/deadline"
)

// PacketConn returns the allocation as a net.PacketConn, the plug point of
// pion/ice's AddVirtualCandidate (DEPENDENCIES.md §3.1): WriteTo sends to a
// peer through the relay, ReadFrom returns a relayed payload and the peer it
// came from (so the agent matches it to a remote candidate), LocalAddr is
// the relayed address. Closing it closes the client.
func (c *Client) PacketConn() net.PacketConn {
	return &relayConn{c: c, rd: deadline.New(), wd: deadline.New()}
}

type relayConn struct {
	c      *Client
	rd, wd *deadline.Deadline
}

var errTimeout = &timeoutError{}

type timeoutError struct{}

func (*timeoutError) Error() string   { return "msturn: i/o timeout" }
func (*timeoutError) Timeout() bool   { return true }
func (*timeoutError) Temporary() bool { return true }

func (r *relayConn) ReadFrom(p []byte) (int, net.Addr, error) {
	select {
	case pkt := <-r.c.data:
		n := copy(p, pkt.Data)
		return n, net.UDPAddrFromAddrPort(pkt.From), nil
	case <-r.rd.Done():
		return 0, nil, errTimeout
	case <-r.c.closed:
		return 0, nil, net.ErrClosed
	}
}

func (r *relayConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	select {
	case <-r.wd.Done():
		return 0, errTimeout
	default:
	}
	var ap netip.AddrPort
	switch a := addr.(type) {
	case *net.UDPAddr:
		ap = a.AddrPort()
	default:
		x, err := netip.ParseAddrPort(addr.String())
		if err != nil {
			return 0, err
		}
		ap = x
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if err := r.c.Send(ap, p); err != nil {
		if r.c.isClosed() {
			return 0, net.ErrClosed
		}
		return 0, err
	}
	return len(p), nil
}

func (r *relayConn) Close() error { return r.c.Close() }

func (r *relayConn) LocalAddr() net.Addr {
	return net.UDPAddrFromAddrPort(r.c.Allocation().Relayed)
}

func (r *relayConn) SetDeadline(t time.Time) error {
	r.rd.Set(t)
	r.wd.Set(t)
	return nil
}

func (r *relayConn) SetReadDeadline(t time.Time) error  { r.rd.Set(t); return nil }
func (r *relayConn) SetWriteDeadline(t time.Time) error { r.wd.Set(t); return nil }

// errors.Is(err, os.ErrDeadlineExceeded) style callers check Timeout().
var _ interface{ Timeout() bool } = errTimeout
