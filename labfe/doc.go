// Package labfe is the lab front end: a strict simulator of a Lync Server
// 2013 front end for sign-in, used as the embedded default target of
// `handset labfe` and `handset load`, and as the test peer for Lync-only
// behaviour (labfetest.Start gives a test one in a call).
//
// Use: New(cfg) validates the config, generates a test CA and server
// certificate unless given one, and binds the TLS listener (Addr is known
// at once); Serve(ctx) accepts flows until ctx ends or Close is called;
// Close closes every flow and waits for every goroutine. Stats returns
// per-user counters; SetFault / InjectFault, Reject503, BlackHole,
// CloseFlows / CloseFlowsMode (FIN or RST) and Restart / Resume misbehave
// on purpose for reliability tests (faults.go); two Servers with different
// FQDNs act as primary and backup pool.
//
// It enforces what a real front end enforces (protocols.md §14):
//
//   - NTLM over SIP per MS-SIPAE 3.3 (connectionless NTLMv2, no NEGOTIATE):
//     the first 401 offers `NTLM realm, targetname, version=4` (plus a Date
//     header for skew detection), the second carries opaque + gssapi-data
//     CHALLENGE, and the AUTHENTICATE is verified against the user's
//     password. A wrong password, unknown account or NTLMv1 is never
//     accepted; a CHALLENGE is single use and bound to its TLS flow.
//   - TLS-DSK (Config.TLSDSK, tlsdsk.go): the 401 also offers `TLS-DSK
//     realm, targetname, sts-uri, version=4` (or alone, TLSDSKOnly); the TLS
//     handshake runs in gssapi-data with auth/tlsdsk's server pump over an
//     RSA certificate from the test CA, requires a client certificate from
//     the user CA, binds the SA to the user its CN names and signs and
//     verifies with HMAC-SHA1 over the derived keys; the SA ends at the
//     certificate's expiry at the latest. The HTTPS web services
//     (labfe/websvc: web ticket by NTLM, extension+PIN with lockout, or
//     current certificate; GetAndPublishCert issuing Config.CertLifetime
//     certificates) run on their own listener, owned by the Server.
//   - Every client message after the security association (SA) exists is
//     signed (MS-SIPAE 3.2.5.2 buffer, version 4; NTLM SeqNum 100) and
//     verified; each cnum is accepted once per SA, at most 64 behind the
//     highest seen (requests signed concurrently may arrive out of order;
//     replays and older numbers are refused); an SA is bound to its flow
//     and forgotten after Config.SALifetime.
//   - Everything labfe sends once an SA exists is signed with
//     Authentication-Info, except what MS-SIPAE lets go unsigned:
//     provisional 1xx responses and the 401s of the handshake itself.
//   - Endpoint identifiers must agree (MS-SIPAE 3.3.5.2): the REGISTER's
//     +sip.instance must be derived from its From epid (protocols.md §1.3),
//     and later requests on the flow may only carry that endpoint's epid,
//     +sip.instance and GRUU.
//   - Registrar: bindings per (AOR, epid) with expiry, living on their TLS
//     flow (a closed flow drops them); the 200 OK lists every binding of the
//     AOR with ;expires, +sip.instance and gruu, plus Expires, ms-keep-alive,
//     Allow-Events, Supported and Server: RTC/5.0. A flow idle for twice the
//     ms-keep-alive timeout is closed.
//   - Routing between registered handsets over their own flows, by AOR
//     (newest binding), GRUU or Contact URI, re-signed per hop with each
//     side's SA (calls.go): 100 Trying for every INVITE, Record-Route on
//     the dialog-creating INVITE (its own Route entry stripped on the way
//     back), in-dialog requests routed by the confirmed dialog only between
//     its two flows (481 otherwise), CANCEL hop by hop (labfe answers 200
//     and cancels downstream with the INVITE's branch), 480 for a known
//     user without a binding, 404 for an unknown one, 483 at
//     Max-Forwards 0, 482 for a request carrying labfe's own Via. State is
//     bounded per flow and dies with it: a closed flow's pending requests
//     are answered (480/408), its ringing INVITEs cancelled, and the other
//     side of its calls gets a BYE with ms-diagnostics 1027.
//   - An echo bot, Lync's test-call service (Config.EchoURI, advertised
//     in-band as botSipUriForTestCall; echo.go): it answers an INVITE
//     after Config.EchoAnswerDelay under the pool's encryption level (488
//     with Warning 308 when incompatible, 400/415 with a Warning for bad
//     offers), then reflects the caller's RTP, decrypted with the offer's
//     SRTP key and re-encrypted with its own (MKI as offered); re-INVITEs
//     hold (no echo) and rekey; Stats().Echo counts its work.
//   - Requests to the user itself or the domain are served locally
//     (Config.Local first). Self-SUBSCRIBEs are checked strictly
//     (subscribe.go, protocols.md §7.1, §7.4): a known event package
//     (provisioning-v2, roaming contacts, self, ACL, presence.wpending;
//     else 489), a Contact (400), Accept naming the package's body type
//     (406), Proxy-Require limited to ms-benotify (420), the provisioning
//     and roaming-self request bodies of the right type (415) and shape
//     (400), a numeric Expires (400), and refreshes only in a live dialog
//     of this flow with a growing CSeq (481, 500). The 200 OK carries the
//     first notification (provisioning-v2: labfe/inband's document); the
//     dialogs die with their flow. Codes 1030-1035 in subscribe.go.
//
// Failures carry an ms-diagnostics header; the codes are listed in
// diagnostics.go. Where public Lync traces show a code for the situation
// labfe uses it (1000 "Final handshake failed", 4000 identity, 1003 user
// not found); the others are labfe's documented choice. A bad signature
// gets 403 and the flow is closed (the peer is not trusted any more); a
// replayed cnum gets 403 and the flow stays.
//
// labfe shares no code with the handset's client (STYLE.md §3.2): its NTLM
// acceptor (internal/ntlmsrv), SIP codec (internal/sipmsg) and signature
// buffer are its own, pinned to the MS-NLMP and MS-SIPAE vectors and
// cross-checked against auth/ntlm in both directions.
package labfe
