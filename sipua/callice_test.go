package sipua

import (
	"testing"

	"github.com/handset-dev/handset/media/ice"
)

func TestICEConfigFromValues(t *testing.T) {
	for _, tc := range []struct {
		params map[string]string
		want   string
		bad    bool
	}{
		{nil, ice.ModeGeneric, false},
		{map[string]string{"tcpIpApp.ice.mode": "MSOCS"}, ice.ModeMSOCS, false},
		{map[string]string{"tcpIpApp.ice.mode": " generic "}, ice.ModeGeneric, false},
		{map[string]string{"tcpIpApp.ice.mode": "LYNC"}, "", true},
	} {
		get := func(n string) (string, bool) { v, ok := tc.params[n]; return v, ok }
		got, err := ICEConfigFromValues(get)
		if (err != nil) != tc.bad || got.Mode != tc.want {
			t.Errorf("%v: %+v %v", tc.params, got, err)
		}
	}
}

func TestRemoteICE(t *testing.T) {
	body := []byte("v=0\r\no=- 1 0 IN IP4 192.0.2.10\r\ns=session\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n" +
		"m=audio 50000 RTP/SAVP 0\r\n" +
		"a=candidate:1 1 UDP 16777215 192.0.2.10 50000 typ relay raddr 10.0.0.1 rport 4000\r\n" +
		"a=candidate:1 2 UDP 16777214 192.0.2.10 50001 typ relay raddr 10.0.0.1 rport 4001\r\n" +
		"a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\n")
	ufrag, pwd, cands, err := remoteICE(body)
	if err != nil || ufrag != "abcd" || pwd != "0123456789abcdefghijkl" || len(cands) != 1 || cands[0].Type != "relay" {
		t.Fatalf("%q %q %v %v", ufrag, pwd, cands, err)
	}
	noICE := []byte("v=0\r\no=- 1 0 IN IP4 192.0.2.10\r\ns=session\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 50000 RTP/AVP 0\r\n")
	if _, _, _, err := remoteICE(noICE); err == nil {
		t.Fatal("an offer without ICE accepted")
	}
}
