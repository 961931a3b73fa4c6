// Package msturn implements the MS-TURN codec: the Lync A/V Edge media-relay
// dialect of TURN ([MS-TURN] 2.2, protocols.md §9). It is not RFC 5766: the
// messages follow draft-rosenberg-midcom-turn-08 over STUN draft-02, so
//
//   - the 20-byte header is type, length and a 16-byte transaction ID, with no
//     0x2112A442 cookie;
//   - a MAGIC-COOKIE attribute (0x000F, value 0x72C64BC6) is the first
//     attribute of every message ([MS-TURN] 3.1.10: others are ignored);
//   - NONCE is 0x0014 and REALM is 0x0015, swapped relative to RFC 5389;
//   - MESSAGE-INTEGRITY is HMAC-SHA1 keyed with MD5(user ":" realm ":" pass)
//     over the message up to the attribute, with the header length ending at
//     MESSAGE-INTEGRITY, zero-padded to a multiple of 64 bytes;
//   - over TCP each message or data chunk carries a 4-byte frame header
//     (type 0x02 control, 0x03 end-to-end data; a zero byte; a length).
//
// The codec is pure: [Message.Marshal] and [Parse] work on bytes, and the
// typed helpers ([Message.Address], [Message.SequenceNumber], ...) read and
// add attributes. The client engine lives in client.go; labfe implements its
// own relay server on top of this codec.
package msturn
