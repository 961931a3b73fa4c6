package fleet

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/handset-dev/handset/internal/testutil"
)

func TestParseMACRange(t *testing.T) {
	got, err := ParseMACRange("0004F2:00:00:FE+3")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"0004f20000fe", "0004f20000ff", "0004f2000100"}, got); diff != "" {
		t.Error(diff)
	}
	for _, bad := range []string{"", "0004f2000000", "0004f2+3", "0004f2000000+0", "zz04f2000000+1", "ffffffffffff+2"} {
		if _, err := ParseMACRange(bad); !errors.Is(err, ErrBadMACRange) {
			t.Errorf("%q: err %v", bad, err)
		}
	}
}

// TestShardDisjoint: shards of any split are contiguous, disjoint and cover
// every item exactly once.
func TestShardDisjoint(t *testing.T) {
	for _, total := range []int{0, 1, 7, 500, 10001} {
		for n := 1; n <= 9; n++ {
			next := 0
			for i := range n {
				s, err := ParseShard(strings.Join([]string{itoa(i), itoa(n)}, "/"))
				if err != nil {
					t.Fatal(err)
				}
				lo, hi := s.Range(total)
				if lo != next || hi < lo || hi-lo > total/n+1 {
					t.Fatalf("total %d shard %v: [%d,%d) after %d", total, s, lo, hi, next)
				}
				next = hi
			}
			if next != total {
				t.Fatalf("total %d n %d: covered %d", total, n, next)
			}
		}
	}
	for _, bad := range []string{"1/1", "-1/2", "a/b", "2", "0/0"} {
		if _, err := ParseShard(bad); !errors.Is(err, ErrBadShard) {
			t.Errorf("%q: err %v", bad, err)
		}
	}
}

func itoa(i int) string { return string(rune('0' + i)) }

func TestReadUsers(t *testing.T) {
	const in = "RANDOM\nreg.1.address,reg.1.auth.userId,reg.1.auth.password\n" +
		"alice@lab.example,LAB\\alice,pw1\n# comment\nbob@lab.example,LAB\\bob,pw2\ncarol@lab.example,LAB\\carol,pw3\n"
	u, err := ReadUsers(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if u.Order != Random || len(u.Rows) != 3 {
		t.Fatalf("order %v rows %d", u.Order, len(u.Rows))
	}
	if got := u.Row(1)["reg.1.auth.userId"]; got != `LAB\bob` {
		t.Errorf("row 1 userId %q", got)
	}
	a := u.Assign(6, testutil.Rand(1))
	seen := map[int]int{}
	for _, j := range a {
		seen[j]++
	}
	if len(seen) != 3 || seen[0] != 2 {
		t.Errorf("assign %v", a)
	}
	u.Order = Sequential
	if diff := cmp.Diff([]int{0, 1, 2, 0}, u.Assign(4, nil)); diff != "" {
		t.Error(diff)
	}
	for _, bad := range []string{"", "SEQUENTIAL\nreg.1.address\n", "a,a\n1,2\n", "a,b\n1\n"} {
		if _, err := ReadUsers(strings.NewReader(bad)); !errors.Is(err, ErrBadUsers) {
			t.Errorf("%q: err %v", bad, err)
		}
	}
}
