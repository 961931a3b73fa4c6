package retry

import "errors"

var (
	errConfig = errors.New("retry: invalid backoff")

	// ErrRetryAfter reports a Retry-After header value that is not
	// delta-seconds (RFC 3261 §20.33).
	ErrRetryAfter = errors.New("retry: malformed Retry-After")
)
