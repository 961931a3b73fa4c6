package msturn

import (
	"net/netip"
	"testing"
)

// BenchmarkSendRequest is the per-packet cost of relayed media without an
// active destination: a Send request with DATA (a 20 ms G.711 SRTP packet),
// MS-SEQUENCE-NUMBER and MESSAGE-INTEGRITY.
func BenchmarkSendRequest(b *testing.B) {
	key := LongTermKey("AgAAJNpnLQEB2dZxbPJ6F0e6qkqdX8ZbsoBHKU8AAAAA", "SIP", "Wx5m0JvF9dTVSNgUZxK2sHPqGkA=")
	peer := netip.MustParseAddrPort("203.0.113.9:53762")
	data := make([]byte, 12+160+1+10)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for i := 0; b.Loop(); i++ {
		m := NewMessage(TypeSendRequest, tid)
		m.AddString(AttrUsername, "AgAAJNpnLQEB2dZxbPJ6F0e6qkqdX8ZbsoBHKU8AAAAA")
		m.AddAddress(AttrDestinationAddress, peer)
		m.Add(AttrData, data)
		m.AddSequenceNumber(SequenceNumber{Seq: uint32(i)})
		_ = m.MarshalIntegrity(key)
	}
}

// BenchmarkParseDataIndication is the receive side: parse a Data
// Indication and read its REMOTE-ADDRESS and DATA.
func BenchmarkParseDataIndication(b *testing.B) {
	m := NewMessage(TypeDataIndication, tid)
	m.AddAddress(AttrRemoteAddress, netip.MustParseAddrPort("203.0.113.9:53762"))
	m.Add(AttrData, make([]byte, 183))
	raw := m.Marshal()
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		p, err := Parse(raw)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.Address(AttrRemoteAddress); err != nil {
			b.Fatal(err)
		}
		if _, ok := p.Get(AttrData); !ok {
			b.Fatal("no data")
		}
	}
}
