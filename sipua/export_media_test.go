package sipua

import (
	"github.com/handset-dev/handset/media"
	"github.com/handset-dev/handset/media/rtp"
)

// realMedia adapts media.Session to the calls' mediaSession.
type realMedia struct{ *media.Session }

func (m realMedia) Stats() rtp.Stats { return m.Session.Stats().Stats }

// WithMediaForTest gives every call a real media.Session with cfg, for the
// external tests against real peers.
func WithMediaForTest(cfg media.Config, opts ...media.Option) Option {
	return withMediaFactory(func() (mediaSession, error) {
		s, err := media.NewSession(cfg, opts...)
		if err != nil {
			return nil, err
		}
		return realMedia{s}, nil
	})
}
