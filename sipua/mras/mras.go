// Package mras builds and parses the Media Relay Access Server exchange of
// MS-AVEDGEA (protocols.md §8): the SERVICE request body that asks the pool
// for media-relay credentials, and the 200 OK body that carries them with the
// list of relays. It is pure: bytes in, values out; sipua sends the request
// through the signed flow (sipua/mras.go) and schedules the renewal.
//
// The credentials feed MS-TURN (media/msturn) and the in-band parameters
// tcpIpApp.ice.username, .password, .turn.server, .turn.udpPort and
// .turn.tcpPort (seed: "changes every eight minutes"; protocols.md §8.3).
package mras

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// ContentType of both request and response bodies (protocols.md §8.1).
const ContentType = "application/msrtc-media-relay-auth+xml"

// Namespace of the request and response documents.
const Namespace = "http://schemas.microsoft.com/2006/09/sip/mrasp"

// DefaultDuration is what SIPE asks for: 480 minutes.
const DefaultDuration = 480 * time.Minute

// Locations a request can name.
const (
	LocationIntranet = "intranet"
	LocationInternet = "internet" // when the pool marked us RemoteUser
)

// maxMinutes bounds durations (a year) so that minutes convert to a
// time.Duration without overflow.
const maxMinutes = 366 * 24 * 60

// ErrMalformed is a body that does not parse as an MRAS document.
var ErrMalformed = errors.New("mras: malformed body")

// ErrRefused is an MRAS response whose reasonPhrase is not OK, or which
// holds no credentials: the relay is unavailable ("no relay").
var ErrRefused = errors.New("mras: request refused")

// Request is one credentials request.
type Request struct {
	RequestID            int
	CredentialsRequestID int
	From                 string // sip:<self>
	To                   string // the mrasUri
	Identity             string // own SIP URI
	Location             string // intranet (default) or internet
	Duration             time.Duration
}

type xmlRequest struct {
	XMLName            xml.Name              `xml:"request"`
	Xmlns              string                `xml:"xmlns,attr"`
	RequestID          string                `xml:"requestID,attr"`
	From               string                `xml:"from,attr"`
	Version            string                `xml:"version,attr"`
	To                 string                `xml:"to,attr"`
	CredentialsRequest xmlCredentialsRequest `xml:"credentialsRequest"`
}

type xmlCredentialsRequest struct {
	CredentialsRequestID string `xml:"credentialsRequestID,attr"`
	Identity             string `xml:"identity"`
	Location             string `xml:"location"`
	Duration             int    `xml:"duration"`
}

// Marshal returns the request body.
func (r Request) Marshal() []byte {
	loc := r.Location
	if loc == "" {
		loc = LocationIntranet
	}
	d := r.Duration
	if d == 0 {
		d = DefaultDuration
	}
	x := xmlRequest{
		Xmlns: Namespace, RequestID: strconv.Itoa(r.RequestID), From: r.From, Version: "1.0", To: r.To,
		CredentialsRequest: xmlCredentialsRequest{
			CredentialsRequestID: strconv.Itoa(r.CredentialsRequestID),
			Identity:             r.Identity, Location: loc, Duration: int(d / time.Minute),
		},
	}
	b, _ := xml.Marshal(x) // only strings and ints: cannot fail
	return b
}

// ParseRequest reads a request body (labfe's side).
func ParseRequest(body []byte) (Request, error) {
	var x xmlRequest
	if err := decode(body, &x); err != nil {
		return Request{}, err
	}
	if x.XMLName.Local != "request" || x.CredentialsRequest.Identity == "" {
		return Request{}, fmt.Errorf("%w: not a credentials request", ErrMalformed)
	}
	id, err1 := strconv.Atoi(x.RequestID)
	cid, err2 := strconv.Atoi(x.CredentialsRequest.CredentialsRequestID)
	if err1 != nil || err2 != nil || x.CredentialsRequest.Duration < 0 || x.CredentialsRequest.Duration > maxMinutes {
		return Request{}, fmt.Errorf("%w: bad requestID, credentialsRequestID or duration", ErrMalformed)
	}
	return Request{RequestID: id, CredentialsRequestID: cid, From: x.From, To: x.To,
		Identity: x.CredentialsRequest.Identity, Location: x.CredentialsRequest.Location,
		Duration: time.Duration(x.CredentialsRequest.Duration) * time.Minute}, nil
}

// Password is a relay password; it prints redacted.
type Password string

func (Password) String() string { return "[redacted]" }

// LogValue keeps the password out of logs.
func (Password) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// Relay is one media relay of the list.
type Relay struct {
	Location string // intranet / internet, when given
	HostName string // resolve with an A lookup (protocols.md §8.2)
	UDPPort  int    // 0 when absent
	TCPPort  int
}

// Response is a parsed MRAS answer.
type Response struct {
	RequestID            int
	CredentialsRequestID int
	ReasonPhrase         string
	Username             string
	Password             Password
	Duration             time.Duration
	Relays               []Relay
}

type xmlResponse struct {
	XMLName             xml.Name                `xml:"response"`
	Xmlns               string                  `xml:"xmlns,attr"`
	RequestID           string                  `xml:"requestID,attr"`
	Version             string                  `xml:"version,attr"`
	ServerVersion       string                  `xml:"serverVersion,attr,omitempty"`
	To                  string                  `xml:"to,attr,omitempty"`
	From                string                  `xml:"from,attr,omitempty"`
	ReasonPhrase        string                  `xml:"reasonPhrase,attr"`
	CredentialsResponse *xmlCredentialsResponse `xml:"credentialsResponse"`
}

type xmlCredentialsResponse struct {
	CredentialsRequestID string          `xml:"credentialsRequestID,attr"`
	Credentials          *xmlCredentials `xml:"credentials"`
	MediaRelays          []xmlRelay      `xml:"mediaRelayList>mediaRelay"`
}

type xmlCredentials struct {
	Username string `xml:"username"`
	Password string `xml:"password"`
	Duration int    `xml:"duration"`
}

type xmlRelay struct {
	Location string `xml:"location,omitempty"`
	HostName string `xml:"hostName"`
	UDPPort  string `xml:"udpPort,omitempty"`
	TCPPort  string `xml:"tcpPort,omitempty"`
}

// ResponseFor builds the answer to req (labfe's side). An empty reason means
// "OK".
func ResponseFor(req Request, r Response) []byte {
	reason := r.ReasonPhrase
	if reason == "" {
		reason = "OK"
	}
	x := xmlResponse{Xmlns: Namespace, RequestID: strconv.Itoa(req.RequestID), Version: "1.0", ServerVersion: "2.0",
		To: req.From, From: req.To, ReasonPhrase: reason}
	if reason == "OK" {
		cr := &xmlCredentialsResponse{CredentialsRequestID: strconv.Itoa(req.CredentialsRequestID),
			Credentials: &xmlCredentials{Username: r.Username, Password: string(r.Password), Duration: int(r.Duration / time.Minute)}}
		for _, rl := range r.Relays {
			xr := xmlRelay{Location: rl.Location, HostName: rl.HostName}
			if rl.UDPPort != 0 {
				xr.UDPPort = strconv.Itoa(rl.UDPPort)
			}
			if rl.TCPPort != 0 {
				xr.TCPPort = strconv.Itoa(rl.TCPPort)
			}
			cr.MediaRelays = append(cr.MediaRelays, xr)
		}
		x.CredentialsResponse = cr
	}
	b, _ := xml.Marshal(x)
	return b
}

// ParseResponse reads the 200 OK body. A response whose reasonPhrase is not
// OK, or that holds no credentials or no relay, returns ErrRefused (with the
// parsed value, for the reason).
func ParseResponse(body []byte) (Response, error) {
	var x xmlResponse
	if err := decode(body, &x); err != nil {
		return Response{}, err
	}
	if x.XMLName.Local != "response" {
		return Response{}, fmt.Errorf("%w: root <%s>, want <response>", ErrMalformed, x.XMLName.Local)
	}
	r := Response{ReasonPhrase: x.ReasonPhrase}
	r.RequestID, _ = strconv.Atoi(x.RequestID)
	if !strings.EqualFold(x.ReasonPhrase, "OK") {
		return r, fmt.Errorf("%w: %q", ErrRefused, x.ReasonPhrase)
	}
	cr := x.CredentialsResponse
	if cr == nil || cr.Credentials == nil || cr.Credentials.Username == "" {
		return r, fmt.Errorf("%w: no credentials", ErrRefused)
	}
	r.CredentialsRequestID, _ = strconv.Atoi(cr.CredentialsRequestID)
	r.Username, r.Password = cr.Credentials.Username, Password(cr.Credentials.Password)
	if cr.Credentials.Duration < 0 || cr.Credentials.Duration > maxMinutes {
		return r, fmt.Errorf("%w: duration %d minutes", ErrMalformed, cr.Credentials.Duration)
	}
	r.Duration = time.Duration(cr.Credentials.Duration) * time.Minute
	for _, xr := range cr.MediaRelays {
		rl := Relay{Location: strings.TrimSpace(xr.Location), HostName: strings.TrimSpace(xr.HostName)}
		var err error
		if rl.UDPPort, err = port(xr.UDPPort); err != nil {
			return r, err
		}
		if rl.TCPPort, err = port(xr.TCPPort); err != nil {
			return r, err
		}
		if rl.HostName == "" {
			return r, fmt.Errorf("%w: mediaRelay without hostName", ErrMalformed)
		}
		r.Relays = append(r.Relays, rl)
	}
	if len(r.Relays) == 0 {
		return r, fmt.Errorf("%w: empty mediaRelayList", ErrRefused)
	}
	return r, nil
}

func port(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("%w: port %q", ErrMalformed, s)
	}
	return p, nil
}

func decode(body []byte, v any) error {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return nil
}

// RenewAt is when to ask for new credentials: 5 minutes before they expire,
// or at 90% of a shorter duration. SIPE never renews; the handset must
// (protocols.md §8.2). A zero duration means "renew now".
func RenewAt(issued time.Time, d time.Duration) time.Time {
	margin := 5 * time.Minute
	if d/10 < margin {
		margin = d / 10
	}
	return issued.Add(d - margin)
}

// Params are the in-band parameter values the credentials set, keyed by the
// real Polycom names (configs registry; seed Appendix A). The first relay of
// the preferred location wins.
func (r Response) Params(location string) map[string]string {
	p := map[string]string{
		"tcpIpApp.ice.username": r.Username,
		"tcpIpApp.ice.password": string(r.Password),
	}
	var pick *Relay
	for i := range r.Relays {
		if r.Relays[i].Location == location || r.Relays[i].Location == "" {
			pick = &r.Relays[i]
			break
		}
	}
	if pick == nil && len(r.Relays) > 0 {
		pick = &r.Relays[0]
	}
	if pick != nil {
		p["tcpIpApp.ice.turn.server"] = pick.HostName
		if pick.UDPPort != 0 {
			p["tcpIpApp.ice.turn.udpPort"] = strconv.Itoa(pick.UDPPort)
		}
		if pick.TCPPort != 0 {
			p["tcpIpApp.ice.turn.tcpPort"] = strconv.Itoa(pick.TCPPort)
		}
	}
	return p
}
