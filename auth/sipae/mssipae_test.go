package sipae

import (
	"encoding/hex"
	"testing"

	"github.com/handset-dev/handset/auth/ntlm"
)

// Vectors from MS-SIPAE 4.1/4.2 and the captures quoted in protocols.md
// §1.3, §2.3 and §4.7.

func TestMSSIPAEInstanceFromEpid(t *testing.T) {
	for epid, want := range map[string]string{
		"8248ca9ebb": "4233FD41-093B-5FD6-B5D2-651ED55969E6", // MS-SIPAE 4.1
		"2ebb6f264f": "124841E4-264D-52E8-96C5-D22AA8CDC316", // MS-SIPAE 4.2
	} {
		if got := InstanceFromEpid(epid); got != want {
			t.Errorf("InstanceFromEpid(%q) = %s, want %s", epid, got, want)
		}
	}
}

// captureRegister is the OC 2007 R2 capture of protocols.md §2.3 (version 4).
var captureRegister = SignedFields{
	Scheme: NTLM, Rand: "13317733", Num: "1", Realm: "SIP Communications Service",
	TargetName: "cosmo-ocs-r2.cosmo.local", CallID: "4037df9284354df39065195bd57a4b14",
	CSeqNum: "3", CSeqMethod: "REGISTER",
	FromURI: URIOf("<sip:user@cosmo.local>;tag=3e49177a52;epid=01010101"), FromTag: "3e49177a52",
	ToURI: URIOf("<sip:user@cosmo.local>"),
}

func TestSignatureBufferCaptureV4(t *testing.T) {
	const wantReq = "<NTLM><13317733><1><SIP Communications Service><cosmo-ocs-r2.cosmo.local><4037df9284354df39065195bd57a4b14><3><REGISTER><sip:user@cosmo.local><3e49177a52><sip:user@cosmo.local><><><><>"
	if got := string(Buffer(4, captureRegister)); got != wantReq {
		t.Errorf("REGISTER buffer\n got %s\nwant %s", got, wantReq)
	}
	ok := captureRegister
	ok.Rand, ok.ToTag, ok.Expires, ok.StatusCode = "9616454F", "5E61CCD925D17E043D9A74835A88F664", "7200", 200
	const wantResp = "<NTLM><9616454F><1><SIP Communications Service><cosmo-ocs-r2.cosmo.local><4037df9284354df39065195bd57a4b14><3><REGISTER><sip:user@cosmo.local><3e49177a52><sip:user@cosmo.local><5E61CCD925D17E043D9A74835A88F664><><><7200><200>"
	if got := string(Buffer(4, ok)); got != wantResp {
		t.Errorf("200 OK buffer\n got %s\nwant %s", got, wantResp)
	}
}

// vectorB is protocols.md §4.7: an OCS 2007 200 OK, protocol version 2,
// no extended session security, SeqNum 100.
var vectorB = struct {
	key    string
	fields SignedFields
	info   string
	buffer string
}{
	key: "5F029153BC025058969548615E7099BA",
	fields: SignedFields{
		CallID: "8592g5DCBa1694i5887m0D0Bt2247b3F38xAE9Fx", CSeqNum: "3", CSeqMethod: "REGISTER",
		FromURI: "sip:gabriel@ocs.provo.novell.com", FromTag: "2947328781",
		ToURI: "sip:gabriel@ocs.provo.novell.com", ToTag: "B816D65C2300A32CFA6D371F2AF537FD",
		Expires: "900", StatusCode: 200,
	},
	info:   `NTLM rspauth="0100000000000000BF2E52667DDF6DED", srand="0878F41B", snum="1", opaque="ABCDEF12", qop="auth", targetname="ocs1.ocs.provo.novell.com", realm="SIP Communications Service"`,
	buffer: "<NTLM><0878F41B><1><SIP Communications Service><ocs1.ocs.provo.novell.com><8592g5DCBa1694i5887m0D0Bt2247b3F38xAE9Fx><3><REGISTER><sip:gabriel@ocs.provo.novell.com><2947328781><B816D65C2300A32CFA6D371F2AF537FD><900><200>",
}

func TestVectorBBufferV2(t *testing.T) {
	f := vectorB.fields
	f.Scheme, f.Rand, f.Num = NTLM, "0878F41B", "1"
	f.Realm, f.TargetName = "SIP Communications Service", "ocs1.ocs.provo.novell.com"
	if got := string(Buffer(2, f)); got != vectorB.buffer {
		t.Errorf("v2 buffer\n got %s\nwant %s", got, vectorB.buffer)
	}
}

// TestVectorBThroughSA verifies the real OCS signature through the client
// SA and the NTLM mechanism (Authentication-Info parsed from the header).
func TestVectorBThroughSA(t *testing.T) {
	key, _ := hex.DecodeString(vectorB.key)
	s := ntlm.SessionFromKey(ntlm.FlagDatagram|ntlm.FlagSign|ntlm.FlagNTLM|ntlm.FlagUnicode, key, true)
	sa := NewClientSA(SAConfig{Version: 2})
	if err := sa.Begin(Params{Scheme: NTLM, Realm: "SIP Communications Service", TargetName: "ocs1.ocs.provo.novell.com"}); err != nil {
		t.Fatal(err)
	}
	if err := sa.Establish(NTLMMechanism(s), "ABCDEF12"); err != nil {
		t.Fatal(err)
	}
	p, err := Parse(vectorB.info)
	if err != nil {
		t.Fatal(err)
	}
	if err := sa.Verify(vectorB.fields, p); err != nil {
		t.Fatalf("Verify(vector B) = %v", err)
	}
	if sa.State() != StateEstablished {
		t.Errorf("state %v", sa.State())
	}
}
