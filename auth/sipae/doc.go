// Package sipae implements the MS-SIPAE SIP authentication extensions as a
// pure core: no sipgo import, no I/O; the SIP layer fills plain structs.
//
// What follows which section:
//   - Auth header grammar for both families, 401 WWW-Authenticate /
//     Authorization / Authentication-Info and 407 Proxy-* (Params, Parse,
//     String, Family): MS-SIPAE 2.2.2–2.2.5, field order as SIPE writes it
//     (protocols.md §2.1, §2.2).
//   - Signature buffer (Buffer, URIOf, PAIURIs): MS-SIPAE 3.2.5.2 and
//     MS-SIP 3.1.4.2, field lists for versions < 3 and ≥ 3, values exactly as
//     received (protocols.md §2.3, pitfall 2).
//   - Security association (SA, State, Next): MS-SIPAE 3.2.1/3.3.1 and
//     3.2.5/3.3.5, crand/cnum generation, rspauth/response verification and
//     replay refusal (protocols.md §2.4).
//   - Unsigned incoming messages (AcceptUnsigned): protocols.md §2.4,
//     pitfall 3.
//   - epid and +sip.instance (NewEpid, InstanceFromEpid): MS-SIPAE 3.3.5.2
//     via MS-SIPRE, vectors MS-SIPAE 4.1/4.2 (protocols.md §1.3).
//   - NTLM signing (NTLMMechanism): MS-NLMP datagram MAC with SeqNum 100
//     (protocols.md §4.5, pitfall 1).
package sipae
