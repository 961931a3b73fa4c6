// Package provision is the pure core of Lync in-band provisioning
// (protocols.md §7): it builds the vnd-microsoft-provisioning-v2 SUBSCRIBE
// (and the other self-subscriptions a handset makes after sign-in, §7.4) and
// parses the provisionGroupList body of the 200 OK / NOTIFY / BENOTIFY into
// typed Settings. Settings.Params maps them to the handset's own parameter
// names, the values a real 84-Series dumps in MAC-upload-CallServer.cfg
// (seed, "Understanding In-Band Provisioning"); sipua feeds them to configs as
// the "in-band" layer. No I/O here; sipua does the SIP exchange.
//
// Where protocols.md marks an item [?], this package chooses as follows, and
// labfe/inband (written independently) produces the same shapes:
//
//   - locationPolicy: propertyEntryList/property[@name] with
//     EnhancedEmergencyServicesEnabled, EmergencyDialString,
//     EmergencyDialMask (entries separated by ';'),
//     EnhancedEmergencyServiceDisclaimer and LocationPolicyTagID. The e911
//     parameters and reg.1.lisdisclaimer are emitted only when
//     EnhancedEmergencyServicesEnabled is true and a dial string is set; with
//     E911 off the phone gets no emergency plan.
//   - The dial plan travels in a provisionGroup named "locationProfile"
//     holding an MS-SIPRE Appendix B LocationProfileDescription (namespace
//     http://schemas.microsoft.com/2007/03/LocationProfileDescription: Name,
//     Rule{Pattern, Translation, InternalEnterpriseExtension,
//     ApplicableForDeviceDialing}, ExternalAccessPrefix,
//     OptimizeDeviceDialing). A real pool may deliver it through the
//     Translation service instead (§7.3 open item); labfe uses this group.
//   - Voice mail (MWI call-back) comes from a provisionGroup "userSetting"
//     with children exumEnabled and voiceMailUri: enabled with a URI gives
//     msg.mwi.1.callBackMode=contact and msg.mwi.1.callBack=URI, otherwise
//     callBackMode=disabled.
//   - ucPC2PCAVEncryption maps to reg.1.srtp.*: SupportEncryption (optional)
//     → enable 1, offer 0, require 0 (the seed's defaults);
//     DoNotSupportEncryption → 0, 0, 0; anything else (RequireEncryption)
//     → 1, 1, 1 (SIPE treats unknown values as required).
//   - dialplan.routing.emergency.1.value is the dial string followed by the
//     mask entries, comma-separated, without repeats.
//   - The TURN server, user name and password (tcpIpApp.ice.turn.server,
//     tcpIpApp.ice.username, tcpIpApp.ice.password) come from MRAS
//     (sipua/mras, §8), not from this body; Params emits the seed's fixed
//     in-band items tcpIpApp.ice.turn.callAdmissionControl.enabled=0 and
//     reg.1.ice.turn.callAdmissionControl.enabled=0.
//
// Hostile bodies: Parse rejects bodies over MaxBodySize, any DOCTYPE or other
// directive (so no entity can be declared, let alone expanded; encoding/xml
// also never expands external or custom entities), nesting deeper than
// MaxDepth and more than MaxElements elements, each with a typed error.
package provision
