package rtp

import "errors"

var (
	// ErrConfig is an invalid Config or source.
	ErrConfig = errors.New("rtp: invalid config")
	// ErrWAV is a WAV file the handset cannot play (not RIFF/WAVE, not
	// 8 kHz mono PCM16 or G.711).
	ErrWAV = errors.New("rtp: unsupported wav")
	// ErrClosed is returned by Run after Close or when the conn is closed.
	ErrClosed = errors.New("rtp: stream closed")
)
