package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/handset-dev/handset/auth/certprov"
	"github.com/handset-dev/handset/auth/ntlm"
	"github.com/handset-dev/handset/auth/webticket"
	"github.com/handset-dev/handset/certrenew"
)

func init() {
	register(&Command{Name: "certprov", Summary: "obtain a user certificate for TLS-DSK: web ticket (NTLM or extension+PIN) then GetAndPublishCert; writes PEM files", Run: runCertprov})
}

const certprovUsage = `usage: handset certprov --sts-uri URL (--extension EXT | --user user@domain --auth-user [DOMAIN\]name)
                        [--device-id UUID] [--ca FILE] [--insecure] [--out-cert FILE --out-key FILE]
The PIN is read from $HANDSET_PIN, the password from $HANDSET_PASSWORD (never from flags).`

type certprovOptions struct {
	stsURI, extension, user, authUser, deviceID, caFile, outCert, outKey string
	insecure                                                             bool
	secret                                                               string
}

func parseCertprovFlags(env *Env, args []string, getenv func(string) string) (*certprovOptions, error) {
	fs := newFlagSet(env, "certprov")
	o := &certprovOptions{}
	fs.StringVar(&o.stsURI, "sts-uri", "", "certificate provisioning URL (the TLS-DSK challenge's sts-uri)")
	fs.StringVar(&o.extension, "extension", "", "sign in with extension + PIN ($HANDSET_PIN)")
	fs.StringVar(&o.user, "user", "", "user@domain, for sign-in with credentials")
	fs.StringVar(&o.authUser, "auth-user", "", `NTLM user, DOMAIN\name or name ($HANDSET_PASSWORD)`)
	fs.StringVar(&o.deviceID, "device-id", "00000000-0000-4000-8000-000000000084", "the handset's instance UUID")
	fs.StringVar(&o.caFile, "ca", "", "PEM file of CAs trusted for the web services (default: system pool)")
	fs.BoolVar(&o.insecure, "insecure", false, "do not verify the web services certificate (lab only)")
	fs.StringVar(&o.outCert, "out-cert", "", "write the certificate (PEM) here")
	fs.StringVar(&o.outKey, "out-key", "", "write the private key (PEM, mode 0600) here")
	fs.Usage = func() { fmt.Fprintln(env.Stderr, certprovUsage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		return nil, &UsageError{err}
	}
	switch {
	case fs.NArg() > 0:
		return nil, &UsageError{fmt.Errorf("certprov: unexpected argument %q", fs.Arg(0))}
	case o.stsURI == "":
		return nil, &UsageError{errors.New("certprov: --sts-uri is required")}
	case (o.extension == "") == (o.user == ""):
		return nil, &UsageError{errors.New("certprov: give either --extension or --user")}
	case o.user != "" && o.authUser == "":
		return nil, &UsageError{errors.New("certprov: --user needs --auth-user")}
	case (o.outCert == "") != (o.outKey == ""):
		return nil, &UsageError{errors.New("certprov: --out-cert and --out-key go together")}
	}
	if o.extension != "" {
		o.secret = getenv("HANDSET_PIN")
		if o.secret == "" {
			return nil, &UsageError{errors.New("certprov: set $HANDSET_PIN")}
		}
	} else if o.secret = getenv("HANDSET_PASSWORD"); o.secret == "" {
		return nil, &UsageError{errors.New("certprov: set $HANDSET_PASSWORD")}
	}
	return o, nil
}

func runCertprov(ctx context.Context, env *Env, args []string) int {
	o, err := parseCertprovFlags(env, args, os.Getenv)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return fail(env, err)
	}
	hc, err := certprovHTTPClient(o)
	if err != nil {
		return fail(env, err)
	}
	return fail0(env, provisionCert(ctx, env, o, hc))
}

func fail0(env *Env, err error) int {
	if err == nil {
		return ExitOK
	}
	return fail(env, err)
}

func certprovHTTPClient(o *certprovOptions) (*http.Client, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.insecure} //nolint:gosec // --insecure is a documented lab flag.
	if o.caFile != "" {
		b, err := os.ReadFile(o.caFile)
		if err != nil {
			return nil, &UsageError{fmt.Errorf("certprov: --ca: %w", err)}
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(b) {
			return nil, &UsageError{fmt.Errorf("certprov: --ca %s: no PEM certificate", o.caFile)}
		}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: false}, Timeout: 2 * time.Minute}, nil
}

func provisionCert(ctx context.Context, env *Env, o *certprovOptions, hc *http.Client) error {
	var cred webticket.Credential
	if o.extension != "" {
		cred = &webticket.PIN{Extension: o.extension, PIN: o.secret}
	} else {
		domain, name := ntlm.SplitUser(o.authUser)
		cred = &webticket.NTLM{SIPURI: "sip:" + o.user, Config: ntlm.ClientConfig{
			Credentials: ntlm.Credentials{Domain: domain, User: name, Workstation: "HANDSET", Password: o.secret}}}
	}
	wt, err := webticket.New(webticket.Config{CertProvURL: o.stsURI}, cred, webticket.WithHTTPClient(hc), webticket.WithLogger(env.Log))
	if err != nil {
		return &UsageError{err}
	}
	md, err := wt.Metadata(ctx)
	if err != nil {
		return classifyWebErr(err)
	}
	user := o.user
	if user == "" {
		t, terr := wt.Ticket(ctx)
		if terr != nil {
			return terr
		}
		user = strings.TrimPrefix(strings.ToLower(t.Subject), "sip:")
		fmt.Fprintf(env.Stdout, "web ticket for sip:%s, valid until %s\n", user, t.Expires.UTC().Format(time.RFC3339))
	}
	cp, err := certprov.New(certprov.Config{URL: md.AuthURL, User: user, DeviceID: o.deviceID}, wt,
		certprov.WithHTTPClient(hc), certprov.WithLogger(env.Log))
	if err != nil {
		return &UsageError{err}
	}
	var store certrenew.Store
	cert, err := cp.Provision(ctx, &store)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "certificate CN=%s issuer=%q valid %s .. %s (%s)\n", cert.Leaf.Subject.CommonName,
		cert.Leaf.Issuer.CommonName, cert.Leaf.NotBefore.UTC().Format(time.RFC3339), cert.Leaf.NotAfter.UTC().Format(time.RFC3339),
		cert.Leaf.NotAfter.Sub(cert.Leaf.NotBefore).Round(time.Minute))
	if o.outCert == "" {
		return nil
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		return fmt.Errorf("certprov: key: %w", err)
	}
	if err := os.WriteFile(o.outKey, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return &EnvError{fmt.Errorf("certprov: %w", err)}
	}
	if err := os.WriteFile(o.outCert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o644); err != nil { //nolint:gosec // a certificate is public.
		return &EnvError{fmt.Errorf("certprov: %w", err)}
	}
	fmt.Fprintf(env.Stdout, "wrote %s and %s\n", o.outCert, o.outKey)
	return nil
}

// classifyWebErr makes an unreachable or untrusted web service an
// environment error (exit 3); service refusals stay run failures.
func classifyWebErr(err error) error {
	var se *webticket.ServiceError
	if errors.As(err, &se) {
		return err
	}
	return &EnvError{err}
}
