package rtp

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// Source yields one 20 ms payload per call, appended to dst.
type Source interface {
	Frame(dst []byte) ([]byte, error)
}

// Tone is a sine tone encoded as G.711 (PCMU or PCMA), 8 kHz.
type Tone struct {
	enc   func(int16) byte
	step  float64
	amp   float64
	phase float64
}

// NewTone returns a G.711 tone source; amplitude is in 0..1 of full scale.
func NewTone(f Format, freqHz, amplitude float64) (*Tone, error) {
	t := &Tone{step: 2 * math.Pi * freqHz / 8000, amp: amplitude * 32767}
	switch f.Name {
	case "PCMU":
		t.enc = ULaw
	case "PCMA":
		t.enc = ALaw
	default:
		return nil, fmt.Errorf("%w: tone needs PCMU or PCMA, got %s", ErrConfig, f.Name)
	}
	if freqHz <= 0 || freqHz >= 4000 || amplitude < 0 || amplitude > 1 {
		return nil, fmt.Errorf("%w: tone %.0f Hz amplitude %.2f", ErrConfig, freqHz, amplitude)
	}
	return t, nil
}

// Frame appends 160 samples.
func (t *Tone) Frame(dst []byte) ([]byte, error) {
	for range 160 {
		dst = append(dst, t.enc(int16(t.amp*math.Sin(t.phase))))
		t.phase += t.step
		if t.phase > 2*math.Pi {
			t.phase -= 2 * math.Pi
		}
	}
	return dst, nil
}

// Frames loops over pre-encoded payloads (for G.722, G.722.1, G.729, or a
// decoded capture).
type Frames struct {
	frames [][]byte
	i      int
}

// NewFrames returns a looping source; it needs at least one frame.
func NewFrames(frames [][]byte) (*Frames, error) {
	if len(frames) == 0 {
		return nil, fmt.Errorf("%w: no frames", ErrConfig)
	}
	return &Frames{frames: frames}, nil
}

// Frame appends the next frame.
func (f *Frames) Frame(dst []byte) ([]byte, error) {
	dst = append(dst, f.frames[f.i]...)
	f.i = (f.i + 1) % len(f.frames)
	return dst, nil
}

// WAV format tags (RFC 2361).
const (
	wavPCM   = 1
	wavALaw  = 6
	wavMuLaw = 7
)

// ReadWAV reads an 8 kHz mono WAV (PCM16, A-law or µ-law) and returns it as
// 20 ms frames in format f (PCMU or PCMA), ready for NewFrames. A short last
// frame is padded with silence.
func ReadWAV(r io.Reader, f Format) ([][]byte, error) {
	var enc func(int16) byte
	switch f.Name {
	case "PCMU":
		enc = ULaw
	case "PCMA":
		enc = ALaw
	default:
		return nil, fmt.Errorf("%w: wav playback needs PCMU or PCMA, got %s", ErrConfig, f.Name)
	}
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrWAV, err)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%w: not RIFF/WAVE", ErrWAV)
	}
	var tag, channels, bits uint16
	var rate uint32
	haveFmt := false
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return nil, fmt.Errorf("%w: no data chunk: %w", ErrWAV, err)
		}
		size := binary.LittleEndian.Uint32(ch[4:])
		if size > 64<<20 {
			return nil, fmt.Errorf("%w: chunk %q too large", ErrWAV, ch[:4])
		}
		switch string(ch[:4]) {
		case "fmt ":
			if size < 16 {
				return nil, fmt.Errorf("%w: short fmt chunk", ErrWAV)
			}
			b := make([]byte, size+size%2)
			if _, err := io.ReadFull(r, b); err != nil {
				return nil, fmt.Errorf("%w: fmt: %w", ErrWAV, err)
			}
			tag, channels = binary.LittleEndian.Uint16(b[0:]), binary.LittleEndian.Uint16(b[2:])
			rate, bits = binary.LittleEndian.Uint32(b[4:]), binary.LittleEndian.Uint16(b[14:])
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, fmt.Errorf("%w: data before fmt", ErrWAV)
			}
			if channels != 1 || rate != 8000 {
				return nil, fmt.Errorf("%w: want 8000 Hz mono, got %d Hz × %d", ErrWAV, rate, channels)
			}
			data := make([]byte, size)
			n, err := io.ReadFull(r, data)
			if err != nil && err != io.ErrUnexpectedEOF {
				return nil, fmt.Errorf("%w: data: %w", ErrWAV, err)
			}
			return wavFrames(data[:n], tag, bits, f, enc)
		default:
			if _, err := io.CopyN(io.Discard, r, int64(size+size%2)); err != nil {
				return nil, fmt.Errorf("%w: skip chunk: %w", ErrWAV, err)
			}
		}
	}
}

func wavFrames(data []byte, tag, bits uint16, f Format, enc func(int16) byte) ([][]byte, error) {
	var samples []byte
	switch {
	case tag == wavPCM && bits == 16:
		samples = make([]byte, len(data)/2)
		for i := range samples {
			samples[i] = enc(int16(binary.LittleEndian.Uint16(data[2*i:])))
		}
	case tag == wavMuLaw && bits == 8 && f.Name == "PCMU", tag == wavALaw && bits == 8 && f.Name == "PCMA":
		samples = data
	case tag == wavMuLaw && bits == 8:
		samples = make([]byte, len(data))
		for i, b := range data {
			samples[i] = enc(ULawDecode(b))
		}
	case tag == wavALaw && bits == 8:
		samples = make([]byte, len(data))
		for i, b := range data {
			samples[i] = enc(ALawDecode(b))
		}
	default:
		return nil, fmt.Errorf("%w: format tag %d with %d bits", ErrWAV, tag, bits)
	}
	if len(samples) == 0 {
		return nil, fmt.Errorf("%w: no samples", ErrWAV)
	}
	silence := enc(0)
	var frames [][]byte
	for off := 0; off < len(samples); off += 160 {
		fr := make([]byte, 160)
		n := copy(fr, samples[off:])
		for i := n; i < 160; i++ {
			fr[i] = silence
		}
		frames = append(frames, fr)
	}
	return frames, nil
}
