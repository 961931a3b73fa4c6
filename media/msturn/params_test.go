package msturn

import (
	"errors"
	"testing"
)

func TestConfigFromParams(t *testing.T) {
	p := map[string]string{
		"tcpIpApp.ice.username":     "u",
		"tcpIpApp.ice.password":     "p",
		"tcpIpApp.ice.turn.server":  "av.contoso.test",
		"tcpIpApp.ice.turn.udpPort": "3478",
	}
	get := func(k string) string { return p[k] }
	c, err := ConfigFromParams(get, "udp")
	if err != nil || c.Server != "av.contoso.test:3478" || c.Network != "udp" || c.Username != "u" {
		t.Fatalf("%+v %v", c, err)
	}
	c, err = ConfigFromParams(get, "tcp") // tcpPort unset: the seed's 443
	if err != nil || c.Server != "av.contoso.test:443" {
		t.Fatalf("%+v %v", c, err)
	}
	delete(p, "tcpIpApp.ice.username")
	if _, err := ConfigFromParams(get, "udp"); !errors.Is(err, ErrNoRelay) {
		t.Fatalf("no credentials: %v", err)
	}
	p["tcpIpApp.ice.turn.udpPort"] = "x"
	if _, err := ConfigFromParams(get, "udp"); err == nil {
		t.Fatal("bad port accepted")
	}
	if _, err := ConfigFromParams(func(string) string { return "" }, ""); !errors.Is(err, ErrNoRelay) {
		t.Fatalf("no server: %v", err)
	}
}
