package labfe

// ms-diagnostics codes labfe answers with. Where public Lync traces show a
// code for the situation, labfe uses it; the rest are labfe's own choice in
// a range real servers leave unused, documented here so tests and users can
// rely on them.
const (
	// 401: NTLM AUTHENTICATE did not prove the password (wrong password,
	// unknown account, NTLMv1). Lync prints exactly this.
	diagFinalHandshake = `1000;reason="Final handshake failed"`
	// 401: signed request for an SA the server does not know (expired or
	// never established): the client must re-authenticate.
	diagNoSA = `1001;reason="Security association not found or expired"`
	// 400: Authorization header unparsable or missing mandatory parameters.
	diagBadAuthHeader = `1002;reason="Malformed authorization header"`
	// 403: the request's signature did not verify. The flow is closed.
	diagBadSignature = `1010;reason="Message signature verification failed"`
	// 403: cnum not above the highest seen on the SA (replay or reorder).
	diagReplay = `1011;reason="Replayed or out-of-order cnum"`
	// 403: +sip.instance is not derived from the epid (MS-SIPAE 3.3.5.2).
	diagInstance = `4002;reason="Endpoint identifiers are inconsistent (+sip.instance does not match epid)"`
	// 403: the authenticated user is not the From AOR. Lync prints this text.
	diagNotAuthorized = `4000;reason="Credentials provided are not authorized to act as specified from URI"`
	// 400: REGISTER lacks the From epid Lync requires.
	diagNoEpid = `4003;reason="Missing epid in From header"`
	// 404: no such user. Lync prints this text.
	diagNoUser = `1003;reason="User does not exist"`
	// 480: the user exists but has no active binding.
	diagNotRegistered = `15;reason="User is not registered"`
	// 400: malformed SIP (bad Contact, Expires...).
	diagBadRequest = `1004;reason="Malformed request"`
	// Any status injected with Server.SetFault / InjectFault.
	diagInjected = `1008;reason="Service unavailable (labfe fault injection)"`
)

// Call routing (calls.go). labfe's own codes, in the range above.
const (
	// 481: an in-dialog request for a dialog labfe does not route.
	diagNoDialog = `1020;reason="Dialog does not exist"`
	// 481: a CANCEL matching no INVITE in progress from this flow.
	diagNoTransaction = `1021;reason="Transaction does not exist"`
	// 482: the request already carries labfe's Via (RFC 3261 §16.3 step 4).
	diagLoop = `1022;reason="Loop detected"`
	// 483: Max-Forwards reached 0 (RFC 3261 §16.3 step 3).
	diagTooManyHops = `1023;reason="Too many hops"`
	// 503: the flow has too many calls or transactions in progress.
	diagTooMany = `1024;reason="Too many calls or transactions on this connection"`
	// 486: the callee's connection already holds the most calls labfe routes.
	diagCalleeBusy = `1028;reason="Callee has too many calls in progress"`
	// 480 / 408: the callee's connection closed with the request pending.
	diagCalleeGone = `1025;reason="Callee connection closed"`
	// BYE labfe sends when the other side's connection closed mid-call.
	diagPeerGone = `1027;reason="Other party's connection closed"`
	// 500: the echo bot could not bind its media sockets.
	diagEchoMedia = `1026;reason="Test call service media unavailable"`
)
