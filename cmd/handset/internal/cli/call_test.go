package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/media"
	"github.com/handset-dev/handset/media/rtp"
)

func TestCallUsage(t *testing.T) {
	for _, args := range [][]string{
		{"call"},
		{"call", "--prov", "x", "--mac", "0004f2000001"},
		{"call", "--prov", "x", "--mac", "0004f2000001", "--to", "echo", "--duration", "0s"},
		{"call", "--prov", "x", "--mac", "0004f2000001", "--to", "echo", "extra"},
	} {
		var out, errb bytes.Buffer
		if code := Main(t.Context(), args, &out, &errb); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, ExitUsage, errb.String())
		}
	}
}

// TestCallEchoAgainstLabfe is the acceptance check: alice (flat
// template) signs in to labfe and calls its echo bot; SRTP with MKI flows
// both ways with no failure, the statistics are printed, exit 0. An
// unknown callee exits 1 with the reason.
func TestCallEchoAgainstLabfe(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	addr, ca, fe := startLabfeForCLI(t)
	prov := "../../../../configs/templates/flat"
	var out, errb bytes.Buffer
	code := Main(t.Context(), []string{"call", "--prov", prov, "--mac", "0004f2000001", "--target", addr, "--ca", ca,
		"--to", "sip:echo@contoso.test", "--duration", "1s"}, &out, &errb)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"registered", "established (setup", "packets received", "srtp             true (mki true", "srtp auth fail   0", "ended            local bye"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if st := fe.Stats().Users["alice@contoso.test"]; st.BadSignatures != 0 {
		t.Errorf("labfe: %+v", st)
	}

	out.Reset()
	errb.Reset()
	code = Main(t.Context(), []string{"call", "--prov", prov, "--mac", "0004f2000001", "--target", addr, "--ca", ca,
		"--to", "nobody@contoso.test", "--duration", "1s"}, &out, &errb)
	if code != ExitRunFailed || !strings.Contains(errb.String(), "rejected") || !strings.Contains(out.String(), "status           404") {
		t.Errorf("unknown callee: exit %d\n%s\n%s", code, out.String(), errb.String())
	}
}

func TestMediaVerdict(t *testing.T) {
	ok := media.Stats{Stats: rtp.Stats{PacketsSent: 50, PacketsReceived: 49}}
	if v := mediaVerdict(ok); v != "" {
		t.Errorf("ok call: %q", v)
	}
	for _, bad := range []rtp.Stats{
		{PacketsSent: 50},
		{PacketsReceived: 50},
		{PacketsSent: 50, PacketsReceived: 50, SRTPAuthFailures: 1},
		{PacketsSent: 50, PacketsReceived: 50, MKIMismatches: 1},
	} {
		if v := mediaVerdict(media.Stats{Stats: bad}); v == "" {
			t.Errorf("%+v passed", bad)
		}
	}
}
