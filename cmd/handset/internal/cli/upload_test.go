package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/handset-dev/handset/configs"
	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/labfe/inband"
	"github.com/handset-dev/handset/sipua/provision"
)

const testMAC = "0004f2000001"

// provDir copies the flat template set (alice@contoso.test on testMAC).
func provDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../../../../configs/templates/flat")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(t.Context(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// expectedParams is a third, deliberately plain statement of the mapping
// (protocols.md §7, sipua/provision's doc) from labfe data to handset
// parameters, so that labfe/inband.Document and provision.Parse/Params are
// checked against each other and against this table.
func expectedParams(d inband.Data) map[string]string {
	p := map[string]string{
		"reg.1.ice.turn.callAdmissionControl.enabled":    "0",
		"tcpIpApp.ice.turn.callAdmissionControl.enabled": "0",
	}
	switch d.Encryption {
	case "SupportEncryption":
		p["reg.1.srtp.enable"], p["reg.1.srtp.offer"], p["reg.1.srtp.require"] = "1", "0", "0"
	case "RequireEncryption":
		p["reg.1.srtp.enable"], p["reg.1.srtp.offer"], p["reg.1.srtp.require"] = "1", "1", "1"
	case "DoNotSupportEncryption":
		p["reg.1.srtp.enable"], p["reg.1.srtp.offer"], p["reg.1.srtp.require"] = "0", "0", "0"
	}
	if e := d.Emergency; e != nil && e.Enabled && e.DialString != "" {
		p["dialplan.1.e911dialstring"] = e.DialString
		p["dialplan.1.e911dialmask"] = e.DialMask
		routes := e.DialString
		for _, m := range strings.Split(e.DialMask, ";") {
			if m != "" && !strings.Contains(","+routes+",", ","+m+",") {
				routes += "," + m
			}
		}
		p["dialplan.routing.emergency.1.value"] = routes
		if e.Disclaimer != "" {
			p["reg.1.lisdisclaimer"] = e.Disclaimer
		}
	}
	if v := d.Voicemail; v != nil {
		if v.Enabled && v.URI != "" {
			p["msg.mwi.1.callBackMode"], p["msg.mwi.1.callBack"] = "contact", v.URI
		} else {
			p["msg.mwi.1.callBackMode"] = "disabled"
		}
	}
	if dp := d.DialPlan; dp != nil && len(dp.Rules) > 0 {
		var rules []string
		for _, r := range dp.Rules {
			flag := "0"
			if r.Internal {
				flag = "1"
			}
			pat := r.Pattern // the seed: a missing ^ or $ is added
			if !strings.HasPrefix(pat, "^") {
				pat = "^" + pat
			}
			if !strings.HasSuffix(pat, "$") {
				pat += "$"
			}
			rules = append(rules, pat+"@"+r.Translation+"@"+flag)
		}
		p["dialplan.1.originaldigitmap"] = strings.Join(rules, "|")
	}
	return p
}

func randomData(seed uint64) inband.Data {
	r := testutil.Rand(seed)
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	d := inband.Data{
		MRASURI:    pick("", "sip:mras@x.test;gruu;opaque=srvr:MRAS:1"),
		Encryption: pick("", "SupportEncryption", "RequireEncryption", "DoNotSupportEncryption"),
	}
	if r.IntN(3) > 0 {
		d.Emergency = &inband.Emergency{Enabled: r.IntN(4) > 0, DialString: pick("911", "112", "999"),
			DialMask: pick("", "112", "911;999", "1;2;3"), Disclaimer: pick("", "Say where you are & <why>", "x")}
	}
	if r.IntN(3) > 0 {
		d.Voicemail = &inband.Voicemail{Enabled: r.IntN(2) > 0, URI: pick("", "sip:vm@x.test;opaque=app:voicemail")}
	}
	if r.IntN(4) > 0 {
		dp := &inband.DialPlan{Name: "p" + strconv.Itoa(r.IntN(9)), OptimizeDeviceDialing: r.IntN(2) > 0}
		for range 1 + r.IntN(6) {
			dd := r.IntN(2) > 0
			dp.Rules = append(dp.Rules, inband.Rule{
				Pattern:       strings.ReplaceAll(pick(`^(N\d{3})$`, `^((N1)|(N2))$`, `^00(\d+)$`, `(N\d{2})`, `^N$`), "N", strconv.Itoa(r.IntN(9))),
				Translation:   pick("+1425555$1", "$1", "+$1", "+3512131$1"),
				Internal:      r.IntN(2) > 0,
				DeviceDialing: &dd,
			})
		}
		d.DialPlan = dp
	}
	return d
}

// TestInbandRoundTrip: labfe/inband.Document → provision.Parse → Params
// equals the data, for the default set and 200 seeded random sets.
func TestInbandRoundTrip(t *testing.T) {
	sets := []inband.Data{inband.Default()}
	for seed := range uint64(200) {
		sets = append(sets, randomData(seed))
	}
	for i, d := range sets {
		s, err := provision.Parse(inband.Document(d, "alice@contoso.test"))
		if err != nil {
			t.Fatalf("set %d: %v\n%s", i, err, inband.Document(d, "alice@contoso.test"))
		}
		want := expectedParams(d)
		if i == 0 { // {user} substituted in the default set
			want["msg.mwi.1.callBack"] = "sip:alice@contoso.test;opaque=app:voicemail"
		}
		if diff := cmp.Diff(want, s.Params()); diff != "" {
			t.Fatalf("set %d: params (-want +got):\n%s", i, diff)
		}
		if i > 0 && d.MRASURI != "" && s.Server.MRASURI != d.MRASURI {
			t.Fatalf("set %d: mras %q", i, s.Server.MRASURI)
		}
		if d.DialPlan != nil {
			if s.DialPlan == nil || (i > 0 && s.DialPlan.Name != d.DialPlan.Name) || s.DialPlan.OptimizeDeviceDialing != d.DialPlan.OptimizeDeviceDialing {
				t.Fatalf("set %d: dial plan %+v", i, s.DialPlan)
			}
			for k, r := range d.DialPlan.Rules {
				if r.DeviceDialing != nil && s.DialPlan.Rules[k].DeviceDialing != *r.DeviceDialing {
					t.Fatalf("set %d rule %d: ApplicableForDeviceDialing", i, k)
				}
			}
		}
	}
}

func TestUploadCallServer(t *testing.T) {
	dir := provDir(t)
	code, out, errs := runCLI(t, "upload-callserver", "--prov", dir, "--mac", "00:04:F2:00:00:01")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	path := filepath.Join(dir, testMAC+"-upload-CallServer.cfg")
	if !strings.Contains(out, path) {
		t.Fatalf("stdout %q", out)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := configs.ParseCfg(path, b)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, a := range attrs {
		got[a.Name] = a.Value
	}
	want := expectedParams(inband.Default())
	want["msg.mwi.1.callBack"] = "sip:alice@contoso.test;opaque=app:voicemail"
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("uploaded params (-want +got):\n%s", d)
	}
	// The uploaded file is an ordinary application file: list it first in
	// the handset's master and Boot sees the in-band values.
	master := filepath.Join(dir, testMAC+".cfg")
	mb, err := os.ReadFile(master)
	if err != nil {
		t.Fatal(err)
	}
	mb = bytes.Replace(mb, []byte(`CONFIG_FILES="`), []byte(`CONFIG_FILES="`+testMAC+`-upload-CallServer.cfg, `), 1)
	if err = os.WriteFile(master, mb, 0o644); err != nil {
		t.Fatal(err)
	}
	eff, _, err := configs.Boot(os.DirFS(dir), testMAC)
	if err != nil {
		t.Fatal(err)
	}
	for n, v := range want {
		if got := eff.String(n); got != v {
			t.Errorf("Boot %s = %q, want %q", n, got, v)
		}
	}
}

func TestUploadCallServerCapture(t *testing.T) {
	// A raw provisionGroupList (e.g. captured from a real pool) is used as
	// it is; a DIALPLANERROR is logged for a rule the phone would drop.
	dir := provDir(t)
	capture := filepath.Join(t.TempDir(), "notify.xml")
	body := `<provisionGroupList xmlns="` + provision.NotifyNamespace + `"><provisionGroup name="locationProfile">` +
		`<LocationProfileDescription xmlns="` + provision.ProfileNamespace + `"><Name>x</Name>` +
		`<Rule><Pattern>^(1|2|3|4|5|6|7|8|9|10|11|12|13|14|15|16|17|18|19|20|21|22|23|24|25|26|27|28|29|30|31)$</Pattern><Translation>$1</Translation></Rule>` +
		`<Rule><Pattern>^5(\d{3})$</Pattern><Translation>+1425555$1</Translation><InternalEnterpriseExtension>true</InternalEnterpriseExtension></Rule>` +
		`</LocationProfileDescription></provisionGroup></provisionGroupList>`
	if err := os.WriteFile(capture, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCLI(t, "upload-callserver", "--prov", dir, "--mac", testMAC, "--inband", capture)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(errs, "DIALPLANERROR") || !strings.Contains(errs, "level=WARN") {
		t.Fatalf("no DIALPLANERROR warning in %q", errs)
	}
	code, out, _ := runCLI(t, "dialplan", "--prov", dir, "--mac", testMAC, "--inband", capture, "5123", "7")
	if code != ExitOK || !strings.Contains(out, "→ +1425555123 [internal extension]") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if !strings.Contains(out, "1 rules in effect, 1 dropped") || !strings.Contains(out, "no rule matches") {
		t.Fatalf("explanation:\n%s", out)
	}
}

func TestDialplanCommand(t *testing.T) {
	dir := provDir(t)
	code, out, errs := runCLI(t, "dialplan", "--prov", dir, "--mac", testMAC, "80471", "999")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"→ +351213180471 [internal extension]",
		"rule 1 of 8: ^(8047[0-9])$@+3512131$1@1",
		"digit map: 8047x",
		"→ 112 [emergency]",
		"digitmap (55 chars): 8047x|8063x|2xxxxxxxx|9[1-36]xxxxxxx|00xx.T|112|911|999",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestInbandUsageErrors(t *testing.T) {
	dir := provDir(t)
	bad := filepath.Join(t.TempDir(), "bad.xml")
	if err := os.WriteFile(bad, []byte(`<!DOCTYPE x [<!ENTITY a "b">]><provisionGroupList>&a;</provisionGroupList>`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"upload-callserver"},
		{"upload-callserver", "--prov", dir, "--mac", "nope"},
		{"upload-callserver", "--prov", dir, "--mac", testMAC, "--inband", filepath.Join(dir, "missing.xml")},
		{"upload-callserver", "--prov", dir, "--mac", testMAC, "--inband", bad},
		{"upload-callserver", "--prov", dir, "--mac", testMAC, "extra"},
		{"dialplan", "--prov", dir, "--mac", testMAC},
		{"dialplan", "--prov", dir, "--mac", testMAC, "--inband", bad, "1"},
	} {
		if code, _, errs := runCLI(t, args...); code != ExitUsage || !strings.HasPrefix(errs, "handset: ") && !strings.Contains(errs, "flag") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errs)
		}
	}
}
