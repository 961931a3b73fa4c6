package configs

import (
	"math"
	"sort"
	"strconv"
	"strings"
)

// Param kinds.
const (
	KindBool     = "bool"     // "0" or "1"
	KindInt      = "int"      // decimal integer in [min, max]
	KindEnum     = "enum"     // one of a fixed list (case-sensitive, as on the phone)
	KindString   = "string"   // free text
	KindSecret   = "secret"   // free text, printed [redacted]
	KindLifetime = "lifetime" // 0, an integer ≥ 1024, or 2^N (sec.srtp.key.lifetime)
)

// Param is one registry entry. Pattern uses x for the line/entry index and y
// for the second index (reg.x.server.y.transport); indices are 1-based
// decimal integers in a real name (reg.1.server.2.transport).
type Param struct {
	Pattern     string
	Kind        string
	Permitted   string // human form: "0|1", "10-120", "TLS|TCPOnly|…", "string"
	Default     string // generic (non-Lync) default; "" is Null
	Description string // from the seed or the Polycom admin guides
	Restart     bool   // a change makes the phone restart or reboot
	Secret      bool   // the value is a password or PIN

	min, max int64    // KindInt range
	zeroOK   bool     // KindInt: 0 is also permitted outside [min,max]
	nullable bool     // "" (Null) is a permitted value
	enum     []string // KindEnum values
}

func boolP(pattern, def, desc string) Param {
	return Param{Pattern: pattern, Kind: KindBool, Permitted: "0|1", Default: def, Description: desc}
}

func intP(pattern string, lo, hi int64, def, desc string) Param {
	return Param{Pattern: pattern, Kind: KindInt, Default: def, Description: desc, min: lo, max: hi,
		Permitted: strconv.FormatInt(lo, 10) + "-" + strconv.FormatInt(hi, 10)}
}

func enumP(pattern, def string, values []string, desc string) Param {
	return Param{Pattern: pattern, Kind: KindEnum, Default: def, Description: desc, enum: values,
		Permitted: strings.Join(values, "|")}
}

func strP(pattern, def, desc string) Param {
	return Param{Pattern: pattern, Kind: KindString, Permitted: "string", Default: def, Description: desc, nullable: true}
}

func secretP(pattern, desc string) Param {
	return Param{Pattern: pattern, Kind: KindSecret, Permitted: "string (secret)", Description: desc, Secret: true, nullable: true}
}

func restart(p Param) Param { p.Restart = true; return p }

func nullable(p Param) Param {
	p.nullable = true
	if p.Permitted != "" {
		p.Permitted += " or Null"
	}
	return p
}

var (
	transports     = []string{"DNSnaptr", "TCPpreferred", "UDPOnly", "TLS", "TCPOnly"}
	interops       = []string{"standard", "ocs2007r2", "lcs2005", "lync2010", "lync2013"}
	failBackModes  = []string{"newRequests", "DNSTTL", "registration", "duration"}
	tlsProfiles    = []string{"PlatformProfile1", "PlatformProfile2", "ApplicationProfile1", "ApplicationProfile2", "ApplicationProfile3", "ApplicationProfile4", "ApplicationProfile5", "ApplicationProfile6"}
	baseProfiles   = []string{"Generic", "Lync"}
	iceModes       = []string{"GENERIC", "MSOCS"}
	mwiModes       = []string{"contact", "registration", "disabled"}
	codecPrefNames = []string{"G711_Mu", "G711_A", "G722", "G7221.24kbps", "G7221.32kbps", "G729_AB", "Siren7", "Siren14.24kbps", "Siren14.32kbps", "Siren14.48kbps", "Lin16.8ksps", "Lin16.16ksps", "iLBC.13_33kbps", "iLBC.15_2kbps", "G7221C.24kbps", "G7221C.32kbps", "G7221C.48kbps"}
)

// params is the registry. Descriptions quote or summarise the seed
// (spectralink-84-series-lync2013-interop-guide, Appendix A, the in-band
// table and the sign-in chapter) and, for failover/retry, the Polycom UCS
// admin guides (USERS.md §A.3 rule 10). Defaults are the generic phone's; the
// Lync base profile (profile.go) overlays Appendix A's values.
var params = buildRegistry()

func buildRegistry() []Param {
	ps := []Param{
		// Appendix A: base profile parameters.
		boolP("call.enableOnNotRegistered", "1", "If 1, users can make calls when the handset is not registered. If 0, calls are not permitted without registration."),
		boolP("callLists.logConsultationCalls", "0", "If 1, all consultation calls (calls made to a third party while setting up a conference) are logged; if 0, they are not."),
		boolP("dialplan.applyToDirectoryDial", "0", "If 1, the dial plan is applied to numbers dialed from the directory or speed dial list, including auto-call contact numbers."),
		boolP("dialplan.x.applyToForward", "0", "If 1, the dial plan applies to forwarded calls."),
		boolP("feature.messaging.enabled", "0", "Enable instant messaging on the Spectralink 84-Series wireless handsets."),
		boolP("feature.presence.enabled", "0", "Enable the presence feature to display the status of your contacts."),
		boolP("reg.x.applyServerDigitMapLocally", "0", "When 1, dial plan normalization rules are downloaded from the Lync Server and processed on the handset; if 0, Lync Server processes them."),
		boolP("reg.x.auth.useLoginCredentials", "1", "1 enables the Sign In menu option 'Sign in: Credentials' (simple sign in). 0 hides it; auto sign-in needs both useLoginCredentials and usePinCredentials 0."),
		boolP("reg.x.auth.usePinCredentials", "1", "1 enables the Sign In menu option 'Sign in: PIN & Ext.'. 0 hides it. Auto sign-in is not available with PIN authentication."),
		boolP("reg.x.serverFeatureControl.cf", "0", "If 1, server-based call forwarding is enabled for this line."),
		boolP("reg.x.serverFeatureControl.localProcessing.cf", "1", "If 0 and reg.x.serverFeatureControl.cf is 1, the handset does not perform local Call Forward behaviour."),
		strP("reg.x.serverFeatureControl.signalingMethod", "", "Controls the method used to perform call forwarding requests to the server (Lync: serviceMsForwardContact)."),
		intP("reg.x.server.y.registerRetry.baseTimeOut", 10, 120, "60", "Base period in seconds to wait before a registration retry; with registerRetry.maxTimeOut, the algorithm of RFC 5626 section 4.5."),
		intP("reg.x.server.y.registerRetry.maxTimeOut", 60, 1800, "180", "Maximum period in seconds to wait between registration retries (RFC 5626 section 4.5)."),
		enumP("reg.x.server.y.specialInterop", "standard", interops, "Identifies the SIP signalling as Microsoft Lync Server 2010/2013 and enables Lync features; lync2010 and lync2013 are virtually identical."),
		enumP("reg.x.server.y.transport", "DNSnaptr", transports, "Transport to the SIP server: DNSnaptr (NAPTR then SRV, RFC 3263), TCPpreferred, UDPOnly, TLS, TCPOnly. Lync requires TLS."),
		intP("roaming_buddies.reg", 0, 34, "0", "The line index of the registered line for which Presence and Instant Messaging are enabled (0: none)."),
		boolP("sec.srtp.holdWithNewKey", "0", "If 1, a new key is provided when holding a call."),
		{Pattern: "sec.srtp.key.lifetime", Kind: KindLifetime, Permitted: "0, an integer >= 1024, or 2^N (N 10-48)", Default: "", nullable: true,
			Description: "Lifetime of the SRTP master key in packets. 0: not set. When set, a re-INVITE with a new key is sent once half the lifetime is used. Power-of-two notation 2^N is accepted."},
		boolP("sec.srtp.mki.enabled", "0", "If 1, an MKI is sent in the a=crypto line of the SDP (RFC 4568 mki:mki_length)."),
		intP("sec.srtp.mki.length", 1, 4, "4", "Length of the master key identifier in bytes; Microsoft Lync offers 1-byte MKIs."),
		boolP("sec.srtp.mki.startSessionAtOne", "0", "If 1, use an MKI value of 1 at the start of an SDP session; if 0, the MKI increments for each new crypto key."),
		boolP("sec.srtp.resumeWithNewKey", "0", "If 1, a new key is provided when resuming a call."),
		restart(enumP("sec.TLS.profileSelection.SIP", "PlatformProfile1", tlsProfiles, "The TLS application profile that holds the CA certificates used to verify the SIP server.")),
		boolP("softkey.feature.simplifiedSignIn", "0", "When 1 and LoginCredentials is enabled, the Features softkey menu shows the Credentials sign-in option (SSI). Set 0 for auto sign-in with user profiles."),
		enumP("tcpIpApp.ice.mode", "GENERIC", iceModes, "ICE flavour: MSOCS makes ICE and TURN work with Microsoft Lync Server (MS-ICE2, MS-TURN)."),
		boolP("tcpIpApp.keepalive.tcp.sip.tls.enable", "0", "1 enables keep-alive packets on the SIP TLS connection so it does not time out."),
		intP("voice.audioProfile.G7221.24kbps.payloadType", 0, 127, "112", "The RTP payload type for the G.722.1 24 kbps codec."),
		intP("voIpProt.SIP.IM.autoAnswerDelay", 0, 40, "40", "Seconds from receipt of an instant message invitation to accepting it automatically."),
		boolP("voIpProt.SIP.allowTransferOnProceeding", "1", "If 1, a transfer can be completed during the proceeding state of a consultation call."),
		boolP("voIpProt.SIP.serverFeatureControl.cf", "0", "If 1, server-based call forwarding is enabled: the call server controls forwarding."),
		boolP("voIpProt.SIP.serverFeatureControl.dnd", "0", "If 1, server-based DND is enabled: the call server controls DND."),
		boolP("voIpProt.SIP.serverFeatureControl.localProcessing.cf", "1", "If 0 and voIpProt.SIP.serverFeatureControl.cf is 1, the handset does not perform local Call Forward behaviour."),
		boolP("voIpProt.SIP.serverFeatureControl.localProcessing.dnd", "1", "If 0 and voIpProt.SIP.serverFeatureControl.dnd is 1, the handset does not perform local DND behaviour."),
		boolP("voIpProt.SIP.header.diversion.enable", "0", "If 1, the Diversion header is displayed if received."),
		boolP("voIpProt.SIP.mtls.enable", "0", "If 1, mutual TLS is enabled (used with Microsoft Lync Server 2010/2013)."),

		// In-band provisioning (values pushed by the Lync server).
		strP("dialplan.x.e911dialmask", "", "In-band: emergency dial mask from the Lync server (location policy)."),
		strP("dialplan.x.e911dialstring", "", "In-band: emergency dial string from the Lync server (location policy)."),
		strP("dialplan.x.originaldigitmap", "", "In-band: the Lync dial plan as rules pattern@translation@IsInternalExtension joined by '|' (seed Appendix C, max 10000 characters)."),
		strP("dialplan.x.digitmap", "", "The dial plan in phone (RFC 3435 section 2.1.5) format, converted from dialplan.x.originaldigitmap."),
		strP("dialplan.routing.emergency.x.value", "", "In-band: emergency number(s) routed as emergency calls."),
		strP("msg.mwi.x.callBack", "", "In-band: the voicemail contact called back for message waiting."),
		nullable(enumP("msg.mwi.x.callBackMode", "", mwiModes, "In-band: how the handset calls voicemail: contact (msg.mwi.x.callBack), registration, or disabled.")),
		boolP("reg.x.ice.turn.callAdmissionControl.enabled", "0", "In-band: Lync call admission control for this line."),
		strP("reg.x.lisdisclaimer", "", "In-band: the location information service disclaimer text."),
		boolP("reg.x.srtp.enable", "1", "When 1, SRTP for incoming SIP calls is enabled on line x; when 0, SRTP-offered calls are declined."),
		boolP("reg.x.srtp.offer", "0", "If 1, outgoing INVITEs on line x include a secure media description along with the non-secure one."),
		boolP("reg.x.srtp.require", "0", "If 1, line x only uses secure media; offers without it are rejected and reg.x.srtp.offer is forced to 1."),
		boolP("tcpIpApp.ice.turn.callAdmissionControl.enabled", "0", "In-band: call admission control for the TURN relay."),
		strP("tcpIpApp.ice.username", "", "In-band: MS-TURN user name, unique per registration, changes every eight minutes."),
		secretP("tcpIpApp.ice.password", "In-band: MS-TURN password."),
		strP("tcpIpApp.ice.turn.server", "", "In-band: the TURN (A/V Edge) server."),
		intP("tcpIpApp.ice.turn.tcpPort", 1, 65535, "443", "In-band: TURN TCP port."),
		intP("tcpIpApp.ice.turn.udpPort", 1, 65535, "443", "In-band: TURN UDP port."),

		// Registration and sign-in.
		strP("reg.x.address", "", "The user part (1002) or user and host part (1002@example.com) of the registration SIP URI: the Lync sign-in address."),
		strP("reg.x.displayName", "", "Display name used in SIP signalling for line x."),
		strP("reg.x.label", "", "Text label shown next to the line key."),
		strP("reg.x.auth.userId", "", "User ID for authentication challenges for this registration (the Active Directory user name)."),
		secretP("reg.x.auth.password", "The password for authentication challenges for this registration; overrules the password entered on the handset."),
		strP("reg.x.auth.domain", "", "The domain of the authorization server that checks user names and passwords (NetBIOS name first, else DNS domain)."),
		strP("reg.x.auth.extension", "", "handset emulator (not a Polycom parameter): the extension typed at 'Sign in: PIN & Ext.'."),
		secretP("reg.x.auth.pin", "handset emulator (not a Polycom parameter): the PIN typed at 'Sign in: PIN & Ext.'."),
		strP("reg.x.server.y.address", "", "Address of SIP server y for line x (host name; empty: DNS SRV of the sign-in domain)."),
		intP("reg.x.server.y.port", 0, 65535, "0", "Port of SIP server y; 0 means the transport default (5061 for TLS, 5060 otherwise)."),
		intP("reg.x.server.y.expires", 10, math.MaxInt32, "3600", "Requested registration lifetime in seconds (minimum 10)."),
		intP("reg.x.server.y.expires.overlap", 5, 65535, "60", "Seconds before expiry to re-register; when the server's expiry is below this, re-register at half the expiry."),
		intP("reg.x.server.y.retryTimeOut", 0, 65535, "0", "Milliseconds between retries of a failed request; 0 uses RFC 3261 timers."),
		intP("reg.x.server.y.retryMaxCount", 0, 20, "3", "Retries before moving to the next server; 0 means 3."),
		enumP("reg.x.server.y.failOver.failBack.mode", "newRequests", failBackModes, "When to fail back to a higher-priority server: newRequests, DNSTTL, registration, duration."),
		{Pattern: "reg.x.server.y.failOver.failBack.timeout", Kind: KindInt, Permitted: "0 or 60-65535", Default: "3600", min: 60, max: 65535, zeroOK: true,
			Description: "Seconds before failing back (mode duration); 0 means no fail back until the current server fails."},
		boolP("reg.x.server.y.failOver.failRegistrationOn", "0", "If 1, a failed-over registration also fails on the old server."),
		boolP("reg.x.server.y.failOver.onlySignalWithRegistered", "1", "If 1, a call that must signal through an unregistered server ends."),
		boolP("reg.x.server.y.failOver.reRegisterOn", "0", "If 1, register with the next server on failover."),
		boolP("reg.x.outboundProxy.failOver.failRegistrationOn", "0", "Overrides reg.x.server.y.failOver.failRegistrationOn for the outbound proxy."),
		strP("voIpProt.server.x.address", "", "Default SIP server x for lines without reg.x.server.y.address."),
		intP("voIpProt.server.x.port", 0, 65535, "0", "Port of default SIP server x; 0: transport default."),
		enumP("voIpProt.server.x.transport", "DNSnaptr", transports, "Transport to default SIP server x."),

		// SRTP.
		boolP("sec.srtp.enable", "1", "If 1, the handset accepts SRTP offers."),
		boolP("sec.srtp.offer", "0", "If 1, the handset offers SRTP in outgoing calls."),
		boolP("sec.srtp.require", "0", "If 1, SRTP is required; calls without it are rejected."),

		// QoS (seed QoS chapter; the footnote marks both as causing a restart).
		restart(nullable(intP("qos.ip.rtp.dscp", 0, 63, "", "DSCP of RTP packets (voice: 46). Overrules the other qos.ip.rtp.* parameters."))),
		restart(nullable(intP("qos.ip.rtp.video.dscp", 0, 63, "", "DSCP of video RTP packets."))),
		restart(nullable(intP("qos.ip.callControl.dscp", 0, 63, "", "DSCP of call-control (SIP) packets (control: 40). Overrules the other qos.ip.callControl.* parameters."))),

		// TLS trust.
		restart(strP("sec.TLS.customCaCert.x", "", "Custom CA certificate x (PEM) trusted by the TLS profiles.")),

		// Features and soft keys used in the seed and public sets.
		boolP("feature.flexibleLineKey.enable", "0", "Enable flexible line key assignment."),
		boolP("softkey.feature.redial", "1", "Show the Redial soft key."),
		intP("log.level.change.pps", 0, 6, "4", "Log level of the pps module (seed Appendix C: 2 to debug the dial plan pre-processor)."),
		intP("log.level.change.utilm", 0, 6, "4", "Log level of the utilm module (seed Appendix C: 3 to debug the dial plan conversion)."),

		// Call handling (Polycom UC Software admin guide names; the seed's
		// feature table: call waiting, up to four calls per registration).
		nullable(boolP("call.autoAnswer.SIP", "", "If 1, incoming SIP calls are answered automatically after the se.rt.ringAutoAnswer.timeout ring; if 0 they ring until call.offeringTimeOut. Null (handset emulator): answered automatically, because the emulator has no user to press Answer.")),
		intP("se.rt.ringAutoAnswer.timeout", 0, 60000, "2000", "Duration of the ring in milliseconds before an auto-answered call is answered (ring class ringAutoAnswer)."),
		intP("call.offeringTimeOut", 0, 65535, "60", "Seconds an incoming call may ring before it is dropped; 0 is infinite."),
		intP("call.ringBackTimeOut", 0, 65535, "60", "Seconds an outgoing call may remain in the ringback state before it is dropped; 0 is infinite."),
		boolP("call.callWaiting.enable", "1", "If 1, an incoming call is offered while another call is active (call waiting); if 0 it is rejected busy."),
		intP("call.callsPerLineKey", 1, 24, "4", "Calls that may be active or on hold per line; the 84-Series supports up to four per registration (seed feature table). A further incoming call is answered 486 Busy Here."),
		nullable(intP("reg.x.callsPerLineKey", 1, 24, "", "Per-registration override of call.callsPerLineKey.")),
	}
	for _, c := range codecPrefNames {
		def := "0"
		switch c {
		case "G722":
			def = "4"
		case "G711_Mu":
			def = "6"
		case "G711_A":
			def = "7"
		case "G729_AB":
			def = "8"
		}
		ps = append(ps, intP("voice.codecPref."+c, 0, 27, def, "Priority of the "+c+" codec; 0 disables it, 1 is the highest priority."))
	}
	// device.* parameters: each applies only with device.set="1" and its own
	// .set="1" (USERS.md §A.3 rule 5); every device.X has a device.X.set.
	devices := []Param{
		restart(boolP("device.set", "0", "Master switch: device.* parameters apply only when 1 (and their own .set is 1).")),
		restart(enumP("device.baseProfile", "Generic", baseProfiles, "Base profile. Lync overlays the Lync base profile (seed Appendix A); parameters written in files override it.")),
		restart(strP("device.sntp.serverName", "", "SNTP server.")),
		restart(nullable(intP("device.sntp.gmtOffset", -43200, 50400, "", "Offset of local time from GMT in seconds."))),
		restart(strP("device.prov.serverName", "", "Provisioning (boot) server address.")),
		restart(enumP("device.prov.serverType", "HTTP", []string{"FTP", "TFTP", "HTTP", "HTTPS", "FTPS"}, "Provisioning server protocol.")),
		restart(strP("device.prov.user", "", "Provisioning server user name.")),
		restart(Param{Pattern: "device.prov.password", Kind: KindSecret, Permitted: "string (secret)", Description: "Provisioning server password.", Secret: true, nullable: true}),
	}
	for _, d := range devices {
		ps = append(ps, d)
		if d.Pattern != "device.set" {
			ps = append(ps, restart(boolP(d.Pattern+".set", "0", "1 lets "+d.Pattern+" apply (with device.set=1).")))
		}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Pattern < ps[j].Pattern })
	return ps
}

// index maps a normalised pattern (every index segment written "x") to its
// entry.
var index = func() map[string]int {
	m := make(map[string]int, len(params))
	for i, p := range params {
		m[normPattern(p.Pattern)] = i
	}
	return m
}()

// normPattern rewrites the y of a pattern to x.
func normPattern(p string) string {
	segs := strings.Split(p, ".")
	for i, s := range segs {
		if s == "y" {
			segs[i] = "x"
		}
	}
	return strings.Join(segs, ".")
}

// normName rewrites every index segment of a name (a decimal integer 1-999
// without leading zeros) to x and returns the indices in order.
func normName(name string) (string, []string) {
	segs := strings.Split(name, ".")
	var idx []string
	for i, s := range segs {
		if isIndex(s) {
			idx = append(idx, s)
			segs[i] = "x"
		}
	}
	return strings.Join(segs, "."), idx
}

func isIndex(s string) bool {
	if s == "" || len(s) > 3 || s[0] == '0' {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Params returns the registry sorted by pattern.
func Params() []Param {
	out := make([]Param, len(params))
	copy(out, params)
	return out
}

// LookupParam returns the registry entry a concrete name (reg.1.server.2.port)
// or a pattern (reg.x.server.y.port) belongs to.
func LookupParam(name string) (Param, bool) {
	n, _ := normName(normPattern(name))
	i, ok := index[n]
	if !ok {
		return Param{}, false
	}
	return params[i], true
}

// Validate checks value against the registry entry of name. Unknown names
// return a *ParamError that suggests the nearest known name.
func Validate(name, value string) error {
	p, ok := LookupParam(name)
	if !ok {
		return unknownParamError(name, value)
	}
	return p.check(name, value)
}

// check validates value for the concrete parameter name. The error has no
// file or line; callers fill them in.
func (p Param) check(name, value string) error {
	bad := func(msg string) error {
		v := value
		if p.Secret {
			v = redacted
		}
		return &ParamError{Param: name, Value: v, Permitted: p.Permitted, Msg: msg}
	}
	if value == "" {
		if p.nullable || p.Kind == KindString || p.Kind == KindSecret {
			return nil
		}
		return bad("empty value")
	}
	switch p.Kind {
	case KindBool:
		if value != "0" && value != "1" {
			return bad("")
		}
	case KindInt:
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return bad("not an integer")
		}
		if (n < p.min || n > p.max) && (!p.zeroOK || n != 0) {
			return bad("out of range")
		}
	case KindEnum:
		for _, e := range p.enum {
			if value == e {
				return nil
			}
		}
		for _, e := range p.enum {
			if strings.EqualFold(value, e) {
				return bad("values are case-sensitive, did you mean " + strconvQuote(e) + "?")
			}
		}
		return bad("")
	case KindLifetime:
		if _, err := ParseLifetime(value); err != nil {
			return bad(err.Error())
		}
	}
	return nil
}

func strconvQuote(s string) string { return strconv.Quote(s) }

// ParseLifetime parses sec.srtp.key.lifetime: "0" (not set), a decimal
// integer of at least 1024, or power-of-two notation "2^N" with 10 <= N <= 48
// (RFC 3711 section 9.2 bounds an SRTP master key at 2^48 packets).
func ParseLifetime(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	if b, e, ok := strings.Cut(s, "^"); ok {
		if strings.TrimSpace(b) != "2" {
			return 0, errorf("lifetime %q: only powers of 2 are allowed", s)
		}
		n, err := strconv.Atoi(strings.TrimSpace(e))
		if err != nil || n < 10 || n > 48 {
			return 0, errorf("lifetime %q: exponent must be 10 to 48", s)
		}
		return 1 << uint(n), nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, errorf("lifetime %q: not an integer or 2^N", s)
	}
	if n != 0 && (n < 1024 || n > 1<<48) {
		return 0, errorf("lifetime %q: must be 0 or 1024 to 2^48", s)
	}
	return n, nil
}

// ocrFixes are the seed's OCR misreadings (USERS.md §A.3 rule 9).
var ocrFixes = []struct{ bad, good string }{
	{"tcplpApp", "tcpIpApp"},
	{"volpProt", "voIpProt"},
}

// nearMiss returns the canonical name for an OCR or case slip of a known
// parameter (tcplpApp.ice.mode, reg.1.server.1.registerRetry.maxTimeout).
func nearMiss(name string) (string, bool) {
	fixed := name
	for _, f := range ocrFixes {
		if strings.HasPrefix(fixed, f.bad) {
			fixed = f.good + fixed[len(f.bad):]
		}
	}
	n, idx := normName(fixed)
	for _, p := range params {
		if strings.EqualFold(normPattern(p.Pattern), n) {
			return instantiate(p.Pattern, idx), true
		}
	}
	return "", false
}

// instantiate writes the indices idx into pattern's x and y segments.
func instantiate(pattern string, idx []string) string {
	segs := strings.Split(pattern, ".")
	k := 0
	for i, s := range segs {
		if s == "x" || s == "y" {
			v := "1"
			if k < len(idx) {
				v = idx[k]
			}
			k++
			segs[i] = v
		}
	}
	return strings.Join(segs, ".")
}

// Suggest returns the known parameter name nearest to name (edit distance on
// the normalised form), with name's indices filled in, or "" if nothing is
// reasonably close.
func Suggest(name string) string {
	if c, ok := nearMiss(name); ok {
		return c
	}
	n, idx := normName(name)
	best, bestD := "", math.MaxInt
	for _, p := range params {
		d := levenshtein(strings.ToLower(n), strings.ToLower(normPattern(p.Pattern)), bestD)
		if d < bestD {
			best, bestD = p.Pattern, d
		}
	}
	if best == "" || bestD > len(n)/3+2 {
		return ""
	}
	return instantiate(best, idx)
}

// unknownParamError is the error for a name not in the registry.
func unknownParamError(name, value string) error {
	msg := "unknown parameter"
	if c, ok := nearMiss(name); ok {
		msg += ", did you mean " + c + "?"
	} else if s := Suggest(name); s != "" {
		msg += " (nearest known: " + s + ")"
	}
	return &ParamError{Param: name, Value: value, Msg: msg}
}

// levenshtein is the edit distance of a and b, giving up (returning limit)
// once every cell of a row reaches limit.
func levenshtein(a, b string, limit int) int {
	if len(a) > 256 || len(b) > 256 {
		return limit
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin >= limit {
			return limit
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
