//go:build unix

package rtp

import (
	"fmt"
	"net"
	"syscall"
)

// SetDSCP marks conn's packets with a DSCP value (qos.ip.rtp.dscp, 46 = EF
// by default) by setting IP_TOS (IPv4) or IPV6_TCLASS (IPv6) to dscp<<2
// (RFC 2474 §3).
func SetDSCP(conn *net.UDPConn, dscp int) error {
	if dscp < 0 || dscp > 63 {
		return fmt.Errorf("%w: dscp %d (permitted 0 to 63)", ErrConfig, dscp)
	}
	return control(conn, func(fd uintptr, v6 bool) error {
		if v6 {
			// A dual-stack socket also carries IPv4; marking that is best effort.
			_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, syscall.IP_TOS, dscp<<2)
			return syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IPV6, syscall.IPV6_TCLASS, dscp<<2)
		}
		return syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, syscall.IP_TOS, dscp<<2)
	})
}

// DSCP reads the DSCP value back from the socket.
func DSCP(conn *net.UDPConn) (int, error) {
	var tos int
	err := control(conn, func(fd uintptr, v6 bool) error {
		var err error
		if v6 {
			tos, err = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_IPV6, syscall.IPV6_TCLASS)
		} else {
			tos, err = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_IP, syscall.IP_TOS)
		}
		return err
	})
	return tos >> 2, err
}

func control(conn *net.UDPConn, fn func(fd uintptr, v6 bool) error) error {
	raw, err := conn.SyscallConn()
	if err != nil {
		return fmt.Errorf("rtp: dscp: %w", err)
	}
	v6 := false
	if a, ok := conn.LocalAddr().(*net.UDPAddr); ok && a.IP != nil && a.IP.To4() == nil {
		v6 = true
	}
	var opErr error
	if err := raw.Control(func(fd uintptr) { opErr = fn(fd, v6) }); err != nil {
		return fmt.Errorf("rtp: dscp: %w", err)
	}
	if opErr != nil {
		return fmt.Errorf("rtp: dscp: %w", opErr)
	}
	return nil
}
