package provision

import (
	"bytes"
	"encoding/xml"
)

// Wire constants (protocols.md §7.1, §7.2, §7.4).
const (
	Event             = "vnd-microsoft-provisioning-v2"
	ContentType       = "application/vnd-microsoft-roaming-provisioning-v2+xml"
	RequestNamespace  = "http://schemas.microsoft.com/2006/09/sip/provisioninggrouplist"
	NotifyNamespace   = "http://schemas.microsoft.com/2006/09/sip/provisiongrouplist-notification"
	ProfileNamespace  = "http://schemas.microsoft.com/2007/03/LocationProfileDescription"
	EventContacts     = "vnd-microsoft-roaming-contacts"
	ContentContacts   = "application/vnd-microsoft-roaming-contacts+xml"
	EventSelf         = "vnd-microsoft-roaming-self"
	ContentSelf       = "application/vnd-microsoft-roaming-self+xml"
	selfNamespace     = "http://schemas.microsoft.com/2006/09/sip/roaming-self"
	groupServer       = "ServerConfiguration"
	groupLocation     = "locationPolicy"
	groupProfile      = "locationProfile"
	groupUserSetting  = "userSetting"
	elemProfile       = "LocationProfileDescription"
	elemPropertyEntry = "propertyEntryList"
)

// DefaultGroups are the provisioning groups a handset asks for: SIPE's four
// (§7.1) plus the location policy (E911), the user settings (voice mail) and
// the location profile (dial plan), the last two as this package's choice.
var DefaultGroups = []string{
	groupServer, "meetingPolicy", "persistentChatConfiguration", "ucPolicy",
	groupLocation, "endpointConfiguration", groupUserSetting, groupProfile,
}

// Header is one SIP header line; repeated names are separate entries.
type Header struct{ Name, Value string }

// Subscription is one self-subscription: its event, the headers to add
// (besides the usual From/To/Call-ID/CSeq/Contact) and the body.
type Subscription struct {
	Event   string
	Headers []Header
	Body    []byte // nil: no body
}

// SubscribeBody is the provisioningGroupList request body (§7.1) naming
// groups, or DefaultGroups when none are given.
func SubscribeBody(groups ...string) []byte {
	if len(groups) == 0 {
		groups = DefaultGroups
	}
	var b bytes.Buffer
	b.WriteString(`<provisioningGroupList xmlns="` + RequestNamespace + `">`)
	for _, g := range groups {
		b.WriteString(`<provisioningGroup name="`)
		_ = xml.EscapeText(&b, []byte(g)) // bytes.Buffer writes do not fail
		b.WriteString(`"/>`)
	}
	b.WriteString(`</provisioningGroupList>`)
	return b.Bytes()
}

// SubscribeHeaders are the headers of the provisioning SUBSCRIBE (§7.1):
// a one-shot fetch (Expires: 0) whose answer comes in the 200 OK or a
// (BE)NOTIFY.
func SubscribeHeaders() []Header {
	return []Header{
		{"Event", Event},
		{"Accept", ContentType},
		{"Content-Type", ContentType},
		{"Supported", "com.microsoft.autoextend"},
		{"Supported", "ms-benotify"},
		{"Proxy-Require", "ms-benotify"},
		{"Supported", "ms-piggyback-first-notify"},
		{"Expires", "0"},
	}
}

// SelfSubscriptions are the subscriptions a handset makes to its own AOR
// after sign-in (§7.4), provisioning first. Expiry and refresh of the
// long-lived ones are the caller's (sipua's) business.
func SelfSubscriptions() []Subscription {
	self := `<roamingList xmlns="` + selfNamespace + `"><roaming type="categories"/><roaming type="containers"/><roaming type="subscribers"/></roamingList>`
	return []Subscription{
		{Event: Event, Headers: SubscribeHeaders(), Body: SubscribeBody()},
		{Event: EventContacts, Headers: []Header{
			{"Event", EventContacts},
			{"Accept", ContentContacts},
			{"Supported", "com.microsoft.autoextend"},
			{"Supported", "ms-benotify"},
			{"Proxy-Require", "ms-benotify"},
			{"Supported", "ms-piggyback-first-notify"},
			{"Supported", "ms-ucs"}, // Lync 2013 Unified Contact Store
		}},
		{Event: EventSelf, Headers: []Header{
			{"Event", EventSelf},
			{"Accept", ContentSelf},
			{"Content-Type", ContentSelf},
			{"Supported", "com.microsoft.autoextend"},
			{"Supported", "ms-benotify"},
			{"Proxy-Require", "ms-benotify"},
			{"Supported", "ms-piggyback-first-notify"},
		}, Body: []byte(self)},
	}
}
