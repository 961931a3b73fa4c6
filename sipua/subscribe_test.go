package sipua_test

import (
	"context"
	"testing"
	"time"

	"github.com/handset-dev/handset/configs"
	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/labfe"
	"github.com/handset-dev/handset/labfe/inband"
	"github.com/handset-dev/handset/labfe/labfetest"
	"github.com/handset-dev/handset/sipua"
	"github.com/handset-dev/handset/sipua/provision"
)

// TestLabfeInBandProvisioning: after sign-in the handset makes its three
// self-subscriptions, labfe (strict) accepts them, and the tester's
// provisioning data arrives as the configs "in-band" layer.
func TestLabfeInBandProvisioning(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	data := inband.Default()
	data.Emergency.DialString = "911"
	data.Emergency.DialMask = "112"
	data.Encryption = "SupportEncryption"
	fe := labfetest.Start(t, labfetest.WithConfig(func(c *labfe.Config) { c.InBand = &data }))
	ev := newEvents()
	h := newHandset(t, fe, aliceConfig(), ev, sipua.WithSelfSubscriptions(true))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if h.InBand() != nil {
		t.Fatal("in-band data before sign-in")
	}
	if err := h.Register(ctx); err != nil {
		t.Fatal(err)
	}
	ib, err := h.WaitInBand(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		provision.ParamE911DialString:   "911",
		provision.ParamE911DialMask:     "112",
		provision.ParamEmergencyRouting: "911,112",
		provision.ParamSRTPEnable:       "1",
		provision.ParamSRTPRequire:      "0",
		provision.ParamMWICallBackMode:  "contact",
	} {
		if got := ib.Params[name]; got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if ib.Params[provision.ParamOriginalDigitMap] == "" || ib.Via != "200 OK" {
		t.Errorf("digit map %q via %q", ib.Params[provision.ParamOriginalDigitMap], ib.Via)
	}
	// All three self-subscriptions answered 200.
	got := map[string]int{}
	deadline := time.After(10 * time.Second)
	for len(got) < 3 {
		select {
		case e := <-ev.ch:
			if e.Kind == sipua.EventSubscribed {
				if e.Err != nil || e.Status != 200 {
					t.Fatalf("%s: %d %v", e.Reason, e.Status, e.Err)
				}
				got[e.Reason] = e.Status
			}
		case <-deadline:
			t.Fatalf("subscriptions seen: %v", got)
		}
	}
	// The layer shows up with the "in-band" source over the base profile.
	eff, _, err := configs.FromValues("0004f2000001", map[string]string{"reg.1.address": "alice@contoso.test",
		"reg.1.auth.userId": "alice", "reg.1.auth.password": "Passw0rd!", "reg.1.server.1.address": "pool.contoso.test"})
	if err != nil {
		t.Fatal(err)
	}
	eff, err = ib.Apply(eff)
	if err != nil {
		t.Fatal(err)
	}
	v, ok := eff.Lookup(provision.ParamE911DialString)
	if !ok || v.Raw != "911" || v.Source.String() != "in-band" {
		t.Errorf("effective %s = %v", provision.ParamE911DialString, v)
	}
	if err := h.Unregister(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestLabfeSubscriptionsRefreshAndNewFlow: time-scaled, the long-lived
// self-subscriptions are refreshed in their dialogs before they expire, and
// after labfe drops the flow the handset re-registers on a new one and
// subscribes again (provisioning included).
func TestLabfeSubscriptionsRefreshAndNewFlow(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := labfetest.Start(t)
	ev := newEvents()
	cfg := aliceConfig()
	cfg.TimeScale = 1800 // subscription 3600 s → 2 s; backoff 10 s → 5.6 ms
	h := newHandset(t, fe, cfg, ev, sipua.WithSelfSubscriptions(true))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	contacts, prov, closed := 0, 0, false
	deadline := time.After(30 * time.Second)
	for contacts < 3 || prov < 2 {
		select {
		case e := <-ev.ch:
			if e.Kind != sipua.EventSubscribed {
				continue
			}
			if e.Err != nil {
				// The flow closed under a SUBSCRIBE in flight: expected once.
				if closed {
					continue
				}
				t.Fatalf("%s: %v", e.Reason, e.Err)
			}
			switch e.Reason {
			case provision.EventContacts:
				contacts++
			case provision.Event:
				prov++
			}
			// After the first refresh of the contacts, drop the flow.
			if contacts == 2 && !closed {
				closed = true
				if n := fe.CloseFlows("alice@contoso.test"); n != 1 {
					t.Errorf("CloseFlows = %d", n)
				}
			}
		case err := <-done:
			t.Fatalf("Run returned early: %v", err)
		case <-deadline:
			t.Fatalf("timeout: contacts=%d provisioning=%d closed=%v", contacts, prov, closed)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if h.InBand() == nil {
		t.Error("no in-band data")
	}
}
