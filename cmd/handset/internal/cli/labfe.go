package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/handset-dev/handset/labfe"
	"github.com/handset-dev/handset/labfe/inband"
)

func init() {
	register(&Command{Name: "labfe", Summary: "serve the strict lab Lync front end (TLS, NTLM, MS-SIPAE signing) and print the command that signs in against it", Run: runLabfe})
}

// defaultUsersCSV is the template users file `handset labfe` serves when
// run from the repository root without --users.
const defaultUsersCSV = "configs/templates/users.csv"

type labfeOptions struct {
	listen, domain, fqdn  string
	users                 string
	generate              int
	caOut, certFile, key  string
	expiry, keepAlive, sa time.Duration
	prov, mac             string
	rsa                   bool
	inband                string
	echoURI, echoEnc      string
	echoAddr              string
	echoDelay             time.Duration
	noEcho                bool
	echoMax               int
	dsk                   labfeDSKOptions   // labfe_tlsdsk.go
	relay                 labfeRelayOptions // labfe_relay.go

	// Failover rehearsal (labfe_control.go).
	backupFQDN, backupListen string
	control                  string    // --control FILE ("-": standard input)
	controlIn                io.Reader // tests: the control stream
}

func parseLabfeFlags(env *Env, args []string) (*labfeOptions, error) {
	o := &labfeOptions{}
	fs := newFlagSet(env, "labfe")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:0", "TLS listen address (port 0: an ephemeral port, printed)")
	fs.StringVar(&o.domain, "domain", labfe.DefaultDomain, "SIP domain")
	fs.StringVar(&o.fqdn, "fqdn", labfe.DefaultFQDN, "pool FQDN: NTLM targetname and certificate name")
	fs.StringVar(&o.users, "users", "", "users CSV (header: reg.1.address,reg.1.auth.userId,reg.1.auth.domain,reg.1.auth.password[,pin,extension]); default "+defaultUsersCSV+" if present, else the built-in alice/bob")
	fs.IntVar(&o.generate, "generate", 0, "serve N generated users user0001@DOMAIN... (the load runner's accounts) instead of a CSV")
	fs.StringVar(&o.caOut, "ca-out", filepath.Join(os.TempDir(), "handset-labfe-ca.pem"), "write the CA certificate PEM to this file")
	fs.StringVar(&o.certFile, "cert", "", "server certificate chain PEM (default: generated test CA + certificate)")
	fs.StringVar(&o.key, "key", "", "server key PEM (with --cert)")
	fs.DurationVar(&o.expiry, "expiry", labfe.DefaultRegisterExpiry, "maximum registration expiry granted")
	fs.DurationVar(&o.keepAlive, "keepalive", labfe.DefaultKeepAliveTimeout, "ms-keep-alive timeout told to clients (idle flows close after twice that)")
	fs.DurationVar(&o.sa, "sa-lifetime", labfe.DefaultSALifetime, "security association lifetime (then clients must re-authenticate)")
	fs.BoolVar(&o.rsa, "rsa", false, "generate an RSA-2048 server certificate like a real pool (default ECDSA P-256; RSA costs about 4x the server CPU per handshake)")
	fs.StringVar(&o.inband, "inband", "", "in-band provisioning data XML served to the provisioning-v2 SUBSCRIBE (default: the embedded set; see labfe/inband)")
	fs.StringVar(&o.echoURI, "echo-uri", "", "the echo (test-call) bot's URI, advertised in-band as botSipUriForTestCall (default sip:echo@DOMAIN)")
	fs.BoolVar(&o.noEcho, "no-echo", false, "disable the echo bot")
	fs.DurationVar(&o.echoDelay, "echo-delay", labfe.DefaultEchoAnswerDelay, "how long the echo bot lets a call ring before answering (negative: at once)")
	fs.StringVar(&o.echoEnc, "echo-encryption", "", "the echo bot's media encryption level: RequireEncryption, SupportEncryption or DoNotSupportEncryption (default: the in-band ucPC2PCAVEncryption)")
	fs.IntVar(&o.echoMax, "echo-max-calls", labfe.DefaultEchoMaxCalls, "most simultaneous echo calls (one more gets 486 Busy Here)")
	fs.StringVar(&o.echoAddr, "echo-media-addr", "", "IP the echo bot's RTP sockets bind to (default: the --listen host, or 127.0.0.1)")
	fs.StringVar(&o.prov, "prov", "configs/templates/flat", "provisioning directory named in the printed sign-in command")
	fs.StringVar(&o.mac, "mac", "0004f2000001", "handset MAC named in the printed sign-in command")
	addLabfeDSKFlags(fs, &o.dsk)
	addLabfeRelayFlags(fs, &o.relay)
	fs.StringVar(&o.backupFQDN, "backup-fqdn", "", "also serve a backup pool with this FQDN (same users, no echo bot), for failover: reg.1.server.2")
	fs.StringVar(&o.backupListen, "backup-listen", "127.0.0.1:0", "TLS listen address of the backup pool")
	fs.StringVar(&o.control, "control", "", "read fault commands from this file, one per line (\"-\": standard input): "+controlHelp)
	if err := fs.Parse(args); err != nil {
		return nil, &UsageError{err}
	}
	if fs.NArg() > 0 {
		return nil, &UsageError{fmt.Errorf("labfe: unexpected argument %q", fs.Arg(0))}
	}
	if (o.certFile == "") != (o.key == "") {
		return nil, &UsageError{errors.New("labfe: --cert and --key go together")}
	}
	if o.generate < 0 || (o.generate > 0 && o.users != "") {
		return nil, &UsageError{errors.New("labfe: use either --users or --generate N (N > 0)")}
	}
	return o, nil
}

func runLabfe(ctx context.Context, env *Env, args []string) int {
	o, err := parseLabfeFlags(env, args)
	if err != nil {
		return fail(env, err)
	}
	return runLabfeWith(ctx, env, o, nil)
}

// runLabfeWith serves until ctx ends; ready (tests) receives the server
// once it is bound.
func runLabfeWith(ctx context.Context, env *Env, o *labfeOptions, ready chan<- *labfe.Server) int {
	var err error
	cfg := labfe.Config{
		Domain: o.domain, FQDN: o.fqdn, ListenAddr: o.listen,
		RegisterExpiry: o.expiry, KeepAliveTimeout: o.keepAlive, SALifetime: o.sa, RSACert: o.rsa,
		EchoURI: o.echoURI, NoEcho: o.noEcho, EchoAnswerDelay: o.echoDelay, EchoEncryption: o.echoEnc,
		EchoMediaAddr: o.echoAddr, EchoMaxCalls: o.echoMax,
	}
	o.dsk.apply(&cfg)
	source := "built-in users (alice, bob)"
	switch {
	case o.generate > 0:
		cfg.Users = labfe.GenerateUsers(o.generate, o.domain)
		source = fmt.Sprintf("%d generated users", o.generate)
	case o.users != "":
		if cfg.Users, err = loadUsersFile(o.users); err != nil {
			return fail(env, &UsageError{err})
		}
		source = o.users
	default:
		u, lerr := loadUsersFile(defaultUsersCSV)
		switch {
		case lerr == nil:
			cfg.Users, source = u, defaultUsersCSV
		case errors.Is(lerr, fs.ErrNotExist):
			cfg.Users = labfe.DefaultUsers()
		default:
			return fail(env, &UsageError{lerr})
		}
	}
	if o.certFile != "" {
		if cfg.CertPEM, err = os.ReadFile(o.certFile); err != nil {
			return fail(env, &EnvError{fmt.Errorf("labfe: --cert: %w", err)})
		}
		if cfg.KeyPEM, err = os.ReadFile(o.key); err != nil {
			return fail(env, &EnvError{fmt.Errorf("labfe: --key: %w", err)})
		}
	}
	if o.inband != "" {
		b, rerr := os.ReadFile(o.inband)
		if rerr != nil {
			return fail(env, &UsageError{fmt.Errorf("labfe: --inband: %w", rerr)})
		}
		d, lerr := inband.Load(b)
		if lerr != nil {
			return fail(env, &UsageError{fmt.Errorf("labfe: --inband %s: %w", o.inband, lerr)})
		}
		cfg.InBand = &d
	}
	stopRelay, err := o.relay.start(ctx, env.Log, &cfg)
	if err != nil {
		return fail(env, &EnvError{err})
	}
	defer stopRelay()
	srv, err := labfe.New(cfg, labfe.WithLogger(env.Log))
	if err != nil {
		if errors.Is(err, labfe.ErrConfig) {
			return fail(env, &UsageError{err})
		}
		return fail(env, &EnvError{err})
	}
	var backup *labfe.Server
	if o.backupFQDN != "" {
		bcfg := cfg
		bcfg.FQDN, bcfg.ListenAddr, bcfg.NoEcho = o.backupFQDN, o.backupListen, true
		if backup, err = labfe.New(bcfg, labfe.WithLogger(env.Log.With("pool", "backup"))); err != nil {
			_ = srv.Close()
			if errors.Is(err, labfe.ErrConfig) {
				return fail(env, &UsageError{err})
			}
			return fail(env, &EnvError{err})
		}
	}
	closeAll := func() {
		_ = srv.Close()
		if backup != nil {
			_ = backup.Close()
		}
	}
	caNote := o.caOut
	if ca := srv.CACertPEM(); len(ca) > 0 {
		if backup != nil {
			ca = append(ca, backup.CACertPEM()...)
		}
		if werr := os.WriteFile(o.caOut, ca, 0o600); werr != nil {
			closeAll()
			return fail(env, &EnvError{fmt.Errorf("labfe: --ca-out: %w", werr)})
		}
	} else {
		caNote = "THE-CA-OF-YOUR-CERT.pem"
	}
	ctl := o.controlIn
	if ctl == nil && o.control != "" {
		if o.control == "-" {
			ctl = os.Stdin
		} else {
			f, oerr := os.Open(o.control)
			if oerr != nil {
				closeAll()
				return fail(env, &UsageError{fmt.Errorf("labfe: --control: %w", oerr)})
			}
			defer func() { _ = f.Close() }()
			ctl = f
		}
	}
	fmt.Fprintf(env.Stdout, "labfe: serving %s (TLS, %s, domain %s) with %d users from %s\n",
		srv.Addr(), o.fqdn, o.domain, len(cfg.Users), source)
	if len(srv.CACertPEM()) > 0 {
		fmt.Fprintf(env.Stdout, "labfe: CA certificate written to %s\n", o.caOut)
	}
	if c := srv.Config(); !c.NoEcho {
		when := "after " + c.EchoAnswerDelay.String()
		if c.EchoAnswerDelay < 0 {
			when = "at once"
		}
		fmt.Fprintf(env.Stdout, "labfe: echo bot %s (answers %s, %s, media on %s)\n",
			c.EchoURI, when, c.EchoEncryption, c.EchoMediaAddr)
	}
	fmt.Fprintf(env.Stdout, "sign in against it with:\n  handset register --prov %s --mac %s --target %s --ca %s --once\n",
		o.prov, o.mac, srv.Addr(), caNote)
	o.dsk.print(env.Stdout, srv, o.prov, o.mac, caNote)
	o.relay.print(env.Stdout)
	if backup != nil {
		fmt.Fprintf(env.Stdout, "labfe: backup pool %s serving %s (its CA is also in %s)\n", o.backupFQDN, backup.Addr(), o.caOut)
		fmt.Fprintf(env.Stdout, "failover .cfg (both names must resolve to these addresses):\n  reg.1.server.1.address=%q reg.1.server.1.port=%q\n  reg.1.server.2.address=%q reg.1.server.2.port=%q\n",
			o.fqdn, portOnly(srv.Addr()), o.backupFQDN, portOnly(backup.Addr()))
	}
	if ready != nil {
		ready <- srv
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	var berr error
	if backup != nil {
		wg.Go(func() { berr = backup.Serve(sctx) })
	}
	if ctl != nil {
		pools := map[string]*labfe.Server{"primary": srv}
		if backup != nil {
			pools["backup"] = backup
		}
		fmt.Fprintf(env.Stdout, "labfe: reading fault commands from %s\n", controlName(o.control))
		wg.Go(func() { runControl(sctx, ctl, env.Stdout, pools) })
	}
	err = srv.Serve(sctx)
	stop()
	wg.Wait()
	if err == nil {
		err = berr
	}
	if err != nil {
		return fail(env, &EnvError{err})
	}
	st := srv.Stats().Total
	fmt.Fprintf(env.Stdout, "labfe: stopped: %d registrations, %d auth failures, %d bad signatures, %d replays, %d active bindings\n",
		st.Registrations, st.AuthFailures, st.BadSignatures, st.Replays, st.ActiveBindings)
	if e := srv.Stats().Echo; e.Calls+e.Rejected > 0 {
		fmt.Fprintf(env.Stdout, "labfe: echo bot: %d calls, %d refused, %d packets in, %d reflected, %d SRTP auth failures\n",
			e.Calls, e.Rejected, e.PacketsIn, e.PacketsOut, e.AuthFailures)
	}
	return ExitOK
}

func loadUsersFile(path string) ([]labfe.User, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("labfe: users: %w", err)
	}
	defer func() { _ = f.Close() }()
	u, err := labfe.LoadUsersCSV(f)
	if err != nil {
		return nil, fmt.Errorf("labfe: users %s: %w", path, err)
	}
	return u, nil
}

// portOnly returns the port of host:port.
func portOnly(addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return p
}

func controlName(path string) string {
	if path == "-" || path == "" {
		return "standard input"
	}
	return path
}
