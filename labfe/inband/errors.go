package inband

import "errors"

// Errors from Load and Body.
var (
	ErrTooLarge = errors.New("inband: data file too large")
	ErrSyntax   = errors.New("inband: malformed data file")
	ErrInvalid  = errors.New("inband: invalid data")
)
