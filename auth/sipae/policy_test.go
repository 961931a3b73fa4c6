package sipae

import (
	"regexp"
	"testing"

	"github.com/handset-dev/handset/internal/testutil"
)

func TestAcceptUnsigned(t *testing.T) {
	for _, tc := range []struct {
		resp   bool
		status int
		method string
		want   bool
	}{
		{true, 100, "INVITE", true},
		{true, 180, "INVITE", true},
		{true, 183, "INVITE", true},
		{true, 200, "REGISTER", true},
		{true, 403, "REGISTER", true},
		{true, 401, "SUBSCRIBE", true},
		{true, 407, "INVITE", true},
		{true, 200, "INVITE", false},
		{true, 200, "SUBSCRIBE", false},
		{true, 486, "INVITE", false},
		{false, 0, "INVITE", false},
		{false, 0, "BYE", false},
		{false, 0, "REGISTER", false},
		{false, 0, "NOTIFY", false},
	} {
		if got := AcceptUnsigned(tc.resp, tc.status, tc.method); got != tc.want {
			t.Errorf("AcceptUnsigned(%v, %d, %s) = %v", tc.resp, tc.status, tc.method, got)
		}
	}
}

func TestURIOf(t *testing.T) {
	for in, want := range map[string]string{
		`<sip:user@cosmo.local>;tag=3e49177a52;epid=01010101`: "sip:user@cosmo.local",
		`"Alice A" <sip:Alice@Contoso.test;transport=tls>`:    "sip:Alice@Contoso.test;transport=tls",
		`sip:user@cosmo.local;tag=abc`:                        "sip:user@cosmo.local",
		` SIP:USER@host `:                                     "SIP:USER@host",
		`<sip:broken`:                                         "sip:broken",
		``:                                                    "",
	} {
		if got := URIOf(in); got != want {
			t.Errorf("URIOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPAIURIs(t *testing.T) {
	sip, tel := PAIURIs(`"Alice, A" <SIP:alice@contoso.test>, <TEL:+15551234;ext=1>`)
	if sip != "SIP:alice@contoso.test" || tel != "TEL:+15551234;ext=1" {
		t.Errorf("got %q %q", sip, tel)
	}
	sip, tel = PAIURIs("<tel:+1555>", "<sips:bob@contoso.test>")
	if sip != "sips:bob@contoso.test" || tel != "tel:+1555" {
		t.Errorf("two headers: %q %q", sip, tel)
	}
	if sip, tel := PAIURIs(); sip != "" || tel != "" {
		t.Error("empty")
	}
}

func TestNewEpid(t *testing.T) {
	e := NewEpid(testutil.NewReader(1))
	if !regexp.MustCompile(`^[0-9a-f]{10}$`).MatchString(e) {
		t.Fatalf("epid %q", e)
	}
	if e != NewEpid(testutil.NewReader(1)) || e == NewEpid(testutil.NewReader(2)) {
		t.Error("epid is not a function of the rand source")
	}
	if len(InstanceFromEpid(e)) != 36 {
		t.Error("instance length")
	}
}
