// Package rtp sends and receives the handset's voice stream: 20 ms frames
// from a tone, a WAV file or pre-encoded frames (the emulator does not
// encode speech), RTP packetisation (RFC 3550 §5), RTCP SR/RR (RFC 3550
// §6.4), per-call statistics with RFC 3550 Appendix A.1/A.3/A.8 loss and
// jitter, and DSCP marking from qos.ip.rtp.dscp.
//
// The cores are pure: [Packetizer] builds packets, [Receiver] updates
// statistics from (packet, arrival time) pairs, [Format] describes codec
// framing. [Stream] adds the I/O: it sends on an injected ticker, receives
// on a net.PacketConn, protects with an optional SRTP [Protector]
// (media/srtp.Session) and exposes a [Stats] snapshot that the load runner
// sums into calls.csv.
package rtp
