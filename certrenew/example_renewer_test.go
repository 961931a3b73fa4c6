package certrenew_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/handset-dev/handset/certrenew"
)

// The TLS-DSK handshake takes its client certificate from the Store, so a
// handshake started after a renewal uses the new certificate.
func ExampleStore_GetClientCertificate() {
	var store certrenew.Store
	cfg := &tls.Config{GetClientCertificate: store.GetClientCertificate}
	_, err := cfg.GetClientCertificate(&tls.CertificateRequestInfo{})
	fmt.Println(errors.Is(err, certrenew.ErrNoCertificate))
	// Output: true
}

// A handset owns one Renewer and runs it next to its registration loop.
func ExampleNew() {
	var (
		store  certrenew.Store     // filled at sign-in with the provisioned certificate
		issuer certrenew.Issuer    // auth/certprov's client
		rekey  certrenew.RekeyFunc // clears the SA and sends an unsigned REGISTER
	)
	r, err := certrenew.New(certrenew.Config{}, &store, issuer,
		certrenew.WithRekey(rekey),
		certrenew.WithLogger(slog.Default()),
		certrenew.WithObserver(func(e certrenew.Event) { slog.Info("certificate renewal", "event", e) }),
	)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var expired *certrenew.ExpiredError
	switch err := r.Run(ctx); {
	case errors.As(err, &expired):
		fmt.Println(certrenew.RecoveryFor(false)) // credentials: NTLM sign-in
	case errors.Is(err, certrenew.ErrExpired):
		fmt.Println("renewal failed until expiry:", err)
	}
}

func ExamplePolicy_Next() {
	notBefore := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	v := certrenew.Validity{NotBefore: notBefore, NotAfter: notBefore.Add(8 * time.Hour)}
	first, _ := certrenew.Policy{}.Next(v, notBefore, nil)
	retry, _ := certrenew.Policy{}.Next(v, first, []time.Time{first})
	fmt.Println(first.Format(time.Kitchen), retry.Format(time.Kitchen))
	// Output: 6:00AM 6:10AM
}
