package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/handset-dev/handset/configs"
)

const flatDir = "../../../../configs/templates/flat"

func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(t.Context(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestConfigShowExplain is the acceptance check: specialInterop
// lync2013 with its source, and every Appendix A parameter.
func TestConfigShowExplain(t *testing.T) {
	code, out, errs := runMain(t, "config", "show", "--prov", flatDir, "--mac", "0004f2000001", "--explain")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			lines[f[0]] = l
		}
	}
	si := lines["reg.1.server.1.specialInterop"]
	for _, want := range []string{`"lync2013"`, "site.cfg:22", "(shadows base profile Lync)"} {
		if !strings.Contains(si, want) {
			t.Errorf("specialInterop line %q lacks %q", si, want)
		}
	}
	for n := range configs.ProfileValues("Lync") {
		if _, ok := lines[n]; !ok {
			t.Errorf("Appendix A parameter %s missing", n)
		}
	}
	if strings.Contains(out, "Passw0rd!") || !strings.Contains(lines["reg.1.auth.password"], "[redacted]") {
		t.Errorf("password not redacted: %q", lines["reg.1.auth.password"])
	}
	if !strings.Contains(lines["reg.1.server.1.retryTimeOut"], "default") {
		t.Errorf("defaults not explained: %q", lines["reg.1.server.1.retryTimeOut"])
	}
}

func TestConfigShowSet(t *testing.T) {
	code, out, errs := runMain(t, "config", "show", "--prov", flatDir, "--mac", "0004f2000001", "--set", "reg.1.server.1.expires=600", "--explain")
	if code != ExitOK || !strings.Contains(out, "--set  (shadows site.cfg:23)") {
		t.Errorf("exit %d\n%s\n%s", code, out, errs)
	}
	code, _, errs = runMain(t, "config", "show", "--prov", flatDir, "--mac", "0004f2000001", "--set", "reg.1.server.1.transport=UDP")
	if code != ExitUsage || !strings.Contains(errs, `--set: reg.1.server.1.transport="UDP": permitted: DNSnaptr|TCPpreferred|UDPOnly|TLS|TCPOnly`) {
		t.Errorf("exit %d: %s", code, errs)
	}
}

func TestConfigCheck(t *testing.T) {
	code, out, errs := runMain(t, "config", "check", "--prov", flatDir, "--mac", "0004f2000001")
	if code != ExitOK || !strings.Contains(out, "ok: 0004f2000001") {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
	site, err := os.ReadFile(filepath.Join(flatDir, "site.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	master := `<APPLICATION CONFIG_FILES="site.cfg"/>`
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"bad xml", map[string]string{"site.cfg": strings.Replace(string(site), "<qos", "<qos <", 1)}, []string{"site.cfg:32: not well-formed XML"}},
		{"bad value", map[string]string{"site.cfg": strings.Replace(string(site), `transport="TLS"`, `transport="UDP"`, 1)},
			[]string{`site.cfg:21: reg.1.server.1.transport="UDP": permitted: DNSnaptr|TCPpreferred|UDPOnly|TLS|TCPOnly`}},
		{"missing entry", map[string]string{"000000000000.cfg": `<APPLICATION CONFIG_FILES="site.cfg, features.cfg"/>`},
			[]string{`000000000000.cfg:1: CONFIG_FILES entry "features.cfg" not found`}},
		{"duplicate", map[string]string{"site.cfg": strings.Replace(string(site), `<qos`, `<qos reg.1.server.1.port="5062"`, 1)},
			[]string{`site.cfg:32: reg.1.server.1.port="5062": parameter set twice in one file (first at line 20)`}},
		{"ocr", map[string]string{"site.cfg": strings.Replace(string(site), `<qos`, `<qos tcplpApp.ice.mode="MSOCS"`, 1)},
			[]string{`did you mean tcpIpApp.ice.mode?`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{"000000000000.cfg": master, "site.cfg": string(site)}
			for k, v := range tt.files {
				files[k] = v
			}
			for k, v := range files {
				if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			code, _, errs := runMain(t, "config", "check", "--prov", dir, "--mac", "0004f2000001")
			if code != ExitUsage {
				t.Errorf("exit %d, want %d: %s", code, ExitUsage, errs)
			}
			for _, w := range tt.want {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr %q lacks %q", errs, w)
				}
			}
		})
	}
}

func TestConfigUsage(t *testing.T) {
	for _, args := range [][]string{
		{"config"},
		{"config", "frob"},
		{"config", "show"},
		{"config", "show", "--prov", flatDir},
		{"config", "check", "--mac", "0004f2000001"},
		{"config", "show", "--prov", flatDir, "--mac", "0004f2000001", "extra"},
		{"config", "show", "--prov", flatDir, "--mac", "0004f2000001", "--set", "novalue"},
		{"config", "show", "--prov", "/nonexistent-dir", "--mac", "0004f2000001"},
		{"config", "check", "--prov", flatDir, "--mac", "nonsense"},
		{"params", "no-such-parameter-anywhere"},
		{"params", "a", "b"},
	} {
		if code, _, errs := runMain(t, args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, ExitUsage, errs)
		}
	}
}

func TestParams(t *testing.T) {
	code, out, _ := runMain(t, "params")
	if code != ExitOK || !strings.HasPrefix(out, "NAME") || strings.Count(out, "\n") != len(configs.Params())+1 {
		t.Fatalf("exit %d, %d lines", code, strings.Count(out, "\n"))
	}
	for pattern, want := range map[string][]string{
		"reg.x.server.y.transport": {"DNSnaptr|TCPpreferred|UDPOnly|TLS|TCPOnly", "DNSnaptr"},
		"reg.1.server.2.expires":   {"reg.x.server.y.expires ", "3600"},
		"sec.srtp.*":               {"sec.srtp.key.lifetime", "2^N", "sec.srtp.mki.length"},
		"dscp":                     {"qos.ip.rtp.dscp", "[restart]", "Null"},
	} {
		code, out, errs := runMain(t, "params", pattern)
		if code != ExitOK {
			t.Errorf("%s: exit %d %s", pattern, code, errs)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("params %s: output lacks %q:\n%s", pattern, w, out)
			}
		}
	}
}
