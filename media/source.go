package media

import (
	"bytes"
	"fmt"
	"os"

	"github.com/handset-dev/handset/media/rtp"
)

// ToneSource sends a sine tone of freqHz for G.711 and silent frames for the
// other codecs (the emulator does not encode speech; issue #4 part 3).
// The tone is encoded once per stream, one period's worth of 20 ms frames
// (5 frames for 440 Hz; at most 1 s), and then looped: synthesising and
// companding every packet cost a fifth of a call's CPU.
func ToneSource(freqHz float64) SourceFunc {
	return func(f rtp.Format) (rtp.Source, error) {
		switch f.Name {
		case "PCMU", "PCMA":
		default:
			return silence(f)
		}
		tone, err := rtp.NewTone(f, freqHz, 0.25)
		if err != nil {
			return nil, err
		}
		n := toneFrames(freqHz)
		frames := make([][]byte, n)
		for i := range frames {
			if frames[i], err = tone.Frame(nil); err != nil {
				return nil, err
			}
		}
		return rtp.NewFrames(frames)
	}
}

// toneFrames is the number of 20 ms frames (160 samples at 8 kHz) after
// which a tone of freqHz repeats exactly, or 50 (1 s) when it takes longer
// or the frequency is not a whole number of hertz.
func toneFrames(freqHz float64) int {
	const maxFrames = 50
	hz := int(freqHz)
	if float64(hz) != freqHz || hz <= 0 {
		return maxFrames
	}
	period := 8000 / gcd(hz, 8000)      // samples per whole number of cycles
	frames := period / gcd(period, 160) // lcm(period, 160) / 160
	if frames > maxFrames {
		return maxFrames
	}
	return frames
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func silence(f rtp.Format) (rtp.Source, error) {
	if f.FrameBytes <= 0 {
		return nil, fmt.Errorf("%w: no framing for %s", ErrConfig, f.Name)
	}
	return rtp.NewFrames([][]byte{make([]byte, f.FrameBytes)})
}

// WAVSource plays an 8 kHz mono WAV file (PCM16, A-law or µ-law) in a loop
// for G.711; other codecs get silent frames. The file is read when the
// stream starts.
func WAVSource(path string) SourceFunc {
	return func(f rtp.Format) (rtp.Source, error) {
		switch f.Name {
		case "PCMU", "PCMA":
		default:
			return silence(f)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%w: wav: %w", ErrConfig, err)
		}
		frames, err := rtp.ReadWAV(bytes.NewReader(b), f)
		if err != nil {
			return nil, fmt.Errorf("%w: wav %s: %w", ErrConfig, path, err)
		}
		return rtp.NewFrames(frames)
	}
}
