package media

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/handset-dev/handset/configs"
	"github.com/handset-dev/handset/media/rtp"
	"github.com/handset-dev/handset/media/sdp"
)

func effective(t *testing.T, values map[string]string) *configs.Effective {
	t.Helper()
	e, _, err := configs.FromValues("0004f2000001", values)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// The Lync base profile (seed Appendix A) as media sees it.
func TestConfigFromParamsLyncProfile(t *testing.T) {
	c, err := ConfigFromParams(effective(t, nil), 1)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, cd := range c.Codecs {
		names = append(names, cd.Name+"/"+cd.Fmtp)
	}
	// G722=4, G7221.24kbps=5, G711_Mu=6, G711_A=7, G729_AB=8.
	if want := []string{"G722/", "G7221/bitrate=24000", "PCMU/", "PCMA/", "G729/"}; !slices.Equal(names, want) {
		t.Errorf("codecs %v, want %v", names, want)
	}
	if c.Codecs[1].PT != 112 {
		t.Errorf("G.722.1 24k payload type %d, want 112", c.Codecs[1].PT)
	}
	want := Config{Codecs: c.Codecs, DTMF: 101, Policy: sdp.Policy{Enable: true}, MKI: true, MKILength: 1,
		MKIStartSessionAtOne: true, KeyLifetime: 1 << 31, DSCP: 46, Ptime: rtp.Ptime}
	c.Source = nil
	if !configEqual(c, want) {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
}

func configEqual(a, b Config) bool {
	ac, bc := a.Codecs, b.Codecs
	a.Codecs, b.Codecs = nil, nil
	a.Source, b.Source = nil, nil
	return slices.Equal(ac, bc) && a.LocalIP == b.LocalIP && a.Policy == b.Policy && a.MKI == b.MKI &&
		a.MKILength == b.MKILength && a.MKIStartSessionAtOne == b.MKIStartSessionAtOne && a.KeyLifetime == b.KeyLifetime &&
		a.HoldWithNewKey == b.HoldWithNewKey && a.ResumeWithNewKey == b.ResumeWithNewKey && a.DSCP == b.DSCP &&
		a.Ptime == b.Ptime && a.DTMF == b.DTMF && a.PortMin == b.PortMin && a.PortMax == b.PortMax
}

func TestConfigFromParamsValues(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values map[string]string
		line   int
		check  func(Config) bool
	}{
		{"require forces offer", map[string]string{"reg.1.srtp.require": "1"}, 1,
			func(c Config) bool { return c.Policy == sdp.Policy{Enable: true, Offer: true, Require: true} }},
		{"per-line value wins over sec.srtp", map[string]string{"reg.2.srtp.offer": "1", "sec.srtp.offer": "0"}, 2,
			func(c Config) bool { return c.Policy.Offer }},
		{"sec.srtp when the line says nothing", map[string]string{"sec.srtp.offer": "1"}, 2,
			func(c Config) bool { return c.Policy.Offer }},
		{"srtp disabled", map[string]string{"reg.1.srtp.enable": "0"}, 1,
			func(c Config) bool { return !c.Policy.Enable }},
		{"lifetime 0 means none", map[string]string{"sec.srtp.key.lifetime": "0"}, 1,
			func(c Config) bool { return c.KeyLifetime == 0 }},
		{"lifetime 2^10", map[string]string{"sec.srtp.key.lifetime": "2^10"}, 1,
			func(c Config) bool { return c.KeyLifetime == 1024 }},
		{"mki off, 4 bytes, counting", map[string]string{"sec.srtp.mki.enabled": "0", "sec.srtp.mki.length": "4", "sec.srtp.mki.startSessionAtOne": "0"}, 1,
			func(c Config) bool { return !c.MKI && c.MKILength == 4 && !c.MKIStartSessionAtOne }},
		{"new keys on hold and resume", map[string]string{"sec.srtp.holdWithNewKey": "1", "sec.srtp.resumeWithNewKey": "1"}, 1,
			func(c Config) bool { return c.HoldWithNewKey && c.ResumeWithNewKey }},
		{"dscp", map[string]string{"qos.ip.rtp.dscp": "34"}, 1, func(c Config) bool { return c.DSCP == 34 }},
		{"only G.711 A-law", map[string]string{"voice.codecPref.G722": "0", "voice.codecPref.G7221.24kbps": "0",
			"voice.codecPref.G711_Mu": "0", "voice.codecPref.G729_AB": "0", "voice.codecPref.G711_A": "1"}, 1,
			func(c Config) bool { return len(c.Codecs) == 1 && c.Codecs[0].Name == "PCMA" }},
		{"G.722.1 payload type", map[string]string{"voice.audioProfile.G7221.24kbps.payloadType": "121"}, 1,
			func(c Config) bool { return c.Codecs[1].PT == 121 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ConfigFromParams(effective(t, tc.values), tc.line)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Errorf("%+v", c)
			}
		})
	}
}

func TestConfigFromParamsErrors(t *testing.T) {
	noCodecs := map[string]string{}
	for _, n := range sdpCodecPrefs {
		noCodecs["voice.codecPref."+n] = "0"
	}
	noCodecs["voice.codecPref.Siren7"] = "1" // known to the registry, not sent by the emulator
	for _, tc := range []struct {
		name  string
		e     *configs.Effective
		line  int
		param string
	}{
		{"no codec", effective(t, noCodecs), 1, "voice.codecPref"},
		{"line 0", effective(t, nil), 0, "line 0"},
		{"nil", nil, 1, "no configuration"},
	} {
		_, err := ConfigFromParams(tc.e, tc.line)
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.param) || Outcome(err) != OutcomeConfig {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	good := testConfig()
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*Config){
		"no ip":          func(c *Config) { c.LocalIP = netip.Addr{} },
		"unspecified ip": func(c *Config) { c.LocalIP = netip.IPv4Unspecified() },
		"no codecs":      func(c *Config) { c.Codecs = nil },
		"unknown codec":  func(c *Config) { c.Codecs = []sdp.Codec{{PT: 96, Name: "opus", ClockRate: 48000}} },
		"mki length 5":   func(c *Config) { c.MKILength = 5 },
		"lifetime 1000":  func(c *Config) { c.KeyLifetime = 1000 },
		"dscp 64":        func(c *Config) { c.DSCP = 64 },
		"ptime 30ms":     func(c *Config) { c.Ptime = 30e6 },
		"port range":     func(c *Config) { c.PortMin, c.PortMax = 5000, 4000 },
	} {
		c := good
		mod(&c)
		if err := c.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := NewSession(c); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: NewSession: %v", name, err)
		}
	}
}

// A lifetime that is not a power of 2 (the .cfg allows any integer ≥ 1024)
// is written as the power of 2 below it: re-keying early is safe.
func TestLifetimeRoundsDown(t *testing.T) {
	c := testConfig()
	c.KeyLifetime = 1500
	s, err := NewSession(c)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	off, err := s.Offer(sdp.SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	if cr := cryptoLine(t, off); cr.Lifetime != 1024 {
		t.Errorf("lifetime %d, want 1024", cr.Lifetime)
	}
}
