package dialplan

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The seed's worked example (Appendix C, "Lisbon 8047x & 8063x").
var lisbon = Rule{
	Name:        "Lisbon 5 digit 2",
	Pattern:     `^((8047[0-9])|(8063[0-9]))$`,
	Translation: `+3512131$1`,
	Internal:    true,
}

func TestSeedLisbonRuleString(t *testing.T) {
	// Step 1, byte for byte as the seed prints it.
	const want = `^((8047[0-9])|(8063[0-9]))$@+3512131$1@1`
	if got := lisbon.String(); got != want {
		t.Fatalf("rule string = %q, want %q", got, want)
	}
}

func TestSeedLisbonExpansion(t *testing.T) {
	// Step 3: the seed shows the rule "with the embedded parentheses
	// removed" expanding to two rules (its "^ (" is an OCR space).
	const want = `^(8047[0-9])$@+3512131$1@1|^(8063[0-9])$@+3512131$1@1`
	for _, pat := range []string{`^(8047[0-9]|8063[0-9])$`, lisbon.Pattern} {
		p := Compile([]Rule{{Pattern: pat, Translation: lisbon.Translation, Internal: true}}, Emergency{}, nil)
		if p.Expanded != want {
			t.Errorf("%s: expanded = %q, want %q", pat, p.Expanded, want)
		}
		if p.DigitMap != "8047x|8063x" {
			t.Errorf("%s: digit map = %q", pat, p.DigitMap)
		}
	}
}

func TestSeedLisbonNormalize(t *testing.T) {
	p := Compile([]Rule{lisbon}, Emergency{DialString: "112", DialMask: "911;999"}, nil)
	tests := []struct {
		in, want string
		matched  bool
		internal bool
		emerg    bool
	}{
		{"80471", "+351213180471", true, true, false},
		{"80639", "+351213180639", true, true, false},
		{"80481", "80481", false, false, false},
		{"804711", "804711", false, false, false},
		{"112", "112", true, false, true},
		{"911", "112", true, false, true},
		{"999", "112", true, false, true},
	}
	for _, tt := range tests {
		r := p.Normalize(tt.in)
		if r.Number != tt.want || r.Matched != tt.matched || r.Rule.Internal != tt.internal || r.Rule.Emergency != tt.emerg {
			t.Errorf("Normalize(%q) = %q matched=%v internal=%v emergency=%v; want %q %v %v %v",
				tt.in, r.Number, r.Matched, r.Rule.Internal, r.Rule.Emergency, tt.want, tt.matched, tt.internal, tt.emerg)
		}
	}
	wantOrig := `^((8047[0-9])|(8063[0-9]))$@+3512131$1@1`
	if p.Original != wantOrig {
		t.Errorf("Original = %q", p.Original)
	}
	wantE := wantOrig + `|^112$@112@0|^911$@112@0|^999$@112@0`
	if p.WithEmergency != wantE {
		t.Errorf("WithEmergency = %q, want %q", p.WithEmergency, wantE)
	}
	if want := "8047x|8063x|112|911|999"; p.DigitMap != want {
		t.Errorf("DigitMap = %q, want %q", p.DigitMap, want)
	}
}

func TestAnchorsAdded(t *testing.T) {
	r := Rule{Pattern: `(\d{4})`, Translation: `+1425555$1`}
	if got, want := r.String(), `^(\d{4})$@+1425555$1@0`; got != want {
		t.Fatalf("%q, want %q", got, want)
	}
}

func TestParseOriginalRoundTrip(t *testing.T) {
	rules := []Rule{
		lisbon,
		{Pattern: `^9(\d*)$`, Translation: `$1`},
		{Pattern: `^(\d{4})$`, Translation: `+1425555$1`, Internal: true},
		{Pattern: `^(1|2)$`, Translation: `x@y`}, // '@' in a translation
	}
	s, n := Join(rules)
	if n != len(rules) {
		t.Fatalf("Join kept %d", n)
	}
	got, err := ParseOriginal(s)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rules {
		rules[i].Name = ""
	}
	if d := cmp.Diff(rules, got); d != "" {
		t.Fatalf("round trip (-want +got):\n%s", d)
	}
	if _, err := ParseOriginal("^1$@1@2"); !errors.Is(err, ErrMalformedRule) {
		t.Fatalf("bad flag: %v", err)
	}
}

// ruleOfLen returns a valid rule whose string is exactly n characters
// (n ≥ 7): ^1…1$@1@0.
func ruleOfLen(n int) Rule {
	return Rule{Pattern: "^" + strings.Repeat("1", n-6) + "$", Translation: "1"}
}

func TestStep1Limit(t *testing.T) {
	// Two rules of 4999 + '|' + 5000 = 10,000 characters: both fit.
	a, b := ruleOfLen(4999), ruleOfLen(5000)
	if len(a.String()) != 4999 || len(b.String()) != 5000 {
		t.Fatal("ruleOfLen")
	}
	s, n := Join([]Rule{a, b})
	if n != 2 || len(s) != Limit {
		t.Fatalf("exactly 10000: kept %d, len %d", n, len(s))
	}
	// One more character: the second rule and every later one go.
	c := ruleOfLen(10)
	_, n = Join([]Rule{a, ruleOfLen(5001), c})
	if n != 1 {
		t.Fatalf("10001: kept %d, want 1 (later rules dropped too)", n)
	}
	var logs bytes.Buffer
	p := Compile([]Rule{a, ruleOfLen(5001), c}, Emergency{}, slog.New(slog.NewTextHandler(&logs, nil)))
	if len(p.Dropped) != 2 || p.Dropped[0].Step != 1 || !errors.Is(p.Dropped[1].Err, ErrTooLong) {
		t.Fatalf("dropped = %+v", p.Dropped)
	}
	if got := strings.Count(logs.String(), "DIALPLANERROR"); got != 2 {
		t.Fatalf("%d DIALPLANERROR lines:\n%s", got, logs.String())
	}
	if !strings.Contains(logs.String(), "level=WARN") {
		t.Fatalf("want WARN level (the seed's level 4):\n%s", logs.String())
	}
}

func TestStep2EmergencyTruncated(t *testing.T) {
	// The plan fills the buffer but for 12 characters: "|^911$@911@0" (12)
	// fits, the next emergency rule does not.
	base := ruleOfLen(Limit - 12)
	p := Compile([]Rule{base}, Emergency{DialString: "911", DialMask: "112"}, nil)
	if len(p.WithEmergency) != Limit {
		t.Fatalf("len = %d", len(p.WithEmergency))
	}
	if len(p.Dropped) != 1 || p.Dropped[0].Step != 2 || p.Dropped[0].Rule != "^112$@911@0" {
		t.Fatalf("dropped = %+v", p.Dropped)
	}
}

func alternation(n, width int) string {
	alts := make([]string, n)
	for i := range alts {
		alts[i] = fmt.Sprintf("%0*d", width, i)
	}
	return "^(" + strings.Join(alts, "|") + ")$"
}

func TestStep3Limits(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		n       int
		err     error
	}{
		{"30 alternatives", alternation(30, 3), 30, nil},
		{"31 alternatives", alternation(31, 3), 0, ErrTooManyAlternatives},
		{"32-character alternative", alternation(2, 32), 2, nil},
		{"33-character alternative", alternation(2, 33), 0, ErrAlternativeTooLong},
		{"32 characters inside extra parentheses", "^((" + strings.Repeat("1", 32) + ")|(2))$", 2, nil},
		{"one extra level", "^((1)|(2))$", 2, nil},
		{"two extra levels", "^(((1))|(2))$", 0, ErrNesting},
		{"group inside alternative", `^(1(\d)|2)$`, 0, ErrNesting},
		{"nested alternation", "^(1|(2|3))$", 0, ErrNesting},
		{"no alternation", `^(\d{4})$`, 1, nil},
		{"two groups multiply", "^(1|2)(3|4)$", 4, nil},
		{"product over 30", "^(1|2|3|4|5|6)(1|2|3|4|5|6)$", 0, ErrTooManyAlternatives},
		{"top-level alternation", "^1|2$", 0, ErrUnsupported},
		{"alternation in class is literal", "^([1|2])$", 1, nil},
		{"escaped bar", `^(1\|2)$`, 1, nil},
		{"unbalanced", "^((1|2)$", 0, ErrBadPattern},
		{"non-capturing group", "^(?:1|2)(3)$", 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Expand(tt.pattern)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if len(got) != tt.n {
				t.Fatalf("%d patterns %q, want %d", len(got), got, tt.n)
			}
		})
	}
	if got, _ := Expand("^(?:1|2)(3)$"); !cmp.Equal(got, []string{"^(?:1)(3)$", "^(?:2)(3)$"}) {
		t.Fatalf("non-capturing: %q", got)
	}
	got, _ := Expand("^(1|2)(3|4)$")
	if d := cmp.Diff([]string{"^(1)(3)$", "^(1)(4)$", "^(2)(3)$", "^(2)(4)$"}, got); d != "" {
		t.Fatal(d)
	}
}

func TestStep3DropsOnlyTheRule(t *testing.T) {
	// A rule with 31 alternatives is dropped; the rule after it survives.
	p := Compile([]Rule{{Pattern: alternation(31, 2), Translation: "$1"}, {Pattern: "^5$", Translation: "5"}}, Emergency{}, nil)
	if len(p.Rules) != 1 || p.Rules[0].Pattern != "^5$" {
		t.Fatalf("rules = %+v", p.Rules)
	}
	if len(p.Dropped) != 1 || p.Dropped[0].Step != 3 {
		t.Fatalf("dropped = %+v", p.Dropped)
	}
	// Expansion that outgrows the buffer: 30 alternatives of 32 characters
	// duplicate the rule 30 times (30 × ~45 characters fits), but a plan
	// already close to the limit cannot take it; the small rule after it can.
	big := Rule{Pattern: alternation(30, 32), Translation: "$1"}
	filler := ruleOfLen(Limit - len(big.String()) - 20)
	p = Compile([]Rule{filler, big, {Pattern: "^5$", Translation: "5"}}, Emergency{}, nil)
	if len(p.Dropped) != 1 || p.Dropped[0].Step != 3 || !errors.Is(p.Dropped[0].Err, ErrTooLong) {
		t.Fatalf("dropped = %+v", p.Dropped)
	}
	if len(p.Expanded) > Limit || p.Rules[len(p.Rules)-1].Pattern != "^5$" {
		t.Fatalf("expanded len %d, last rule %+v", len(p.Expanded), p.Rules[len(p.Rules)-1])
	}
}

func TestStep4Truncates(t *testing.T) {
	// {0,8} turns one short pattern into 9 digit-map strings, so the
	// converted map outgrows the pre-processed one: rules that do not fit
	// are dropped, with every rule after them.
	var rules []Rule
	for i := range 300 {
		rules = append(rules, Rule{Pattern: fmt.Sprintf(`^%03d\d{0,8}$`, i), Translation: "1"})
	}
	p := Compile(rules, Emergency{}, nil)
	if len(p.DigitMap) > Limit {
		t.Fatalf("digit map %d characters", len(p.DigitMap))
	}
	if len(p.Rules) == 0 || len(p.Rules) == 300 {
		t.Fatalf("%d rules survived", len(p.Rules))
	}
	kept := len(p.Rules)
	for i, d := range p.Dropped {
		if d.Step != 4 || !errors.Is(d.Err, ErrTooLong) {
			t.Fatalf("dropped[%d] = %+v", i, d)
		}
	}
	if kept+len(p.Dropped) != 300 {
		t.Fatalf("kept %d + dropped %d", kept, len(p.Dropped))
	}
}

func TestToDigitMap(t *testing.T) {
	tests := []struct{ in, want string }{
		{`^(8047[0-9])$`, "8047x"},
		{`^(\d{4})$`, "xxxx"},
		{`^9(\d*)$`, "9x.T"},
		{`^9(\d+)$`, "9xx.T"},
		{`^(\d{2,3})$`, "xx|xxx"},
		{`^(\d{3,})$`, "xxxx.T"},
		{`^\+?(\d{3})$`, "xxx"},
		{`^0?1$`, "1|01"},
		{`^[2-9]11$`, "[2-9]11"},
		{`^[13579]$`, "[13579]"},
		{`^[0-35-9]$`, "[0-35-9]"},
		{`^\*(\d\d)$`, "*xx"},
		{`^#(\d)$`, "#x"},
		{`^(?:1|2)$`, "1|2"},
		{`^(.*)$`, "x.T"},
	}
	for _, tt := range tests {
		got, err := ToDigitMap(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ToDigitMap(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{`^\+(\d+)$`, `^[^0]$`, `^(?=1)$`, `^\s$`, `^a$`, `^(12)*$`, `^(\d{0,40})$`, `^(1)\1$`} {
		if got, err := ToDigitMap(bad); !errors.Is(err, ErrUnsupported) {
			t.Errorf("ToDigitMap(%q) = %q, %v; want ErrUnsupported", bad, got, err)
		}
	}
}

func TestGoTemplate(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+3512131$1", "+3512131${1}"},
		{"$1x", "${1}x"},
		{"$$1", "$$1"},
		{"${name}", "${name}"},
		{"a$", "a$$"},
		{"$&", "${0}"},
	}
	for _, tt := range tests {
		if got := goTemplate(tt.in); got != tt.want {
			t.Errorf("goTemplate(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFromParams(t *testing.T) {
	p, err := FromParams(map[string]string{
		ParamOriginal:   lisbon.String() + `|^9(\d*)$@$1@0`,
		ParamE911String: "112",
		ParamE911Mask:   "911",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "8047x|8063x|9x.T|112|911"; p.DigitMap != want {
		t.Fatalf("digit map %q, want %q", p.DigitMap, want)
	}
	if r := p.Normalize("90123"); r.Number != "0123" {
		t.Fatalf("normalize: %+v", r)
	}
}

func TestDebugLogsInputAndOutput(t *testing.T) {
	var logs bytes.Buffer
	Compile([]Rule{lisbon}, Emergency{}, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	for _, want := range []string{"pre-processor input", "pre-processor output", "conversion output"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no %q in\n%s", want, logs.String())
		}
	}
}
