package cli

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"

	"github.com/handset-dev/handset/certrenew"
	"github.com/handset-dev/handset/sipua"
)

// PIN sign-in for `handset register` (seed "Using PIN Authentication"):
// --extension and --pin (or $HANDSET_PIN) are what the user types at
// "Sign in: PIN & Ext."; they override the provisioning's credentials and
// are never written to disk or printed. --cert-file/--key-file are the
// handset's certificate storage: a certificate held there is used for
// TLS-DSK, and a new one is written back (key mode 0600), so that the next
// run signs in without the PIN, as a phone does until its certificate
// expires.

type pinOptions struct {
	extension string
	pin       string
	certFile  string
	keyFile   string
}

func addPINFlags(fs *flag.FlagSet, o *pinOptions) {
	fs.StringVar(&o.extension, "extension", "", "sign in with extension + PIN (PIN & Ext.); the PIN comes from --pin or $HANDSET_PIN")
	fs.StringVar(&o.pin, "pin", "", "the PIN for --extension (prefer $HANDSET_PIN: flags show in process lists); never stored")
	fs.StringVar(&o.certFile, "cert-file", "", "the handset's user certificate (PEM): used for TLS-DSK when valid, rewritten when a new one is issued")
	fs.StringVar(&o.keyFile, "key-file", "", "the private key of --cert-file (PEM, written with mode 0600)")
}

// check validates the PIN flags after parsing.
func (o *pinOptions) check(getenv func(string) string) error {
	if o.pin != "" && o.extension == "" {
		return errors.New("register: --pin needs --extension")
	}
	if o.extension != "" && o.pin == "" {
		o.pin = getenv("HANDSET_PIN")
		if o.pin == "" {
			return errors.New("register: --extension needs the PIN: --pin or $HANDSET_PIN")
		}
	}
	if (o.certFile == "") != (o.keyFile == "") {
		return errors.New("register: --cert-file and --key-file go together")
	}
	return nil
}

// apply makes cfg a PIN handset when --extension was given, and a PIN
// handset holding a certificate when only the certificate files are and the
// provisioning gives no password.
func (o *pinOptions) apply(cfg *sipua.Config) {
	if o.extension != "" {
		cfg.Password, cfg.AuthUser, cfg.AuthDomain = "", "", ""
		cfg.PINSignIn, cfg.Extension, cfg.PIN = true, o.extension, sipua.Password(o.pin)
		// Typing at the PIN & Ext. menu is what the flags stand for; the
		// provisioning's menu settings are about a keypad.
		cfg.NoPinCredentials = false
	}
}

// loadStore reads the certificate files into a store; missing files mean
// an empty store (a handset that has no certificate yet).
func (o *pinOptions) loadStore() (*certrenew.Store, *x509.Certificate, error) {
	store := &certrenew.Store{}
	if o.certFile == "" {
		return store, nil, nil
	}
	pair, err := tls.LoadX509KeyPair(o.certFile, o.keyFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return store, nil, nil
	case err != nil:
		return nil, nil, fmt.Errorf("register: --cert-file: %w", err)
	}
	if _, err := store.Swap(&pair); err != nil {
		return nil, nil, fmt.Errorf("register: --cert-file: %w", err)
	}
	return store, store.Leaf(), nil
}

// saveStore writes the store's certificate back when it changed.
func (o *pinOptions) saveStore(store *certrenew.Store, before *x509.Certificate) error {
	cur := store.Current()
	if o.certFile == "" || cur == nil || (before != nil && cur.Leaf.Equal(before)) {
		return nil
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(cur.PrivateKey)
	if err != nil {
		return fmt.Errorf("register: key: %w", err)
	}
	var certPEM []byte
	for _, der := range cur.Certificate {
		certPEM = append(certPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	if err := os.WriteFile(o.keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return fmt.Errorf("register: --key-file: %w", err)
	}
	if err := os.WriteFile(o.certFile, certPEM, 0o600); err != nil {
		return fmt.Errorf("register: --cert-file: %w", err)
	}
	return nil
}
