package websvc_test

import (
	"context"
	"crypto/rsa"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/handset-dev/handset/auth/certprov"
	"github.com/handset-dev/handset/auth/tlsdsk"
	"github.com/handset-dev/handset/auth/webticket"
	"github.com/handset-dev/handset/certrenew"
	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/labfe/websvc"
)

// Renewal end to end: certrenew.Renewer with certprov as its Issuer renews
// an 8-hour certificate from labfe's web services 2 hours before expiry
// (seed schedule: ¼ of the lifetime), then rekeys with a TLS-DSK handshake
// that presents the new certificate. Every party reads one clock running
// 20000× faster than real time, so the 6 hours pass in about a second and
// nothing sleeps.
func TestRenewalThroughWebServices(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	ca := loadPair(t, "ca")
	clk := certrenew.NewScaledClock(ca.Leaf.NotBefore.Add(48*time.Hour), 20000)
	svc, err := websvc.New(websvc.Config{CA: ca, CertLifetime: 8 * time.Hour, Users: []websvc.User{{
		Address: "sip:alice@lab.test", Extension: "4001", PIN: configsSecret("135790")}}},
		websvc.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	srv := newTLSServer(t, svc)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	wt, err := webticket.New(webticket.Config{CertProvURL: srv.URL + websvc.PathCertProv},
		&webticket.PIN{Extension: "4001", PIN: "135790"}, webticket.WithHTTPClient(srv.Client()), webticket.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	md, err := wt.Metadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	key := userKey(t)
	cp, err := certprov.New(certprov.Config{URL: md.AuthURL, User: "alice@lab.test", DeviceID: "d"}, wt,
		certprov.WithHTTPClient(srv.Client()), certprov.WithClock(clk.Now),
		certprov.WithKeyGenerator(func(io.Reader) (*rsa.PrivateKey, error) { return key, nil }))
	if err != nil {
		t.Fatal(err)
	}
	var store certrenew.Store
	first, err := cp.Provision(ctx, &store)
	if err != nil {
		t.Fatal(err)
	}

	rekeyed := make(chan string, 1)
	rekey := func(context.Context) error {
		c, rerr := tlsdsk.NewClient(tlsdsk.ClientConfig{ServerName: "fe.lab.test", RootCAs: svc.CertPool(), Store: &store},
			tlsdsk.WithClock(clk.Now))
		if rerr != nil {
			return rerr
		}
		defer c.Close()
		s, rerr := tlsdsk.NewServer(tlsdsk.ServerConfig{Certificate: loadPair(t, "fe"), ClientCAs: svc.CertPool()},
			tlsdsk.WithClock(clk.Now))
		if rerr != nil {
			return rerr
		}
		defer s.Close()
		flight, _, rerr := c.Step(nil)
		for done := false; rerr == nil && !done; {
			var back []byte
			if back, _, rerr = s.Step(flight); rerr == nil {
				flight, done, rerr = c.Step(back)
			}
		}
		if rerr != nil {
			return rerr
		}
		peer, rerr := s.PeerCertificate()
		if rerr != nil {
			return rerr
		}
		select { // only the first rekey is reported; never block Run
		case rekeyed <- peer.SerialNumber.String():
		default:
		}
		return nil
	}
	r, err := certrenew.New(certrenew.Config{}, &store, cp, certrenew.WithClock(clk), certrenew.WithRekey(rekey))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	serial := <-rekeyed
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v", err)
	}
	if serial == first.Leaf.SerialNumber.String() {
		t.Fatal("TLS-DSK rekey presented the old certificate")
	}
	if got := store.Leaf(); got == nil || got.SerialNumber.String() != serial || svc.Issued() != 2 {
		t.Fatalf("store holds %v, issued %d", got, svc.Issued())
	}
	// The renewal happened in the last quarter of the first certificate's life.
	if at := store.Leaf().NotBefore; at.Before(first.Leaf.NotAfter.Add(-2*time.Hour - 2*time.Minute)) {
		t.Errorf("renewed at %v, first expires %v", at, first.Leaf.NotAfter)
	}
}
