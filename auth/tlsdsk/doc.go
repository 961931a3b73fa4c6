// Package tlsdsk implements TLS-DSK of MS-SIPAE: a TLS handshake carried in
// the gssapi-data parameter of REGISTER/401 round trips that authenticates
// the handset's user certificate and yields the keys that sign SIP messages
// (protocols.md §5).
//
// # Byte pumps
//
// [Client] (the handset) and [Server] (the front end; labfe uses it the way
// it uses auth/ntlm's acceptor) are byte pumps. Each Step takes the TLS
// records of the peer's flight, raw with their 5-byte headers, and returns
// the records of the next flight; one flight travels per SIP round trip,
// base64-encoded ([EncodeGSSAPIData], [DecodeGSSAPIData]). With TLS 1.2 and
// RSA or ECDHE key exchange there are two round trips:
//
//	REGISTER  gssapi-data = ClientHello                         Client.Step(nil)
//	401       gssapi-data = ServerHello … ServerHelloDone       Server.Step(hello)
//	REGISTER  gssapi-data = Certificate, CKE, CertVerify, CCS, Finished
//	401       gssapi-data = CCS, Finished (server done)         Server.Step → done
//	REGISTER  signed (crand/cnum/response)                      Client.Step(fin) → done, no output
//
// Nothing is ever encrypted with the TLS session; only its key material is
// used. A Step never blocks on the network: it only waits for crypto/tls to
// consume the input. A partial flight is fine (Step returns no output and
// waits for more), malformed record framing fails fast with a
// [*RecordError], and every handshake failure (tampered record, refused
// or missing client certificate, wrong server name) matches [ErrHandshake].
//
// # Key material: the decision
//
// crypto/tls has no sans-I/O API, so each pump runs crypto/tls over an
// in-memory net.Conn in a goroutine it owns (started by the first Step,
// ended by the handshake or by Close). The key material is
// PRF(master_secret, "client EAP encryption", client_random ‖
// server_random), 128 bytes (MS-SIPAE 3.2.5.1; RFC 5705 = RFC 5216). The
// client key is bytes 64..95, the server key bytes 96..127; signatures are
// HMAC-SHA1 (40 hex) or HMAC-MD5 (32 hex) by the suite's MAC ([SuiteMAC]).
//
//  1. When Extended Master Secret (RFC 7627) was negotiated, the pump asks
//     ConnectionState.ExportKeyingMaterial(label, nil, 128), which for TLS
//     1.0-1.2 with no context is exactly that PRF. Go always offers and
//     accepts EMS, so handset↔labfe and handset↔OpenSSL take this path.
//  2. Without EMS (a front end whose Schannel predates RFC 7627) Go refuses
//     the export. Rather than setting the process-wide GODEBUG
//     tlsunsafeekm=1, the pump computes the PRF itself (RFC 2246 §5
//     MD5⊕SHA-1 for TLS 1.0/1.1, RFC 5246 §5 P_SHA256 for 1.2) over the
//     master secret that crypto/tls hands to tls.Config.KeyLogWriter (kept
//     in memory, never written anywhere) and the ServerHello.random read
//     from the plaintext hello record.
//
// Both paths agree byte for byte with `openssl s_server/s_client
// -keymatexport "client EAP encryption" -keymatexportlen 128`, with and
// without EMS (openssl_peer_test.go), and with each other on every Go↔Go
// handshake (pump_test.go). TLS 1.3 is refused: its exporter is not the PRF
// MS-SIPAE names.
//
// Differences from SIPE's ClientHello (§5.2): Go sends extensions (EMS,
// renegotiation info, SNI) and implements no MD5 suites; the default suites
// are RSA-AES128-SHA and RSA-AES256-SHA (§14 pitfall 7), explicitly listed
// because Go dropped RSA key exchange from its defaults. TLS 1.0 through 1.2
// are allowed; Go negotiates 1.2.
//
// # Wiring in sipua (for the sipua engineer)
//
//	c, _ := tlsdsk.NewClient(tlsdsk.ClientConfig{ServerName: targetname, RootCAs: pool, Store: store})
//	defer c.Close()
//	out, _, _ := c.Step(nil)                      // REGISTER: TLS-DSK …, gssapi-data=EncodeGSSAPIData(out)
//	for each 401 with TLS-DSK gssapi-data:         // remember its opaque
//	    in, err := tlsdsk.DecodeGSSAPIData(v)
//	    out, done, err = c.Step(in)
//	    if done { m, _ := c.Mechanism() ; sign with m.Sign, verify with m.Verify } // sipae.Mechanism
//	    else    { next REGISTER with gssapi-data=EncodeGSSAPIData(out) }
//
// When the 401 carries the server's Finished the client is done and sends
// the REGISTER signed (crand/cnum/response, version=4) with no gssapi-data.
// The sts-uri of the TLS-DSK challenge is the certificate provisioning URL
// (auth/certprov). The SA expires at min(certificate NotAfter, 8 h) − 5 min
// (§2.4).
package tlsdsk
