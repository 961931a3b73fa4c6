package sipua

import (
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/handset-dev/handset/auth/ntlm"
)

// ntlmSeqNum is the NTLM sequence number of every SIP message in both
// directions (protocols.md §4.5, pitfall 1): not the SIP cnum.
const ntlmSeqNum = 100

// ntlmSigner signs §2.3 buffers with GSS_GetMIC of a connectionless NTLM
// session: 16 bytes, hex.
//
// TODO(sipae): replace with sipae.NTLMMechanism(sess) once auth/sipae lands.
type ntlmSigner struct{ s *ntlm.Session }

func (n ntlmSigner) Sign(buf []byte) (string, error) {
	return hex.EncodeToString(n.s.MAC(buf, ntlmSeqNum)), nil
}

func (n ntlmSigner) Verify(buf []byte, sig string) error {
	raw, err := hex.DecodeString(sig) // hex case varies (protocols.md §2.2)
	if err != nil {
		return fmt.Errorf("sipua: signature is not hex: %w", err)
	}
	return n.s.VerifyMAC(buf, raw, ntlmSeqNum)
}

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
		return msg, ntlmSigner{sess}, nil
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
