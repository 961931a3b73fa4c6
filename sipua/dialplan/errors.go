package dialplan

import "errors"

// Errors explaining why a rule was dropped (see Dropped.Err). They wrap into
// messages prefixed "dialplan:".
var (
	// ErrTooLong: adding the rule would exceed Limit characters.
	ErrTooLong = errors.New("dialplan: dial plan longer than 10000 characters")
	// ErrTooManyAlternatives: more than MaxAlternatives alternatives.
	ErrTooManyAlternatives = errors.New("dialplan: more than 30 alternatives")
	// ErrAlternativeTooLong: an alternative is longer than MaxAlternativeLen.
	ErrAlternativeTooLong = errors.New("dialplan: alternative longer than 32 characters")
	// ErrNesting: parentheses nested deeper than one extra level inside an
	// alternation.
	ErrNesting = errors.New("dialplan: parentheses nested too deep in alternation")
	// ErrBadPattern: the pattern is not a valid regular expression.
	ErrBadPattern = errors.New("dialplan: invalid pattern")
	// ErrUnsupported: the pattern uses something a digit map cannot express.
	ErrUnsupported = errors.New("dialplan: pattern not convertible to a digit map")
	// ErrMalformedRule: a rule string is not pattern@translation@0|1.
	ErrMalformedRule = errors.New("dialplan: malformed rule")
)
