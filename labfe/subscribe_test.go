package labfe_test

import (
	"strings"
	"testing"

	"github.com/handset-dev/handset/labfe/internal/sipmsg"
	"github.com/handset-dev/handset/labfe/labfetest"
)

// selfSubscribe builds alice's self-SUBSCRIBE for event as a Lync handset
// sends it (protocols.md §7.1, §7.4).
func selfSubscribe(event, callID string, cseq int) *sipmsg.Message {
	m := request("SUBSCRIBE", "sip:alice@contoso.test", "<sip:alice@contoso.test>;tag=t"+callID+";epid=8248ca9ebb", "<sip:alice@contoso.test>", callID, cseq, "sip:127.0.0.1:5061;transport=tls")
	m.Add("Event", event)
	m.Add("Supported", "com.microsoft.autoextend")
	m.Add("Supported", "ms-benotify")
	m.Add("Proxy-Require", "ms-benotify")
	m.Add("Supported", "ms-piggyback-first-notify")
	switch event {
	case "vnd-microsoft-provisioning-v2":
		m.Add("Accept", "application/vnd-microsoft-roaming-provisioning-v2+xml")
		m.Add("Content-Type", "application/vnd-microsoft-roaming-provisioning-v2+xml")
		m.Add("Expires", "0")
		m.Body = []byte(`<provisioningGroupList xmlns="http://schemas.microsoft.com/2006/09/sip/provisioninggrouplist"><provisioningGroup name="ServerConfiguration"/><provisioningGroup name="locationPolicy"/></provisioningGroupList>`)
	case "vnd-microsoft-roaming-contacts":
		m.Add("Accept", "application/vnd-microsoft-roaming-contacts+xml")
		m.Add("Supported", "ms-ucs")
	case "vnd-microsoft-roaming-self":
		m.Add("Accept", "application/vnd-microsoft-roaming-self+xml")
		m.Add("Content-Type", "application/vnd-microsoft-roaming-self+xml")
		m.Body = []byte(`<roamingList xmlns="http://schemas.microsoft.com/2006/09/sip/roaming-self"><roaming type="categories"/></roamingList>`)
	}
	return m
}

// TestSelfSubscribeStrict: labfe answers a well-formed self-subscription
// with 200 and the first notification, and rejects each defect with the
// status a front end uses for it.
func TestSelfSubscribeStrict(t *testing.T) {
	fe := labfetest.Start(t)
	c := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	c.mustRegister("alice", pw)
	for name, tc := range map[string]struct {
		event  string
		edit   func(*sipmsg.Message)
		status int
		body   string // substring of the 200's body
	}{
		"provisioning":       {"vnd-microsoft-provisioning-v2", nil, 200, "<provisionGroupList"},
		"contacts":           {"vnd-microsoft-roaming-contacts", nil, 200, "<contactList"},
		"self":               {"vnd-microsoft-roaming-self", nil, 200, "<roamingData"},
		"unknown event":      {"vnd-microsoft-roaming-nonsense", nil, 489, ""},
		"no event":           {"vnd-microsoft-roaming-contacts", func(m *sipmsg.Message) { m.Del("Event") }, 400, ""},
		"no accept":          {"vnd-microsoft-roaming-contacts", func(m *sipmsg.Message) { m.Del("Accept") }, 406, ""},
		"wrong accept":       {"vnd-microsoft-provisioning-v2", func(m *sipmsg.Message) { m.Del("Accept"); m.Add("Accept", "text/plain") }, 406, ""},
		"no contact":         {"vnd-microsoft-roaming-self", func(m *sipmsg.Message) { m.Del("Contact") }, 400, ""},
		"bad extension":      {"vnd-microsoft-roaming-self", func(m *sipmsg.Message) { m.Add("Proxy-Require", "ms-teleport") }, 420, ""},
		"wrong content-type": {"vnd-microsoft-provisioning-v2", func(m *sipmsg.Message) { m.Del("Content-Type"); m.Add("Content-Type", "text/xml") }, 415, ""},
		"no groups": {"vnd-microsoft-provisioning-v2", func(m *sipmsg.Message) {
			m.Body = []byte(`<provisioningGroupList xmlns="http://schemas.microsoft.com/2006/09/sip/provisioninggrouplist"/>`)
		}, 400, ""},
		"wrong namespace": {"vnd-microsoft-provisioning-v2", func(m *sipmsg.Message) {
			m.Body = []byte(`<provisioningGroupList><provisioningGroup name="x"/></provisioningGroupList>`)
		}, 400, ""},
		"self no body":    {"vnd-microsoft-roaming-self", func(m *sipmsg.Message) { m.Body = nil }, 400, ""},
		"bad expires":     {"vnd-microsoft-roaming-contacts", func(m *sipmsg.Message) { m.Add("Expires", "soon") }, 400, ""},
		"other user's to": {"vnd-microsoft-roaming-contacts", func(m *sipmsg.Message) { m.Del("To"); m.Add("To", "<sip:bob@contoso.test>") }, 403, ""},
	} {
		m := selfSubscribe(tc.event, "s-"+strings.ReplaceAll(name, " ", "-"), 1)
		if tc.edit != nil {
			tc.edit(m)
		}
		c.sign(m)
		r := c.roundTrip(m)
		if r.StatusCode != tc.status {
			t.Errorf("%s: %d %q, want %d", name, r.StatusCode, r.Value("ms-diagnostics"), tc.status)
			continue
		}
		if err := c.verifyServer(r); err != nil {
			t.Errorf("%s: response signature: %v", name, err)
		}
		if tc.body != "" && !strings.Contains(string(r.Body), tc.body) {
			t.Errorf("%s: body %q lacks %q", name, r.Body, tc.body)
		}
	}
}

// TestSelfSubscribeRefresh: a refresh in the dialog is accepted with a
// growing CSeq, a stale CSeq gets 500, an unknown dialog 481, and the
// provisioning fetch (Expires 0) leaves no dialog behind.
func TestSelfSubscribeRefresh(t *testing.T) {
	fe := labfetest.Start(t)
	c := dial(t, fe, "alice@contoso.test", "8248ca9ebb")
	c.mustRegister("alice", pw)
	m := selfSubscribe("vnd-microsoft-roaming-contacts", "r-1", 1)
	m.Add("Expires", "600")
	c.sign(m)
	r := c.roundTrip(m)
	if r.StatusCode != 200 || r.Value("Expires") != "600" {
		t.Fatalf("initial: %d expires %q", r.StatusCode, r.Value("Expires"))
	}
	to := r.Value("To")
	refresh := func(callID, to string, cseq int) int {
		m := selfSubscribe("vnd-microsoft-roaming-contacts", callID, cseq)
		m.Del("To")
		m.Add("To", to)
		m.Add("Expires", "600")
		c.sign(m)
		return c.roundTrip(m).StatusCode
	}
	if got := refresh("r-1", to, 2); got != 200 {
		t.Errorf("refresh: %d", got)
	}
	if got := refresh("r-1", to, 2); got != 500 {
		t.Errorf("same CSeq: %d, want 500", got)
	}
	if got := refresh("r-unknown", to, 3); got != 481 {
		t.Errorf("unknown dialog: %d, want 481", got)
	}
	p := selfSubscribe("vnd-microsoft-provisioning-v2", "r-2", 1)
	c.sign(p)
	pr := c.roundTrip(p)
	if pr.StatusCode != 200 || pr.Value("Expires") != "0" {
		t.Fatalf("provisioning: %d expires %q", pr.StatusCode, pr.Value("Expires"))
	}
	p = selfSubscribe("vnd-microsoft-provisioning-v2", "r-2", 2)
	p.Del("To")
	p.Add("To", pr.Value("To"))
	c.sign(p)
	if got := c.roundTrip(p).StatusCode; got != 481 {
		t.Errorf("refresh of a one-shot fetch: %d, want 481", got)
	}
}
