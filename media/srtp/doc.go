// Package srtp protects and unprotects RTP and RTCP for one call leg with
// SDES keys (RFC 3711, RFC 4568), the way a Spectralink 84-Series handset
// does it towards Lync: AES_CM_128_HMAC_SHA1_80, an MKI on every packet
// (sec.srtp.mki.*), several keys by MKI at once during a re-key, SRTCP
// encryption, a replay window, and key-lifetime counting with a re-key
// signal at half the lifetime (sec.srtp.key.lifetime; protocols.md §10.3).
//
// It wraps pion/srtp v3 [srtp.Context] (DEPENDENCIES.md §2): one context per
// direction, each guarded by its own mutex, so one goroutine may send while
// another receives. Packet methods work on byte slices and never block.
//
// Parameters from .cfg files map as follows (the caller reads them):
//   - sec.srtp.mki.length, sec.srtp.mki.startSessionAtOne → [NewMKICounter];
//   - sec.srtp.key.lifetime → [Config.Lifetime];
//   - sec.srtp.holdWithNewKey, sec.srtp.resumeWithNewKey → [KeyPolicy].
//
// Keys come from media/sdp: [KeyFromCrypto] turns a negotiated sdp.Crypto
// into a [Key].
package srtp
