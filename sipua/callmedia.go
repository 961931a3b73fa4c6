package sipua

import (
	"context"

	"net/netip"

	"github.com/handset-dev/handset/media"
	"github.com/handset-dev/handset/media/sdp"
)

// mediaSession is what the call signalling needs from one call's media
// leg (media.Session implements it): SDP offer/answer with Lync SDES
// (protocols.md §10), the RTP/SRTP streams, and the re-key signal at half
// the key lifetime (sec.srtp.key.lifetime, §10.3).
type mediaSession interface {
	// Offer writes an offer with the current key; OfferNewKey one with a
	// fresh key (the rekey re-INVITE, or hold/resume with
	// sec.srtp.holdWithNewKey/resumeWithNewKey, which the session applies).
	Offer(dir sdp.Direction) ([]byte, error)
	OfferNewKey(dir sdp.Direction) ([]byte, error)
	// Answer answers a remote offer (initial or re-INVITE); an
	// incompatible offer is an error that answerFailure maps to 488.
	Answer(remoteOffer []byte) ([]byte, error)
	// Accept applies the remote answer to our last offer.
	Accept(remoteAnswer []byte) error
	// Start begins sending and receiving; it does not block. The streams
	// stop on Close.
	Start(ctx context.Context) error
	// RekeyDue is signalled when half the key lifetime is used.
	RekeyDue() <-chan struct{}
	Stats() media.Stats
	Close() error
}

// mediaFactory makes the media leg of one call; local is the address of
// the handset's signalling flow (the media binds to the same interface).
type mediaFactory func(local netip.Addr) (mediaSession, error)

// withMediaFactory replaces the media of every call (tests).
func withMediaFactory(f mediaFactory) Option {
	return func(h *Handset) error { h.calls.media = f; return nil }
}

// WithMediaConfig gives calls a media leg (media.NewSession with cfg and
// opts per call). An unset cfg.LocalIP is taken from the local address of
// the signalling flow. Without it, Call fails with "no media" and incoming
// calls are answered 480.
func WithMediaConfig(cfg media.Config, opts ...media.Option) Option {
	return func(h *Handset) error {
		h.calls.media = h.mediaFromConfig(cfg, opts)
		return nil
	}
}

// SetMediaConfig replaces the media configuration of later calls, e.g.
// once in-band provisioning has changed the SRTP policy
// (ucPC2PCAVEncryption → reg.1.srtp.*, protocols.md §7.2).
func (h *Handset) SetMediaConfig(cfg media.Config, opts ...media.Option) {
	h.calls.mu.Lock()
	h.calls.media = h.mediaFromConfig(cfg, opts)
	h.calls.mu.Unlock()
}

func (h *Handset) mediaFromConfig(cfg media.Config, opts []media.Option) mediaFactory {
	return func(local netip.Addr) (mediaSession, error) {
		c := cfg
		if !c.LocalIP.IsValid() || c.LocalIP.IsUnspecified() {
			c.LocalIP = local
		}
		if icfg, params, err := h.iceParams(); err != nil { // callice.go
			return nil, err
		} else if icfg != nil {
			return h.newICEMedia(icfg, params, c, opts)
		}
		return media.NewSession(c, opts...)
	}
}

// mediaFactory returns the current media factory (nil: no media).
func (r *callRegistry) factory() mediaFactory {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.media
}

// answerFailure maps a failed Answer to the SIP failure response
// (media.AnswerFailure): 488 with Lync's Warning 308 for an encryption
// mismatch (protocols.md §10.1, pitfall 8), 305 for no common codec, a 399
// naming the bad line for unparsable SDP (RELIABILITY.md P5); 500 for
// errors that are not the offer's fault.
func answerFailure(err error) (int, string) {
	if code, warn, ok := media.AnswerFailure(err); ok {
		return code, warn
	}
	return 500, `399 handset "` + quoteless(err.Error()) + `"`
}

func quoteless(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == '"' || c < 0x20 {
			b[i] = '\''
		}
	}
	if len(b) > 120 {
		b = b[:120]
	}
	return string(b)
}

// sdpDirection is the direction of the first audio stream of body
// (session-level attribute or c=0.0.0.0 hold for RFC 2543 peers), sendrecv
// when absent or unparsable.
func sdpDirection(body []byte) sdp.Direction {
	s, err := sdp.Parse(body)
	if err != nil {
		return sdp.SendRecv
	}
	for _, m := range s.Media {
		if m.Type != "audio" {
			continue
		}
		if m.Connection.Address == "0.0.0.0" || (m.Connection.Address == "" && s.Connection.Address == "0.0.0.0") {
			return sdp.Inactive
		}
		if m.Direction != "" {
			return m.Direction.Effective()
		}
		break
	}
	for _, a := range s.Attributes {
		switch d := sdp.Direction(a.Key); d {
		case sdp.SendRecv, sdp.SendOnly, sdp.RecvOnly, sdp.Inactive:
			return d
		}
	}
	return sdp.SendRecv
}

// isHold reports whether a remote offer's direction puts us on hold.
func isHold(d sdp.Direction) bool { return d == sdp.SendOnly || d == sdp.Inactive }
