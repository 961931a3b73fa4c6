package rtp

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzReadWAV: any input either fails with ErrWAV or yields whole 160-byte
// frames (there is no WAV encoder, so the property is the invariant).
func FuzzReadWAV(f *testing.F) {
	f.Add(wav(1, 16, 8000, make([]byte, 400)))
	f.Add(wav(7, 8, 8000, bytes.Repeat([]byte{0x55}, 170)))
	f.Add(wav(6, 8, 8000, []byte{1}))
	f.Add([]byte("RIFF\x04\x00\x00\x00WAVEdata\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		frames, err := ReadWAV(bytes.NewReader(b), FormatPCMA)
		if err != nil {
			if !errors.Is(err, ErrWAV) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(frames) == 0 {
			t.Fatal("no frames without error")
		}
		for _, fr := range frames {
			if len(fr) != 160 {
				t.Fatalf("frame of %d bytes", len(fr))
			}
		}
	})
}
