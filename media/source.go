package media

import (
	"bytes"
	"fmt"
	"os"

	"github.com/handset-dev/handset/media/rtp"
)

// ToneSource sends a sine tone of freqHz for G.711 and silent frames for the
// other codecs (the emulator does not encode speech; issue #4 part 3).
func ToneSource(freqHz float64) SourceFunc {
	return func(f rtp.Format) (rtp.Source, error) {
		switch f.Name {
		case "PCMU", "PCMA":
			return rtp.NewTone(f, freqHz, 0.25)
		}
		return silence(f)
	}
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
