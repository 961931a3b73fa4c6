package msturn

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// ConfigFromParams builds a Config from the in-band parameters MRAS fills
// (protocols.md §8.3; configs registry): tcpIpApp.ice.username, .password,
// .turn.server and .turn.udpPort or .turn.tcpPort (both default 443, seed
// Appendix A). network is "udp" or "tcp". lookup returns "" for unset.
func ConfigFromParams(lookup func(name string) string, network string) (Config, error) {
	if network == "" {
		network = "udp"
	}
	host := strings.TrimSpace(lookup("tcpIpApp.ice.turn.server"))
	if host == "" {
		return Config{}, fmt.Errorf("%w: tcpIpApp.ice.turn.server is empty", ErrNoRelay)
	}
	portName := "tcpIpApp.ice.turn.udpPort"
	if network == "tcp" {
		portName = "tcpIpApp.ice.turn.tcpPort"
	}
	port := 443
	if v := strings.TrimSpace(lookup(portName)); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			return Config{}, fmt.Errorf("msturn: %s=%q is not a port", portName, v)
		}
		port = p
	}
	cfg := Config{Server: net.JoinHostPort(host, strconv.Itoa(port)), Network: network,
		Username: lookup("tcpIpApp.ice.username"), Password: lookup("tcpIpApp.ice.password")}
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrNoRelay, err)
	}
	return cfg, nil
}
