package ntlm

import "strings"

// Flags are the NEGOTIATE flags of MS-NLMP 2.2.2.5.
type Flags uint32

// MS-NLMP 2.2.2.5, in bit order.
const (
	FlagUnicode                 Flags = 0x00000001
	FlagOEM                     Flags = 0x00000002
	FlagRequestTarget           Flags = 0x00000004
	FlagSign                    Flags = 0x00000010
	FlagSeal                    Flags = 0x00000020
	FlagDatagram                Flags = 0x00000040
	FlagLMKey                   Flags = 0x00000080
	FlagNTLM                    Flags = 0x00000200
	FlagAnonymous               Flags = 0x00000800
	FlagOEMDomainSupplied       Flags = 0x00001000
	FlagOEMWorkstationSupplied  Flags = 0x00002000
	FlagAlwaysSign              Flags = 0x00008000
	FlagTargetTypeDomain        Flags = 0x00010000
	FlagTargetTypeServer        Flags = 0x00020000
	FlagExtendedSessionSecurity Flags = 0x00080000
	FlagIdentify                Flags = 0x00100000
	FlagRequestNonNTSessionKey  Flags = 0x00400000
	FlagTargetInfo              Flags = 0x00800000
	FlagVersion                 Flags = 0x02000000
	Flag128                     Flags = 0x20000000
	FlagKeyExch                 Flags = 0x40000000
	Flag56                      Flags = 0x80000000
)

var flagNames = []struct {
	f    Flags
	name string
}{
	{FlagUnicode, "UNICODE"}, {FlagOEM, "OEM"}, {FlagRequestTarget, "REQUEST_TARGET"},
	{FlagSign, "SIGN"}, {FlagSeal, "SEAL"}, {FlagDatagram, "DATAGRAM"}, {FlagLMKey, "LM_KEY"},
	{FlagNTLM, "NTLM"}, {FlagAnonymous, "ANONYMOUS"}, {FlagOEMDomainSupplied, "OEM_DOMAIN_SUPPLIED"},
	{FlagOEMWorkstationSupplied, "OEM_WORKSTATION_SUPPLIED"}, {FlagAlwaysSign, "ALWAYS_SIGN"},
	{FlagTargetTypeDomain, "TARGET_TYPE_DOMAIN"}, {FlagTargetTypeServer, "TARGET_TYPE_SERVER"},
	{FlagExtendedSessionSecurity, "EXTENDED_SESSIONSECURITY"}, {FlagIdentify, "IDENTIFY"},
	{FlagRequestNonNTSessionKey, "REQUEST_NON_NT_SESSION_KEY"}, {FlagTargetInfo, "TARGET_INFO"},
	{FlagVersion, "VERSION"}, {Flag128, "128"}, {FlagKeyExch, "KEY_EXCH"}, {Flag56, "56"},
}

// Has reports whether all bits of want are set.
func (f Flags) Has(want Flags) bool { return f&want == want }

// String lists the flag names joined by "|" (unknown bits in hex), for the
// registration-debugging trace.
func (f Flags) String() string {
	if f == 0 {
		return "0"
	}
	var parts []string
	rest := f
	for _, n := range flagNames {
		if f&n.f != 0 {
			parts = append(parts, n.name)
			rest &^= n.f
		}
	}
	if rest != 0 {
		parts = append(parts, "0x"+strings.ToUpper(hex32(uint32(rest))))
	}
	return strings.Join(parts, "|")
}

func hex32(v uint32) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 8)
	for i := 7; i >= 0; i-- {
		b[i] = digits[v&0xf]
		v >>= 4
	}
	return string(b)
}

// Flag sets used by this package.
const (
	// sipeBase is what SIPE (and so Lync) requires of any CHALLENGE
	// (protocols.md §4.2).
	sipeBase = FlagUnicode | FlagNTLM | FlagAlwaysSign | FlagExtendedSessionSecurity | FlagTargetInfo
	// connectionlessOffer is SIPE's connectionless set; the AUTHENTICATE
	// flags are (CHALLENGE flags ∧ this) ∨ REQUEST_TARGET (protocols.md §4.2).
	connectionlessOffer = sipeBase | FlagVersion | Flag128 | Flag56 | FlagRequestTarget |
		FlagSign | FlagDatagram | FlagIdentify | FlagKeyExch
	// connectionlessRequired: SIPE also insists on IDENTIFY, but
	// gss-ntlmssp's datagram CHALLENGE (0xe28ab275) lacks it and Lync does
	// not need it for signing, so it is taken when offered, not required.
	connectionlessRequired = sipeBase | FlagSign | FlagDatagram | FlagKeyExch
	// negotiateFlags is the connection-oriented NEGOTIATE (MS-NLMP
	// 3.1.5.1.1), what web-service clients send for HTTP NTLM.
	negotiateFlags = FlagUnicode | FlagOEM | FlagRequestTarget | FlagSign | FlagSeal | FlagNTLM |
		FlagAlwaysSign | FlagExtendedSessionSecurity | FlagTargetInfo | FlagVersion |
		Flag128 | FlagKeyExch | Flag56
	connectionRequired = FlagUnicode | FlagNTLM | FlagExtendedSessionSecurity
	// serverDatagramFlags mirrors the OCS CHALLENGE 0xE29882F3 without OEM
	// and LM_KEY, plus TARGET_TYPE_DOMAIN because TargetName is the NetBIOS
	// domain (protocols.md §4.2, MS-NLMP 3.2.5.1.1).
	serverDatagramFlags = FlagUnicode | FlagRequestTarget | FlagSign | FlagSeal | FlagDatagram |
		FlagNTLM | FlagAlwaysSign | FlagTargetTypeDomain | FlagExtendedSessionSecurity |
		FlagIdentify | FlagTargetInfo | FlagVersion | Flag128 | FlagKeyExch | Flag56
	serverConnectionFlags = FlagUnicode | FlagRequestTarget | FlagSign | FlagSeal | FlagNTLM |
		FlagAlwaysSign | FlagTargetTypeDomain | FlagExtendedSessionSecurity | FlagTargetInfo |
		FlagVersion | Flag128 | FlagKeyExch | Flag56
)
