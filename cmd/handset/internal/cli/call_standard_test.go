package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/handset-dev/handset/internal/peers/baresip"
	"github.com/handset-dev/handset/internal/peers/kamailio"
	"github.com/handset-dev/handset/internal/testutil"
)

// TestCallStandardKamailioBaresip: `handset call` with a standard-mode
// provisioning set that offers SRTP (sec.srtp.offer=1, 1-byte MKI) signs in
// to a real kamailio over TLS and calls baresip registered there; exit 0
// means media flowed both ways with no SRTP failure.
func TestCallStandardKamailioBaresip(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	k := kamailio.Start(t, kamailio.Options{})
	b := baresip.Start(t, baresip.Options{User: "bob", Password: "secret2", Domain: kamailio.Domain, Registrar: k.UDPAddr, MediaEnc: "srtp"})
	if err := b.WaitRegistered(t.Context()); err != nil {
		t.Fatal(err)
	}
	prov := standardProv(t, "secret")
	srtp := []byte(`<?xml version="1.0" standalone="yes"?>
<media sec.srtp.offer="1" sec.srtp.mki.enabled="1" sec.srtp.mki.length="1" sec.srtp.mki.startSessionAtOne="1"/>
`)
	if err := os.WriteFile(filepath.Join(prov, "media.cfg"), srtp, 0o600); err != nil {
		t.Fatal(err)
	}
	master, err := os.ReadFile(filepath.Join(prov, "000000000000.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	master = bytes.Replace(master, []byte(`CONFIG_FILES="site.cfg"`), []byte(`CONFIG_FILES="site.cfg, media.cfg"`), 1)
	if err := os.WriteFile(filepath.Join(prov, "000000000000.cfg"), master, 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := Main(t.Context(), []string{"call", "--prov", prov, "--mac", "0004f2000101", "--target", k.TLSAddr, "--ca", k.PKI.CAFile,
		"--to", "sip:bob@" + kamailio.Domain, "--duration", "3s"}, &out, &errb)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	if err := b.WaitClosed(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	dump, _ := b.Dumps()
	if samples, rms, err := baresip.WAVEnergy(dump); err != nil || samples < 8000 || rms < 1000 {
		t.Errorf("baresip decoded %d samples, RMS %.0f (%v)", samples, rms, err)
	}
	if strings.Contains(out.String()+errb.String(), "secret") {
		t.Error("password printed")
	}
	t.Logf("handset call output:\n%s", out.String())
}
