package provision

import (
	"bytes"
	"encoding/xml"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func readNotify(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/notify.xml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseNotify(t *testing.T) {
	s, err := Parse(readNotify(t))
	if err != nil {
		t.Fatal(err)
	}
	want := &Settings{
		Groups: []string{"ServerConfiguration", "locationPolicy", "userSetting", "locationProfile", "meetingPolicy"},
		Properties: map[string]map[string]string{
			"locationPolicy": {
				"EnhancedEmergencyServicesEnabled":   "true",
				"LocationPolicyTagID":                "user-tagid",
				"EmergencyDialString":                "112",
				"EmergencyDialMask":                  "911;999",
				"EnhancedEmergencyServiceDisclaimer": "Your location is needed for emergency calls.",
			},
			"meetingPolicy": {"AllowIPAudio": "true"},
		},
		Server: &ServerConfiguration{
			MRASURI:             "sip:pool01.contoso.test@contoso.test;gruu;opaque=srvr:MRAS:abc",
			FocusFactoryURI:     "sip:alice@contoso.test;gruu;opaque=app:conf:focusfactory",
			ABSInternalURL:      "https://pool01.contoso.test/abs/handler",
			ABSExternalURL:      "https://webext.contoso.test/abs/handler",
			Encryption:          EncryptionRequired,
			EncryptionPolicyRaw: "RequireEncryption",
		},
		Location: &LocationPolicy{E911Enabled: true, DialString: "112", DialMask: "911;999",
			Disclaimer: "Your location is needed for emergency calls.", TagID: "user-tagid"},
		Voicemail: &Voicemail{Enabled: true, URI: "sip:alice@contoso.test;opaque=app:voicemail"},
		DialPlan: &DialPlan{Name: "Lisbon.contoso.test", ExternalAccessPrefix: "0", OptimizeDeviceDialing: true, Rules: []Rule{
			{Pattern: "^((8047[0-9])|(8063[0-9]))$", Translation: "+3512131$1", Internal: true, DeviceDialingIsSet: true},
			{Pattern: `^00(\d+)$`, Translation: "+$1"},
		}},
	}
	if d := cmp.Diff(want, s); d != "" {
		t.Fatalf("Parse (-want +got):\n%s", d)
	}
	wantParams := map[string]string{
		"dialplan.1.e911dialstring":                      "112",
		"dialplan.1.e911dialmask":                        "911;999",
		"dialplan.routing.emergency.1.value":             "112,911,999",
		"dialplan.1.originaldigitmap":                    `^((8047[0-9])|(8063[0-9]))$@+3512131$1@1|^00(\d+)$@+$1@0`,
		"msg.mwi.1.callBack":                             "sip:alice@contoso.test;opaque=app:voicemail",
		"msg.mwi.1.callBackMode":                         "contact",
		"reg.1.lisdisclaimer":                            "Your location is needed for emergency calls.",
		"reg.1.srtp.enable":                              "1",
		"reg.1.srtp.offer":                               "1",
		"reg.1.srtp.require":                             "1",
		"reg.1.ice.turn.callAdmissionControl.enabled":    "0",
		"tcpIpApp.ice.turn.callAdmissionControl.enabled": "0",
	}
	if d := cmp.Diff(wantParams, s.Params()); d != "" {
		t.Fatalf("Params (-want +got):\n%s", d)
	}
}

func TestEncryptionPolicies(t *testing.T) {
	for raw, want := range map[string][3]string{
		"SupportEncryption":      {"1", "0", "0"},
		"RequireEncryption":      {"1", "1", "1"},
		"DoNotSupportEncryption": {"0", "0", "0"},
		"SomethingNew":           {"1", "1", "1"},
	} {
		body := `<provisionGroupList xmlns="` + NotifyNamespace + `"><provisionGroup name="ServerConfiguration"><ucPC2PCAVEncryption>` + raw + `</ucPC2PCAVEncryption></provisionGroup></provisionGroupList>`
		s, err := Parse([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		p := s.Params()
		if got := [3]string{p[ParamSRTPEnable], p[ParamSRTPOffer], p[ParamSRTPRequire]}; got != want {
			t.Errorf("%s: srtp enable/offer/require = %v, want %v", raw, got, want)
		}
	}
}

func TestE911DisabledAndVoicemailOff(t *testing.T) {
	body := `<provisionGroupList xmlns="` + NotifyNamespace + `">
	<provisionGroup name="locationPolicy"><propertyEntryList>
	<property name="EnhancedEmergencyServicesEnabled">false</property>
	<property name="EmergencyDialString">911</property></propertyEntryList></provisionGroup>
	<provisionGroup name="userSetting"><exumEnabled>false</exumEnabled></provisionGroup></provisionGroupList>`
	s, err := Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	p := s.Params()
	if _, ok := p[ParamE911DialString]; ok {
		t.Errorf("e911 dial string with E911 disabled: %v", p)
	}
	if p[ParamMWICallBackMode] != "disabled" {
		t.Errorf("callBackMode = %q", p[ParamMWICallBackMode])
	}
}

func TestOriginalDigitMapLimit(t *testing.T) {
	// 4999 + '|' + 5000 = 10,000 fits; a third rule does not.
	mk := func(n int) Rule { return Rule{Pattern: "^" + strings.Repeat("1", n-6) + "$", Translation: "1"} }
	got := originalDigitMap([]Rule{mk(4999), mk(5000), mk(7)})
	if len(got) != 10000 {
		t.Fatalf("len = %d", len(got))
	}
	if got := originalDigitMap([]Rule{{Pattern: `\d{4}`, Translation: "+1$1"}}); got != `^\d{4}$@+1$1@0` {
		t.Fatalf("anchors: %q", got)
	}
}

func TestHostileBodies(t *testing.T) {
	bomb := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><provisionGroupList>&lol2;</provisionGroupList>`
	tests := []struct {
		name string
		body string
		err  error
	}{
		{"empty", "  \n", ErrEmpty},
		{"billion laughs", bomb, ErrDirective},
		{"external entity", `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><provisionGroupList>&e;</provisionGroupList>`, ErrDirective},
		{"undeclared entity", `<provisionGroupList>&e;</provisionGroupList>`, ErrSyntax},
		{"too large", "<provisionGroupList>" + strings.Repeat(" ", MaxBodySize) + "</provisionGroupList>", ErrTooLarge},
		{"too deep", strings.Repeat("<a>", MaxDepth+1) + strings.Repeat("</a>", MaxDepth+1), ErrTooDeep},
		{"too many", "<provisionGroupList>" + strings.Repeat("<a/>", MaxElements) + "</provisionGroupList>", ErrTooMany},
		{"unclosed", "<provisionGroupList><provisionGroup>", ErrSyntax},
		{"two roots", "<provisionGroupList/><provisionGroupList/>", ErrSyntax},
		{"wrong root", `<provisioningGroupList xmlns="` + RequestNamespace + `"/>`, ErrRoot},
		{"wrong namespace", `<provisionGroupList xmlns="urn:x"/>`, ErrRoot},
		{"bad boolean", `<provisionGroupList><provisionGroup name="userSetting"><exumEnabled>yes</exumEnabled></provisionGroup></provisionGroupList>`, ErrValue},
		{"rule without pattern", `<provisionGroupList><provisionGroup name="locationProfile"><LocationProfileDescription><Name>x</Name><Rule><Translation>1</Translation></Rule></LocationProfileDescription></provisionGroup></provisionGroupList>`, ErrValue},
		{"profile group without profile", `<provisionGroupList><provisionGroup name="locationProfile"/></provisionGroupList>`, ErrValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse([]byte(tt.body))
			if !errors.Is(err, tt.err) || s != nil {
				t.Fatalf("Parse = %v, %v; want %v", s, err, tt.err)
			}
			if !strings.HasPrefix(err.Error(), "provision: ") {
				t.Fatalf("message %q lacks the package prefix", err)
			}
		})
	}
	// Exactly at the limits is fine.
	ok := strings.Repeat("<a>", MaxDepth-1) + strings.Repeat("</a>", MaxDepth-1)
	if _, err := Parse([]byte("<provisionGroupList>" + ok + "</provisionGroupList>")); err != nil {
		t.Fatalf("depth %d: %v", MaxDepth, err)
	}
}

func TestSubscribeBody(t *testing.T) {
	var v struct {
		XMLName xml.Name `xml:"http://schemas.microsoft.com/2006/09/sip/provisioninggrouplist provisioningGroupList"`
		Groups  []struct {
			Name string `xml:"name,attr"`
		} `xml:"provisioningGroup"`
	}
	if err := xml.Unmarshal(SubscribeBody(), &v); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range v.Groups {
		names = append(names, g.Name)
	}
	if d := cmp.Diff(DefaultGroups, names); d != "" {
		t.Fatal(d)
	}
	if got := string(SubscribeBody(`a"<b`)); !strings.Contains(got, `name="a&#34;&lt;b"`) {
		t.Fatalf("escaping: %s", got)
	}
}

func TestSubscribeHeaders(t *testing.T) {
	h := SubscribeHeaders()
	find := func(name string) []string {
		var out []string
		for _, x := range h {
			if x.Name == name {
				out = append(out, x.Value)
			}
		}
		return out
	}
	if d := cmp.Diff([]string{"0"}, find("Expires")); d != "" {
		t.Error("Expires:", d)
	}
	if d := cmp.Diff([]string{ContentType}, find("Accept")); d != "" {
		t.Error("Accept:", d)
	}
	if d := cmp.Diff([]string{"com.microsoft.autoextend", "ms-benotify", "ms-piggyback-first-notify"}, find("Supported")); d != "" {
		t.Error("Supported:", d)
	}
	subs := SelfSubscriptions()
	var events []string
	for _, s := range subs {
		events = append(events, s.Event)
		if s.Body != nil {
			if err := xml.Unmarshal(s.Body, new(struct{})); err != nil {
				t.Errorf("%s body: %v", s.Event, err)
			}
		}
	}
	if d := cmp.Diff([]string{Event, EventContacts, EventSelf}, events); d != "" {
		t.Error(d)
	}
	if !bytes.Contains(subs[0].Body, []byte("locationPolicy")) {
		t.Error("provisioning body lacks locationPolicy")
	}
}
