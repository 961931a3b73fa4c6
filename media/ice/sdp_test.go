package ice

import (
	"errors"
	"testing"

	pice "github.com/pion/ice/v4"
)

// MS-ICE2 candidate lines as protocols.md §10.2 writes them.
var ms2Lines = []string{
	"candidate:1 1 UDP 2130706431 192.168.1.20 50040 typ host",
	"candidate:2 1 TCP-PASS 174455807 192.168.1.20 50042 typ host",
	"candidate:3 1 TCP-ACT 174846975 192.168.1.20 50042 typ host",
	"candidate:4 1 UDP 1694498815 198.51.100.7 40123 typ srflx raddr 192.168.1.20 rport 50040",
	"candidate:5 1 UDP 16648703 203.0.113.9 53762 typ relay raddr 198.51.100.7 rport 40123",
	"candidate:6 2 TCP-PASS 6556159 203.0.113.9 55000 typ relay raddr 198.51.100.7 rport 40124",
}

func TestParseMSICE2Lines(t *testing.T) {
	for _, l := range ms2Lines {
		c, err := ParseCandidateLine(l)
		if err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		if got := c.String(); got != l {
			t.Errorf("round trip\n got %s\nwant %s", got, l)
		}
		pc, err := c.Pion()
		if err != nil {
			t.Fatalf("%s: pion: %v", l, err)
		}
		// pion's candidate written back in the MS-ICE2 form is the same line:
		// TCP-PASS/TCP-ACT survive as pion tcptypes.
		if got := CandidateLine(pc); got != l {
			t.Errorf("via pion\n got %s\nwant %s", got, l)
		}
	}
}

func TestTCPTranslation(t *testing.T) {
	c, _ := ParseCandidateLine(ms2Lines[2])
	pc, err := c.Pion()
	if err != nil {
		t.Fatal(err)
	}
	if !pc.NetworkType().IsTCP() || pc.TCPType() != pice.TCPTypeActive {
		t.Fatalf("%v %v", pc.NetworkType(), pc.TCPType())
	}
	// RFC 5245's plain TCP token reads as passive.
	c2, err := ParseCandidateLine("candidate:7 1 TCP 1 10.0.0.1 9 typ host")
	if err != nil || c2.Transport != "TCP-PASS" {
		t.Fatalf("%+v %v", c2, err)
	}
}

func TestParseMalformed(t *testing.T) {
	for _, l := range []string{"", "candidate:1 1 UDP 1 1.2.3.4 5", "candidate:1 0 UDP 1 1.2.3.4 5 typ host",
		"candidate:1 1 SCTP 1 1.2.3.4 5 typ host", "candidate:1 1 UDP x 1.2.3.4 5 typ host",
		"candidate:1 1 UDP 1 host.example 5 typ host", "candidate:1 1 UDP 1 1.2.3.4 70000 typ host",
		"candidate:1 1 UDP 1 1.2.3.4 5 typ bogus", "candidate:1 1 UDP 1 1.2.3.4 5 typ srflx raddr 1.2.3.4"} {
		if _, err := ParseCandidateLine(l); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v", l, err)
		}
	}
}

func TestAttributesAndRemoteCandidates(t *testing.T) {
	c, _ := ParseCandidateLine(ms2Lines[0])
	pc, _ := c.Pion()
	attrs := Attributes("abcd", "0123456789abcdefghijklmn", []pice.Candidate{pc})
	if len(attrs) != 3 || attrs[0] != ms2Lines[0] || attrs[1] != "ice-ufrag:abcd" || attrs[2] != "ice-pwd:0123456789abcdefghijklmn" {
		t.Fatalf("%q", attrs)
	}
	if got := RemoteCandidates(pc); got != "remote-candidates:1 192.168.1.20 50040" {
		t.Fatal(got)
	}
}
