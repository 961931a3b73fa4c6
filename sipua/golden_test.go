package sipua

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/handset-dev/handset/internal/testutil"
)

var portRE = regexp.MustCompile(`127\.0\.0\.1:\d+`)

// transcript renders the trace events of a run with ports normalised.
func transcript(rec *recorder) string {
	var b strings.Builder
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, ev := range rec.events {
		switch ev.Kind {
		case EventMessage:
			dir := "<<< received"
			if ev.Outgoing {
				dir = ">>> sent"
			}
			fmt.Fprintf(&b, "%s\n%s", dir, strings.ReplaceAll(ev.Message, "\r\n", "\n"))
		case EventAuthStep:
			fmt.Fprintf(&b, "# %s\n", ev.Step)
		case EventState:
			fmt.Fprintf(&b, "# state %s -> %s\n", ev.Prev, ev.State)
		case EventRegistered:
			b.WriteString("# registered\n")
		case EventUnregistered:
			b.WriteString("# unregistered\n")
		}
	}
	return portRE.ReplaceAllString(b.String(), "127.0.0.1:PORT")
}

// TestGoldenSignInFakeFE records the whole sign-in and un-REGISTER with
// seeded randomness on both ends (go test -update rewrites it).
func TestGoldenSignInFakeFE(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := startFakeFE(t, "pool.contoso.test")
	rec := newRecorder()
	h := newTestHandset(t, fe, testConfig(), "Passw0rd!", rec)
	if err := h.Register(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := h.Unregister(context.Background()); err != nil {
		t.Fatal(err)
	}
	_ = h.Close()
	testutil.Golden(t, filepath.Join("testdata", "golden", "signin_fakefe.txt"), []byte(transcript(rec)))
}
