package relay

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/handset-dev/handset/labfe"
)

// MRAS answers the media-relay credentials SERVICE (MS-AVEDGEA,
// protocols.md §8) for labfe: it issues a fresh user name and password into
// the relay's Store for the requested duration (capped by Duration) and
// lists the relays. Its XML is its own (labfe shares no client code).
type MRAS struct {
	Store    *Store
	Relays   []MediaRelay
	Duration time.Duration // longest duration granted; 480 minutes when 0

	mu      sync.Mutex
	refuse  string // reasonPhrase to refuse with; "" answers
	issued  int
	entropy func([]byte) error
}

// MediaRelay is one entry of the mediaRelayList.
type MediaRelay struct {
	Location string
	HostName string
	UDPPort  int
	TCPPort  int
}

// mrasContentType is the body type of both directions.
const mrasContentType = "application/msrtc-media-relay-auth+xml"

// NewMRAS returns an MRAS service issuing into store, with entropy for
// the credentials from the relay server's source.
func NewMRAS(store *Store, s *Server, relays ...MediaRelay) *MRAS {
	return &MRAS{Store: store, Relays: relays, entropy: s.random}
}

// Refuse makes the service answer with reasonPhrase instead of credentials
// (RELIABILITY.md F8: "MRAS refusing"); "" restores normal answers.
func (m *MRAS) Refuse(reasonPhrase string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.refuse = reasonPhrase
}

// Issued counts the credentials handed out.
func (m *MRAS) Issued() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.issued
}

type mrasRequest struct {
	XMLName   xml.Name `xml:"request"`
	RequestID string   `xml:"requestID,attr"`
	From      string   `xml:"from,attr"`
	To        string   `xml:"to,attr"`
	Version   string   `xml:"version,attr"`
	Creds     *struct {
		ID       string `xml:"credentialsRequestID,attr"`
		Identity string `xml:"identity"`
		Location string `xml:"location"`
		Duration string `xml:"duration"`
	} `xml:"credentialsRequest"`
}

// Local wraps a labfe Config.Local function: SERVICE requests with the MRAS
// body type are answered here, everything else goes to next (may be nil).
func (m *MRAS) Local(next func(labfe.LocalRequest) (labfe.LocalResponse, bool)) func(labfe.LocalRequest) (labfe.LocalResponse, bool) {
	return func(r labfe.LocalRequest) (labfe.LocalResponse, bool) {
		if r.Method == "SERVICE" && strings.EqualFold(strings.TrimSpace(r.ContentType), mrasContentType) {
			return m.answer(r), true
		}
		if next != nil {
			return next(r)
		}
		return labfe.LocalResponse{}, false
	}
}

func (m *MRAS) answer(r labfe.LocalRequest) labfe.LocalResponse {
	var req mrasRequest
	d := xml.NewDecoder(bytes.NewReader(r.Body))
	d.Strict = true
	if err := d.Decode(&req); err != nil || req.Creds == nil || req.Version != "1.0" {
		return labfe.LocalResponse{Status: 400, Reason: "Bad Request"}
	}
	// The identity must be the signed-in user: MRAS hands credentials only
	// to the authenticated owner.
	if !strings.EqualFold(strings.TrimPrefix(req.Creds.Identity, "sip:"), r.User.AOR()) {
		return labfe.LocalResponse{Status: 403, Reason: "Forbidden"}
	}
	mins, err := strconv.Atoi(strings.TrimSpace(req.Creds.Duration))
	if err != nil || mins <= 0 {
		return labfe.LocalResponse{Status: 400, Reason: "Bad Request"}
	}
	dur := time.Duration(mins) * time.Minute
	limit := m.Duration
	if limit == 0 {
		limit = 480 * time.Minute
	}
	dur = min(dur, limit)

	m.mu.Lock()
	refuse := m.refuse
	m.mu.Unlock()
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>`)
	b.WriteString(`<response xmlns="http://schemas.microsoft.com/2006/09/sip/mrasp" requestID="` + esc(req.RequestID) +
		`" version="1.0" serverVersion="2.0" to="` + esc(req.From) + `" from="` + esc(req.To) + `" reasonPhrase="`)
	if refuse != "" {
		b.WriteString(esc(refuse) + `"/>`)
		return labfe.LocalResponse{ContentType: mrasContentType, Body: b.Bytes()}
	}
	user, pass := m.credential(), m.credential()
	m.Store.Issue(user, pass, dur)
	m.mu.Lock()
	m.issued++
	m.mu.Unlock()
	b.WriteString(`OK"><credentialsResponse credentialsRequestID="` + esc(req.Creds.ID) + `"><credentials>`)
	b.WriteString(`<username>` + esc(user) + `</username><password>` + esc(pass) + `</password>`)
	// Minutes on the wire; a time-scaled test may grant less than one,
	// which rounds up so the client never sees 0.
	b.WriteString(`<duration>` + strconv.Itoa(int((dur+time.Minute-1)/time.Minute)) + `</duration></credentials><mediaRelayList>`)
	for _, rl := range m.Relays {
		b.WriteString(`<mediaRelay><location>` + esc(rl.Location) + `</location><hostName>` + esc(rl.HostName) + `</hostName>`)
		if rl.UDPPort != 0 {
			b.WriteString(`<udpPort>` + strconv.Itoa(rl.UDPPort) + `</udpPort>`)
		}
		if rl.TCPPort != 0 {
			b.WriteString(`<tcpPort>` + strconv.Itoa(rl.TCPPort) + `</tcpPort>`)
		}
		b.WriteString(`</mediaRelay>`)
	}
	b.WriteString(`</mediaRelayList></credentialsResponse></response>`)
	return labfe.LocalResponse{ContentType: mrasContentType, Body: b.Bytes()}
}

// credential returns a Lync-looking opaque base64 token.
func (m *MRAS) credential() string {
	var raw [24]byte
	if m.entropy != nil {
		_ = m.entropy(raw[:])
	}
	return base64.StdEncoding.EncodeToString(raw[:])
}

func esc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
