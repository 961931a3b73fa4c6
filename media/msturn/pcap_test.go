package msturn

import (
	"encoding/binary"
	"net/netip"
)

// writePcap returns a classic pcap file (LINKTYPE_RAW: IPv4 packets) holding
// one UDP datagram per payload, alternately client→server and server→client
// between the given addresses, for the tshark dissector test.
func writePcap(client, server netip.AddrPort, payloads [][]byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, 0xa1b2c3d4)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 65535)
	b = binary.LittleEndian.AppendUint32(b, 101) // LINKTYPE_RAW
	for i, p := range payloads {
		src, dst := client, server
		if i%2 == 1 {
			src, dst = server, client
		}
		pkt := ipv4UDP(src, dst, p)
		b = binary.LittleEndian.AppendUint32(b, uint32(i))
		b = binary.LittleEndian.AppendUint32(b, 0)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(pkt)))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(pkt)))
		b = append(b, pkt...)
	}
	return b
}

func ipv4UDP(src, dst netip.AddrPort, payload []byte) []byte {
	total := 20 + 8 + len(payload)
	h := []byte{0x45, 0}
	h = binary.BigEndian.AppendUint16(h, uint16(total))
	h = append(h, 0, 0, 0x40, 0, 64, 17, 0, 0)
	s, d := src.Addr().As4(), dst.Addr().As4()
	h = append(h, s[:]...)
	h = append(h, d[:]...)
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(h[10:], ^uint16(sum))
	h = binary.BigEndian.AppendUint16(h, src.Port())
	h = binary.BigEndian.AppendUint16(h, dst.Port())
	h = binary.BigEndian.AppendUint16(h, uint16(8+len(payload)))
	h = append(h, 0, 0) // UDP checksum optional over IPv4
	return append(h, payload...)
}
