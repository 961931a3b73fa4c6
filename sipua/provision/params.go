package provision

import "strings"

// Handset parameter names of in-band values (seed, "Understanding In-Band
// Provisioning"; tcplpApp in the seed is the OCR of tcpIpApp).
const (
	ParamE911DialString   = "dialplan.1.e911dialstring"
	ParamE911DialMask     = "dialplan.1.e911dialmask"
	ParamOriginalDigitMap = "dialplan.1.originaldigitmap"
	ParamEmergencyRouting = "dialplan.routing.emergency.1.value"
	ParamMWICallBack      = "msg.mwi.1.callBack"
	ParamMWICallBackMode  = "msg.mwi.1.callBackMode"
	ParamLISDisclaimer    = "reg.1.lisdisclaimer"
	ParamSRTPEnable       = "reg.1.srtp.enable"
	ParamSRTPOffer        = "reg.1.srtp.offer"
	ParamSRTPRequire      = "reg.1.srtp.require"
	ParamRegCAC           = "reg.1.ice.turn.callAdmissionControl.enabled"
	ParamICECAC           = "tcpIpApp.ice.turn.callAdmissionControl.enabled"
)

// dialPlanLimit is the phone's dial-plan buffer (seed Appendix C step 1).
const dialPlanLimit = 10000

// Params returns the settings under the handset's parameter names, the
// content of the "in-band" configs layer and of MAC-upload-CallServer.cfg.
// Only values the body supplied appear, plus the two fixed call-admission
// items the seed lists.
func (s *Settings) Params() map[string]string {
	p := map[string]string{ParamRegCAC: "0", ParamICECAC: "0"}
	if sc := s.Server; sc != nil {
		switch sc.Encryption {
		case EncryptionOptional:
			p[ParamSRTPEnable], p[ParamSRTPOffer], p[ParamSRTPRequire] = "1", "0", "0"
		case EncryptionRequired:
			p[ParamSRTPEnable], p[ParamSRTPOffer], p[ParamSRTPRequire] = "1", "1", "1"
		case EncryptionRejected:
			p[ParamSRTPEnable], p[ParamSRTPOffer], p[ParamSRTPRequire] = "0", "0", "0"
		case EncryptionUnset:
		}
	}
	if l := s.Location; l != nil && l.E911Enabled && strings.TrimSpace(l.DialString) != "" {
		ds := strings.TrimSpace(l.DialString)
		p[ParamE911DialString] = ds
		p[ParamE911DialMask] = l.DialMask
		routes, seen := []string{ds}, map[string]bool{ds: true}
		for _, m := range strings.FieldsFunc(l.DialMask, func(r rune) bool { return r == ';' || r == ',' }) {
			if m = strings.TrimSpace(m); m != "" && !seen[m] {
				seen[m] = true
				routes = append(routes, m)
			}
		}
		p[ParamEmergencyRouting] = strings.Join(routes, ",")
		if l.Disclaimer != "" {
			p[ParamLISDisclaimer] = l.Disclaimer
		}
	}
	if v := s.Voicemail; v != nil {
		if v.Enabled && v.URI != "" {
			p[ParamMWICallBackMode], p[ParamMWICallBack] = "contact", v.URI
		} else {
			p[ParamMWICallBackMode] = "disabled"
		}
	}
	if d := s.DialPlan; d != nil && len(d.Rules) > 0 {
		p[ParamOriginalDigitMap] = originalDigitMap(d.Rules)
	}
	return p
}

// originalDigitMap is step 1 of the seed's Appendix C: rules as
// pattern@translation@0|1 with ^ and $ added, joined by '|', stopping at the
// first rule that would pass 10,000 characters. sipua/dialplan does the
// later steps (and logs the dropped rules) from this string.
func originalDigitMap(rules []Rule) string {
	var b strings.Builder
	for _, r := range rules {
		pat := r.Pattern
		if !strings.HasPrefix(pat, "^") {
			pat = "^" + pat
		}
		if !strings.HasSuffix(pat, "$") || strings.HasSuffix(pat, `\$`) {
			pat += "$"
		}
		flag := "0"
		if r.Internal {
			flag = "1"
		}
		s := pat + "@" + r.Translation + "@" + flag
		n := len(s)
		if b.Len() > 0 {
			n++
		}
		if b.Len()+n > dialPlanLimit {
			break
		}
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		b.WriteString(s)
	}
	return b.String()
}
