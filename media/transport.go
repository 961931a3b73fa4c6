package media

import (
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/handset-dev/handset/media/sdp"
)

// Transport carries a session's RTP and RTCP over a path the caller set
// up, instead of the two UDP sockets NewSession binds: the ICE-selected
// candidate pair (media/ice), relayed through MS-TURN or not.
type Transport struct {
	// Conn sends and receives RTP and RTCP multiplexed on one ICE component
	// (RFC 5761 §4 demultiplexing; the 84-Series' second component for
	// RTCP is not used). Writes may ignore the destination address (the
	// pair is connected). Session.Close closes it.
	Conn net.PacketConn
	// Addr is written in c= and m= (and a=rtcp): the ICE default
	// candidate (RFC 8445 §5.1.4; the relay for a relay-only handset).
	Addr netip.AddrPort
	// Attributes are added to every offer and answer: a=candidate lines,
	// a=ice-ufrag, a=ice-pwd (media/ice.Attributes; protocols.md §10.2).
	Attributes []sdp.Attribute
}

// WithTransport runs the session over t instead of its own sockets
// (cfg.LocalIP, PortMin/PortMax and DSCP are then not used for binding).
func WithTransport(t Transport) Option {
	return func(s *Session) error {
		if t.Conn == nil || !t.Addr.IsValid() || t.Addr.Port() == 0 {
			return fmt.Errorf("%w: transport needs a conn and an address", ErrConfig)
		}
		t.Attributes = slices.Clone(t.Attributes)
		s.transport = &t
		return nil
	}
}

// sdpAddress is the address written in o= and c=.
func (s *Session) sdpAddress() string {
	if s.transport != nil {
		return s.transport.Addr.Addr().String()
	}
	return s.cfg.LocalIP.String()
}

// sdpAttributes are the extra media attributes of our offers and answers.
func (s *Session) sdpAttributes() []sdp.Attribute {
	if s.transport == nil {
		return nil
	}
	return s.transport.Attributes
}
