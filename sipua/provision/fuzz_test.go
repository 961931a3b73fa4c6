package provision

import (
	"errors"
	"os"
	"strings"
	"testing"
)

var knownParams = map[string]bool{
	ParamE911DialString: true, ParamE911DialMask: true, ParamOriginalDigitMap: true, ParamEmergencyRouting: true,
	ParamMWICallBack: true, ParamMWICallBackMode: true, ParamLISDisclaimer: true, ParamSRTPEnable: true,
	ParamSRTPOffer: true, ParamSRTPRequire: true, ParamRegCAC: true, ParamICECAC: true,
}

// FuzzParse: no panic; errors are typed; a parsed body yields only known
// parameter names, a dial plan within the phone's 10,000 characters, and
// parsing is deterministic.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("testdata/notify.xml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`<!DOCTYPE a [<!ENTITY b "c">]><provisionGroupList>&b;</provisionGroupList>`))
	f.Add([]byte(`<provisionGroupList><provisionGroup name="locationProfile"><LocationProfileDescription><Rule><Pattern>1</Pattern></Rule></LocationProfileDescription></provisionGroup></provisionGroupList>`))
	f.Add([]byte(strings.Repeat("<a>", 40)))
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := Parse(body)
		if err != nil {
			for _, e := range []error{ErrEmpty, ErrTooLarge, ErrDirective, ErrTooDeep, ErrTooMany, ErrSyntax, ErrRoot, ErrValue} {
				if errors.Is(err, e) {
					return
				}
			}
			t.Fatalf("untyped error %v", err)
		}
		p := s.Params()
		for k := range p {
			if !knownParams[k] {
				t.Fatalf("unknown parameter %q", k)
			}
		}
		if len(p[ParamOriginalDigitMap]) > dialPlanLimit {
			t.Fatalf("originaldigitmap %d characters", len(p[ParamOriginalDigitMap]))
		}
		s2, err := Parse(body)
		if err != nil || len(s2.Params()) != len(p) {
			t.Fatalf("second parse differs: %v", err)
		}
	})
}
