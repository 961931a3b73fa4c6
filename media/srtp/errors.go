package srtp

import "errors"

// Sentinels callers branch on (and Stats counts).
var (
	// ErrAuth is an SRTP/SRTCP packet whose authentication tag does not verify.
	ErrAuth = errors.New("srtp: authentication failed")
	// ErrReplay is a packet already seen or older than the replay window.
	ErrReplay = errors.New("srtp: replayed packet")
	// ErrUnknownMKI is a packet whose MKI matches no receive key.
	ErrUnknownMKI = errors.New("srtp: unknown mki")
	// ErrKeyExpired means the send key reached its lifetime; re-key first.
	ErrKeyExpired = errors.New("srtp: key lifetime exhausted")
	// ErrConfig is an invalid Config or Key.
	ErrConfig = errors.New("srtp: invalid config")
	// ErrMalformed is a packet too short or not RTP/RTCP.
	ErrMalformed = errors.New("srtp: malformed packet")
)
