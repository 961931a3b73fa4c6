package provision

import "errors"

// Errors returned by Parse; each comes wrapped with detail.
var (
	ErrEmpty     = errors.New("provision: empty body")
	ErrTooLarge  = errors.New("provision: body too large")
	ErrDirective = errors.New("provision: DOCTYPE/ENTITY directives are not allowed")
	ErrTooDeep   = errors.New("provision: XML nested too deep")
	ErrTooMany   = errors.New("provision: too many XML elements")
	ErrSyntax    = errors.New("provision: malformed XML")
	ErrRoot      = errors.New("provision: not a provisionGroupList")
	ErrValue     = errors.New("provision: invalid value")
)
