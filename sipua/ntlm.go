package sipua

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/handset-dev/handset/auth/ntlm"
	"github.com/handset-dev/handset/auth/sipae"
)

// newNTLMAuthenticator builds the NTLMv2 connectionless client of
// auth/ntlm from the configured credentials.
func newNTLMAuthenticator(cfg Config, rnd io.Reader, now func() time.Time) authenticator {
	domain, user := cfg.AuthDomain, cfg.AuthUser
	if d, u := ntlm.SplitUser(user); d != "" {
		user = u
		if domain == "" {
			domain = d
		}
	}
	creds := ntlm.Credentials{Domain: domain, User: user, Workstation: workstation(cfg.Handset), Password: cfg.Password.Reveal()}
	return authenticatorFunc(func(challenge []byte) ([]byte, signer, error) {
		msg, sess, err := ntlm.Authenticate(ntlm.ClientConfig{Credentials: creds, Rand: rnd, Now: now}, challenge)
		if err != nil {
			return nil, nil, fmt.Errorf("sipua: ntlm: %w", err)
		}
		return msg, sipae.NTLMMechanism(sess), nil
	})
}

// workstation is the NetBIOS-style name sent in AUTHENTICATE: SIPE sends the
// uppercased host name (protocols.md §4.3); a handset has its MAC.
func workstation(handset string) string {
	w := strings.ToUpper(handset)
	if len(w) == 0 || len(w) > 15 || strings.ContainsAny(w, "@:. ") {
		return "SPECTRALINK"
	}
	return w
}
