package msturn

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// TestConstantsMatchSpecTables checks the type numbers against the tables of
// protocols.md §9 ([MS-TURN] 2.2.1 and 2.2.2).
func TestConstantsMatchSpecTables(t *testing.T) {
	msgs := map[MessageType]uint16{
		TypeAllocateRequest: 0x0003, TypeAllocateResponse: 0x0103, TypeAllocateError: 0x0113,
		TypeSendRequest: 0x0004, TypeDataIndication: 0x0115,
		TypeSetActiveDestRequest: 0x0006, TypeSetActiveDestResponse: 0x0106,
	}
	for got, want := range msgs {
		if uint16(got) != want {
			t.Errorf("%v = 0x%04x, spec 0x%04x", got, uint16(got), want)
		}
		if !got.known() {
			t.Errorf("%v not known", got)
		}
	}
	attrs := map[AttrType]uint16{
		AttrMappedAddress: 0x0001, AttrUsername: 0x0006, AttrMessageIntegrity: 0x0008,
		AttrErrorCode: 0x0009, AttrUnknownAttributes: 0x000A, AttrLifetime: 0x000D,
		AttrAlternateServer: 0x000E, AttrMagicCookie: 0x000F, AttrBandwidth: 0x0010,
		AttrDestinationAddress: 0x0011, AttrRemoteAddress: 0x0012, AttrData: 0x0013,
		AttrNonce: 0x0014, AttrRealm: 0x0015, AttrRequestedAddressFamily: 0x0017,
		AttrMSVersion: 0x8008, AttrMSXORMappedAddress: 0x8020, AttrMSSequenceNumber: 0x8050,
	}
	for got, want := range attrs {
		if uint16(got) != want {
			t.Errorf("attr 0x%04x, spec 0x%04x", uint16(got), want)
		}
	}
	if MagicCookie != 0x72C64BC6 {
		t.Errorf("magic cookie %x", MagicCookie)
	}
}

var tid = [16]byte{0x01, 0x02, 0x03, 0x04, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}

// TestAllocateRequestBytes: a hand-assembled Allocate request with the
// authenticated attributes of protocols.md §9 step 2, byte for byte, with
// the MESSAGE-INTEGRITY computed independently here.
func TestAllocateRequestBytes(t *testing.T) {
	m := NewMessage(TypeAllocateRequest, tid)
	m.AddUint32(AttrMSVersion, 1)
	m.AddString(AttrUsername, "alice@lab")
	m.AddString(AttrRealm, "SIP")
	m.AddString(AttrNonce, "n0nce")
	m.AddIntegrity(LongTermKey("alice@lab", "SIP", "pass"))
	got := m.Marshal()

	pre := "0003" + "0045" + hex.EncodeToString(tid[:]) + // length 69 = attributes incl. MI, no padding
		"000f0004" + "72c64bc6" + // MAGIC-COOKIE first
		"80080004" + "00000001" + // MS-VERSION 1
		"00060009" + hex.EncodeToString([]byte("alice@lab")) + // not padded
		"00150003" + hex.EncodeToString([]byte("SIP")) + // REALM is 0x0015
		"00140005" + hex.EncodeToString([]byte("n0nce")) // NONCE is 0x0014
	preB, _ := hex.DecodeString(pre)
	// MI: HMAC-SHA1 keyed with MD5("user:SIP:pass") over the message up to MI,
	// header length already ending at MI, zero-padded to 64-byte multiple
	// (65 bytes → 128).
	k := md5.Sum([]byte("alice@lab:SIP:pass"))
	padded := make([]byte, 128)
	copy(padded, preB)
	h := hmac.New(sha1.New, k[:])
	h.Write(padded)
	want := append(append(preB, 0x00, 0x08, 0x00, 0x14), h.Sum(nil)...)
	if !bytes.Equal(got, want) {
		t.Fatalf("allocate:\n got %x\nwant %x", got, want)
	}
	if err := CheckIntegrity(got, LongTermKey("alice@lab", "SIP", "pass")); err != nil {
		t.Fatal(err)
	}
	if err := CheckIntegrity(got, LongTermKey("alice@lab", "n0nce", "pass")); !errors.Is(err, ErrIntegrity) {
		t.Fatalf("key from the 0x0014 value must not verify: %v", err)
	}
	got[len(got)-1] ^= 1
	if err := CheckIntegrity(got, LongTermKey("alice@lab", "SIP", "pass")); !errors.Is(err, ErrIntegrity) {
		t.Fatalf("tampered MI verified: %v", err)
	}
}

// TestMagicCookieFirst: Marshal puts MAGIC-COOKIE first; Parse refuses a
// message without it ([MS-TURN] 3.1.10).
func TestMagicCookieFirst(t *testing.T) {
	m := &Message{Type: TypeAllocateRequest, TransactionID: tid}
	m.AddUint32(AttrLifetime, 600)
	b := m.Marshal()
	if !bytes.Equal(b[20:28], []byte{0, 0x0f, 0, 4, 0x72, 0xc6, 0x4b, 0xc6}) {
		t.Fatalf("first attribute %x", b[20:28])
	}
	if _, err := Parse(b); err != nil {
		t.Fatal(err)
	}
	if !IsMessage(b) {
		t.Fatal("IsMessage false")
	}
	// Swap the two attributes: well formed, but not MS-TURN.
	bad := append(append(append([]byte(nil), b[:20]...), b[28:]...), b[20:28]...)
	if _, err := Parse(bad); !errors.Is(err, ErrNoMagicCookie) {
		t.Fatalf("want ErrNoMagicCookie, got %v", err)
	}
	if IsMessage(bad) {
		t.Fatal("IsMessage true without cookie first")
	}
	// An RTP packet and an RFC 5389 binding request are not MS-TURN.
	rtp := append([]byte{0x80, 0, 0, 1}, make([]byte, 40)...)
	stun5389, _ := hex.DecodeString("000100002112a442b7e7a701bc34d686fa87dfae")
	for _, p := range [][]byte{rtp, stun5389} {
		if IsMessage(p) {
			t.Errorf("IsMessage(%x) true", p[:4])
		}
	}
}

func TestAddressesAndSequence(t *testing.T) {
	relayed := netip.MustParseAddrPort("192.0.2.10:50000")
	refl := netip.MustParseAddrPort("198.51.100.7:40123")
	m := NewMessage(TypeAllocateResponse, tid)
	m.AddAddress(AttrMappedAddress, relayed)
	m.AddXORAddress(AttrMSXORMappedAddress, refl)
	cid := [20]byte{0xaa, 19: 0xbb}
	m.AddSequenceNumber(SequenceNumber{ConnectionID: cid, Seq: 7})
	b := m.Marshal()
	p, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := p.Address(AttrMappedAddress); a != relayed {
		t.Errorf("mapped %v", a)
	}
	if a, _ := p.XORAddress(AttrMSXORMappedAddress); a != refl {
		t.Errorf("xor mapped %v", a)
	}
	// XOR key is the first 4 bytes of the transaction ID (protocols.md §9):
	// port ^ 0x0102, address ^ 01020304.
	v, _ := p.Get(AttrMSXORMappedAddress)
	if want := "0001" + "9db9" + "c7316703"; hex.EncodeToString(v) != want {
		t.Errorf("xor value %x, want %s", v, want)
	}
	s, err := p.SequenceNumber()
	if err != nil || s.ConnectionID != cid || s.Seq != 7 {
		t.Errorf("seq %+v %v", s, err)
	}
	if v, _ := p.Get(AttrMSSequenceNumber); len(v) != 24 {
		t.Errorf("MS-SEQUENCE-NUMBER is %d bytes, want 20+4", len(v))
	}
}

func TestErrorCode(t *testing.T) {
	m := NewMessage(TypeAllocateError, tid)
	m.AddErrorCode(401, "Unauthorized")
	m.AddAddress(AttrAlternateServer, netip.MustParseAddrPort("192.0.2.1:3478"))
	p, err := Parse(m.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	e, err := p.ErrorCode()
	if err != nil || e.Code != 401 || e.Reason != "Unauthorized" || e.Alternate != "192.0.2.1:3478" {
		t.Fatalf("%+v %v", e, err)
	}
	if !strings.Contains(e.Error(), "401") {
		t.Error(e.Error())
	}
}

func TestParseMalformed(t *testing.T) {
	good := NewMessage(TypeAllocateRequest, tid).Marshal()
	cases := map[string][]byte{
		"short":        good[:10],
		"length":       append(append([]byte(nil), good...), 0, 0, 0, 0),
		"not stun":     append([]byte{0xc0}, good[1:]...),
		"attr overrun": func() []byte { b := append([]byte(nil), good...); b[23] = 8; return b }(),
	}
	for name, b := range cases {
		if _, err := Parse(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestTCPFraming(t *testing.T) {
	msg := NewMessage(TypeAllocateRequest, tid).Marshal()
	b, err := AppendFrame(nil, FrameControl, msg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = AppendFrame(b, FrameData, []byte{0x80, 1, 2})
	if !bytes.Equal(b[:4], []byte{0x02, 0x00, 0x00, byte(len(msg))}) {
		t.Fatalf("header %x", b[:4])
	}
	ft, p, n, err := ParseFrame(b)
	if err != nil || ft != FrameControl || !bytes.Equal(p, msg) {
		t.Fatalf("%v %x %v", ft, p, err)
	}
	ft, p, n2, err := ParseFrame(b[n:])
	if err != nil || ft != FrameData || !bytes.Equal(p, []byte{0x80, 1, 2}) || n+n2 != len(b) {
		t.Fatalf("%v %x %v", ft, p, err)
	}
	if _, _, n, _ := ParseFrame(b[:5]); n != 0 {
		t.Fatal("partial frame consumed")
	}
	if _, _, _, ferr := ParseFrame([]byte{0x05, 0, 0, 0}); !errors.Is(ferr, ErrMalformed) {
		t.Fatal(ferr)
	}
	ft, p, err = ReadFrame(bytes.NewReader(b))
	if err != nil || ft != FrameControl || !bytes.Equal(p, msg) {
		t.Fatal(err)
	}
}

func TestKeyRedacted(t *testing.T) {
	k := LongTermKey("u", "r", "p")
	if k.String() != "[redacted]" || k.LogValue().String() != "[redacted]" {
		t.Fatal("key not redacted")
	}
}
