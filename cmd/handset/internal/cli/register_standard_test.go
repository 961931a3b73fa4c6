package cli

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/handset-dev/handset/internal/peers"
	"github.com/handset-dev/handset/internal/peers/kamailio"
	"github.com/handset-dev/handset/internal/testutil"
)

// standardProv writes a provisioning set for a generic (non-Lync) phone:
// no Lync base profile, reg.1.server.1.specialInterop="standard".
func standardProv(t *testing.T, password string) string {
	t.Helper()
	dir := t.TempDir()
	peers.WriteFile(t, filepath.Join(dir, "000000000000.cfg"), []byte(`<?xml version="1.0" standalone="yes"?>
<APPLICATION APP_FILE_PATH="" CONFIG_FILES="site.cfg" MISC_FILES=""></APPLICATION>
`))
	peers.WriteFile(t, filepath.Join(dir, "site.cfg"), []byte(`<?xml version="1.0" standalone="yes"?>
<site reg.1.address="alice@contoso.test" reg.1.auth.userId="alice" reg.1.auth.password="`+password+`"
  reg.1.auth.useLoginCredentials="0" reg.1.auth.usePinCredentials="0"
  reg.1.server.1.address="`+kamailio.Host+`" reg.1.server.1.transport="TLS"
  reg.1.server.1.specialInterop="standard"/>
`))
	return dir
}

// TestRegisterStandardAgainstKamailio: a provisioning set with
// specialInterop=standard signs in to a real kamailio with digest over TLS
// (exit 0, trace shows the digest exchange, the password and digest response
// redacted); a wrong password exits 1 after one attempt.
func TestRegisterStandardAgainstKamailio(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	k := kamailio.Start(t, kamailio.Options{})
	var out, errb bytes.Buffer
	args := []string{"register", "--prov", standardProv(t, "secret"), "--mac", "0004f2000101", "--target", k.TLSAddr, "--ca", k.PKI.CAFile, "--once", "--trace"}
	if code := Main(t.Context(), args, &out, &errb); code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"specialInterop=standard", "WWW-Authenticate: Digest", `Authorization: Digest username="alice"`, `response="[redacted]"`, "unregistered", "ok: alice@contoso.test signed in"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String()+errb.String(), "secret") || strings.Contains(out.String(), "NTLM") {
		t.Errorf("password or NTLM in the output:\n%s", out.String())
	}
	if err := k.WaitRegistered(t.Context(), "alice", 2); err != nil {
		t.Fatal(err)
	}
	if k.Registrations("alice") != 2 {
		t.Errorf("kamailio logged %d REGISTERs with credentials, want 2 (sign-in, sign-out)", k.Registrations("alice"))
	}

	out.Reset()
	errb.Reset()
	args[2] = standardProv(t, "wrong")
	if code := Main(t.Context(), args, &out, &errb); code != ExitRunFailed || !strings.Contains(errb.String(), "401 after digest credentials") {
		t.Errorf("wrong password: exit %d, stderr %q", code, errb.String())
	}
}
