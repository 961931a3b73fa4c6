// Package configs is the Polycom/Spectralink .cfg engine: it reads a
// provisioning directory the way a Spectralink 84-Series handset reads its
// boot server, validates every parameter against a typed registry, and
// produces the effective configuration of one handset with the source of
// every value (USERS.md §A.3–A.4; seed: spectralink-84-series-lync2013-
// interop-guide).
//
// # Boot chain
//
// The handset reads <MAC>.cfg (12 hex digits, either case) or else
// 000000000000.cfg, takes the APPLICATION element's CONFIG_FILES list and
// processes it left to right. The first file that sets a parameter wins
// (Polycom SIP admin guide: "The parameter found first in the list of files
// will be the one that is effective"); later definitions are kept as
// "shadowed" so `handset config show --explain` can show them.
//
// # Precedence (highest first)
//
//	--set            WithSet: the operator's explicit command line
//	in-band          Effective.WithLayer(InBand, …): values pushed by the Lync server
//	override row     WithOverrides: one users.csv row (an in-memory <MAC>-ext.cfg)
//	files            CONFIG_FILES, first file wins
//	base profile     device.baseProfile="Lync": the seed's Appendix A values
//	default          the registry's generic default
//
// In-band ranks above files and override rows: the seed says the Lync server
// supplies these values (dial plan, E911, MWI, ICE/TURN) and the phone
// translates and uses them whatever the files say, and a real phone can only
// be told otherwise by a local change (which --set models). USERS.md §A.3
// rule 8 leaves this open; this is our choice.
//
// # Rules
//
// device.* parameters from files apply only with device.set="1" and their own
// .set="1"; otherwise they are ignored with a warning. --set and override
// rows apply device.* directly. Credentials written in a file mean automatic
// sign-in, allowed only when reg.x.auth.useLoginCredentials and
// reg.x.auth.usePinCredentials are both 0 (seed, "Signing into Lync").
// Unknown parameters are warnings naming the nearest known parameter, except
// OCR or case slips of a known name (tcplpApp.ice.mode), which are errors.
//
// Secrets (reg.x.auth.password, reg.x.auth.pin, tcpIpApp.ice.password) are
// Secret values and print [redacted] in every form.
package configs
