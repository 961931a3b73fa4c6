package configs

import (
	"errors"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

const mac1 = "0004f2000001"

func master(files string) *fstest.MapFile {
	return &fstest.MapFile{Data: []byte("<?xml version=\"1.0\" standalone=\"yes\"?>\n<APPLICATION APP_FILE_PATH=\"\"\n CONFIG_FILES=\"" + files + "\"/>\n")}
}

func cfg(body string) *fstest.MapFile {
	return &fstest.MapFile{Data: []byte("<?xml version=\"1.0\" encoding=\"utf-8\" standalone=\"yes\"?>\n<polycomConfig>\n" + body + "\n</polycomConfig>\n")}
}

const lyncOn = `<d device.set="1" device.baseProfile.set="1" device.baseProfile="Lync"/>`

func TestBootMasterFile(t *testing.T) {
	tests := []struct {
		name     string
		fs       fstest.MapFS
		mac      string
		wantAddr string
		wantErr  string
	}{
		{"fallback", fstest.MapFS{"000000000000.cfg": master("a.cfg"), "a.cfg": cfg(`<x reg.1.address="all@x"/>`)}, mac1, "all@x", ""},
		{"own file", fstest.MapFS{"000000000000.cfg": master("a.cfg"), mac1 + ".cfg": master("b.cfg"), "a.cfg": cfg(`<x reg.1.address="all@x"/>`), "b.cfg": cfg(`<x reg.1.address="me@x"/>`)}, mac1, "me@x", ""},
		{"upper-case file", fstest.MapFS{"000000000000.cfg": master("a.cfg"), "0004F2000001.cfg": master("b.cfg"), "a.cfg": cfg(`<x reg.1.address="all@x"/>`), "b.cfg": cfg(`<x reg.1.address="me@x"/>`)}, mac1, "me@x", ""},
		{"upper-case --mac", fstest.MapFS{mac1 + ".cfg": master("b.cfg"), "b.cfg": cfg(`<x reg.1.address="me@x"/>`)}, "00:04:F2:00:00:01", "me@x", ""},
		{"mac substitution", fstest.MapFS{"000000000000.cfg": master("[PHONE_MAC_ADDRESS]-ext.cfg"), mac1 + "-ext.cfg": cfg(`<x reg.1.address="me@x"/>`)}, mac1, "me@x", ""},
		{"no master", fstest.MapFS{"a.cfg": cfg("")}, mac1, "", "neither 0004f2000001.cfg nor 000000000000.cfg exists"},
		{"bad mac", fstest.MapFS{}, "0004f200000g", "", "12 hex digits"},
		{"short mac", fstest.MapFS{}, "0004f2", "", "12 hex digits"},
		{"missing entry", fstest.MapFS{"000000000000.cfg": master("site.cfg, gone.cfg")}, mac1, "", `000000000000.cfg:3: CONFIG_FILES entry "site.cfg" not found`},
		{"url entry", fstest.MapFS{"000000000000.cfg": master("http://x/a.cfg")}, mac1, "", "URLs are not supported"},
		{"escaping entry", fstest.MapFS{"000000000000.cfg": master("../etc/passwd")}, mac1, "", "not a relative path"},
		{"master not xml", fstest.MapFS{"000000000000.cfg": {Data: []byte("CONFIG_FILES=a.cfg")}}, mac1, "", "000000000000.cfg:1: not well-formed XML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _, err := Boot(tt.fs, tt.mac)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				var fe *FileError
				var be *BootError
				if !errors.As(err, &fe) && !errors.As(err, &be) {
					t.Errorf("untyped error %T", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := e.String("reg.1.address"); got != tt.wantAddr {
				t.Errorf("reg.1.address = %q, want %q", got, tt.wantAddr)
			}
			if e.MAC() != mac1 {
				t.Errorf("MAC = %q", e.MAC())
			}
		})
	}
}

// TestFirstFileWins: the first CONFIG_FILES entry that sets a parameter wins
// and later ones are reported as shadowed (USERS.md §A.3 rule 3).
func TestFirstFileWins(t *testing.T) {
	fsys := fstest.MapFS{
		"000000000000.cfg": master("ext.cfg, group.cfg, site.cfg"),
		"ext.cfg":          cfg(`<a reg.1.server.1.expires="600"/>`),
		"group.cfg":        cfg(`<a reg.1.server.1.expires="900" reg.1.label="grp"/>`),
		"site.cfg":         cfg(lyncOn + "\n" + `<a reg.1.server.1.expires="1200" reg.1.label="site" reg.1.server.1.specialInterop="lync2013"/>`),
	}
	e, warns, err := Boot(fsys, mac1)
	if err != nil || len(warns) != 0 {
		t.Fatal(err, warns)
	}
	v, _ := e.Lookup("reg.1.server.1.expires")
	want := Value{Name: "reg.1.server.1.expires", Raw: "600", Source: Source{File, "ext.cfg", 3},
		Shadowed: []Source{{File, "group.cfg", 3}, {File, "site.cfg", 4}}}
	if d := cmp.Diff(want, v); d != "" {
		t.Error(d)
	}
	if e.Int("reg.1.server.1.expires") != 600 || e.String("reg.1.label") != "grp" {
		t.Error("first file did not win")
	}
	si, _ := e.Lookup("reg.1.server.1.specialInterop")
	if si.Raw != "lync2013" || si.Source.String() != "site.cfg:4" || len(si.Shadowed) != 1 || si.Shadowed[0].String() != "base profile Lync" {
		t.Errorf("specialInterop = %+v", si)
	}
}

func TestDeviceSetRule(t *testing.T) {
	tests := []struct {
		name, body  string
		wantProfile string
		wantWarn    string
	}{
		{"both set", lyncOn, "Lync", ""},
		{"no device.set", `<d device.baseProfile.set="1" device.baseProfile="Lync"/>`, "Generic", `device.baseProfile: ignored: device.* parameters apply only with device.set="1"`},
		{"no own .set", `<d device.set="1" device.baseProfile="Lync"/>`, "Generic", "ignored"},
		{"device.set 0", `<d device.set="0" device.baseProfile.set="1" device.baseProfile="Lync"/>`, "Generic", "ignored"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, warns, err := Boot(fstest.MapFS{"000000000000.cfg": master("s.cfg"), "s.cfg": cfg(tt.body)}, mac1)
			if err != nil {
				t.Fatal(err)
			}
			if e.BaseProfileName() != tt.wantProfile {
				t.Errorf("profile %q, want %q", e.BaseProfileName(), tt.wantProfile)
			}
			ws := ""
			for _, w := range warns {
				ws += w.String() + "\n"
			}
			if tt.wantWarn == "" && ws != "" || !strings.Contains(ws, tt.wantWarn) {
				t.Errorf("warnings %q, want %q", ws, tt.wantWarn)
			}
			if tt.wantProfile == "Generic" && e.String("reg.1.server.1.transport") != "DNSnaptr" {
				t.Error("base profile applied without device.set")
			}
		})
	}
	// --set applies device.* directly.
	e, _, err := Boot(fstest.MapFS{"000000000000.cfg": master("s.cfg"), "s.cfg": cfg("")}, mac1, WithSet("device.baseProfile", "Lync"))
	if err != nil || e.BaseProfileName() != "Lync" || e.String("tcpIpApp.ice.mode") != "MSOCS" {
		t.Errorf("--set device.baseProfile: %v %v", err, e)
	}
}

// TestBaseProfile checks every Appendix A value reaches the effective
// configuration from the profile and that files override it.
func TestBaseProfile(t *testing.T) {
	e, _, err := Boot(fstest.MapFS{"000000000000.cfg": master("s.cfg"), "s.cfg": cfg(lyncOn + `<a sec.srtp.mki.length="4"/>`)}, mac1)
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range lyncBaseProfile {
		v, ok := e.Lookup(kv.name)
		if kv.name == "sec.srtp.mki.length" {
			if v.Raw != "4" || v.Source.Kind != File || len(v.Shadowed) != 1 {
				t.Errorf("file did not override base profile: %+v", v)
			}
			continue
		}
		if !ok || v.Raw != kv.value || v.Source.String() != "base profile Lync" {
			t.Errorf("%s = %+v, want %q from base profile", kv.name, v, kv.value)
		}
	}
	if e.Int("sec.srtp.key.lifetime") != 1<<31 || !e.Bool("sec.srtp.mki.enabled") {
		t.Error("typed accessors")
	}
}

func TestBootErrors(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string
	}{
		{"bad value", `<a reg.1.server.1.transport="UDP"/>`,
			[]string{`s.cfg:3: reg.1.server.1.transport="UDP": permitted: DNSnaptr|TCPpreferred|UDPOnly|TLS|TCPOnly`}},
		{"duplicate", "<a reg.1.label=\"a\"/>\n<b reg.1.label=\"b\"/>",
			[]string{`s.cfg:4: reg.1.label="b": parameter set twice in one file (first at line 3)`}},
		{"ocr spelling", `<a tcplpApp.ice.mode="MSOCS"/>`,
			[]string{`s.cfg:3: tcplpApp.ice.mode="MSOCS": unknown parameter, did you mean tcpIpApp.ice.mode?`}},
		{"several", "<a reg.1.server.1.expires=\"5\"/>\n<b sec.srtp.key.lifetime=\"3^4\"/>",
			[]string{`s.cfg:3: reg.1.server.1.expires="5": out of range; permitted: 10-2147483647`, `s.cfg:4: sec.srtp.key.lifetime="3^4"`}},
		{"bad xml", `<a reg.1.label="x">`, []string{"s.cfg:4: not well-formed XML: element <a> closed by </polycomConfig>"}},
		{"auto sign-in with menus on", lyncOn + `<a reg.1.address="a@x" reg.1.auth.userId="a" reg.1.auth.password="pw1"/>`,
			[]string{`s.cfg:3: reg.1.auth.password="[redacted]": automatic sign-in (credentials in a provisioning file) is allowed only when both sign-in menus are off`,
				`reg.1.auth.useLoginCredentials="1" (base profile Lync)`, `permitted: reg.1.auth.useLoginCredentials="0" and reg.1.auth.usePinCredentials="0"`}},
		{"auto sign-in with pin menu on", `<a reg.1.auth.useLoginCredentials="0" reg.1.auth.userId="a" reg.1.auth.password="pw1"/>`,
			[]string{`reg.1.auth.usePinCredentials="1" (default)`}},
		{"pin without pin menu", `<a reg.1.auth.usePinCredentials="0" reg.1.auth.pin="1234"/>`,
			[]string{`reg.1.auth.pin="[redacted]": PIN sign-in needs the PIN & Ext. menu`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Boot(fstest.MapFS{"000000000000.cfg": master("s.cfg"), "s.cfg": cfg(tt.body)}, mac1)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%s\nlacks\n%s", err, w)
				}
			}
			if strings.Contains(err.Error(), "pw1") || strings.Contains(err.Error(), "1234") {
				t.Errorf("secret in error: %v", err)
			}
			var pe *ParamError
			var fe *FileError
			if !errors.As(err, &pe) && !errors.As(err, &fe) {
				t.Errorf("untyped %T", err)
			}
		})
	}
}

func TestAutoSignInAllowed(t *testing.T) {
	e, warns, err := Boot(fstest.MapFS{"000000000000.cfg": master("ext.cfg, s.cfg"), "s.cfg": cfg(lyncOn),
		"ext.cfg": cfg(`<a reg.1.auth.useLoginCredentials="0" reg.1.auth.usePinCredentials="0" reg.1.address="a@x" reg.1.auth.userId="a" reg.1.auth.password="pw1"/>`)}, mac1)
	if err != nil || len(warns) != 0 {
		t.Fatal(err, warns)
	}
	if e.Secret("reg.1.auth.password").Reveal() != "pw1" {
		t.Error("password")
	}
	// Both menus off without credentials: warn, the line cannot sign in.
	_, warns, err = Boot(fstest.MapFS{"000000000000.cfg": master("s.cfg"), "s.cfg": cfg(`<a reg.1.auth.useLoginCredentials="0" reg.1.auth.usePinCredentials="0"/>`)}, mac1)
	if err != nil || len(warns) != 1 || !strings.Contains(warns[0].Msg, "cannot sign in") {
		t.Errorf("got %v %v", err, warns)
	}
}

func TestUnknownParameterWarns(t *testing.T) {
	e, warns, err := Boot(fstest.MapFS{"000000000000.cfg": master("s.cfg"), "s.cfg": cfg(`<a reg.1.auth.passwrd="x" made.up.thing.entirely="1"/>`)}, mac1)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"s.cfg:3: reg.1.auth.passwrd: unknown parameter, ignored; nearest known: reg.1.auth.password",
		"s.cfg:3: made.up.thing.entirely: unknown parameter, ignored",
	}
	var got []string
	for _, w := range warns {
		got = append(got, w.String())
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Error(d)
	}
	if _, ok := e.Lookup("reg.1.auth.passwrd"); ok {
		t.Error("unknown parameter in effective config")
	}
}

func TestPrecedence(t *testing.T) {
	fsys := fstest.MapFS{"000000000000.cfg": master("s.cfg"), "s.cfg": cfg(lyncOn + `<a reg.1.label="file" reg.1.displayName="file" dialplan.1.digitmap="file" reg.1.server.1.expires="600"/>`)}
	e, _, err := Boot(fsys, mac1,
		WithOverrides(map[string]string{"reg.1.label": "row", "reg.1.displayName": "row", "mac": "ignored", "pin": "4321", "extension": "4001"}, "users.csv:7"),
		WithSet("reg.1.label", "set1"), WithSet("reg.1.label", "set2"))
	if err != nil {
		t.Fatal(err)
	}
	in, err := e.WithLayer(InBand, "in-band", map[string]string{"dialplan.1.digitmap": "server", "reg.1.displayName": "server", "reg.1.label": "server", "not.a.param": "x"})
	if err != nil {
		t.Fatal(err)
	}
	check := func(e *Effective, name, raw, src string) {
		t.Helper()
		v, _ := e.Lookup(name)
		if v.Raw != raw || v.Source.String() != src {
			t.Errorf("%s = %q from %q, want %q from %q", name, v.Raw, v.Source, raw, src)
		}
	}
	check(e, "reg.1.label", "set2", "--set")
	check(e, "reg.1.displayName", "row", "users.csv:7")
	check(e, "reg.1.auth.pin", "4321", "users.csv:7")
	check(e, "reg.1.auth.extension", "4001", "users.csv:7")
	check(e, "dialplan.1.digitmap", "file", "s.cfg:3")
	check(e, "reg.1.server.1.transport", "TLS", "base profile Lync")
	check(e, "reg.1.server.1.retryMaxCount", "3", "default")
	check(in, "reg.1.label", "set2", "--set")
	check(in, "reg.1.displayName", "server", "in-band")
	check(in, "dialplan.1.digitmap", "server", "in-band")
	check(in, "reg.1.server.1.expires", "600", "s.cfg:3")
	if e.String("dialplan.1.digitmap") != "file" {
		t.Error("WithLayer mutated the original")
	}
	v, _ := e.Lookup("reg.1.label")
	if d := cmp.Diff([]Source{{Set, "", 0}, {Override, "users.csv", 7}, {File, "s.cfg", 3}}, v.Shadowed); d != "" {
		t.Errorf("shadowed: %s", d)
	}
	if _, err := e.WithLayer(InBand, "in-band", map[string]string{"reg.1.srtp.require": "yes"}); err == nil {
		t.Error("bad in-band value accepted")
	}
	if _, _, err := Boot(fsys, mac1, WithSet("reg.1.lable", "x")); err == nil || !strings.Contains(err.Error(), "--set: reg.1.lable") {
		t.Errorf("unknown --set: %v", err)
	}
	if _, _, err := Boot(fsys, mac1, WithSet("reg.1.server.1.transport", "UDP")); err == nil || !strings.Contains(err.Error(), `--set: reg.1.server.1.transport="UDP": permitted:`) {
		t.Errorf("bad --set: %v", err)
	}
}

func TestFromValues(t *testing.T) {
	e, _, err := FromValues(mac1, map[string]string{
		"reg.1.address": "alice@contoso.test", "reg.1.auth.userId": "alice", "reg.1.auth.domain": "CONTOSO",
		"reg.1.auth.password": "Passw0rd!", "reg.1.server.1.address": "pool.contoso.test",
	}, WithSet("reg.1.server.1.port", "5061"))
	if err != nil {
		t.Fatal(err)
	}
	if e.BaseProfileName() != "Lync" || e.String("reg.1.server.1.transport") != "TLS" || e.Int("reg.1.server.1.port") != 5061 ||
		e.Secret("reg.1.auth.password").Reveal() != "Passw0rd!" {
		t.Errorf("FromValues: %v", e.All())
	}
	if _, _, err := FromValues(mac1, map[string]string{"reg.1.server.1.expires": "1"}); err == nil {
		t.Error("bad value accepted")
	}
	lf := e.LookupFunc()
	if v, ok := lf("reg.1.server.1.expires"); !ok || v != "3600" {
		t.Errorf("LookupFunc default: %q %v", v, ok)
	}
}

// TestTemplates boots every template set for the template handsets.
func TestTemplates(t *testing.T) {
	for _, dir := range []string{"flat", "group", "pin", "userprofiles"} {
		for _, mac := range []string{"0004f2000001", "0004f2000002", "0004f20000ff"} {
			e, warns, err := Boot(os.DirFS("templates/"+dir), mac)
			if err != nil || len(warns) != 0 {
				t.Errorf("%s %s: %v %v", dir, mac, err, warns)
				continue
			}
			if mac == "0004f20000ff" || dir == "pin" {
				continue
			}
			user := map[string]string{"0004f2000001": "alice", "0004f2000002": "bob"}[mac]
			for name, want := range map[string]string{
				"reg.1.address": user + "@contoso.test", "reg.1.auth.userId": user, "reg.1.auth.domain": "CONTOSO",
				"reg.1.server.1.address": "pool.contoso.test", "reg.1.server.1.port": "5061", "reg.1.server.1.transport": "TLS",
				"reg.1.server.1.specialInterop": "lync2013", "reg.1.auth.useLoginCredentials": "0", "reg.1.auth.usePinCredentials": "0",
			} {
				if got := e.String(name); got != want {
					t.Errorf("%s %s: %s = %q, want %q", dir, mac, name, got, want)
				}
			}
		}
	}
	// The user-profiles split (site.cfg + login.cfg, no base profile) yields
	// the same Appendix A values as the base profile.
	flat, _, _ := Boot(os.DirFS("templates/flat"), mac1)
	up, _, _ := Boot(os.DirFS("templates/userprofiles"), mac1)
	for _, kv := range lyncBaseProfile {
		switch kv.name {
		case "reg.1.server.1.specialInterop", "softkey.feature.simplifiedSignIn", "reg.1.auth.useLoginCredentials", "reg.1.auth.usePinCredentials":
			continue // set differently on purpose (lync2013; auto sign-in)
		}
		if f, u := flat.String(kv.name), up.String(kv.name); f != u {
			t.Errorf("%s: flat %q, user profiles %q", kv.name, f, u)
		}
	}
	pin, _, _ := Boot(os.DirFS("templates/pin"), mac1, WithOverrides(map[string]string{"extension": "4001", "pin": "123456"}, "users.csv:2"))
	if pin.String("reg.1.auth.usePinCredentials") != "1" || pin.Secret("reg.1.auth.pin").Reveal() != "123456" {
		t.Error("pin template")
	}
}
