package fleet

import (
	"errors"

	"github.com/handset-dev/handset/sipua"
)

// Errors callers branch on.
var (
	ErrBadMACRange = errors.New("fleet: bad --mac-range")
	ErrBadShard    = errors.New("fleet: bad --shard")
	ErrBadUsers    = errors.New("fleet: bad users csv")
)

// factoryError is a handset that could not be built (its configuration);
// it classifies itself as a config outcome (STYLE.md rule 6).
type factoryError struct{ err error }

func (e *factoryError) Error() string          { return "fleet: new handset: " + e.err.Error() }
func (e *factoryError) Unwrap() error          { return e.err }
func (e *factoryError) Outcome() sipua.Outcome { return sipua.OutcomeConfig }

// Reason keeps the inner error's own reason when it classifies itself.
func (e *factoryError) Reason() string {
	var c sipua.Classified
	if errors.As(e.err, &c) {
		return c.Reason()
	}
	return "handset config"
}
