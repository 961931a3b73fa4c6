package ntlm

import (
	"fmt"
	"log/slog"
	"strings"
)

// Credentials are the user's NTLM identity. Password is a secret: String,
// Format (every verb) and LogValue print it as [redacted].
type Credentials struct {
	Domain      string
	User        string
	Workstation string // SIPE sends the uppercased host name (protocols.md §4.3)
	Password    string
}

const redacted = "[redacted]"

// String prints the identity without the password.
func (c Credentials) String() string {
	return fmt.Sprintf("{Domain:%s User:%s Workstation:%s Password:%s}", c.Domain, c.User, c.Workstation, redacted)
}

// Format makes %v, %+v, %#v and %s all redact the password.
func (c Credentials) Format(f fmt.State, verb rune) {
	_, _ = f.Write([]byte(c.String()))
}

// LogValue redacts the password for log/slog.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("domain", c.Domain),
		slog.String("user", c.User),
		slog.String("workstation", c.Workstation),
		slog.String("password", redacted),
	)
}

// SplitUser splits a configured user name the way SIPE does (protocols.md
// §4.3): "DOMAIN\user" gives domain and user; anything else (including a UPN
// "user@domain") is the user with an empty domain.
func SplitUser(s string) (domain, user string) {
	if d, u, ok := strings.Cut(s, `\`); ok {
		return d, u
	}
	return "", s
}
