package labfe_test

import (
	"fmt"
	"testing"

	"github.com/handset-dev/handset/labfe"
	"github.com/handset-dev/handset/labfe/internal/sipmsg"
)

var sprintf = fmt.Sprintf

// TestInstanceFromEpid checks the MS-SIPAE 4.1/4.2 epid → +sip.instance
// pairs (protocols.md §1.3).
func TestInstanceFromEpid(t *testing.T) {
	for epid, want := range map[string]string{
		"8248ca9ebb": "4233FD41-093B-5FD6-B5D2-651ED55969E6",
		"2ebb6f264f": "124841E4-264D-52E8-96C5-D22AA8CDC316",
	} {
		if got := labfe.InstanceFromEpid(epid); got != want {
			t.Errorf("%s: %s, want %s", epid, got, want)
		}
	}
}

// TestSignatureBufferCapture reproduces the version-4 buffers of the
// OC 2007 R2 capture (protocols.md §2.3).
func TestSignatureBufferCapture(t *testing.T) {
	req, err := sipmsg.Parse([]byte("REGISTER sip:cosmo.local SIP/2.0\r\nVia: SIP/2.0/TLS 10.0.0.1:1;branch=z9hG4bK1\r\nFrom: <sip:user@cosmo.local>;tag=3e49177a52;epid=1\r\nTo: <sip:user@cosmo.local>\r\nCall-ID: 4037df9284354df39065195bd57a4b14\r\nCSeq: 3 REGISTER\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := `<NTLM><13317733><1><SIP Communications Service><cosmo-ocs-r2.cosmo.local><4037df9284354df39065195bd57a4b14><3><REGISTER><sip:user@cosmo.local><3e49177a52><sip:user@cosmo.local><><><><>`
	if got := string(labfe.SignatureBuffer(req, "NTLM", "13317733", "1", "cosmo-ocs-r2.cosmo.local")); got != want {
		t.Errorf("request buffer\n got %s\nwant %s", got, want)
	}
	res, err := sipmsg.Parse([]byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/TLS 10.0.0.1:1;branch=z9hG4bK1\r\nFrom: <sip:user@cosmo.local>;tag=3e49177a52;epid=1\r\nTo: <sip:user@cosmo.local>;tag=5E61CCD925D17E043D9A74835A88F664\r\nCall-ID: 4037df9284354df39065195bd57a4b14\r\nCSeq: 3 REGISTER\r\nExpires: 7200\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	want = `<NTLM><9616454F><1><SIP Communications Service><cosmo-ocs-r2.cosmo.local><4037df9284354df39065195bd57a4b14><3><REGISTER><sip:user@cosmo.local><3e49177a52><sip:user@cosmo.local><5E61CCD925D17E043D9A74835A88F664><><><7200><200>`
	if got := string(labfe.SignatureBuffer(res, "NTLM", "9616454F", "1", "cosmo-ocs-r2.cosmo.local")); got != want {
		t.Errorf("response buffer\n got %s\nwant %s", got, want)
	}
}
