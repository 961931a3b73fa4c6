package ice

import "errors"

// Sentinels callers branch on.
var (
	// ErrNoRelay: MSOCS mode without a relay allocation, or a relay that
	// failed; calls report the reason "no relay" (RELIABILITY.md F8).
	ErrNoRelay = errors.New("ice: no relay")
	// ErrMalformed is an SDP candidate line that does not parse.
	ErrMalformed = errors.New("ice: malformed candidate line")
	// ErrConfig is an invalid Config.
	ErrConfig = errors.New("ice: invalid config")
)
