// Package websvc implements the lab front end's HTTPS web services: the
// certificate provisioning service (MS-OCAUTHWS GetAndPublishCert) with a
// test CA issuing user certificates of a configurable lifetime, the web
// ticket service (WS-Trust, SAML 1.1 tickets with PSHA1 proof keys) for
// credential users (connection-oriented NTLM over HTTP, verified with
// auth/ntlm's acceptor) and for PIN users, and the metadata documents the
// handset discovers them from (protocols.md §6).
//
// [Service] is an http.Handler; labfe mounts it at the root of its HTTPS
// listener and advertises <base>/CertProv/CertProvisioningService.svc as the
// TLS-DSK challenge's sts-uri. The service shares no client code with the
// handset (STYLE §3.2): it parses and checks requests on its own, sharing
// only auth/ntlm, a spec-vector-checked codec.
//
// Strictness, as a real front end:
//   - PIN: the request shape is the one documented in auth/webticket
//     (port WebTicketServicePin, wsse:UsernameToken with the extension and
//     the PIN as PasswordText). A wrong PIN is 401; after MaxPINFailures
//     wrong PINs the extension is locked (403, even with the right PIN)
//     until [Service.UnlockPIN].
//   - Certificate (renewal without a PIN, auth/webticket's Cert): port
//     WebTicketServiceCert at <webticket>/WebTicketService.svc/Cert takes
//     the user from the verified TLS client certificate (the listener's
//     ClientCAs must hold the issuing CA; labfe sets it); no certificate,
//     an unverified or expired one is 401.
//   - NTLM: the AUTHENTICATE must follow the CHALLENGE on the same
//     connection; a wrong password or unknown user is 401; a claimed SIP URI
//     that is not the authenticated user's is 403.
//   - GetAndPublishCert: the web ticket must be one this service issued and
//     unexpired; the hmac-sha1 signature over the timestamp must verify with
//     its proof key (signed elements are digested exactly as received, so
//     only exclusive-c14n-form elements are accepted; exactly one Timestamp
//     and SignedInfo, which defeats signature wrapping); Entity and the CSR
//     subject must be the ticket's user; the CSR must be self-signed RSA of
//     at least 2048 bits.
//   - Every refusal is a SOAP 1.1 fault with X-Ms-Diagnostics
//     ("<id>;source=…;reason=…"); request bodies are capped at [MaxRequest].
//
// Web tickets are kept in memory (labfe does not sign its SAML assertions;
// it trusts its own ticket table).
package websvc
