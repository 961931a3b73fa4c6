package websvc

import (
	"net/http"
	"strings"
)

// serveCertTicket is the certificate port (auth/webticket's Cert, this
// project's shape): the user certificate is the TLS client certificate of
// the connection, verified against the TLS config's ClientCAs (labfe sets
// its user CA and tls.VerifyClientCertIfGiven); the ticket goes to the user
// its CN names. A handset renews with it when it has no PIN any more.
func (s *Service) serveCertTicket(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		s.fault(w, r, http.StatusRequestEntityTooLarge, diagBadRequest, "request too large")
		return
	}
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		s.fault(w, r, http.StatusUnauthorized, diagAuthFailed, "a verified user certificate is required")
		return
	}
	leaf := r.TLS.VerifiedChains[0][0]
	now := s.now()
	if now.Before(leaf.NotBefore) || !now.Before(leaf.NotAfter) {
		s.fault(w, r, http.StatusUnauthorized, diagAuthFailed, "user certificate expired or not yet valid")
		return
	}
	var user *User
	cn := strings.ToLower(strings.TrimPrefix(leaf.Subject.CommonName, "sip:"))
	for i := range s.cfg.Users {
		if s.cfg.Users[i].aor() == cn {
			user = &s.cfg.Users[i]
			break
		}
	}
	if user == nil {
		s.fault(w, r, http.StatusUnauthorized, diagAuthFailed, "certificate names no user")
		return
	}
	rst, err := parseRST(body)
	if err != nil {
		s.fault(w, r, http.StatusBadRequest, diagBadRequest, err.Error())
		return
	}
	if rst.ClaimURI != "" && !strings.EqualFold(strings.TrimPrefix(strings.ToLower(rst.ClaimURI), "sip:"), user.aor()) {
		s.fault(w, r, http.StatusForbidden, diagEntityMismatch, "claimed sip uri is not the certificate's user")
		return
	}
	s.issueTicket(w, r, user, rst)
}
