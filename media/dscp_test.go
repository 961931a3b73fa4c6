//go:build unix

package media

import (
	"net"
	"testing"

	"github.com/handset-dev/handset/media/rtp"
)

// qos.ip.rtp.dscp marks both media sockets (46, EF, from the profile's Null).
func TestDSCPMarked(t *testing.T) {
	for _, dscp := range []int{DefaultDSCP, 34} {
		c := testConfig()
		c.DSCP = dscp
		s, err := NewSession(c)
		if err != nil {
			t.Fatal(err)
		}
		for name, conn := range map[string]*net.UDPConn{"rtp": s.rtpConn, "rtcp": s.rtcpConn} {
			got, err := rtp.DSCP(conn)
			if err != nil {
				t.Fatal(err)
			}
			if got != dscp {
				t.Errorf("%s dscp %d, want %d", name, got, dscp)
			}
		}
		s.Close()
	}
}
