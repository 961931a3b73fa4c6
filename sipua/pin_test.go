package sipua

import (
	"errors"
	"testing"
)

// The seed's sign-in rules ("Signing into Lync") as Config.Validate applies
// them.
func TestValidateSignIn(t *testing.T) {
	base := Config{AOR: "alice@contoso.test"}
	for _, tc := range []struct {
		name  string
		mod   func(*Config)
		field string // "" = valid
	}{
		{"credentials, menus on", func(c *Config) { c.Password = "pw" }, ""},
		{"auto sign-in, both menus off", func(c *Config) { c.Password, c.NoLoginCredentials, c.NoPinCredentials = "pw", true, true }, ""},
		{"credentials with only the PIN menu", func(c *Config) { c.Password, c.NoLoginCredentials = "pw", true }, "reg.1.auth.useLoginCredentials"},
		{"no credentials", func(*Config) {}, "Password"},
		{"PIN sign-in", func(c *Config) { c.Extension, c.PIN = "4001", "1234" }, ""},
		{"PIN handset with a certificate only", func(c *Config) { c.PINSignIn = true }, ""},
		{"PIN without extension", func(c *Config) { c.PIN = "1234" }, "Extension"},
		{"PIN menu off", func(c *Config) { c.Extension, c.PIN, c.NoPinCredentials = "4001", "1234", true }, "reg.1.auth.usePinCredentials"},
	} {
		c := base
		tc.mod(&c)
		err := c.Validate()
		var ce *ConfigError
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.field != "" && (!errors.As(err, &ce) || ce.Field != tc.field):
			t.Errorf("%s: %v, want a ConfigError on %s", tc.name, err, tc.field)
		}
	}
}
