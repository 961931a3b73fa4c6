package fleet

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
)

// ParseMACRange expands "0004f2000000+500" into 500 consecutive MACs
// (lowercase, 12 hex digits, USERS.md A.4 item 2).
func ParseMACRange(s string) ([]string, error) {
	base, count, ok := strings.Cut(s, "+")
	if !ok {
		return nil, fmt.Errorf("%w %q: want MAC+COUNT, e.g. 0004f2000000+500", ErrBadMACRange, s)
	}
	base = strings.ToLower(strings.NewReplacer(":", "", "-", "").Replace(base))
	if len(base) != 12 {
		return nil, fmt.Errorf("%w %q: MAC must have 12 hex digits", ErrBadMACRange, s)
	}
	start, err := strconv.ParseUint(base, 16, 64)
	if err != nil {
		return nil, fmt.Errorf("%w %q: MAC: %w", ErrBadMACRange, s, err)
	}
	n, err := strconv.Atoi(count)
	if err != nil || n <= 0 {
		return nil, fmt.Errorf("%w %q: count must be a positive integer", ErrBadMACRange, s)
	}
	if start+uint64(n)-1 > 0xffffffffffff {
		return nil, fmt.Errorf("%w %q: range passes ffffffffffff", ErrBadMACRange, s)
	}
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%012x", start+uint64(i))
	}
	return out, nil
}

// Shard is the slice i of n of a run (--shard i/n), as set by a Kubernetes
// Indexed Job (JOB_COMPLETION_INDEX → i).
type Shard struct{ Index, Count int }

// ParseShard parses "i/n" with 0 ≤ i < n. The empty string is shard 0/1.
func ParseShard(s string) (Shard, error) {
	if s == "" {
		return Shard{0, 1}, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n <= 0 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("%w %q: want i/n with 0 <= i < n", ErrBadShard, s)
	}
	return Shard{i, n}, nil
}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// Range returns the half-open index range [lo, hi) of this shard of total
// items: contiguous, disjoint, covering all items, sizes differing by at
// most one. It depends only on (total, i, n), so every pod computes the
// same split.
func (s Shard) Range(total int) (lo, hi int) {
	return total * s.Index / s.Count, total * (s.Index + 1) / s.Count
}

// Order is how user rows are assigned to handsets (SIPp -inf keywords).
type Order uint8

// Orders.
const (
	Sequential Order = iota
	Random
)

// Users is a parsed --users file: an optional first line SEQUENTIAL or
// RANDOM, a header row of real .cfg parameter names (reg.1.address,
// reg.1.auth.userId, reg.1.auth.password, ...), then one row per handset;
// each row becomes that handset's per-phone overrides.
type Users struct {
	Order  Order
	Header []string
	Rows   [][]string
}

// ReadUsers parses a users file.
func ReadUsers(r io.Reader) (*Users, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.Comment = '#'
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadUsers, err)
	}
	u := &Users{}
	if len(recs) > 0 && len(recs[0]) == 1 {
		switch strings.ToUpper(strings.TrimSpace(recs[0][0])) {
		case "SEQUENTIAL":
			recs = recs[1:]
		case "RANDOM":
			u.Order = Random
			recs = recs[1:]
		}
	}
	if len(recs) < 2 {
		return nil, fmt.Errorf("%w: want a header row of parameter names and at least one user row", ErrBadUsers)
	}
	u.Header = recs[0]
	seen := map[string]bool{}
	for _, h := range u.Header {
		if h == "" || seen[h] {
			return nil, fmt.Errorf("%w: header: empty or duplicate parameter name %q", ErrBadUsers, h)
		}
		seen[h] = true
	}
	for i, row := range recs[1:] {
		if len(row) != len(u.Header) {
			return nil, fmt.Errorf("%w: row %d: %d fields, header has %d", ErrBadUsers, i+2, len(row), len(u.Header))
		}
	}
	u.Rows = recs[1:]
	return u, nil
}

// Row returns row i as parameter → value.
func (u *Users) Row(i int) map[string]string {
	m := make(map[string]string, len(u.Header))
	for j, h := range u.Header {
		m[h] = u.Rows[i][j]
	}
	return m
}

// Assign returns the user row index for each of n handsets: in file order
// (SEQUENTIAL) or a seeded permutation (RANDOM). Like SIPp, the file is
// reused from its start when there are more handsets than rows, so that
// check is the caller's if duplicates are not wanted.
func (u *Users) Assign(n int, r *rand.Rand) []int {
	out := make([]int, n)
	var perm []int
	if u.Order == Random {
		perm = r.Perm(len(u.Rows))
	}
	for i := range out {
		j := i % len(u.Rows)
		if perm != nil {
			j = perm[j]
		}
		out[i] = j
	}
	return out
}

var errNoHandsets = errors.New("fleet: no handsets")
