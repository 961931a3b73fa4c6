package labfe

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"strings"
	"time"

	"github.com/handset-dev/handset/labfe/inband"
	"github.com/handset-dev/handset/labfe/internal/sipmsg"
)

// Self-subscriptions (protocols.md §7.1, §7.4), answered strictly: a
// handset SUBSCRIBEs to its own AOR after sign-in for in-band provisioning,
// its contacts and its own roaming data. labfe answers each with a 200 OK
// that piggybacks the first notification (ms-piggyback-first-notify), keeps
// the long-lived ones as dialogs on their flow (they die with it, as in Lync
// with TLS) and rejects what a front end would not accept.

// Events and body types of the self-subscriptions.
const (
	eventContacts = "vnd-microsoft-roaming-contacts"
	typeContacts  = "application/vnd-microsoft-roaming-contacts+xml"
	eventSelf     = "vnd-microsoft-roaming-self"
	typeSelf      = "application/vnd-microsoft-roaming-self+xml"
	eventACL      = "vnd-microsoft-roaming-acl"
	typeACL       = "application/vnd-microsoft-roaming-acls+xml"
	eventWPending = "presence.wpending"
	typeWPending  = "text/xml+msrtc.wpending"

	nsProvisioningRequest = "http://schemas.microsoft.com/2006/09/sip/provisioninggrouplist"
	nsRoamingSelf         = "http://schemas.microsoft.com/2006/09/sip/roaming-self"
	nsContacts            = "http://schemas.microsoft.com/2006/09/sip/roaming-contacts"

	// maxSubscribeExpires caps a granted subscription lifetime.
	maxSubscribeExpires = 8 * time.Hour
	// maxSubscriptionsPerFlow bounds the dialogs one flow may hold.
	maxSubscriptionsPerFlow = 32
)

// ms-diagnostics of the self-subscription checks (labfe's own codes, in
// the range the other labfe-chosen codes use).
const (
	diagSubBadEvent     = `1030;reason="Event package not supported for a self-subscription"`
	diagSubNotAccepted  = `1031;reason="Accept does not list the event package's body type"`
	diagSubBadBody      = `1032;reason="Subscription body missing, of the wrong type or malformed"`
	diagSubNoDialog     = `1033;reason="Subscription dialog does not exist on this flow"`
	diagSubBadExtension = `1034;reason="Proxy-Require names an extension this server does not support"`
	diagSubTooMany      = `1035;reason="Too many subscriptions on this flow"`
)

// selfEvent describes one event package a user may subscribe to on itself.
type selfEvent struct {
	name     string // canonical spelling for the response's Event header
	accept   string // body type the subscriber must Accept (and receives)
	reqType  string // request body type; "" means no body expected
	validate func([]byte) bool
}

var selfEvents = map[string]selfEvent{
	provisioningEvent: {provisioningEvent, provisioningType, provisioningType, validProvisioningRequest},
	eventContacts:     {eventContacts, typeContacts, "", nil},
	eventSelf:         {"vnd-microsoft-roaming-self", typeSelf, typeSelf, validRoamingList},
	eventACL:          {"vnd-microsoft-roaming-ACL", typeACL, "", nil},
	eventWPending:     {eventWPending, typeWPending, "", nil},
}

// supportedExtensions are the option tags labfe honours in Proxy-Require.
var supportedExtensions = map[string]bool{"ms-benotify": true}

// subDialog is one self-subscription dialog held on a flow.
type subDialog struct {
	event   string
	toTag   string
	cseq    uint32
	expires time.Time
}

// subscribe answers a SUBSCRIBE addressed to the user itself.
func (s *Server) subscribe(f *flow, sa *secAssoc, req *sipmsg.Message) *sipmsg.Message {
	evHdr, ok := req.Get("Event")
	if !ok || strings.TrimSpace(evHdr) == "" {
		return s.failure(req, 400, "Bad Request", diagBadRequest)
	}
	evName, _, _ := strings.Cut(evHdr, ";")
	ev, ok := selfEvents[strings.ToLower(strings.TrimSpace(evName))]
	if !ok || aorOf(req.RequestURI) != sa.user.aor {
		r := s.failure(req, 489, "Bad Event", diagSubBadEvent)
		r.Add("Allow-Events", "vnd-microsoft-provisioning-v2,vnd-microsoft-roaming-contacts,vnd-microsoft-roaming-self,vnd-microsoft-roaming-ACL,presence.wpending")
		return r
	}
	toURI, toParams := sipmsg.NameAddr(req.Value("To"))
	if aorOf(toURI) != sa.user.aor {
		return s.failure(req, 403, "Forbidden", diagNotAuthorized)
	}
	if strings.TrimSpace(req.Value("Contact")) == "" {
		return s.failure(req, 400, "Bad Request", diagBadRequest)
	}
	var unsupported []string
	for _, v := range req.All("Proxy-Require") {
		for _, opt := range strings.Split(v, ",") {
			if opt = strings.ToLower(strings.TrimSpace(opt)); opt != "" && !supportedExtensions[opt] {
				unsupported = append(unsupported, opt)
			}
		}
	}
	if len(unsupported) > 0 {
		r := s.failure(req, 420, "Bad Extension", diagSubBadExtension)
		r.Add("Unsupported", strings.Join(unsupported, ","))
		return r
	}
	if !listHas(req.All("Accept"), ev.accept) {
		r := s.failure(req, 406, "Not Acceptable", diagSubNotAccepted)
		r.Add("Accept", ev.accept)
		return r
	}
	if ev.reqType != "" {
		ct, _, _ := strings.Cut(req.Value("Content-Type"), ";")
		if !strings.EqualFold(strings.TrimSpace(ct), ev.reqType) {
			r := s.failure(req, 415, "Unsupported Media Type", diagSubBadBody)
			r.Add("Accept", ev.reqType)
			return r
		}
		if !ev.validate(req.Body) {
			return s.failure(req, 400, "Bad Request", diagSubBadBody)
		}
	}
	want := time.Hour
	if e, has := req.Get("Expires"); has {
		n, err := strconv.Atoi(strings.TrimSpace(e))
		if err != nil || n < 0 {
			return s.failure(req, 400, "Bad Request", diagBadRequest)
		}
		want = time.Duration(n) * time.Second
	}
	grant := min(want, maxSubscribeExpires)
	cseq, _, err := req.CSeq()
	if err != nil {
		return s.failure(req, 400, "Bad Request", diagBadRequest)
	}
	callID := req.Value("Call-ID")
	now := s.now()

	r := s.response(req, 200, "OK")
	_, rp := sipmsg.NameAddr(r.Value("To"))
	s.mu.Lock()
	if toParams["tag"] != "" {
		// A refresh (RFC 6665 §4.1.2.1): the dialog must exist on this flow,
		// for this event, and the CSeq must grow (RFC 3261 §12.2.2).
		d := f.subs[callID]
		if d == nil || d.toTag != toParams["tag"] || d.event != ev.name || !now.Before(d.expires) {
			s.mu.Unlock()
			return s.failure(req, 481, "Call/Transaction Does Not Exist", diagSubNoDialog)
		}
		if cseq <= d.cseq {
			s.mu.Unlock()
			return s.failure(req, 500, "Server Internal Error", diagBadRequest)
		}
		d.cseq, d.expires = cseq, now.Add(grant)
		if grant == 0 {
			delete(f.subs, callID)
		}
	} else if grant > 0 {
		if f.subs == nil {
			f.subs = map[string]*subDialog{}
		}
		if _, dup := f.subs[callID]; !dup && len(f.subs) >= maxSubscriptionsPerFlow {
			for id, d := range f.subs { // forget expired dialogs first
				if !now.Before(d.expires) {
					delete(f.subs, id)
				}
			}
			if len(f.subs) >= maxSubscriptionsPerFlow {
				s.mu.Unlock()
				return s.failure(req, 503, "Service Unavailable", diagSubTooMany)
			}
		}
		f.subs[callID] = &subDialog{event: ev.name, toTag: rp["tag"], cseq: cseq, expires: now.Add(grant)}
	}
	s.mu.Unlock()

	r.Add("Expires", strconv.Itoa(int(grant/time.Second)))
	r.Add("Event", ev.name)
	r.Add("Contact", "<sip:"+s.cfg.FQDN+":5061;transport=tls>")
	if listHas(req.All("Supported"), "ms-piggyback-first-notify") || ev.name == provisioningEvent {
		// The first notification rides in the 200 OK (provisioning always:
		// it is a one-shot fetch, §7.1).
		r.Add("Content-Type", ev.accept)
		r.Body = s.firstNotify(ev.name, sa.user.aor)
	}
	return r
}

// firstNotify is the body of the first notification of an event.
func (s *Server) firstNotify(event, aor string) []byte {
	switch event {
	case provisioningEvent:
		data := inband.Default()
		if s.cfg.InBand != nil {
			data = *s.cfg.InBand
		}
		if data.TestCallURI == "" && !s.cfg.NoEcho {
			data.TestCallURI = s.cfg.EchoURI // botSipUriForTestCall (echo.go)
		}
		return inband.Document(data, aor)
	case eventContacts:
		return []byte(`<contactList deltaNum="1" xmlns="` + nsContacts + `"><group id="1" name="~" externalURI=""/></contactList>`)
	case "vnd-microsoft-roaming-self":
		return []byte(`<roamingData xmlns="` + nsRoamingSelf + `"><categories uri="sip:` + xmlEscape(aor) + `"/><containers/><subscribers/></roamingData>`)
	default:
		return nil
	}
}

// listHas reports whether a comma-separated header list names want (media
// types compared without parameters, case-insensitively).
func listHas(values []string, want string) bool {
	for _, v := range values {
		for _, e := range strings.Split(v, ",") {
			e, _, _ = strings.Cut(e, ";")
			if strings.EqualFold(strings.TrimSpace(e), want) {
				return true
			}
		}
	}
	return false
}

// validProvisioningRequest: a provisioningGroupList in its namespace naming
// at least one group (§7.1).
func validProvisioningRequest(body []byte) bool {
	var l struct {
		XMLName xml.Name `xml:"provisioningGroupList"`
		Groups  []struct {
			Name string `xml:"name,attr"`
		} `xml:"provisioningGroup"`
	}
	if err := xml.NewDecoder(bytes.NewReader(body)).Decode(&l); err != nil || l.XMLName.Space != nsProvisioningRequest || len(l.Groups) == 0 {
		return false
	}
	for _, g := range l.Groups {
		if strings.TrimSpace(g.Name) == "" {
			return false
		}
	}
	return true
}

// validRoamingList: a roamingList in the roaming-self namespace with at
// least one roaming type (§7.4).
func validRoamingList(body []byte) bool {
	var l struct {
		XMLName xml.Name `xml:"roamingList"`
		Roaming []struct {
			Type string `xml:"type,attr"`
		} `xml:"roaming"`
	}
	if err := xml.NewDecoder(bytes.NewReader(body)).Decode(&l); err != nil || l.XMLName.Space != nsRoamingSelf || len(l.Roaming) == 0 {
		return false
	}
	for _, r := range l.Roaming {
		if strings.TrimSpace(r.Type) == "" {
			return false
		}
	}
	return true
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s)) // bytes.Buffer writes do not fail
	return b.String()
}
