package webticket

import (
	"errors"

	"github.com/handset-dev/handset/auth/internal/wsxml"
)

var (
	// ErrAuth is matched by refusals of the user's credentials: a wrong
	// password or PIN, a locked PIN, an unknown extension.
	ErrAuth = errors.New("webticket: authentication refused")

	errConfig   = errors.New("webticket: invalid config")
	errTooLarge = errors.New("webticket: response too large")
	errMetadata = errors.New("webticket: metadata")
	errResponse = errors.New("webticket: response")
	errNoTicket = errors.New("webticket: no ticket")
	errNTLMFlow = errors.New("webticket: ntlm over http")
)

// ServiceError is a refusal by the web ticket service: HTTP status, SOAP
// fault and X-Ms-Diagnostics (MS-OCAUTHWS 3.2.4, protocols.md §6.2 step 4).
// 401/403 also match ErrAuth.
type ServiceError struct {
	Status      int
	FaultCode   string
	FaultString string
	Diagnostics string
}

func (e *ServiceError) Error() string {
	return wsxml.ServiceErrorText("webticket", e.Status, e.FaultCode, e.FaultString, e.Diagnostics)
}

// Unwrap makes authentication refusals match ErrAuth.
func (e *ServiceError) Unwrap() error {
	if e.Status == 401 || e.Status == 403 {
		return ErrAuth
	}
	return nil
}

// Outcome classifies the refusal (STYLE rule 6).
func (e *ServiceError) Outcome() string {
	if e.Status == 401 || e.Status == 403 {
		return "auth_rejected"
	}
	return "server_error"
}
