package sipae

import "strings"

// AcceptUnsigned says whether an incoming message without
// Authentication-Info may be processed once the SA is established
// (protocols.md §2.4, pitfall 3): provisional (1xx) responses (OCS does not
// sign them), REGISTER responses, and 401/407 challenges. Everything else
// unsigned, including every request, must be dropped; treating it as valid
// would be a security hole.
func AcceptUnsigned(isResponse bool, status int, cseqMethod string) bool {
	if !isResponse {
		return false
	}
	switch {
	case status >= 100 && status < 200:
		return true
	case status == 401 || status == 407:
		return true
	case strings.EqualFold(cseqMethod, "REGISTER"):
		return true
	}
	return false
}
