package websvc

import "errors"

var (
	errConfig  = errors.New("websvc: invalid config")
	errRequest = errors.New("websvc: bad request")
)

// Diagnostic ids sent in X-Ms-Diagnostics (MS-OCAUTHWS 3.2.4 style
// "<id>;source=…;reason=…"). The numbers are labfe's own.
const (
	diagBadRequest     = 28000
	diagAuthFailed     = 28001
	diagPINLocked      = 28002
	diagBadTicket      = 28020
	diagBadSignature   = 28021
	diagBadCSR         = 28030
	diagEntityMismatch = 28031
)
