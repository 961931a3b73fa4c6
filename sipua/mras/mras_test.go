package mras

import (
	"encoding/xml"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestRequestShape checks the body against protocols.md §8.1.
func TestRequestShape(t *testing.T) {
	b := Request{RequestID: 8, CredentialsRequestID: 8, From: "sip:alice@contoso.test",
		To: "sip:mras@contoso.test;gruu;opaque=srvr:MRAS:lab", Identity: "sip:alice@contoso.test"}.Marshal()
	want := `<request xmlns="http://schemas.microsoft.com/2006/09/sip/mrasp" requestID="8" from="sip:alice@contoso.test" version="1.0" to="sip:mras@contoso.test;gruu;opaque=srvr:MRAS:lab">` +
		`<credentialsRequest credentialsRequestID="8"><identity>sip:alice@contoso.test</identity><location>intranet</location><duration>480</duration></credentialsRequest></request>`
	if string(b) != want {
		t.Fatalf("got\n%s\nwant\n%s", b, want)
	}
	r, err := ParseRequest(b)
	if err != nil {
		t.Fatal(err)
	}
	if r.Duration != 480*time.Minute || r.Location != "intranet" || r.Identity != "sip:alice@contoso.test" {
		t.Fatalf("%+v", r)
	}
}

func TestParseResponse(t *testing.T) {
	b, err := os.ReadFile("testdata/response-ok.xml")
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseResponse(b)
	if err != nil {
		t.Fatal(err)
	}
	want := Response{RequestID: 8, CredentialsRequestID: 8, ReasonPhrase: "OK",
		Username: "AgAAJNpnLQEB2dZxbPJ6F0e6qkqdX8ZbsoBHKU8AAAAA", Password: "Wx5m0JvF9dTVSNgUZxK2sHPqGkA=",
		Duration: 480 * time.Minute, Relays: []Relay{
			{Location: "internet", HostName: "av.contoso.test", UDPPort: 3478, TCPPort: 443},
			{Location: "intranet", HostName: "av-int.contoso.test", UDPPort: 3478, TCPPort: 443},
		}}
	if d := cmp.Diff(want, r); d != "" {
		t.Fatal(d)
	}
	p := r.Params(LocationIntranet)
	if p["tcpIpApp.ice.turn.server"] != "av-int.contoso.test" || p["tcpIpApp.ice.turn.udpPort"] != "3478" ||
		p["tcpIpApp.ice.turn.tcpPort"] != "443" || p["tcpIpApp.ice.username"] != r.Username || p["tcpIpApp.ice.password"] != string(r.Password) {
		t.Fatalf("%v", p)
	}
	if r.Password.String() != "[redacted]" {
		t.Fatal("password not redacted")
	}
}

func TestRefusedAndMalformed(t *testing.T) {
	refused := `<response xmlns="` + Namespace + `" requestID="1" version="1.0" reasonPhrase="Forbidden"/>`
	if _, err := ParseResponse([]byte(refused)); !errors.Is(err, ErrRefused) {
		t.Fatalf("refused: %v", err)
	}
	noRelay := string(ResponseFor(Request{RequestID: 1}, Response{Username: "u", Password: "p", Duration: time.Hour}))
	if _, err := ParseResponse([]byte(noRelay)); !errors.Is(err, ErrRefused) {
		t.Fatalf("no relay: %v", err)
	}
	for _, bad := range []string{"", "<response", "<request/>", `<response reasonPhrase="OK"><credentialsResponse><credentials><username>u</username></credentials><mediaRelayList><mediaRelay><hostName>h</hostName><udpPort>99999</udpPort></mediaRelay></mediaRelayList></credentialsResponse></response>`} {
		if _, err := ParseResponse([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestRenewAt(t *testing.T) {
	t0 := time.Unix(0, 0)
	if got := RenewAt(t0, 480*time.Minute); got != t0.Add(475*time.Minute) {
		t.Errorf("480 min: %v", got.Sub(t0))
	}
	if got := RenewAt(t0, 8*time.Minute); got != t0.Add(8*time.Minute-48*time.Second) {
		t.Errorf("8 min: %v", got.Sub(t0))
	}
}

// ResponseFor is well-formed XML that ParseResponse reads back.
func TestResponseForRoundTrip(t *testing.T) {
	req := Request{RequestID: 3, CredentialsRequestID: 4, From: "sip:a@b", To: "sip:mras@b"}
	in := Response{RequestID: 3, CredentialsRequestID: 4, ReasonPhrase: "OK", Username: "u<&>", Password: "p\"'",
		Duration: 8 * time.Minute, Relays: []Relay{{HostName: "127.0.0.1", UDPPort: 1000}}}
	b := ResponseFor(req, in)
	if err := xml.Unmarshal(b, new(any)); err != nil {
		t.Fatal(err)
	}
	out, err := ParseResponse(b)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(in, out); d != "" {
		t.Fatal(d)
	}
}
