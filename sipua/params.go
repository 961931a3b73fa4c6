package sipua

import (
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/handset-dev/handset/configs"
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
//	reg.1.server.1.transport              must be TLS or DNSnaptr (Lync is TLS only)
//	reg.1.server.1.expires                requested lifetime, seconds
//	reg.1.server.1.expires.overlap        re-REGISTER this long before expiry
//	reg.1.server.1.registerRetry.baseTimeOut / .maxTimeOut   RFC 5626 backoff
//	sec.TLS.customCaCert.1…8              extra trusted CAs (PEM) for the registrar
//	reg.1.server.1.specialInterop         lync*/ocs*/lcs*: NTLM + MS-SIPAE; standard: digest
//
// CRLF keep-alives follow the server's ms-keep-alive (Lync closes idle
// flows), so tcpIpApp.keepalive.tcp.sip.tls.enable="0", the registry
// default, does not turn them off. reg.1.server.1.retryMaxCount is about
// moving to the next server, not giving up, so it is not mapped.
// mac identifies the handset in events. Empty parameters keep defaults.
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
		// Unset (the load runner's CSV) keeps the Lync sign-in; a booted
		// set carries the base profile's lync2010 unless a file says otherwise.
		SpecialInterop: val("reg.1.server.1.specialInterop"),
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
		{"reg.1.server.1.expires.overlap", func(n int) { c.ReRegisterOverlap = time.Duration(n) * time.Second }},
		{"reg.1.server.1.registerRetry.baseTimeOut", func(n int) { c.RetryBase = time.Duration(n) * time.Second }},
		{"reg.1.server.1.registerRetry.maxTimeOut", func(n int) { c.RetryMax = time.Duration(n) * time.Second }},
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
	for i := 1; i <= 8; i++ {
		if pem := val("sec.TLS.customCaCert." + strconv.Itoa(i)); pem != "" {
			c.CACertsPEM = append(append(c.CACertsPEM, pem...), '\n')
		}
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// ConfigFromParams maps a booted provisioning set (configs.Boot) to a
// Config; see ConfigFromValues for the parameters read.
func ConfigFromParams(e *configs.Effective) (Config, error) {
	return ConfigFromValues(e.MAC(), e.LookupFunc())
}

// LoadConfig boots the provisioning files in fsys for mac (configs.Boot:
// master file, CONFIG_FILES, Lync base profile) and maps them with
// ConfigFromParams. Boot warnings are dropped; see BootConfig.
func LoadConfig(fsys fs.FS, mac string) (Config, error) {
	c, _, err := BootConfig(fsys, mac)
	return c, err
}

// BootConfig is LoadConfig that also returns the Boot warnings (unknown
// parameters, ignored device.* values) for the caller to show.
func BootConfig(fsys fs.FS, mac string) (Config, []configs.Warning, error) {
	e, warns, err := configs.Boot(fsys, mac)
	if err != nil {
		return Config{}, warns, &ConfigError{Field: "provisioning", Value: mac, Msg: err.Error()}
	}
	c, err := ConfigFromParams(e)
	return c, warns, err
}
