package ice

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	pice "github.com/pion/ice/v4"
)

// CandidateLine returns the value of an a=candidate line for c in the
// MS-ICE2 form (protocols.md §10.2): TCP candidates carry TCP-PASS or
// TCP-ACT as the transport token instead of a tcptype attribute.
func CandidateLine(c pice.Candidate) string {
	transport := "UDP"
	if c.NetworkType().IsTCP() {
		switch c.TCPType() {
		case pice.TCPTypeActive:
			transport = "TCP-ACT"
		default:
			transport = "TCP-PASS"
		}
	}
	s := fmt.Sprintf("candidate:%s %d %s %d %s %d typ %s", c.Foundation(), c.Component(), transport,
		c.Priority(), c.Address(), c.Port(), c.Type())
	if r := c.RelatedAddress(); r != nil && c.Type() != pice.CandidateTypeHost {
		s += fmt.Sprintf(" raddr %s rport %d", r.Address, r.Port)
	}
	return s
}

// Candidate is a parsed MS-ICE2 candidate line.
type Candidate struct {
	Foundation string
	Component  uint16
	Transport  string // UDP, TCP-PASS, TCP-ACT
	Priority   uint32
	Addr       netip.AddrPort
	Type       string // host, srflx, relay, prflx
	RelAddr    netip.AddrPort
}

// ParseCandidateLine reads an a=candidate value ("candidate:" prefix
// optional). It accepts the MS-ICE2 transports and RFC 5245's "UDP"/"TCP".
func ParseCandidateLine(s string) (Candidate, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "candidate:")
	f := strings.Fields(s)
	if len(f) < 8 || f[6] != "typ" {
		return Candidate{}, fmt.Errorf("%w: %q", ErrMalformed, s)
	}
	var c Candidate
	c.Foundation = f[0]
	comp, err := strconv.ParseUint(f[1], 10, 16)
	if err != nil || comp == 0 || len(c.Foundation) > 32 {
		return Candidate{}, fmt.Errorf("%w: component or foundation in %q", ErrMalformed, s)
	}
	c.Component = uint16(comp)
	switch strings.ToUpper(f[2]) {
	case "UDP":
		c.Transport = "UDP"
	case "TCP-PASS", "TCP":
		c.Transport = "TCP-PASS"
	case "TCP-ACT":
		c.Transport = "TCP-ACT"
	default:
		return Candidate{}, fmt.Errorf("%w: transport %q", ErrMalformed, f[2])
	}
	prio, err := strconv.ParseUint(f[3], 10, 32)
	if err != nil {
		return Candidate{}, fmt.Errorf("%w: priority %q", ErrMalformed, f[3])
	}
	c.Priority = uint32(prio)
	if c.Addr, err = addrPort(f[4], f[5]); err != nil {
		return Candidate{}, err
	}
	switch f[7] {
	case "host", "srflx", "relay", "prflx":
		c.Type = f[7]
	default:
		return Candidate{}, fmt.Errorf("%w: type %q", ErrMalformed, f[7])
	}
	for i := 8; i+1 < len(f); i += 2 {
		switch f[i] {
		case "raddr":
			if i+3 >= len(f) || f[i+2] != "rport" {
				return Candidate{}, fmt.Errorf("%w: raddr without rport", ErrMalformed)
			}
			if c.RelAddr, err = addrPort(f[i+1], f[i+3]); err != nil {
				return Candidate{}, err
			}
			i += 2
		}
	}
	return c, nil
}

func addrPort(ip, port string) (netip.AddrPort, error) {
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Zone() != "" {
		return netip.AddrPort{}, fmt.Errorf("%w: address %q", ErrMalformed, ip)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%w: port %q", ErrMalformed, port)
	}
	return netip.AddrPortFrom(a, uint16(p)), nil
}

// String writes the candidate back as a line value.
func (c Candidate) String() string {
	s := fmt.Sprintf("candidate:%s %d %s %d %s %d typ %s", c.Foundation, c.Component, c.Transport, c.Priority,
		c.Addr.Addr(), c.Addr.Port(), c.Type)
	if c.RelAddr.IsValid() {
		s += fmt.Sprintf(" raddr %s rport %d", c.RelAddr.Addr(), c.RelAddr.Port())
	}
	return s
}

// Pion converts the candidate into a pion remote candidate.
func (c Candidate) Pion() (pice.Candidate, error) {
	network := "udp"
	tcpType := pice.TCPTypeUnspecified
	switch c.Transport {
	case "TCP-PASS":
		network, tcpType = "tcp", pice.TCPTypePassive
	case "TCP-ACT":
		network, tcpType = "tcp", pice.TCPTypeActive
	}
	addr, port := c.Addr.Addr().String(), int(c.Addr.Port())
	rel, rport := "", 0
	if c.RelAddr.IsValid() {
		rel, rport = c.RelAddr.Addr().String(), int(c.RelAddr.Port())
	}
	switch c.Type {
	case "host":
		return pice.NewCandidateHost(&pice.CandidateHostConfig{Network: network, Address: addr, Port: port,
			Component: c.Component, Priority: c.Priority, Foundation: c.Foundation, TCPType: tcpType})
	case "srflx":
		return pice.NewCandidateServerReflexive(&pice.CandidateServerReflexiveConfig{Network: network, Address: addr, Port: port,
			Component: c.Component, Priority: c.Priority, Foundation: c.Foundation, RelAddr: rel, RelPort: rport})
	case "prflx":
		return pice.NewCandidatePeerReflexive(&pice.CandidatePeerReflexiveConfig{Network: network, Address: addr, Port: port,
			Component: c.Component, Priority: c.Priority, Foundation: c.Foundation, RelAddr: rel, RelPort: rport})
	default:
		return pice.NewCandidateRelay(&pice.CandidateRelayConfig{Network: network, Address: addr, Port: port,
			Component: c.Component, Priority: c.Priority, Foundation: c.Foundation, RelAddr: rel, RelPort: rport})
	}
}

// RemoteCandidates returns the value of an a=remote-candidates line: the
// selected remote candidate per component as "<component> <ip> <port>"
// tuples (protocols.md §10.2).
func RemoteCandidates(selected ...pice.Candidate) string {
	parts := make([]string, 0, len(selected))
	for _, c := range selected {
		parts = append(parts, fmt.Sprintf("%d %s %d", c.Component(), c.Address(), c.Port()))
	}
	return "remote-candidates:" + strings.Join(parts, " ")
}

// Attributes returns the media-level ICE attribute values for an offer or
// answer in SIPE's order: candidates, then ice-ufrag and ice-pwd.
func Attributes(ufrag, pwd string, cands []pice.Candidate) []string {
	out := make([]string, 0, len(cands)+2)
	for _, c := range cands {
		out = append(out, CandidateLine(c))
	}
	return append(out, "ice-ufrag:"+ufrag, "ice-pwd:"+pwd)
}
