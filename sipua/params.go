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
//	reg.1.auth.extension / .pin           PIN sign-in (only without a password)
//	reg.1.auth.usePinCredentials / .useLoginCredentials   sign-in menus
//	reg.1.server.1.address / .port        registrar (empty: DNS SRV)
//	reg.1.server.1.transport              must be TLS or DNSnaptr (Lync is TLS only)
//	reg.1.server.1.expires                requested lifetime, seconds
//	reg.1.server.1.expires.overlap        re-REGISTER this long before expiry
//	reg.1.server.1.registerRetry.baseTimeOut / .maxTimeOut   RFC 5626 backoff
//	reg.1.server.y.address / .port (y ≥ 2)   later servers, in failover order
//	reg.1.server.y.retryTimeOut (ms) / .retryMaxCount   when to move to the next server
//	reg.1.server.1.failOver.failBack.mode / .timeout    when to go back to server 1
//	sec.TLS.customCaCert.1…8              extra trusted CAs (PEM) for the registrar
//	reg.1.server.1.specialInterop         lync*/ocs*/lcs*: NTLM + MS-SIPAE; standard: digest
//
// CRLF keep-alives follow the server's ms-keep-alive (Lync closes idle
// flows), so tcpIpApp.keepalive.tcp.sip.tls.enable="0", the registry
// default, does not turn them off. retryMaxCount is about moving to the
// next server, never about giving up (a handset keeps trying).
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
	// Which sign-in the user picks (seed "Signing into Lync"): the menus
	// follow use{Pin,Login}Credentials; extension and PIN (users.csv columns
	// or the emulator's reg.1.auth.extension/.pin) make a PIN handset only
	// when no password is given, so a users file carrying both keeps
	// signing in with credentials.
	c.NoPinCredentials = val("reg.1.auth.usePinCredentials") == "0"
	c.NoLoginCredentials = val("reg.1.auth.useLoginCredentials") == "0"
	if c.Password == "" {
		if ext, pin := val("reg.1.auth.extension"), val("reg.1.auth.pin"); ext != "" || pin != "" {
			c.Extension, c.PIN = ext, Password(pin)
		}
		// No credentials and the PIN & Ext. menu on: a PIN handset, which
		// signs in with its certificate or asks for extension and PIN.
		c.PINSignIn = !c.NoPinCredentials
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
	if err := serversFromValues(&c, val, get); err != nil {
		return Config{}, err
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

// maxServers bounds the reg.1.server.y scan.
const maxServers = 8

// serversFromValues maps the failover parameters: reg.1.server.y for y ≥ 2
// makes a list (server 1 first); retryTimeOut/retryMaxCount per server;
// failOver.failBack.mode/.timeout of server 1 for the whole line.
func serversFromValues(c *Config, val func(string) string, get Lookup) error {
	num := func(name string) (int, bool, error) {
		s := val(name)
		if s == "" {
			return 0, false, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return 0, false, &ConfigError{Field: name, Value: s, Msg: "want a non-negative integer"}
		}
		return n, true, nil
	}
	var list []ServerConfig
	for y := 1; y <= maxServers; y++ {
		pre := "reg.1.server." + strconv.Itoa(y) + "."
		addr := val(pre + "address")
		if addr == "" && y > 1 {
			break
		}
		sc := ServerConfig{Address: addr}
		if y == 1 {
			sc.Port = c.Port
		} else if n, ok, err := num(pre + "port"); err != nil {
			return err
		} else if ok {
			sc.Port = n
		}
		if n, ok, err := num(pre + "retryTimeOut"); err != nil {
			return err
		} else if ok {
			sc.RetryTimeOut = time.Duration(n) * time.Millisecond
		}
		if n, ok, err := num(pre + "retryMaxCount"); err != nil {
			return err
		} else if ok {
			sc.RetryMaxCount = n
		}
		list = append(list, sc)
	}
	c.RetryMaxCount = list[0].RetryMaxCount
	if len(list) > 1 {
		if list[0].Address == "" {
			return &ConfigError{Field: "reg.1.server.1.address", Value: "", Msg: "required when reg.1.server.2.address is set (failover order)"}
		}
		c.Servers = list
	}
	if v := val("reg.1.server.1.failOver.failBack.mode"); v != "" {
		m, ok := ParseFailBackMode(v)
		if !ok {
			return &ConfigError{Field: "reg.1.server.1.failOver.failBack.mode", Value: v, Msg: "permitted: newRequests, DNSTTL, registration, duration"}
		}
		c.FailBack = m
	}
	if _, ok := get("reg.1.server.1.failOver.failBack.timeout"); ok {
		n, _, err := num("reg.1.server.1.failOver.failBack.timeout")
		if err != nil {
			return err
		}
		c.FailBackTimeout = time.Duration(n) * time.Second
	}
	return nil
}
