package sipua_test

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/labfe"
	"github.com/handset-dev/handset/labfe/labfetest"
	"github.com/handset-dev/handset/labfe/relay"
	"github.com/handset-dev/handset/media/msturn"
	"github.com/handset-dev/handset/sipua"
)

// mrasLab is labfe with its MRAS service and MS-TURN relay.
type mrasLab struct {
	fe    *labfe.Server
	relay *relay.Server
	mras  *relay.MRAS
}

func startMRASLab(t *testing.T, grant time.Duration) *mrasLab {
	t.Helper()
	store := relay.NewStore(nil)
	rs, err := relay.New(relay.Config{ListenUDP: "127.0.0.1:0", ListenTCP: "127.0.0.1:0"}, store, relay.WithRand(testutil.NewReader(9)))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = rs.Serve(context.Background()) }()
	t.Cleanup(func() { _ = rs.Close(); <-done })
	m := relay.NewMRAS(store, rs, relay.MediaRelay{Location: "intranet", HostName: rs.UDPAddr().Addr().String(),
		UDPPort: int(rs.UDPAddr().Port()), TCPPort: int(rs.TCPAddr().Port())})
	m.Duration = grant
	fe := labfetest.Start(t, labfetest.WithConfig(func(c *labfe.Config) { c.Local = m.Local(nil) }))
	return &mrasLab{fe: fe, relay: rs, mras: m}
}

// TestMRASCredentialsReachTheRelay: after sign-in and in-band provisioning,
// the handset asks the mrasUri for credentials through the signed flow; the
// answer lands in the in-band layer (tcpIpApp.ice.*) and the credentials
// allocate on labfe's MS-TURN relay.
func TestMRASCredentialsReachTheRelay(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	lab := startMRASLab(t, 0)
	h := newHandset(t, lab.fe, aliceConfig(), nil, sipua.WithSelfSubscriptions(true))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := h.RequestRelayCredentials(ctx); err == nil {
		t.Fatal("credentials before sign-in")
	}
	if err := h.Register(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := h.WaitInBand(ctx); err != nil {
		t.Fatal(err)
	}
	rc, err := h.RequestRelayCredentials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rc.Duration != 480*time.Minute || len(rc.Relays) != 1 || rc.Username == "" || !rc.RenewAt.After(rc.Issued) {
		t.Fatalf("%+v", rc)
	}
	p := h.InBand().Params
	ra := lab.relay.UDPAddr()
	for k, want := range map[string]string{
		"tcpIpApp.ice.username":     rc.Username,
		"tcpIpApp.ice.password":     string(rc.Password),
		"tcpIpApp.ice.turn.server":  ra.Addr().String(),
		"tcpIpApp.ice.turn.udpPort": strconv.Itoa(int(ra.Port())),
		"tcpIpApp.ice.turn.tcpPort": strconv.Itoa(int(lab.relay.TCPAddr().Port())),
	} {
		if p[k] != want {
			t.Errorf("in-band %s = %q, want %q", k, p[k], want)
		}
	}
	c, err := msturn.New(msturn.Config{Server: netip.AddrPortFrom(ra.Addr(), uint16(rc.Relays[0].UDPPort)).String(),
		Username: p["tcpIpApp.ice.username"], Password: p["tcpIpApp.ice.password"]}, msturn.WithRand(testutil.NewReader(3)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Allocate(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestMRASRefusedIsNoRelay: an MRAS refusal is an error with reason
// "no relay"; registration is unaffected.
func TestMRASRefusedIsNoRelay(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	lab := startMRASLab(t, 0)
	lab.mras.Refuse("Forbidden")
	h := newHandset(t, lab.fe, aliceConfig(), nil, sipua.WithSelfSubscriptions(true))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.Register(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := h.WaitInBand(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := h.RequestRelayCredentials(ctx)
	var se *sipua.Error
	if !errors.As(err, &se) || se.Why != "no relay" {
		t.Fatalf("err %v", err)
	}
	if h.State() != sipua.StateRegistered {
		t.Fatalf("state %v", h.State())
	}
}

// TestMRASRenewal (time-scaled): credentials are renewed before their
// duration ends, and an MS-TURN allocation keeps refreshing across the
// change of credentials.
func TestMRASRenewal(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	lab := startMRASLab(t, 8*time.Minute) // the seed's "every eight minutes"
	cfg := aliceConfig()
	cfg.TimeScale = 480 // 8 min -> 1 s; renewal at 90% = 0.9 s
	h := newHandset(t, lab.fe, cfg, nil, sipua.WithSelfSubscriptions(true))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.Register(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := h.WaitInBand(ctx); err != nil {
		t.Fatal(err)
	}
	issued := make(chan *sipua.RelayCredentials, 16)
	rctx, rcancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = h.RunRelayCredentials(rctx, 0, func(rc *sipua.RelayCredentials) { issued <- rc })
	}()
	defer func() { rcancel(); wg.Wait() }()

	first := <-issued
	c, err := msturn.New(msturn.Config{Server: lab.relay.UDPAddr().String(), Username: first.Username,
		Password: string(first.Password), Lifetime: time.Minute}, msturn.WithRand(testutil.NewReader(4)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	a, err := c.Allocate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var second *sipua.RelayCredentials
	select {
	case second = <-issued:
	case <-ctx.Done():
		t.Fatal("no renewal")
	}
	if second.Username == first.Username || !second.Issued.Before(first.Issued.Add(time.Second)) {
		t.Fatalf("renewal %v after %v", second.Issued.Sub(first.Issued), first.Issued)
	}
	c.UpdateCredentials(second.Username, string(second.Password))
	b, err := c.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if b.Relayed != a.Relayed {
		t.Fatalf("allocation moved %v -> %v", a.Relayed, b.Relayed)
	}
	if lab.mras.Issued() < 2 {
		t.Fatalf("issued %d", lab.mras.Issued())
	}
}

// TestWithMRASFetchesByItself: with WithMRAS the handset asks MRAS as soon
// as in-band provisioning arrives and publishes the credentials in the
// in-band layer; Close stops the renewal loop (leak-checked).
func TestWithMRASFetchesByItself(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	lab := startMRASLab(t, 0)
	h := newHandset(t, lab.fe, aliceConfig(), nil, sipua.WithSelfSubscriptions(true), sipua.WithMRAS(true))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.Register(ctx); err != nil {
		t.Fatal(err)
	}
	rc, err := h.WaitRelayCredentials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := h.InBand().Params["tcpIpApp.ice.username"]; got != rc.Username || got == "" {
		t.Fatalf("in-band username %q, issued %q", got, rc.Username)
	}
	if lab.mras.Issued() != 1 {
		t.Fatalf("issued %d", lab.mras.Issued())
	}
	_ = h.Close()
}
