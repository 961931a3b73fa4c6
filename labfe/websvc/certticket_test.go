package websvc_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/handset-dev/handset/auth/webticket"
	"github.com/handset-dev/handset/certrenew"
	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/labfe/websvc"
)

// The certificate port: a handset holding alice's certificate (obtained
// with her PIN) gets a web ticket with it as the TLS client certificate; no
// certificate is 401.
func TestCertTicket(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	e := newEnv(t, nil)
	ctx := context.Background()
	wt := e.ticketClient(&webticket.PIN{Extension: "4001", PIN: "135790"})
	var store certrenew.Store
	if _, err := e.certClient(wt, "alice@lab.test").Provision(ctx, &store); err != nil {
		t.Fatal(err)
	}

	// A listener that asks for client certificates from the issuing CA,
	// as labfe's does.
	srv := httptest.NewUnstartedServer(e.svc)
	srv.TLS = &tls.Config{ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: e.svc.CertPool(), Time: e.clock, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	client := func(withCert bool) *http.Client {
		c := srv.Client()
		tr := c.Transport.(*http.Transport).Clone()
		if withCert {
			tr.TLSClientConfig.Certificates = []tls.Certificate{*store.Current()}
		}
		tr.TLSClientConfig.Time = e.clock
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr}
	}
	for name, tc := range map[string]struct {
		cert bool
		ok   bool
	}{"with certificate": {true, true}, "without": {false, false}} {
		t.Run(name, func(t *testing.T) {
			hc := client(tc.cert)
			c, err := webticket.New(webticket.Config{CertProvURL: srv.URL + websvc.PathCertProv},
				&webticket.Cert{SIPURI: "sip:alice@lab.test", Client: hc}, webticket.WithHTTPClient(hc),
				webticket.WithClock(e.clock), webticket.WithRand(testutil.NewReader(3)))
			if err != nil {
				t.Fatal(err)
			}
			ticket, err := c.Ticket(ctx)
			if tc.ok {
				if err != nil || ticket.Subject != "sip:alice@lab.test" {
					t.Fatalf("ticket %v, %v", ticket, err)
				}
				return
			}
			var se *webticket.ServiceError
			if !errors.As(err, &se) || se.Status != http.StatusUnauthorized || !errors.Is(err, webticket.ErrAuth) {
				t.Fatalf("without a certificate: %v", err)
			}
		})
	}
}
