package tlsdsk

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParseRecords: whatever parses re-encodes to the same bytes, and every
// failure is a typed *RecordError (or the size cap).
func FuzzParseRecords(f *testing.F) {
	f.Add([]byte{22, 3, 1, 0, 4, 1, 0, 0, 0})
	f.Add([]byte{20, 3, 3, 0, 1, 1, 22, 3, 3, 0, 2, 0xde, 0xad})
	f.Add([]byte{22, 3, 1, 0, 50, 1})
	f.Add([]byte{21, 3, 3, 0, 2, 2, 40})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := ParseRecords(b)
		if err != nil {
			var re *RecordError
			if !errors.As(err, &re) && !errors.Is(err, errTokenTooLong) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if got := AppendRecords(nil, recs); !bytes.Equal(got, b) {
			t.Fatalf("round trip: %x != %x", got, b)
		}
	})
}

// FuzzDecodeGSSAPIData: a decoded token re-encodes to an equivalent value
// and always holds whole records.
func FuzzDecodeGSSAPIData(f *testing.F) {
	f.Add("FgMBAAQBAAAA")
	f.Add("")
	f.Add("!!!")
	f.Add("FgMBADIB")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := DecodeGSSAPIData(s)
		if err != nil {
			return
		}
		b2, err := DecodeGSSAPIData(EncodeGSSAPIData(b))
		if err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("re-decode: %v", err)
		}
		if _, err := ParseRecords(b); err != nil {
			t.Fatalf("decoded token does not parse: %v", err)
		}
	})
}

// FuzzVerify: any signature string is either the right one or refused with
// an error, never a panic; the right one always verifies.
func FuzzVerify(f *testing.F) {
	f.Add([]byte("<TLS-DSK><1><1>"), "00")
	f.Add([]byte(""), "zz")
	var k Keys
	for i := range k.Client {
		k.Client[i], k.Server[i] = byte(i), byte(255-i)
	}
	k.MAC = MACSHA1
	cm, _ := NewMechanism(k, RoleClient)
	sm, _ := NewMechanism(k, RoleServer)
	f.Fuzz(func(t *testing.T, buf []byte, sig string) {
		good, _ := cm.Sign(buf)
		if err := sm.Verify(buf, good); err != nil {
			t.Fatalf("own signature refused: %v", err)
		}
		if sig != good && sm.Verify(buf, sig) == nil && !bytes.EqualFold([]byte(sig), []byte(good)) {
			t.Fatalf("forged signature %q accepted", sig)
		}
	})
}
