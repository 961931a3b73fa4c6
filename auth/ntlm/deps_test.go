package ntlm

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports enforces STYLE §3.2: auth/ntlm imports no project package and
// neither sipgo nor pion (it is shared by the client and labfe).
func TestImports(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not on PATH")
	}
	out, err := exec.Command(goBin, "list", "-deps", "-f", "{{.ImportPath}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const self = "github.com/handset-dev/handset/auth/ntlm"
	for _, dep := range strings.Fields(string(out)) {
		if dep != self && (strings.HasPrefix(dep, "github.com/handset-dev/handset/") ||
			strings.HasPrefix(dep, "github.com/emiago/sipgo") || strings.HasPrefix(dep, "github.com/pion/")) {
			t.Errorf("auth/ntlm depends on %s", dep)
		}
	}
}
