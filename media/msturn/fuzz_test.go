package msturn

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
)

// FuzzParse: a message that parses re-encodes to the same bytes after a
// second parse (parse → marshal → parse → marshal is stable), and errors are
// always ErrMalformed or ErrNoMagicCookie.
func FuzzParse(f *testing.F) {
	m := NewMessage(TypeAllocateRequest, tid)
	m.AddUint32(AttrMSVersion, 1)
	m.AddString(AttrUsername, "user")
	m.AddString(AttrRealm, "SIP")
	m.AddString(AttrNonce, "n0nce")
	m.AddIntegrity(LongTermKey("user", "SIP", "pass"))
	f.Add(m.Marshal())
	r := NewMessage(TypeAllocateResponse, tid)
	r.AddAddress(AttrMappedAddress, netip.MustParseAddrPort("192.0.2.10:50000"))
	r.AddXORAddress(AttrMSXORMappedAddress, netip.MustParseAddrPort("[2001:db8::1]:9"))
	r.AddSequenceNumber(SequenceNumber{Seq: 1})
	f.Add(r.Marshal())
	d := NewMessage(TypeDataIndication, tid)
	d.AddAddress(AttrRemoteAddress, netip.MustParseAddrPort("192.0.2.9:1"))
	d.Add(AttrData, []byte{0x80, 0, 1, 2, 3})
	f.Add(d.Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNoMagicCookie) {
				t.Fatalf("untyped error %v", err)
			}
			if !errors.Is(err, ErrNoMagicCookie) {
				return
			}
		}
		out := p.Marshal()
		p2, err := Parse(out)
		if err != nil {
			t.Fatalf("reparse %x: %v", out, err)
		}
		if out2 := p2.Marshal(); !bytes.Equal(out, out2) {
			t.Fatalf("not stable:\n%x\n%x", out, out2)
		}
		if p2.Type != p.Type || p2.TransactionID != p.TransactionID {
			t.Fatal("header changed")
		}
		// Typed readers never panic on arbitrary values.
		_, _ = p2.Address(AttrMappedAddress)
		_, _ = p2.XORAddress(AttrMSXORMappedAddress)
		_, _ = p2.SequenceNumber()
		_, _ = p2.ErrorCode()
		_ = CheckIntegrity(out, Key{})
	})
}

// FuzzParseFrame: a TCP frame that parses re-frames to the same bytes.
func FuzzParseFrame(f *testing.F) {
	f.Add([]byte{2, 0, 0, 3, 1, 2, 3})
	f.Add([]byte{3, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		ft, p, n, err := ParseFrame(b)
		if err != nil || n == 0 {
			return
		}
		out, err := AppendFrame(nil, ft, p)
		if err != nil || !bytes.Equal(out, b[:n]) {
			t.Fatalf("reframe %x != %x (%v)", out, b[:n], err)
		}
	})
}
