package certrenew

import (
	"errors"
	"fmt"
	"time"
)

var (
	// ErrNoCertificate means the Store holds no certificate (or one without
	// a chain): there is nothing to renew or to offer in TLS-DSK.
	ErrNoCertificate = errors.New("certrenew: no certificate")

	// ErrExpired is matched (errors.Is) by both ExpiredError and
	// RenewalFailedError: the certificate has expired and TLS-DSK can no
	// longer be used.
	ErrExpired = errors.New("certrenew: certificate expired")

	errNoKey       = errors.New("certificate has no private key")
	errTransition  = errors.New("illegal transition")
	errRunning     = errors.New("certrenew: renewer already running")
	errConfig      = errors.New("certrenew: invalid config")
	errNoIssuer    = errors.New("certrenew: no issuer")
	errNoStore     = errors.New("certrenew: no store")
	errNilIssued   = errors.New("certrenew: issuer returned no certificate")
	errRekeyFailed = errors.New("certrenew: new security association")
)

// Reasons are short fixed strings for outcome counting (STYLE rule 6).
const (
	ReasonExpiredAtStart = "cert_expired_at_start"
	ReasonRenewalFailed  = "cert_renewal_failed"
	ReasonCertTooShort   = "cert_too_short"
)

// ExpiredError reports a certificate that had already expired when the
// Renewer started. The caller applies the seed's rule: full credentials →
// sign in with NTLM and obtain a new certificate; PIN → stop and ask for
// extension and PIN again.
type ExpiredError struct {
	NotAfter time.Time // when the certificate expired
	Now      time.Time // when this was found
}

func (e *ExpiredError) Error() string {
	return fmt.Sprintf("certrenew: certificate expired at %s (found at %s)",
		e.NotAfter.UTC().Format(time.RFC3339), e.Now.UTC().Format(time.RFC3339))
}

// Unwrap makes errors.Is(err, ErrExpired) true.
func (e *ExpiredError) Unwrap() error { return ErrExpired }

// Reason is the fixed outcome reason.
func (e *ExpiredError) Reason() string { return ReasonExpiredAtStart }

// RenewalFailedError reports a certificate that expired because every
// renewal attempt failed.
type RenewalFailedError struct {
	NotAfter     time.Time // when the certificate expired
	FailingSince time.Time // the first failed attempt for this certificate
	Attempts     int       // failed attempts for this certificate
	Last         error     // the last attempt's error
}

func (e *RenewalFailedError) Error() string {
	return fmt.Sprintf("certrenew: certificate expired at %s: renewal failing since %s (%d attempts), last: %v",
		e.NotAfter.UTC().Format(time.RFC3339), e.FailingSince.UTC().Format(time.RFC3339), e.Attempts, e.Last)
}

// Unwrap returns ErrExpired and the last attempt's error.
func (e *RenewalFailedError) Unwrap() []error { return []error{ErrExpired, e.Last} }

// Reason is the fixed outcome reason.
func (e *RenewalFailedError) Reason() string { return ReasonRenewalFailed }

// ShortCertificateError reports an issued certificate refused because it is
// valid for less than Config.MinValidity (issue #5: under an hour). The old
// certificate stays in use and the attempt counts as failed.
type ShortCertificateError struct {
	NotAfter  time.Time
	Remaining time.Duration
	Min       time.Duration
}

func (e *ShortCertificateError) Error() string {
	return fmt.Sprintf("certrenew: issued certificate valid for %v (until %s), below the %v minimum: refused",
		e.Remaining, e.NotAfter.UTC().Format(time.RFC3339), e.Min)
}

// Reason is the fixed outcome reason.
func (e *ShortCertificateError) Reason() string { return ReasonCertTooShort }
