// Package ice connects one media leg with ICE the way the 84-Series does
// (seed "STUN/TURN/ICE", protocols.md §10.2): a pion/ice v4 agent with host
// and server-reflexive candidates and, with tcpIpApp.ice.mode=MSOCS, our
// MS-TURN relay allocation (media/msturn) injected as a virtual relay
// candidate through Agent.AddVirtualCandidate (DEPENDENCIES.md §3.1). With
// tcpIpApp.ice.mode=GENERIC ("standard") pion gathers an RFC 5766 relay
// candidate itself from a TURN server (pion/turn).
//
// SDP: candidate lines are written and read in the MS-ICE2 form
// ("candidate:<foundation> <component> UDP|TCP-PASS|TCP-ACT <priority> <ip>
// <port> typ host|srflx|relay|prflx [raddr <ip> rport <port>]"), with the
// TCP transport tokens translated to and from pion's tcptype; ice-ufrag,
// ice-pwd and remote-candidates lines are built here too (sdp.go).
//
// What pion cannot emit in its connectivity checks (it has no hook to add
// attributes to outgoing STUN, DEPENDENCIES.md §3.2): MS-ICE2's
// IMPLEMENTATION-VERSION (0x8070, value 2) in requests and responses,
// CANDIDATE-IDENTIFIER (0x8054) in requests, and the MS-ICE2
// MESSAGE-INTEGRITY length quirk (header length covering FINGERPRINT). A
// real Lync peer may therefore see RFC 5245 checks only. labfe is not an ICE
// endpoint: its MS-TURN relay forwards check packets as opaque data and so
// accepts checks with or without those attributes; the end-to-end tests
// here run pion against pion through that relay.
package ice
