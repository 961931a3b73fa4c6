package certrenew

// Recovery is what a handset does when its certificate had already expired
// at start (seed, "User Certificate Renewal Process", step 3).
type Recovery uint8

// Recoveries for an expired certificate.
const (
	// RecoverWithCredentials: a handset with full credentials (not PIN
	// authentication) logs in and "will obtain a new certificate via
	// Microsoft's NTLM".
	RecoverWithCredentials Recovery = iota + 1
	// RecoverAskForPIN: with PIN authentication "the extension and PIN must
	// be re-entered, as these are not cached"; an emulated handset stops and
	// reports that it needs them.
	RecoverAskForPIN
)

// RecoveryFor returns the seed's rule for a handset that signed in with a
// PIN (pinSignIn) or with full credentials.
func RecoveryFor(pinSignIn bool) Recovery {
	if pinSignIn {
		return RecoverAskForPIN
	}
	return RecoverWithCredentials
}

func (r Recovery) String() string {
	switch r {
	case RecoverWithCredentials:
		return "sign in with NTLM and obtain a new certificate"
	case RecoverAskForPIN:
		return "stop: extension and PIN must be entered again"
	default:
		return "unknown"
	}
}
