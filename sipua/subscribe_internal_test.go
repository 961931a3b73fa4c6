package sipua

import (
	"context"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/handset-dev/handset/labfe/inband"
	"github.com/handset-dev/handset/sipua/provision"
)

func notify(method sip.RequestMethod, event, ctype string, body []byte) *sip.Request {
	req := sip.NewRequest(method, sip.Uri{Scheme: "sip", User: "alice", Host: "contoso.test"})
	req.AppendHeader(sip.NewHeader("Event", event))
	if ctype != "" {
		req.AppendHeader(sip.NewHeader("Content-Type", ctype))
	}
	req.AppendHeader(sip.NewHeader("Subscription-State", "active;expires=3600"))
	req.SetBody(body)
	return req
}

// TestOnNotifyProvisioning: provisioning that arrives in a (BE)NOTIFY
// instead of the 200 OK becomes the in-band layer; a body of another type
// is ignored and a malformed one is reported, leaving the last good data.
func TestOnNotifyProvisioning(t *testing.T) {
	rec := newRecorder()
	h, err := New(testConfig(), WithSelfSubscriptions(true), WithObserver(rec))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = h.Close() }()
	doc := inband.Document(inband.Default(), "alice@contoso.test")

	h.onNotify(notify("BENOTIFY", provision.Event+";x=1", provision.ContentType, doc))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ib, err := h.WaitInBand(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ib.Via != "BENOTIFY" || ib.Params[provision.ParamE911DialString] != "112" {
		t.Fatalf("in-band via %q: %v", ib.Via, ib.Params)
	}

	h.onNotify(notify(sip.NOTIFY, provision.Event, "text/plain", []byte("<provisionGroupList/>")))
	if got := h.InBand(); got.Via != "BENOTIFY" {
		t.Errorf("a text/plain body replaced the data: via %q", got.Via)
	}
	h.onNotify(notify(sip.NOTIFY, provision.Event, provision.ContentType, []byte("<provisionGroupList><unclosed>")))
	if got := h.InBand(); got.Via != "BENOTIFY" {
		t.Errorf("a malformed body replaced the data: via %q", got.Via)
	}
	var bad int
	for _, ev := range rec.kinds(EventInBand) {
		if ev.Err != nil {
			bad++
			if o, _ := Classify(ev.Err); o != OutcomeServerError {
				t.Errorf("malformed body classified %v", o)
			}
		}
	}
	if bad != 1 {
		t.Errorf("%d rejected-body events, want 1", bad)
	}

	// Off: NOTIFYs are answered (run.go) but not interpreted.
	h2, err := New(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = h2.Close() }()
	h2.onNotify(notify(sip.NOTIFY, provision.Event, provision.ContentType, doc))
	if h2.InBand() != nil {
		t.Error("in-band data taken with self-subscriptions off")
	}
}
