// Package deptest enforces the package dependency direction of STYLE.md §3.2:
// a table of forbidden imports per package, each with its reason, checked
// with `go list -deps`.
package deptest

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/handset-dev/handset"

type rule struct {
	pkg       string   // package path (prefix match: the package and its subpackages)
	forbidden []string // import path prefixes it must not depend on
	why       string
}

var rules = []rule{
	{"configs", []string{mod + "/auth", mod + "/sipua", mod + "/media", mod + "/labfe", mod + "/certrenew", mod + "/cmd", "github.com/emiago/sipgo", "github.com/pion"},
		"configs is the leaf every part reads; it imports nothing of ours"},
	{"auth/ntlm", []string{mod + "/", "github.com/emiago/sipgo", "github.com/pion"},
		"MS-NLMP core is pure and stands alone (checked against spec vectors and real peers)"},
	{"auth", []string{mod + "/sipua", mod + "/media", mod + "/labfe", mod + "/cmd", "github.com/emiago/sipgo"},
		"auth never imports the SIP stack or the user agent: the SIP layer adapts messages to sipae.SignedFields"},
	{"certrenew", []string{mod + "/sipua", mod + "/auth", mod + "/media", mod + "/labfe", mod + "/cmd", "github.com/emiago/sipgo"},
		"certrenew defines Issuer; auth implements it, not the other way round"},
	{"media", []string{mod + "/sipua", mod + "/auth", mod + "/labfe", mod + "/cmd", "github.com/emiago/sipgo"},
		"media is one call's media leg; signalling lives in sipua"},
	{"sipua/dialplan", []string{mod + "/sipua", mod + "/media", mod + "/auth", mod + "/labfe", "github.com/emiago/sipgo"},
		"dial-plan normalisation is a pure leaf"},
	{"sipua/provision", []string{mod + "/sipua", mod + "/media", mod + "/auth", mod + "/labfe", "github.com/emiago/sipgo"},
		"in-band provisioning parsing is a pure leaf"},
	{"sipua/retry", []string{mod + "/sipua", mod + "/media", mod + "/auth", mod + "/labfe", "github.com/emiago/sipgo"},
		"retry timing is a pure leaf"},
	{"sipua", []string{mod + "/labfe", mod + "/cmd"},
		"the user agent never depends on the simulator it is tested against"},
	{"labfe", []string{mod + "/sipua", mod + "/media", mod + "/cmd"},
		"a simulator that reuses client logic proves nothing (it may share only vector-checked codecs: auth/ntlm, auth/sipae, media/sdp, media/msturn)"},
}

// allowedLabfeMedia are the media codecs labfe may share (STYLE.md §3.2).
var allowedLabfeMedia = []string{mod + "/media/sdp", mod + "/media/msturn"}

type pkgInfo struct {
	ImportPath string
	Deps       []string
}

func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps=false", "-json", mod+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for dec.More() {
		var p pkgInfo
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(p.ImportPath, mod+"/")
		r, ok := ruleFor(rel)
		if !ok {
			continue
		}
		checked++
		for _, d := range p.Deps {
			for _, f := range r.forbidden {
				if !strings.HasPrefix(d, f) || d == p.ImportPath || strings.HasPrefix(d, mod+"/"+r.pkg+"/") || d == mod+"/"+r.pkg {
					continue
				}
				if r.pkg == "labfe" && hasPrefixAny(d, allowedLabfeMedia) {
					continue
				}
				if r.pkg == "auth/ntlm" && strings.HasPrefix(d, mod+"/internal/") {
					continue
				}
				t.Errorf("%s must not depend on %s: %s", p.ImportPath, d, r.why)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no restricted package found: the module layout changed?")
	}
}

// ruleFor returns the most specific rule for a package path relative to the module.
func ruleFor(rel string) (rule, bool) {
	best, found := rule{}, false
	for _, r := range rules {
		if rel == r.pkg || strings.HasPrefix(rel, r.pkg+"/") {
			if !found || len(r.pkg) > len(best.pkg) {
				best, found = r, true
			}
		}
	}
	return best, found
}

func hasPrefixAny(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if s == p || strings.HasPrefix(s, p+"/") {
			return true
		}
	}
	return false
}
