package configs

import (
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name, value string
		ok          bool
		wantInErr   string
	}{
		{"reg.1.server.1.transport", "TLS", true, ""},
		{"reg.1.server.1.transport", "UDP", false, `reg.1.server.1.transport="UDP": permitted: DNSnaptr|TCPpreferred|UDPOnly|TLS|TCPOnly`},
		{"reg.1.server.1.transport", "tls", false, `did you mean "TLS"`},
		{"reg.2.server.3.transport", "TCPOnly", true, ""},
		{"reg.1.server.1.specialInterop", "lync2013", true, ""},
		{"reg.1.server.1.specialInterop", "lync2016", false, "standard|ocs2007r2|lcs2005|lync2010|lync2013"},
		{"reg.1.server.1.expires", "3600", true, ""},
		{"reg.1.server.1.expires", "9", false, "out of range"},
		{"reg.1.server.1.expires", "abc", false, "not an integer"},
		{"reg.1.server.1.expires", "", false, "empty value"},
		{"reg.1.server.1.expires.overlap", "4", false, "5-65535"},
		{"reg.1.server.1.registerRetry.baseTimeOut", "121", false, "10-120"},
		{"reg.1.server.1.registerRetry.maxTimeOut", "1800", true, ""},
		{"reg.1.server.1.failOver.failBack.timeout", "0", true, ""},
		{"reg.1.server.1.failOver.failBack.timeout", "59", false, "0 or 60-65535"},
		{"reg.1.server.1.failOver.failBack.mode", "DNSTTL", true, ""},
		{"reg.1.server.1.port", "0", true, ""},
		{"reg.1.server.1.port", "65536", false, "0-65535"},
		{"reg.1.auth.useLoginCredentials", "0", true, ""},
		{"reg.1.auth.useLoginCredentials", "2", false, "permitted: 0|1"},
		{"reg.1.auth.useLoginCredentials", "true", false, "permitted: 0|1"},
		{"reg.1.auth.password", "anything at all", true, ""},
		{"reg.1.address", "", true, ""},
		{"sec.srtp.key.lifetime", "2^31", true, ""},
		{"sec.srtp.key.lifetime", "2^ 10", true, ""},
		{"sec.srtp.key.lifetime", "0", true, ""},
		{"sec.srtp.key.lifetime", "1024", true, ""},
		{"sec.srtp.key.lifetime", "1023", false, "1024"},
		{"sec.srtp.key.lifetime", "3^10", false, "powers of 2"},
		{"sec.srtp.key.lifetime", "2^9", false, "exponent"},
		{"sec.srtp.key.lifetime", "2^49", false, "exponent"},
		{"sec.srtp.mki.length", "4", true, ""},
		{"sec.srtp.mki.length", "5", false, "1-4"},
		{"qos.ip.rtp.dscp", "", true, ""},
		{"qos.ip.rtp.dscp", "64", false, "0-63 or Null"},
		{"tcpIpApp.ice.mode", "MSOCS", true, ""},
		{"voice.codecPref.G7221.24kbps", "28", false, "0-27"},
		{"voice.audioProfile.G7221.24kbps.payloadType", "127", true, ""},
		{"dialplan.1.originaldigitmap", "^(8047[0-9])$@+3512131$1@1", true, ""},
		{"dialplan.routing.emergency.1.value", "911", true, ""},
		{"msg.mwi.1.callBackMode", "contact", true, ""},
		{"sec.TLS.customCaCert.2", "-----BEGIN CERTIFICATE-----", true, ""},
		{"sec.TLS.profileSelection.SIP", "ApplicationProfile7", false, "PlatformProfile1"},
		{"device.baseProfile", "Lync", true, ""},
		{"device.baseProfile", "Skype", false, "Generic|Lync"},
		{"reg.0.address", "x", false, "unknown parameter"},
		{"reg.01.address", "x", false, "unknown parameter"},
		{"tcplpApp.ice.mode", "MSOCS", false, "did you mean tcpIpApp.ice.mode"},
		{"volpProt.SIP.mtls.enable", "0", false, "did you mean voIpProt.SIP.mtls.enable"},
		{"reg.1.server.1.registerRetry.maxTimeout", "180", false, "did you mean reg.1.server.1.registerRetry.maxTimeOut"},
		{"reg.2.server.1.specialinterop", "lync2013", false, "did you mean reg.2.server.1.specialInterop"},
		{"reg.1.auth.passwd", "x", false, "nearest known: reg.1.auth.password"},
	}
	for _, tt := range tests {
		err := Validate(tt.name, tt.value)
		if tt.ok {
			if err != nil {
				t.Errorf("Validate(%s=%q) = %v, want nil", tt.name, tt.value, err)
			}
			continue
		}
		var pe *ParamError
		if !errors.As(err, &pe) {
			t.Errorf("Validate(%s=%q) = %v, want *ParamError", tt.name, tt.value, err)
			continue
		}
		if pe.Param != tt.name || !strings.Contains(err.Error(), tt.wantInErr) {
			t.Errorf("Validate(%s=%q) = %q, want it to contain %q", tt.name, tt.value, err, tt.wantInErr)
		}
	}
}

func TestValidateSecretValueRedacted(t *testing.T) {
	// A secret with a bad value cannot happen (strings), but the PIN of a
	// PIN sign-in rule can: errors about secrets never print them.
	p := Param{Pattern: "x", Kind: KindBool, Secret: true, Permitted: "0|1"}
	err := p.check("x", "hunter2")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("got %v", err)
	}
}

func TestParseLifetime(t *testing.T) {
	for in, want := range map[string]uint64{"2^31": 1 << 31, "2^10": 1024, "0": 0, "4096": 4096, " 2^48 ": 1 << 48} {
		got, err := ParseLifetime(in)
		if err != nil || got != want {
			t.Errorf("ParseLifetime(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}

func TestRegistryConsistent(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range Params() {
		n := normPattern(p.Pattern)
		if seen[n] {
			t.Errorf("duplicate pattern %s", p.Pattern)
		}
		seen[n] = true
		if p.Description == "" || p.Permitted == "" || p.Kind == "" {
			t.Errorf("%s: missing description/permitted/kind", p.Pattern)
		}
		if p.Default != "" {
			if err := Validate(instantiate(p.Pattern, nil), p.Default); err != nil {
				t.Errorf("default of %s invalid: %v", p.Pattern, err)
			}
		}
		if strings.Contains(p.Pattern, "tcplp") || strings.Contains(p.Pattern, "volp") {
			t.Errorf("%s: OCR spelling in the registry", p.Pattern)
		}
	}
	for _, kv := range lyncBaseProfile {
		if err := Validate(kv.name, kv.value); err != nil {
			t.Errorf("base profile %s: %v", kv.name, err)
		}
	}
	if len(ProfileValues("Lync")) != len(lyncBaseProfile) || ProfileValues("Generic") != nil {
		t.Error("ProfileValues")
	}
}

// TestRegistryCoverage pins the names other packages read.
func TestRegistryCoverage(t *testing.T) {
	names := []string{
		"reg.1.address", "reg.1.auth.userId", "reg.1.auth.password", "reg.1.auth.domain",
		"reg.1.auth.useLoginCredentials", "reg.1.auth.usePinCredentials", "reg.1.auth.pin", "reg.1.auth.extension",
		"reg.1.server.1.address", "reg.1.server.1.port", "reg.1.server.1.transport", "reg.1.server.1.expires",
		"reg.1.server.1.expires.overlap", "reg.1.server.1.specialInterop", "reg.1.server.1.registerRetry.baseTimeOut",
		"reg.1.server.1.registerRetry.maxTimeOut", "reg.1.server.1.retryTimeOut", "reg.1.server.1.retryMaxCount",
		"reg.1.server.1.failOver.failBack.mode", "reg.1.server.1.failOver.failBack.timeout",
		"reg.1.server.1.failOver.failRegistrationOn", "reg.1.server.1.failOver.onlySignalWithRegistered",
		"reg.1.server.1.failOver.reRegisterOn", "reg.1.srtp.enable", "reg.1.srtp.offer", "reg.1.srtp.require",
		"sec.srtp.enable", "sec.srtp.offer", "sec.srtp.require", "sec.srtp.mki.enabled", "sec.srtp.mki.length",
		"sec.srtp.mki.startSessionAtOne", "sec.srtp.key.lifetime", "sec.srtp.holdWithNewKey", "sec.srtp.resumeWithNewKey",
		"voice.codecPref.G7221.24kbps", "voice.codecPref.G711_Mu", "voice.audioProfile.G7221.24kbps.payloadType",
		"qos.ip.rtp.dscp", "qos.ip.callControl.dscp", "tcpIpApp.ice.mode", "tcpIpApp.ice.username",
		"tcpIpApp.ice.password", "tcpIpApp.ice.turn.server", "tcpIpApp.ice.turn.tcpPort", "tcpIpApp.ice.turn.udpPort",
		"tcpIpApp.keepalive.tcp.sip.tls.enable", "voIpProt.SIP.mtls.enable", "voIpProt.SIP.header.diversion.enable",
		"dialplan.1.e911dialstring", "dialplan.1.e911dialmask", "dialplan.1.originaldigitmap", "dialplan.1.digitmap",
		"dialplan.routing.emergency.1.value", "msg.mwi.1.callBack", "msg.mwi.1.callBackMode", "reg.1.lisdisclaimer",
		"sec.TLS.customCaCert.1", "device.set", "device.baseProfile", "device.baseProfile.set", "device.sntp.serverName",
		"feature.messaging.enabled", "softkey.feature.simplifiedSignIn",
	}
	for _, n := range names {
		if _, ok := LookupParam(n); !ok {
			t.Errorf("%s not registered", n)
		}
	}
	for _, s := range []string{"reg.1.auth.password", "reg.1.auth.pin", "tcpIpApp.ice.password"} {
		if p, _ := LookupParam(s); !p.Secret {
			t.Errorf("%s is not secret", s)
		}
	}
	for _, s := range []string{"qos.ip.rtp.dscp", "qos.ip.callControl.dscp", "device.baseProfile"} {
		if p, _ := LookupParam(s); !p.Restart {
			t.Errorf("%s does not cause a restart", s)
		}
	}
	if p, ok := LookupParam("reg.x.server.y.transport"); !ok || p.Pattern != "reg.x.server.y.transport" {
		t.Errorf("pattern lookup: %+v %v", p, ok)
	}
}

func TestSuggest(t *testing.T) {
	tests := map[string]string{
		"reg.3.server.2.transprt":               "reg.3.server.2.transport",
		"tcplpApp.keepalive.tcp.sip.tls.enable": "tcpIpApp.keepalive.tcp.sip.tls.enable",
		"sec.srtp.mki.enable":                   "sec.srtp.mki.enabled",
		"completely.unrelated.thing.here.x":     "",
	}
	for in, want := range tests {
		if got := Suggest(in); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", in, got, want)
		}
	}
}
