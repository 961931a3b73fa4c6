// Package webticket implements the handset's side of the Lync web ticket
// exchange (MS-OCAUTHWS WS-Trust over HTTPS, protocols.md §6.2): metadata
// discovery, the RequestSecurityToken, the PSHA1 proof key and the signed
// timestamp that proves the ticket to the certificate provisioning service.
// [Client] implements auth/certprov's Authenticator.
//
// # Flow
//
//  1. GET <sts-uri>/mex; policy CertProvisioningServiceWebTicketProof_SHA1_policy
//     names the web ticket service (IssuedToken/Issuer/Address) and port
//     CertProvisioningServiceWebTicketProof_SHA1 the GetAndPublishCert URL.
//  2. GET <webticket-url>/mex; the [Credential] picks its port.
//  3. POST the RST (32 bytes of client entropy, SymmetricKey, AppliesTo the
//     cert-provisioning URL) authenticated by the Credential.
//  4. From the response: Lifetime, the saml:Assertion verbatim, its
//     AssertionID and the server entropy; proof key = PSHA1(client
//     entropy, server entropy, 32).
//  5. [SecurityHeader]: wsu:Timestamp (the ticket lifetime), the assertion,
//     and an hmac-sha1 XML signature over the Timestamp. The Timestamp and
//     SignedInfo are emitted already in exclusive-c14n form, so the bytes
//     sent are the bytes digested and signed.
//
// # Credentials: one interface, two kinds of user
//
// [NTLM] (users with domain credentials) posts to port
// WebTicketServiceWinNegotiate with connection-oriented NTLM over HTTP
// (auth/ntlm: NEGOTIATE → 401 CHALLENGE → AUTHENTICATE on the same
// connection) and claims its SIP URI in the RST.
//
// [PIN] (extension + PIN sign-in). The real wire shape is not public
// (protocols.md §6.4). This project defines it, and labfe/websvc accepts
// exactly this:
//
//   - port name WebTicketServicePin in the web ticket service's metadata
//     (labfe: <webticket>/WebTicketService.svc/Pin), HTTPS only;
//   - the same RST as for NTLM but with no Claims (the phone does not know
//     its SIP URI yet), no HTTP authentication, and in the SOAP header
//     <wsse:Security soap:mustUnderstand="1"><wsse:UsernameToken>
//     <wsse:Username>EXTENSION</wsse:Username>
//     <wsse:Password Type="…username-token-profile-1.0#PasswordText">PIN</wsse:Password>
//     </wsse:UsernameToken></wsse:Security>;
//   - the response is the usual RSTR; the assertion's
//     AuthenticationStatement/Subject/NameIdentifier carries the user's
//     sip: URI, which the handset then uses as its identity ([Ticket.Subject]);
//   - a wrong PIN is HTTP 401 with a SOAP fault and X-Ms-Diagnostics; after
//     the configured number of wrong PINs the extension is locked (HTTP 403)
//     until an administrator resets it, as Lync's PIN policy does.
//
// [Cert] (renewal by a handset that holds a certificate but no PIN, also
// this project's shape): port WebTicketServiceCert (labfe:
// <webticket>/WebTicketService.svc/Cert), the usual RST with the SIP URI
// claim and no HTTP authentication; the user certificate is the TLS client
// certificate of the connection, and the service issues the ticket to the
// user it names.
//
// Tickets are cached until RenewBefore (5 minutes) before they expire;
// [Client.Invalidate] drops one the service refused. Tickets, PINs and proof
// keys print redacted. Responses are capped at [MaxResponse].
package webticket
