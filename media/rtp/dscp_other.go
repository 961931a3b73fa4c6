//go:build !unix

package rtp

import (
	"errors"
	"fmt"
	"net"
)

var errDSCPUnsupported = errors.New("rtp: dscp marking is not supported on this platform")

// SetDSCP is not supported on this platform.
func SetDSCP(conn *net.UDPConn, dscp int) error {
	return fmt.Errorf("%w (dscp %d)", errDSCPUnsupported, dscp)
}

// DSCP is not supported on this platform.
func DSCP(conn *net.UDPConn) (int, error) { return 0, errDSCPUnsupported }
