package mras

import (
	"errors"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParseResponse: a response that parses is rebuilt by ResponseFor into a
// body that parses to the same value; errors are typed.
func FuzzParseResponse(f *testing.F) {
	b, err := os.ReadFile("testdata/response-ok.xml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`<response reasonPhrase="Forbidden"/>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseResponse(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrRefused) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		out := ResponseFor(Request{RequestID: r.RequestID, CredentialsRequestID: r.CredentialsRequestID}, r)
		r2, err := ParseResponse(out)
		if err != nil {
			t.Fatalf("reparse %s: %v", out, err)
		}
		if d := cmp.Diff(r, r2); d != "" {
			t.Fatalf("round trip: %s", d)
		}
	})
}

// FuzzParseRequest: Marshal of a parsed request parses to the same value.
func FuzzParseRequest(f *testing.F) {
	f.Add(Request{RequestID: 1, CredentialsRequestID: 2, From: "sip:a@b", To: "sip:m@b", Identity: "sip:a@b"}.Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRequest(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		r2, err := ParseRequest(r.Marshal())
		if err != nil {
			t.Fatalf("reparse: %v", err)
		}
		if r.Location == "" {
			r.Location = LocationIntranet
		}
		if r.Duration == 0 {
			r.Duration = DefaultDuration
		}
		r.Duration = r.Duration.Truncate(60e9)
		if d := cmp.Diff(r, r2); d != "" {
			t.Fatalf("round trip: %s", d)
		}
	})
}
