package certprov

import (
	"errors"

	"github.com/handset-dev/handset/auth/internal/wsxml"
)

var (
	// ErrKeyMismatch means the service returned a certificate for another
	// public key than the one in our CSR.
	ErrKeyMismatch = errors.New("certprov: certificate does not match the request key")

	errConfig      = errors.New("certprov: invalid config")
	errNoToken     = errors.New("certprov: response has no certificate")
	errTooLarge    = errors.New("certprov: response too large")
	errNotYetValid = errors.New("certprov: certificate not yet valid")
)

// Outcomes (STYLE rule 6) reported by ServiceError.Outcome.
const (
	OutcomeAuthRejected = "auth_rejected"
	OutcomeServerError  = "server_error"
)

// ServiceError is a refusal by the certificate provisioning web service: an
// HTTP error status, a SOAP fault, or both, with the X-Ms-Diagnostics header
// when present (MS-OCAUTHWS 3.2.4, protocols.md §6.2).
type ServiceError struct {
	Status      int    // HTTP status
	FaultCode   string // SOAP faultcode / Code/Value, if any
	FaultString string // SOAP faultstring / Reason/Text, if any
	Diagnostics string // X-Ms-Diagnostics, if any
}

func (e *ServiceError) Error() string {
	return wsxml.ServiceErrorText("certprov", e.Status, e.FaultCode, e.FaultString, e.Diagnostics)
}

// Outcome classifies the refusal: an authentication failure (401/403, an
// expired or invalid web ticket) or any other server error.
func (e *ServiceError) Outcome() string {
	if e.Status == 401 || e.Status == 403 {
		return OutcomeAuthRejected
	}
	return OutcomeServerError
}

// Reason is a short fixed reason for counting.
func (e *ServiceError) Reason() string {
	if e.FaultCode != "" {
		return "soap_fault"
	}
	return "http_status"
}
