package labfe

import "errors"

var (
	// ErrConfig reports an unusable Config (missing domain, bad certificate...).
	ErrConfig = errors.New("labfe: bad config")
	// ErrUsersCSV reports a malformed users CSV.
	ErrUsersCSV = errors.New("labfe: bad users csv")
	// ErrClosed is returned by Serve called on a server already closed.
	ErrClosed = errors.New("labfe: server closed")
)
