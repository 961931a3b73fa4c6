// Package certprov implements the handset's certificate provisioning client
// (MS-OCAUTHWS GetAndPublishCert, protocols.md §6.2 steps 7-8 and §6.3): it
// generates an RSA-2048 key and a PKCS#10 request (CN=user@domain), posts
// GetAndPublishCert proven by a web ticket, parses the returned DER
// certificate and checks it: it must carry our public key, be valid now and
// for at least one more hour ([DefaultMinValidity]; a shorter one is refused
// with a *certrenew.ShortCertificateError). [Client] implements
// certrenew.Issuer, so the same call serves the first certificate at sign-in
// ([Client.Provision] puts it in a certrenew.Store) and every renewal.
//
// The web ticket comes through the [Authenticator] interface (auth/webticket
// implements it for both NTLM and PIN users), so certprov never knows how
// the user authenticated. Service refusals are [*ServiceError]s carrying
// the HTTP status, the SOAP fault and X-Ms-Diagnostics, classified as
// auth_rejected (401/403) or server_error. Responses are capped at
// [MaxResponse] bytes.
//
// # Wiring at sign-in (for the sipua engineer)
//
// When the front end challenges with TLS-DSK and the Store is empty (or its
// certificate expired), take the challenge's sts-uri and:
//
//	cred := &webticket.NTLM{SIPURI: "sip:" + user, Config: ntlm.ClientConfig{Credentials: creds}}
//	// or, for extension + PIN sign-in: cred := &webticket.PIN{Extension: ext, PIN: pin}
//	wt, _ := webticket.New(webticket.Config{CertProvURL: stsURI}, cred, webticket.WithHTTPClient(hc))
//	md, err := wt.Metadata(ctx)              // the GetAndPublishCert URL
//	// PIN users learn their identity from the ticket: t, _ := wt.Ticket(ctx); user = strings.TrimPrefix(t.Subject, "sip:")
//	cp, _ := certprov.New(certprov.Config{URL: md.AuthURL, User: user, DeviceID: instanceUUID}, wt, certprov.WithHTTPClient(hc))
//	_, err = cp.Provision(ctx, store)        // first certificate
//	renewer, _ := certrenew.New(certrenew.Config{}, store, cp, …) // renewals reuse cp
//
// then sign in with auth/tlsdsk using the same store. A *ServiceError with
// Outcome auth_rejected means the credentials or the ticket were refused
// (call wt.Invalidate before retrying with a fresh ticket).
//
// Differences from SIPE: the CSR is signed with SHA-256, not SHA-1 (Go does
// not verify SHA-1 signatures any more; Windows CAs accept SHA-256). The
// certificate is expected as a single DER certificate, as SIPE reads it.
package certprov
