package media

import (
	"bytes"
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
