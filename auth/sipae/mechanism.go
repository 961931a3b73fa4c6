package sipae

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/handset-dev/handset/auth/ntlm"
)

// Mechanism is what an established security context provides to the SA:
// signing a buffer with our keys and verifying the peer's signature (NTLM
// here, TLS-DSK later). sigHex is compared case-insensitively.
type Mechanism interface {
	Sign(buf []byte) (sigHex string, err error)
	Verify(buf []byte, sigHex string) error
}

// ntlmSeq is the NTLM SeqNum SIP uses for every message in both directions
// (protocols.md §4.5, pitfall 1); it is not the cnum.
const ntlmSeq = 100

// NTLMMechanism adapts an NTLM session (datagram mode, SeqNum 100).
// Signatures are written in uppercase hex like SIPE's.
func NTLMMechanism(s *ntlm.Session) Mechanism { return ntlmMech{s} }

type ntlmMech struct{ s *ntlm.Session }

func (m ntlmMech) Sign(buf []byte) (string, error) {
	return strings.ToUpper(hex.EncodeToString(m.s.MAC(buf, ntlmSeq))), nil
}

func (m ntlmMech) Verify(buf []byte, sigHex string) error {
	sig, err := hex.DecodeString(sigHex)
	if err != nil {
		return fmt.Errorf("sipae: signature is not hex: %w", ErrBadSignature)
	}
	if err := m.s.VerifyMAC(buf, sig, ntlmSeq); err != nil {
		return fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	return nil
}

func (m ntlmMech) String() string { return "NTLM(" + m.s.String() + ")" }
