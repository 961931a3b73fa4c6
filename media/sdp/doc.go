// Package sdp parses, writes and negotiates the SDP that a Spectralink
// 84-Series handset exchanges with Microsoft Lync Server 2013 (RFC 4566
// grammar, RFC 3264 offer/answer, RFC 4568 SDES with the MS-SDPEXT
// deviations described in protocols.md §10).
//
// The package is pure: no I/O, no clocks, and key generation reads from an
// injected io.Reader.
//
// # Model
//
// [Parse] turns bytes into a [Session]; [Session.Marshal] writes it back in
// the order SIPE uses (and Lync accepts, protocols.md §10.1). Parsed media
// lines keep their typed parts (codecs, a=crypto, direction, a=rtcp,
// a=encryption, a=x-ssrc-range) in fields and every other attribute, in
// order, in [Media.Attributes], so parse → marshal → parse is the identity
// on the parsed value (checked by FuzzParse).
//
// # Lync SDES (protocols.md §10.3, §14 pitfall 8)
//
// [Offer] writes two a=crypto lines for one key: one with an MKI
// (`inline:KEY|2^31|1:1`) and one without, because SIPE-style peers ignore
// MKI lines and Microsoft peers may insist on them. Optional SRTP is
// RTP/AVP with a=crypto (MS-SDPEXT deviation from RFC 4568); required SRTP
// is RTP/SAVP with a=encryption:required. [Answer] chooses the crypto tag
// it accepts and answers with exactly one crypto line; an incompatible
// encryption level is a [*NegotiationError] carrying 488 and
// `308 lcs.microsoft.com "Encryption Levels not compatible"`.
// [Negotiate] gives either side the keys, codec and address in use,
// accepting an answer that dropped the MKI (baresip does) unless
// [NegotiateConfig.RequireMKI] is set.
//
// # Provisioning parameters
//
// The package does not read .cfg files; the caller maps them:
//   - reg.x.srtp.enable/offer/require → [PolicyFromConfig] → [Policy];
//   - sec.srtp.mki.enabled/length, sec.srtp.key.lifetime → [SRTPConfig];
//   - voice.codecPref.* and voice.audioProfile.G7221.24kbps.payloadType →
//     [CodecsFromPrefs].
package sdp
