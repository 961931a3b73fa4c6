package labfe

import (
	"bytes"
	"errors"
	"testing"

	"github.com/handset-dev/handset/media/sdp"
)

// TestEchoTransitions: one row per (state, event) of echoTransition's
// table; every pair not listed is illegal and leaves the state unchanged.
func TestEchoTransitions(t *testing.T) {
	legal := map[[2]uint8]echoState{
		{uint8(echoProceeding), uint8(evAnswer)}:   echoAnswered,
		{uint8(echoProceeding), uint8(evCancel)}:   echoTerminated,
		{uint8(echoProceeding), uint8(evStop)}:     echoTerminated,
		{uint8(echoAnswered), uint8(evAck)}:        echoConfirmed,
		{uint8(echoAnswered), uint8(evAckTimeout)}: echoTerminated,
		{uint8(echoAnswered), uint8(evBye)}:        echoTerminated,
		{uint8(echoAnswered), uint8(evStop)}:       echoTerminated,
		{uint8(echoConfirmed), uint8(evAck)}:       echoConfirmed,
		{uint8(echoConfirmed), uint8(evReInvite)}:  echoConfirmed,
		{uint8(echoConfirmed), uint8(evBye)}:       echoTerminated,
		{uint8(echoConfirmed), uint8(evStop)}:      echoTerminated,
	}
	for st := echoProceeding; st <= echoTerminated; st++ {
		for ev := evAnswer; ev <= evStop; ev++ {
			next, err := echoTransition(st, ev)
			want, ok := legal[[2]uint8{uint8(st), uint8(ev)}]
			switch {
			case ok && (err != nil || next != want):
				t.Errorf("%s --%s--> %s, %v; want %s", st, ev, next, err, want)
			case !ok && (!errors.Is(err, errEchoTransition) || next != st):
				t.Errorf("%s --%s--> %s, %v; want an illegal-transition error", st, ev, next, err)
			}
		}
	}
	if s := echoState(9).String(); s != "echoState(9)" {
		t.Errorf("unknown state prints %q", s)
	}
}

// TestEchoRekeyKeepsTwoKeys: across rekeys with MKIs 1, 2, 3 the receive
// context decrypts the current and the previous key only (packets in
// flight across one rekey), so the key set stays bounded.
func TestEchoRekeyKeepsTwoKeys(t *testing.T) {
	m := &echoMedia{}
	keys := map[uint32]sdp.Crypto{}
	for mki := uint32(1); mki <= 3; mki++ {
		key := bytes.Repeat([]byte{byte(mki)}, sdp.KeyLen)
		cr := sdp.Crypto{Tag: 1, Suite: sdp.SuiteAES128SHA1_80, Key: key, MKI: mki, MKILen: 1}
		keys[mki] = cr
		if err := m.install(&sdp.Result{Encrypted: true, Local: cr, Remote: cr, LocalDirection: sdp.SendRecv}); err != nil {
			t.Fatal(err)
		}
	}
	for mki, want := range map[uint32]bool{1: false, 2: true, 3: true} {
		enc, err := newContext(keys[mki], false)
		if err != nil {
			t.Fatal(err)
		}
		pkt, err := enc.EncryptRTP(nil, []byte{0x80, 0, 0, byte(mki), 0, 0, 0, 1, 0, 0, 0, 9, 'x'}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.dec.DecryptRTP(nil, pkt, nil); (err == nil) != want {
			t.Errorf("mki %d: decrypt err %v, want ok=%v", mki, err, want)
		}
	}
}
