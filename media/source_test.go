package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/handset-dev/handset/media/rtp"
)

// The looped tone is the tone: the first second of ToneSource equals
// rtp.Tone's own output frame by frame.
func TestToneSourceLoopsExactly(t *testing.T) {
	for _, hz := range []float64{440, 1000, 697, 440.5} {
		src, err := ToneSource(hz)(rtp.FormatPCMU)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := rtp.NewTone(rtp.FormatPCMU, hz, 0.25)
		if err != nil {
			t.Fatal(err)
		}
		exact := toneFrames(hz) < 50
		for i := range 100 {
			got, _ := src.Frame(nil)
			want, _ := ref.Frame(nil)
			if len(got) != 160 || (exact && !bytes.Equal(got, want)) {
				t.Fatalf("%v Hz frame %d differs", hz, i)
			}
		}
	}
	if n := toneFrames(440); n != 5 {
		t.Errorf("440 Hz repeats after %d frames, want 5", n)
	}
	src, err := ToneSource(440)(rtp.Format{Name: "G729", PT: 18, ClockRate: 8000, FrameBytes: 20})
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := src.Frame(nil); len(f) != 20 {
		t.Errorf("G.729 silence frame %d bytes", len(f))
	}
}

// wav16 writes an 8 kHz mono PCM16 WAV of n samples of value v.
func wav16(n int, v int16) []byte {
	var b bytes.Buffer
	le := func(x any) { _ = binary.Write(&b, binary.LittleEndian, x) }
	b.WriteString("RIFF")
	le(uint32(36 + 2*n))
	b.WriteString("WAVEfmt ")
	le(uint32(16))
	le(uint16(1))    // PCM
	le(uint16(1))    // mono
	le(uint32(8000)) // rate
	le(uint32(16000))
	le(uint16(2))
	le(uint16(16))
	b.WriteString("data")
	le(uint32(2 * n))
	for range n {
		le(v)
	}
	return b.Bytes()
}

func TestWAVSource(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.wav")
	if err := os.WriteFile(path, wav16(400, 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := WAVSource(path)(rtp.FormatPCMA)
	if err != nil {
		t.Fatal(err)
	}
	want := rtp.ALaw(1000)
	for i := range 4 { // 400 samples: 2 full frames and a padded one, looped
		f, err := src.Frame(nil)
		if err != nil || len(f) != 160 {
			t.Fatalf("frame %d: %d bytes, %v", i, len(f), err)
		}
		if i != 2 && f[0] != want {
			t.Errorf("frame %d starts %#x, want %#x", i, f[0], want)
		}
	}
	if _, err := WAVSource(filepath.Join(t.TempDir(), "missing.wav"))(rtp.FormatPCMU); !errors.Is(err, ErrConfig) {
		t.Errorf("missing file: %v", err)
	}
	if err := os.WriteFile(path, []byte("not a wav"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := WAVSource(path)(rtp.FormatPCMU); !errors.Is(err, ErrConfig) {
		t.Errorf("bad file: %v", err)
	}
}
