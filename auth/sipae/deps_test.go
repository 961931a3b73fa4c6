package sipae

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports enforces STYLE §3.2: sipae may use auth, auth/ntlm and
// auth/tlsdsk, never sipgo, sipua, media or pion (the SIP layer fills
// SignedFields instead).
func TestImports(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not on PATH")
	}
	out, err := exec.Command(goBin, "list", "-deps", "-f", "{{.ImportPath}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/handset-dev/handset/"
	allowed := map[string]bool{mod + "auth": true, mod + "auth/ntlm": true, mod + "auth/tlsdsk": true, mod + "auth/sipae": true}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, mod) && !allowed[dep] ||
			strings.HasPrefix(dep, "github.com/emiago/sipgo") || strings.HasPrefix(dep, "github.com/pion/") {
			t.Errorf("auth/sipae depends on %s", dep)
		}
	}
}
