package cli

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/handset-dev/handset/internal/peers"
	"github.com/handset-dev/handset/internal/peers/kamailio"
	"github.com/handset-dev/handset/internal/testutil"
)

// TestLoadStandardKamailio: `handset load` with a --users CSV of
// specialInterop=standard rows against a real kamailio: every handset signs
// in with digest over TLS, re-registers under --time-scale and
// un-REGISTERs at the end; no failed logon.
func TestLoadStandardKamailio(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	const n = 20
	users := map[string]string{}
	var csv strings.Builder
	csv.WriteString("reg.1.address,reg.1.auth.userId,reg.1.auth.password,reg.1.server.1.specialInterop\n")
	for i := range n {
		u, pw := fmt.Sprintf("user%02d", i), fmt.Sprintf("pw%02d-secret", i)
		users[u] = pw
		fmt.Fprintf(&csv, "%s@%s,%s,%s,standard\n", u, kamailio.Domain, u, pw)
	}
	k := kamailio.Start(t, kamailio.Options{Users: users, NonceCount: true})
	dir := t.TempDir()
	usersCSV := filepath.Join(dir, "users.csv")
	peers.WriteFile(t, usersCSV, []byte(csv.String()))
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	// --time-scale 1800: the 3600 s expiry becomes 2 s, so a 4 s run
	// re-registers every handset at least once with the nonce it holds.
	code := Main(t.Context(), []string{"load", "--users", usersCSV, "--server-name", kamailio.Host, "--target", k.TLSAddr, "--ca", k.PKI.CAFile,
		"--handsets", fmt.Sprint(n), "--rate", "40/s", "--duration", "4s", "--time-scale", "1800", "--out", out,
		"--pass", "registered>=100%,failed_logons<=0"}, &stdout, &stderr)
	if code != ExitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	r := readReport(t, out)
	r.checkConsistent(t)
	tot := r.sum.Totals
	if tot["logons"] != n || tot["unregistrations"] != n || tot["reregistrations"] < n {
		t.Errorf("totals %v", tot)
	}
	for u := range users {
		if f := k.AuthFailures("REGISTER", u); f != 0 {
			t.Errorf("kamailio rejected %d credentials of %s", f, u)
		}
	}
	t.Logf("%v", tot)
}
