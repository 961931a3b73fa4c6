package cli

import (
	"strings"
	"testing"

	"github.com/handset-dev/handset/internal/testutil"
)

func TestBenchUsage(t *testing.T) {
	for _, args := range [][]string{{"bench", "--only", "B9"}, {"bench", "--logons", "0"}, {"bench", "extra"}} {
		if code, _, _ := runCLI(t, args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
		}
	}
}

// TestBenchSmall runs B4b at toy size: the table has its row and a ratio
// (the figures themselves are not checked).
func TestBenchSmall(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	code, out, errs := runCLI(t, "bench", "--only", "B4b", "--logons", "4", "--workers", "2")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"BENCH", "B4b sign-ins/s", "bare client", "B4b CPU per sign-in"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestModelName(t *testing.T) {
	if got := modelName(strings.NewReader("processor\t: 0\nmodel name\t: AMD EPYC\n")); got != "AMD EPYC" {
		t.Errorf("got %q", got)
	}
}
