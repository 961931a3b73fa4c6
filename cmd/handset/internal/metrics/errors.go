package metrics

import "errors"

// ErrCriterion is wrapped by every --pass parse error.
var ErrCriterion = errors.New("metrics: bad pass criterion")

var errRecorderDone = errors.New("metrics: recorder already finished")
