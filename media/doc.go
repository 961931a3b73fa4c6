// Package media is one call's media leg: it binds the RTP and RTCP sockets,
// writes and answers the SDP (media/sdp), keys SRTP from the negotiated
// a=crypto lines (media/srtp) and runs the voice stream (media/rtp), the way
// a Spectralink 84-Series handset does towards Lync (protocols.md §10,
// issue #4).
//
// The SIP layer (sipua) drives a [Session] through RFC 3264 offer/answer:
//
//	initial INVITE we send:     Offer → (200 OK) Accept → Start
//	initial INVITE we receive:  Answer → (ACK) Start
//	hold / resume / rekey:      Offer(SendOnly|Inactive|SendRecv) or OfferNewKey → Accept
//	re-INVITE we receive:       Answer
//
// Re-offers keep the o= session id and increment its version (RFC 3264 §8).
// Offer obeys sec.srtp.holdWithNewKey and sec.srtp.resumeWithNewKey; the
// rekey re-INVITE uses OfferNewKey once [Session.RekeyDue] fires (half of
// sec.srtp.key.lifetime sent). With an MKI the peer's old and new keys stay
// valid together, so packets in flight across the switch still decrypt;
// without one the previous receive key is kept as a fallback until the new
// key has verified packets.
//
// A negotiation failure from Answer carries the SIP response to send:
// [AnswerFailure] gives 488 and the Warning value (Lync's
// `308 lcs.microsoft.com "Encryption Levels not compatible"` for an
// encryption mismatch, RELIABILITY.md P5/P6 for bad SDP or a=crypto).
package media
