package configs

// lyncBaseProfile is what device.baseProfile="Lync" sets: the seed's
// Appendix A ("Base Profile parameters"), with the OCR spellings tcplpApp and
// volpProt read as tcpIpApp and voIpProt and registerRetry.maxTimeout written
// with Polycom's canonical maxTimeOut. Files override every value here
// ("first set the Base Profile to Lync and then set the individual
// parameters", Appendix A). Values apply to line 1 and server 1, as the
// table writes them.
var lyncBaseProfile = []struct{ name, value string }{
	{"call.enableOnNotRegistered", "0"},
	{"callLists.logConsultationCalls", "1"},
	{"dialplan.applyToDirectoryDial", "1"},
	{"dialplan.1.applyToForward", "1"},
	{"feature.messaging.enabled", "1"},
	{"feature.presence.enabled", "1"},
	{"reg.1.applyServerDigitMapLocally", "1"},
	{"reg.1.auth.useLoginCredentials", "1"},
	{"reg.1.auth.usePinCredentials", "1"},
	{"reg.1.serverFeatureControl.cf", "1"},
	{"reg.1.serverFeatureControl.localProcessing.cf", "0"},
	{"reg.1.serverFeatureControl.signalingMethod", "serviceMsForwardContact"},
	{"reg.1.server.1.registerRetry.baseTimeOut", "10"},
	{"reg.1.server.1.registerRetry.maxTimeOut", "180"},
	{"reg.1.server.1.specialInterop", "lync2010"},
	{"reg.1.server.1.transport", "TLS"},
	{"roaming_buddies.reg", "1"},
	{"sec.srtp.holdWithNewKey", "0"},
	{"sec.srtp.key.lifetime", "2^31"},
	{"sec.srtp.mki.enabled", "1"},
	{"sec.srtp.mki.length", "1"},
	{"sec.srtp.mki.startSessionAtOne", "1"},
	{"sec.srtp.resumeWithNewKey", "0"},
	{"sec.TLS.profileSelection.SIP", "ApplicationProfile1"},
	{"softkey.feature.simplifiedSignIn", "1"},
	{"tcpIpApp.ice.mode", "MSOCS"},
	{"tcpIpApp.keepalive.tcp.sip.tls.enable", "1"},
	{"voice.audioProfile.G7221.24kbps.payloadType", "112"},
	{"voice.codecPref.G7221.24kbps", "5"},
	{"voice.codecPref.G7221.32kbps", "0"},
	{"voIpProt.SIP.IM.autoAnswerDelay", "40"},
	{"voIpProt.SIP.allowTransferOnProceeding", "0"},
	{"voIpProt.SIP.serverFeatureControl.cf", "1"},
	{"voIpProt.SIP.serverFeatureControl.dnd", "1"},
	{"voIpProt.SIP.serverFeatureControl.localProcessing.cf", "0"},
	{"voIpProt.SIP.serverFeatureControl.localProcessing.dnd", "0"},
	{"voIpProt.SIP.header.diversion.enable", "1"},
	{"voIpProt.SIP.mtls.enable", "0"},
	// In-band table defaults the profile states outright (the other in-band
	// rows "depend on how the Lync Server is configured").
	{"reg.1.srtp.enable", "1"},
	{"reg.1.srtp.offer", "0"},
	{"reg.1.srtp.require", "0"},
	{"reg.1.ice.turn.callAdmissionControl.enabled", "0"},
	{"tcpIpApp.ice.turn.callAdmissionControl.enabled", "0"},
	{"tcpIpApp.ice.turn.tcpPort", "443"},
	{"tcpIpApp.ice.turn.udpPort", "443"},
}

// ProfileValues returns the parameter values of the named base profile
// ("Lync"; "Generic" and unknown names have none).
func ProfileValues(name string) map[string]string {
	if name != "Lync" {
		return nil
	}
	m := make(map[string]string, len(lyncBaseProfile))
	for _, kv := range lyncBaseProfile {
		m[kv.name] = kv.value
	}
	return m
}
