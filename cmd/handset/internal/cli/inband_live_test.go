package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/handset-dev/handset/configs"
	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/labfe/inband"
)

// TestRegisterInBandAgainstLabfe is issue #8's end-to-end check: sign in
// against labfe, the provisioning arrives over the self-SUBSCRIBE,
// `register --show-config` marks the server's values "in-band", and
// `register --upload-callserver` writes a file that parses back to them.
func TestRegisterInBandAgainstLabfe(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	addr, ca, _ := startLabfeForCLI(t)
	dir := provDir(t)
	code, out, errs := runCLI(t, "register", "--prov", dir, "--mac", testMAC, "--target", addr, "--ca", ca, "--show-config")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	want := expectedParams(inband.Default())
	want["msg.mwi.1.callBack"] = "sip:alice@contoso.test;opaque=app:voicemail"
	for _, name := range []string{"dialplan.1.e911dialstring", "dialplan.1.originaldigitmap", "reg.1.srtp.require", "msg.mwi.1.callBackMode"} {
		// name, quoted value, then the source column "in-band".
		re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `\s+"[^\n]*"\s+in-band(\s|$)`)
		if !re.MatchString(out) {
			t.Errorf("--show-config: %s not shown as in-band\n%s", name, out)
		}
	}
	if !strings.Contains(out, "in-band provisioning received (in the 200 OK)") || !strings.Contains(out, "signed out") {
		t.Errorf("output:\n%s", out)
	}

	code, out, errs = runCLI(t, "register", "--prov", dir, "--mac", testMAC, "--target", addr, "--ca", ca, "--upload-callserver")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	path := filepath.Join(dir, testMAC+uploadSuffix)
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
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("uploaded params (-want +got):\n%s", d)
	}
}
