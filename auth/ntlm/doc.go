// Package ntlm implements MS-NLMP NTLMv2 as Lync's SIP signing and web
// services need it, as a pure core (bytes in, bytes out; randomness and the
// clock are injected).
//
// What follows which section:
//   - Message codec (NEGOTIATE, CHALLENGE, AUTHENTICATE, AV_PAIR, VERSION):
//     MS-NLMP 2.2.1, 2.2.2.1, 2.2.2.5, 2.2.2.10.
//   - Connectionless client for SIP (Authenticate): MS-NLMP 3.1.5.2 with
//     the flags, LMv2, KEY_EXCH and no-MIC choices SIPE makes and Lync
//     accepts (protocols.md §4.2, §4.3). A CHALLENGE without extended
//     session security (NTLMv1) is refused.
//   - Connection-oriented client for HTTP (Negotiate, AuthenticateConnection):
//     MS-NLMP 3.1.5.1, with a MIC when the CHALLENGE carries MsvAvTimestamp.
//   - NTLMv2 responses and keys: NTOWFv2 and ComputeResponse (3.3.2),
//     KXKEY/SIGNKEY/SEALKEY (3.4.5).
//   - Acceptor for labfe (NewChallenge, ServerChallenge.Accept): 3.2.5.
//   - Message signatures (Session.MAC/VerifyMAC) and sealing: 3.4.3, 3.4.4.
//     In datagram mode every message gets a fresh RC4 keyed with
//     MD5(SealingKey ‖ SeqNum); SIP always uses SeqNum 100 (protocols.md
//     §4.5). The no-ESS CRC32 signature (3.4.4.1) is kept only so old-OCS
//     signatures (protocols.md §4.7 vector B) verify.
//
// Why not github.com/Azure/go-ntlmssp: it is an HTTP client-only
// implementation (NEGOTIATE/AUTHENTICATE for net/http) with no connectionless
// mode, no exported session key, no signing or sealing and no acceptor, all of
// which SIP signing and labfe need.
package ntlm
