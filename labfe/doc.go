// Package labfe is the lab front end: a strict simulator of a Lync Server
// 2013 front end for sign-in, used as the embedded default target of
// `handset labfe` and as the test peer for Lync-only behaviour.
//
// It enforces what a real front end enforces (protocols.md §14):
//
//   - NTLM over SIP per MS-SIPAE 3.3 (connectionless NTLMv2, no NEGOTIATE):
//     first 401 offers `NTLM realm, targetname, version=4`, the second 401
//     carries opaque + gssapi-data CHALLENGE, the AUTHENTICATE is verified
//     against the user's password (a wrong password is never accepted);
//   - every request after the security association (SA) exists is signed by
//     the client (MS-SIPAE 3.2.5.2 buffer, protocol version 4) and verified;
//     cnum must strictly increase per SA (a replay is rejected);
//   - everything labfe sends is signed once the SA exists, except what
//     MS-SIPAE lets go unsigned (provisional 1xx responses);
//   - the +sip.instance of the Contact must be derived from the From epid
//     (MS-SIPAE 3.3.5.2, derivation in protocols.md §1.3);
//   - registrar bindings with expiry, GRUUs, ms-keep-alive, and routing of
//     requests between registered handsets over their own TLS flows.
//
// Failures carry an ms-diagnostics header. The codes labfe uses (see
// diagnostics.go) follow the ones Lync prints where public traces show them
// (1000 "Final handshake failed", 4000 identity, 1003 user not found, 15 for
// unreachable endpoints) and otherwise are labfe's own documented choice.
package labfe
