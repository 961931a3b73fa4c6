package labfe

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/handset-dev/handset/configs"
)

// User is one account of the front end, as named by the in-band parameters a
// handset is provisioned with.
type User struct {
	Address   string         // reg.1.address: sip:alice@contoso.test or alice@contoso.test
	UserID    string         // reg.1.auth.userId: the NTLM user name
	Domain    string         // reg.1.auth.domain: the NTLM (NetBIOS) domain
	Password  configs.Secret // reg.1.auth.password
	Extension string         // extension: for PIN sign-in (later)
	PIN       configs.Secret // pin: for PIN sign-in (later)
}

// AOR returns the address of record without the sip: scheme, lowercased.
func (u User) AOR() string {
	a := strings.TrimSpace(u.Address)
	if len(a) >= 4 && strings.EqualFold(a[:4], "sip:") {
		a = a[4:]
	}
	return strings.ToLower(a)
}

// Users CSV columns: the header names the real provisioning parameters.
const (
	colAddress   = "reg.1.address"
	colUserID    = "reg.1.auth.userId"
	colDomain    = "reg.1.auth.domain"
	colPassword  = "reg.1.auth.password" //nolint:gosec // a column name, not a credential
	colPIN       = "pin"
	colExtension = "extension"
)

// LoadUsersCSV reads users from a CSV whose header names the parameters
// reg.1.address, reg.1.auth.userId, reg.1.auth.domain, reg.1.auth.password
// and optionally pin and extension. Other columns (e.g. a MAC) are ignored.
// Header names match case-insensitively; blank lines and lines starting with
// '#' are skipped.
func LoadUsersCSV(r io.Reader) ([]User, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: empty file", ErrUsersCSV)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUsersCSV, err)
	}
	idx := map[string]int{}
	for i, h := range header {
		idx[strings.ToLower(strings.TrimSpace(h))] = i
	}
	need := []string{colAddress, colUserID, colPassword}
	for _, n := range need {
		if _, ok := idx[strings.ToLower(n)]; !ok {
			return nil, fmt.Errorf("%w: header lacks column %q", ErrUsersCSV, n)
		}
	}
	get := func(rec []string, name string) string {
		i, ok := idx[strings.ToLower(name)]
		if !ok || i >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	var users []User
	seen := map[string]bool{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUsersCSV, err)
		}
		u := User{
			Address: get(rec, colAddress), UserID: get(rec, colUserID), Domain: get(rec, colDomain),
			Password: configs.NewSecret(get(rec, colPassword)), Extension: get(rec, colExtension), PIN: configs.NewSecret(get(rec, colPIN)),
		}
		line, _ := cr.FieldPos(0)
		if u.AOR() == "" || !strings.Contains(u.AOR(), "@") {
			return nil, fmt.Errorf("%w: line %d: %s %q is not user@domain", ErrUsersCSV, line, colAddress, u.Address)
		}
		if u.UserID == "" {
			return nil, fmt.Errorf("%w: line %d: empty %s", ErrUsersCSV, line, colUserID)
		}
		if seen[u.AOR()] {
			return nil, fmt.Errorf("%w: line %d: duplicate user %s", ErrUsersCSV, line, u.AOR())
		}
		seen[u.AOR()] = true
		users = append(users, u)
	}
	if len(users) == 0 {
		return nil, fmt.Errorf("%w: no users", ErrUsersCSV)
	}
	return users, nil
}

// GeneratedPassword is the deterministic password GenerateUsers gives the
// user with the given user id; the load runner derives the same one.
func GeneratedPassword(userID string) configs.Secret {
	return configs.NewSecret("Lab-" + userID + "-Pw1")
}

// GenerateUsers returns n users user0001@domain ... with user id user0001,
// NetBIOS domain = the upper-cased first label of domain (CONTOSO for
// contoso.test), password GeneratedPassword(userID) and extension 1000+i.
func GenerateUsers(n int, domain string) []User {
	nb := strings.ToUpper(strings.SplitN(domain, ".", 2)[0])
	users := make([]User, 0, max(n, 0))
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("user%04d", i)
		users = append(users, User{
			Address: id + "@" + domain, UserID: id, Domain: nb, Password: GeneratedPassword(id),
			Extension: fmt.Sprintf("%d", 1000+i), PIN: configs.NewSecret(fmt.Sprintf("%06d", i)),
		})
	}
	return users
}
