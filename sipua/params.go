package sipua

import (
	"errors"
	"io/fs"
	"strconv"
	"strings"
	"time"
)

// Lookup returns a provisioning parameter's effective value and whether it
// is set (configs.Effective in production, a CSV row in the load runner).
type Lookup func(name string) (string, bool)

// ConfigFromValues maps the real Polycom/Spectralink parameter names of
// registration line 1 to a Config (seed Appendix A; protocols.md §0):
//
//	reg.1.address                         AOR (user@domain)
//	reg.1.auth.userId / .domain / .password   NTLM credentials
//	reg.1.server.1.address / .port        registrar (empty: DNS SRV)
//	reg.1.server.1.transport              must be TLS (Lync)
//	reg.1.server.1.expires                requested lifetime, seconds
//	reg.1.server.1.registerRetry.baseTimeOut / .maxTimeOut   RFC 5626 backoff
//	reg.1.server.1.retryMaxCount          failures before giving up (0: forever)
//	tcpIpApp.keepalive.tcp.sip.tls.enable 0 disables CRLF keep-alives
//
// mac identifies the handset in events. Unknown or empty parameters keep
// their defaults.
func ConfigFromValues(mac string, get Lookup) (Config, error) {
	val := func(n string) string {
		v, _ := get(n)
		return strings.TrimSpace(v)
	}
	c := Config{
		Handset:    mac,
		AOR:        val("reg.1.address"),
		AuthUser:   val("reg.1.auth.userId"),
		AuthDomain: val("reg.1.auth.domain"),
		Server:     val("reg.1.server.1.address"),
	}
	if v, ok := get("reg.1.auth.password"); ok {
		c.Password = Password(v)
	}
	if c.AOR != "" && !strings.Contains(c.AOR, "@") {
		return Config{}, &ConfigError{Field: "reg.1.address", Value: c.AOR, Msg: "want user@domain (Lync sign-in address)"}
	}
	ints := []struct {
		name string
		set  func(int)
	}{
		{"reg.1.server.1.port", func(n int) { c.Port = n }},
		{"reg.1.server.1.expires", func(n int) { c.Expires = time.Duration(n) * time.Second }},
		{"reg.1.server.1.registerRetry.baseTimeOut", func(n int) { c.RetryBase = time.Duration(n) * time.Second }},
		{"reg.1.server.1.registerRetry.maxTimeOut", func(n int) { c.RetryMax = time.Duration(n) * time.Second }},
		{"reg.1.server.1.retryMaxCount", func(n int) { c.RetryMaxCount = n }},
	}
	for _, p := range ints {
		s := val(p.name)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return Config{}, &ConfigError{Field: p.name, Value: s, Msg: "want a non-negative integer"}
		}
		p.set(n)
	}
	switch t := strings.ToUpper(val("reg.1.server.1.transport")); t {
	case "", "TLS", "DNSNAPTR":
	default:
		return Config{}, &ConfigError{Field: "reg.1.server.1.transport", Value: t, Msg: "Lync 2013 sign-in needs TLS"}
	}
	if v := val("tcpIpApp.keepalive.tcp.sip.tls.enable"); v == "0" {
		c.NoKeepAlive = true
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// errNoConfigs is returned by LoadConfig until the configs package is wired.
var errNoConfigs = errors.New("sipua: provisioning loader (configs) not available in this build")

// LoadConfig boots the provisioning files in fsys for mac and maps them with
// ConfigFromValues.
//
// TODO(configs): configs.Boot(fsys, mac) + ConfigFromParams once configs lands.
func LoadConfig(fsys fs.FS, mac string) (Config, error) {
	return Config{}, errNoConfigs
}
