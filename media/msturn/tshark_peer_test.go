package msturn

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/handset-dev/handset/internal/testutil"
)

// sampleFlow is one allocation as protocols.md §9 describes it: an
// unauthenticated Allocate, the 401 with REALM and NONCE, the authenticated
// Allocate, its response, a Set Active Destination, a Send and a Data
// Indication.
func sampleFlow() [][]byte {
	key := LongTermKey("alice@lab", "SIP", "secret")
	cid := SequenceNumber{ConnectionID: [20]byte{1, 2, 3, 19: 20}, Seq: 1}
	peer := netip.MustParseAddrPort("203.0.113.5:40000")
	// Transaction IDs start with 0x2112A442 as in Lync captures (Wireshark:
	// "128 bits, seen with MAGIC as well"); see NewTransactionID.
	tx := func(n byte) [16]byte { t := NewTransactionID(tid[4:]); t[15] = n; return t }

	a1 := NewMessage(TypeAllocateRequest, tx(1))
	a1.AddUint32(AttrMSVersion, 1)

	e := NewMessage(TypeAllocateError, tx(1))
	e.AddErrorCode(401, "Unauthorized")
	e.AddString(AttrRealm, "SIP")
	e.AddString(AttrNonce, "e3a1d2f0c4b5")
	e.AddUint32(AttrMSVersion, 1)

	a2 := NewMessage(TypeAllocateRequest, tx(2))
	a2.AddUint32(AttrMSVersion, 1)
	a2.AddString(AttrUsername, "alice@lab")
	a2.AddString(AttrRealm, "SIP")
	a2.AddString(AttrNonce, "e3a1d2f0c4b5")
	a2.AddIntegrity(key)

	r := NewMessage(TypeAllocateResponse, tx(2))
	r.AddAddress(AttrMappedAddress, netip.MustParseAddrPort("192.0.2.1:50000"))
	r.AddXORAddress(AttrMSXORMappedAddress, netip.MustParseAddrPort("198.51.100.7:40123"))
	r.AddUint32(AttrLifetime, 600)
	r.AddUint32(AttrMSVersion, 1)
	r.AddSequenceNumber(SequenceNumber{ConnectionID: cid.ConnectionID})
	r.AddIntegrity(key)

	sad := NewMessage(TypeSetActiveDestRequest, tx(3))
	sad.AddString(AttrUsername, "alice@lab")
	sad.AddAddress(AttrDestinationAddress, peer)
	sad.AddSequenceNumber(cid)
	sad.AddIntegrity(key)

	sadr := NewMessage(TypeSetActiveDestResponse, tx(3))
	sadr.AddIntegrity(key)

	snd := NewMessage(TypeSendRequest, tx(4))
	snd.AddString(AttrUsername, "alice@lab")
	snd.AddAddress(AttrDestinationAddress, peer)
	snd.Add(AttrData, []byte{0x80, 0x00, 0x00, 0x01, 0xde, 0xad, 0xbe}) // odd length: padded
	cid.Seq++
	snd.AddSequenceNumber(cid)
	snd.AddIntegrity(key)

	di := NewMessage(TypeDataIndication, tx(5))
	di.AddAddress(AttrRemoteAddress, peer)
	di.Add(AttrData, []byte{0x80, 0x00, 0x00, 0x02})
	di.AddSequenceNumber(cid)

	var out [][]byte
	for _, m := range []*Message{a1, e, a2, r, sad, sadr, snd, di} {
		out = append(out, m.Marshal())
	}
	return out
}

// TestTsharkDecodes writes the sample flow into a pcap on UDP 3478 and checks
// that Wireshark's STUN dissector, with its MS-TURN auto-detection
// (stun.stunversion:Auto, keyed on the MAGIC-COOKIE attribute), decodes every
// packet as MS-TURN without a malformed-packet or expert error, and shows the
// stun.att.ms.* fields. Two dissector readings differ from protocols.md §9
// and are not checked: it names 0x0004 "Refresh" (MS-TURN: Send) and 0x0006
// "Send" (MS-TURN: Set Active Destination), and it decodes 0x0012 as an XOR
// address (MS-TURN REMOTE-ADDRESS is plain, like MAPPED-ADDRESS).
func TestTsharkDecodes(t *testing.T) {
	tshark := testutil.RequirePeer(t, "tshark")
	dir := t.TempDir()
	file := filepath.Join(dir, "msturn.pcap")
	client := netip.MustParseAddrPort("10.0.0.2:40000")
	server := netip.MustParseAddrPort("10.0.0.1:3478")
	if err := os.WriteFile(file, writePcap(client, server, sampleFlow()), 0o600); err != nil {
		t.Fatal(err)
	}
	// Default preferences: the dissector's "Auto" MS-TURN detection keys on
	// the MAGIC-COOKIE attribute.
	cmd := exec.Command(tshark, "-n", "-r", file, "-V", "-o", "stun.stunversion:Auto")
	cmd.Env = append(os.Environ(), "HOME="+dir) // no user profile
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	s := string(out)
	if testing.Verbose() {
		t.Logf("tshark -V:\n%s", s)
	}
	for _, bad := range []string{"Malformed", "Expert Info (Error", "Exception"} {
		if strings.Contains(s, bad) {
			t.Errorf("tshark reports %q", bad)
		}
	}
	// REALM and NONCE must come out under their MS-TURN numbers (0x0015 and
	// 0x0014): the dissector swaps them once it has detected MS-TURN.
	for _, want := range []string{"Magic Cookie: 0x72c64bc6", "MS Version: ICE (1)",
		"Connection ID: 0102030000000000000000000000000000000014", "Sequence Number: 1",
		"Realm: SIP", "Nonce: e3a1d2f0c4b5", "MAPPED-ADDRESS: 192.0.2.1:50000",
		"XOR-MAPPED-ADDRESS: 198.51.100.7:40123", "ERROR-CODE 401", "DATA"} {
		if !strings.Contains(s, want) {
			t.Errorf("tshark output lacks %q", want)
		}
	}
	if n := strings.Count(s, "[STUN Network Version: MS-TURN (1)]"); n != 8 {
		t.Errorf("%d packets decoded as MS-TURN, want 8", n)
	}
}
