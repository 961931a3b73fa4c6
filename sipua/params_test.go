package sipua

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func mapLookup(m map[string]string) Lookup {
	return func(n string) (string, bool) { v, ok := m[n]; return v, ok }
}

func TestConfigFromValues(t *testing.T) {
	got, err := ConfigFromValues("0004f2000001", mapLookup(map[string]string{
		"reg.1.address":                            "alice@contoso.test",
		"reg.1.auth.userId":                        "alice",
		"reg.1.auth.domain":                        "CONTOSO",
		"reg.1.auth.password":                      "Passw0rd!",
		"reg.1.server.1.address":                   "pool.contoso.test",
		"reg.1.server.1.port":                      "5061",
		"reg.1.server.1.transport":                 "TLS",
		"reg.1.server.1.expires":                   "3600",
		"reg.1.server.1.registerRetry.baseTimeOut": "10",
		"reg.1.server.1.registerRetry.maxTimeOut":  "180",
		"reg.1.server.1.expires.overlap":           "60",
		"tcpIpApp.keepalive.tcp.sip.tls.enable":    "0",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Handset: "0004f2000001", AOR: "alice@contoso.test", AuthUser: "alice", AuthDomain: "CONTOSO",
		Password: "Passw0rd!", Server: "pool.contoso.test", Port: 5061, Expires: time.Hour,
		RetryBase: 10 * time.Second, RetryMax: 180 * time.Second, ReRegisterOverlap: time.Minute}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ConfigFromValues (-want +got):\n%s", d)
	}
	for name, m := range map[string]map[string]string{
		"udp":       {"reg.1.address": "a@b", "reg.1.auth.password": "x", "reg.1.server.1.transport": "UDPOnly"},
		"bad port":  {"reg.1.address": "a@b", "reg.1.auth.password": "x", "reg.1.server.1.port": "x"},
		"no domain": {"reg.1.address": "alice", "reg.1.auth.password": "x"},
		"no pass":   {"reg.1.address": "a@b", "reg.1.auth.usePinCredentials": "0"},
	} {
		var ce *ConfigError
		if _, err := ConfigFromValues("m", mapLookup(m)); !errors.As(err, &ce) {
			t.Errorf("%s: err = %v, want ConfigError", name, err)
		}
	}
	// No credentials with the PIN & Ext. menu on: a PIN handset (pin.go).
	pin, perr := ConfigFromValues("m", mapLookup(map[string]string{"reg.1.address": "a@b", "reg.1.auth.extension": "4001", "reg.1.auth.pin": "1234"}))
	if perr != nil || !pin.PINSignIn || pin.Extension != "4001" || pin.PIN.Reveal() != "1234" {
		t.Errorf("PIN handset: %+v, %v", pin, perr)
	}
}

// TestLoadConfigTemplates boots the flat templates (configs/templates/flat)
// for alice's handset.
func TestLoadConfigTemplates(t *testing.T) {
	c, err := LoadConfig(os.DirFS("../configs/templates/flat"), "0004f2000001")
	if err != nil {
		t.Fatal(err)
	}
	if c.AOR != "alice@contoso.test" || c.AuthUser != "alice" || c.AuthDomain != "CONTOSO" || c.Password.Reveal() != "Passw0rd!" ||
		c.Server != "pool.contoso.test" || c.Port != 5061 || c.Expires != time.Hour || c.Handset != "0004f2000001" {
		t.Errorf("config = %+v", c)
	}
	if _, err := LoadConfig(os.DirFS("../configs/templates/flat"), "not-a-mac"); err == nil {
		t.Error("bad MAC accepted")
	}
}

func TestConfigNeverPrintsPassword(t *testing.T) {
	c := Config{AOR: "alice@contoso.test", Password: "Sup3rSecret"}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("cfg", "config", c, "pw", c.Password)
	js, _ := json.Marshal(c)
	for _, s := range []string{fmt.Sprintf("%v %+v %#v %s", c, c, c, c.Password), buf.String(), string(js)} {
		if strings.Contains(s, "Sup3rSecret") {
			t.Errorf("password leaked: %s", s)
		}
	}
}
