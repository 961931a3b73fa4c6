package sipua

// PIN sign-in (seed "Using PIN Authentication", "User Certificate Renewal
// Process" step 3; protocols.md §6.4): the user types extension and PIN, the
// handset trades them for a web ticket (auth/webticket's PIN credential),
// obtains a user certificate with it and registers with TLS-DSK. The PIN is
// never cached: it lives in memory only until the certificate is obtained
// or the PIN is refused, then it is dropped. A PIN handset whose
// certificate has expired therefore stops with ErrPINRequired ("PIN and
// extension required"), a final failure: retrying cannot help until the user
// types them again.

import "errors"

// ErrPINRequired is wrapped by the *Error of a PIN handset that holds no
// valid certificate and no PIN (seed: "the extension and PIN must be
// re-entered, as these are not cached").
var ErrPINRequired = errors.New("sipua: PIN and extension required")

// pinSignIn reports whether this is a PIN handset.
func (c Config) pinSignIn() bool { return c.PINSignIn || c.Extension != "" || c.PIN != "" }

// validateSignIn checks the sign-in method against the menus.
func (c Config) validateSignIn() error {
	if c.pinSignIn() {
		return c.validatePIN()
	}
	if c.Password == "" {
		return &ConfigError{Field: "Password", Value: "", Msg: "required for NTLM"}
	}
	if c.NoLoginCredentials && !c.NoPinCredentials {
		// Credentials are typed at "Sign in: Credentials" (hidden) or
		// configured for automatic sign-in (needs both menus off).
		return &ConfigError{Field: "reg.1.auth.useLoginCredentials", Value: "0",
			Msg: "credential sign-in needs the 'Sign in: Credentials' menu, or both menus off for automatic sign-in"}
	}
	return nil
}

// validatePIN applies the seed's sign-in rules to a PIN handset:
// "Sign in: PIN & Ext." needs reg.1.auth.usePinCredentials=1, and extension
// and PIN are typed together.
func (c Config) validatePIN() error {
	if c.NoPinCredentials {
		return &ConfigError{Field: "reg.1.auth.usePinCredentials", Value: "0",
			Msg: "PIN sign-in needs the 'Sign in: PIN & Ext.' menu (automatic sign-in is not available with PIN authentication)"}
	}
	if (c.Extension == "") != (c.PIN == "") {
		return &ConfigError{Field: "Extension", Value: c.Extension, Msg: "extension and PIN go together"}
	}
	return nil
}

// pinRequired is the final failure of a PIN handset without a usable
// certificate or PIN.
func (h *Handset) pinRequired(op string) error {
	h.step("no valid user certificate and no PIN: the PIN is not cached, so extension and PIN must be entered again")
	return &Error{Op: op, Class: OutcomeAuthRejected, Why: "PIN and extension required", Final: true, Err: ErrPINRequired}
}
