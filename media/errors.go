package media

import (
	"errors"
	"fmt"
	"strings"

	"github.com/handset-dev/handset/media/sdp"
)

// Sentinels callers branch on.
var (
	// ErrConfig is an invalid Config or .cfg parameter value.
	ErrConfig = errors.New("media: invalid config")
	// ErrState is a call made in the wrong offer/answer state (Accept
	// without an offer, Start before a negotiation, anything after Close).
	ErrState = errors.New("media: wrong state")
	// ErrBind is a failure to bind the RTP/RTCP sockets.
	ErrBind = errors.New("media: cannot bind rtp port")
	// ErrNegotiation is an offer or answer the session cannot use; a
	// *sdp.NegotiationError or *sdp.ParseError in the chain says why.
	ErrNegotiation = errors.New("media: negotiation failed")
)

// Outcomes reported by [Outcome] (STYLE.md rule 6: the load runner counts
// them without parsing messages).
const (
	OutcomeConfig = "config"
	OutcomeMedia  = "media"
)

// Outcome classifies a media error: configuration problems versus media
// failures (bad SDP, encryption mismatch, bind failure).
func Outcome(err error) string {
	if errors.Is(err, ErrConfig) {
		return OutcomeConfig
	}
	return OutcomeMedia
}

// warnBadSDP is the RFC 3261 §20.43 miscellaneous warning (399) for SDP
// the handset cannot use; %s names the line (RELIABILITY.md P5).
const warnBadSDP = `399 handset "%s"`

// AnswerFailure says which SIP response answers an offer that Answer
// rejected (RELIABILITY.md P5/P6):
//   - 488 with the negotiation's Warning: sdp.WarningEncryption for an
//     encryption-level mismatch (Lync's 308), sdp.WarningMediaFormat for no
//     common codec or no audio;
//   - 400 with a 399 Warning naming the line for SDP that does not parse,
//     bad a=crypto lines included (as labfe answers);
//   - 488 with a 399 Warning for other negotiation failures.
//
// ok is false for errors that are not the offer's fault (the caller
// answers 500).
func AnswerFailure(err error) (code int, warning string, ok bool) {
	if ne, is := sdp.IsNegotiationError(err); is {
		return ne.Status, ne.Warning, true
	}
	var pe *sdp.ParseError
	if errors.As(err, &pe) {
		return 400, fmt.Sprintf(warnBadSDP, quoteSafe(fmt.Sprintf("bad sdp line %d: %v", pe.Line, pe.Err))), true
	}
	var ce *sdp.CryptoError
	if errors.As(err, &ce) {
		return 488, fmt.Sprintf(warnBadSDP, quoteSafe(fmt.Sprintf("bad a=crypto tag %s %s", ce.Tag, ce.Field))), true
	}
	if errors.Is(err, ErrNegotiation) {
		return 488, fmt.Sprintf(warnBadSDP, quoteSafe(err.Error())), true
	}
	return 0, "", false
}

// quoteSafe keeps a warning text inside its quoted-string (RFC 3261 §25.1)
// and short.
func quoteSafe(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < 0x20 || r == 0x7f {
			return '\''
		}
		return r
	}, s)
	if r := []rune(s); len(r) > 120 {
		s = string(r[:120])
	}
	return s
}
