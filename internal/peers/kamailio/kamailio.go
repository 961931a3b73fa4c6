// Package kamailio runs a real kamailio registrar/proxy on loopback for
// tests: digest auth with passwords in the script (no database), an
// in-memory location table, record-route, UDP/TCP and TLS listeners on free
// ports, a certificate from a test CA. Based on ../shared/peers/kamailio.
package kamailio

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/handset-dev/handset/internal/peers"
	"github.com/handset-dev/handset/internal/testutil"
)

// Domain is the SIP domain and realm the server serves; Host is the name in
// its certificate.
const (
	Domain = "contoso.test"
	Host   = "sip.contoso.test"
)

// Options shape the server. The zero value serves alice/secret and
// bob/secret2 with qop=auth MD5 digest.
type Options struct {
	// Users maps user name to plain password; nil means alice/secret,
	// bob/secret2.
	Users map[string]string
	// Algorithm is the digest algorithm of the challenges: "" (MD5) or
	// "SHA-256".
	Algorithm string
	// NonceCount makes kamailio check that nc increases per nonce
	// (auth nonce_count).
	NonceCount bool
	// NonceExpire is the nonce lifetime (auth nonce_expire, s); 0 keeps
	// kamailio's 300 s.
	NonceExpire time.Duration
	// NoCallAuth lets INVITE and other out-of-dialog requests through
	// without a 407 challenge.
	NoCallAuth bool
	// CallRealm is the realm of the 407 challenges to calls; "" means
	// Domain, the registrar's realm (so that credentials a UA sends
	// preemptively with the registration's nonce pass).
	CallRealm string
	// ForbiddenOnBadPassword answers a wrong password with 403 instead of a
	// new 401 challenge.
	ForbiddenOnBadPassword bool
	// MinExpires is the registrar's min_expires (s); 0 means 1, so that tests
	// can re-register quickly.
	MinExpires int
}

// Server is a running kamailio.
type Server struct {
	*peers.Proc
	Dir     string     // working directory (config, PKI)
	PKI     *peers.PKI // CA and server certificate (for Host, localhost, 127.0.0.1)
	UDPAddr string     // 127.0.0.1:port for UDP and TCP
	TLSAddr string     // 127.0.0.1:port for TLS
}

var cfgTmpl = template.Must(template.New("kamailio.cfg").Parse(`#!KAMAILIO
# Written by internal/peers/kamailio for one test.
debug=2
log_stderror=yes
children=2
tcp_children=2
auto_aliases=no
listen=udp:127.0.0.1:{{.UDPPort}}
listen=tcp:127.0.0.1:{{.UDPPort}}
listen=tls:127.0.0.1:{{.TLSPort}}
enable_tls=yes
tcp_accept_no_cl=yes
alias="{{.Domain}}"
alias="{{.Host}}"
mpath="{{.ModPath}}"

loadmodule "tls.so"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "sanity.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "auth.so"
loadmodule "nathelper.so"
loadmodule "kex.so"
loadmodule "corex.so"

modparam("tls", "config", "{{.TLSCfg}}")
modparam("usrloc", "db_mode", 0)
modparam("nathelper", "received_avp", "$avp(RECEIVED)")
modparam("registrar", "received_avp", "$avp(RECEIVED)")
modparam("registrar", "max_expires", 3600)
modparam("registrar", "min_expires", {{.MinExpires}})
modparam("rr", "enable_double_rr", 1)
{{- if .Algorithm}}
modparam("auth", "algorithm", "{{.Algorithm}}")
{{- end}}
{{- if .NonceCount}}
modparam("auth", "nonce_count", 1)
{{- end}}
{{- if .NonceExpire}}
modparam("auth", "nonce_expire", {{.NonceExpire}})
{{- end}}

request_route {
    if (!mf_process_maxfwd_header("10")) { sl_send_reply("483","Too Many Hops"); exit; }
    if (!sanity_check()) { exit; }
    xlog("L_INFO", "REQ $rm from $si:$sp proto=$proto ruri=$ru\n");
    if (is_method("OPTIONS") && uri==myself && $rU==$null) { sl_send_reply("200","Keepalive"); exit; }
    if (has_totag()) {
        if (loose_route()) { t_relay(); exit; }
        if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
        sl_send_reply("404","Not here"); exit;
    }
    if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
    if (!is_method("ACK")) { t_check_trans(); }

    $var(pw) = "no-such-user-pw";
{{- range .Users}}
    if ($fU == "{{.Name}}") { $var(pw) = "{{.Password}}"; }
{{- end}}

    if (is_method("REGISTER")) {
        $var(rc) = pv_auth_check("{{.Domain}}", "$var(pw)", "0", "1");
        if ($var(rc) < 0) {
            xlog("L_INFO", "AUTHFAIL REGISTER $fU rc=$var(rc)\n");
{{- if .ForbiddenOnBadPassword}}
            if ($var(rc) == -2) { sl_send_reply("403", "Forbidden"); exit; }
{{- end}}
            # flags: 1 = qop=auth, 16 = stale=true (an expired nonce is not
            # a wrong password: RFC 7616 section 3.3).
            if ($var(rc) == -4) { auth_challenge("{{.Domain}}", "17"); exit; }
            auth_challenge("{{.Domain}}", "1");
            exit;
        }
        consume_credentials();
        fix_nated_register();
        if (!save("location")) { sl_reply_error(); exit; }
        xlog("L_INFO", "REGISTERED $tU expires=$hdr(Expires) proto=$proto\n");
        exit;
    }
    if (is_method("INVITE|MESSAGE|SUBSCRIBE|INFO|NOTIFY|BYE")) {
{{- if not .NoCallAuth}}
        $var(rc) = pv_auth_check("{{.CallRealm}}", "$var(pw)", "0", "0");
        if ($var(rc) < 0) {
            xlog("L_INFO", "AUTHFAIL $rm $fU rc=$var(rc)\n");
            if ($var(rc) == -4) { auth_challenge("{{.CallRealm}}", "17"); exit; }
            auth_challenge("{{.CallRealm}}", "1");
            exit;
        }
        consume_credentials();
{{- end}}
        record_route();
        if (!lookup("location")) { sl_send_reply("404", "Not Found"); exit; }
        xlog("L_INFO", "RELAY $rm to $ru via $du\n");
        t_relay();
        exit;
    }
    sl_send_reply("405", "Method Not Allowed");
}
`))

const tlsCfg = `[server:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
private_key = %s
certificate = %s
ca_list = %s

[client:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
`

// modPaths are where Debian installs kamailio's modules.
var modPaths = []string{"/usr/lib/x86_64-linux-gnu/kamailio/modules", "/usr/lib/aarch64-linux-gnu/kamailio/modules", "/usr/lib/kamailio/modules"}

// Start writes a configuration into t.TempDir(), runs `kamailio -DD -E`
// and waits until its TLS listener accepts connections. A missing kamailio
// or TLS module skips the test locally and fails it in CI
// (testutil.RequirePeer).
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	bin := testutil.RequirePeer(t, "kamailio")
	modPath := ""
	for _, p := range modPaths {
		if _, err := os.Stat(filepath.Join(p, "tls.so")); err == nil {
			modPath = p
			break
		}
	}
	if modPath == "" {
		testutil.RequirePeer(t, filepath.Join(modPaths[0], "tls.so")) // kamailio-tls-modules
	}
	dir := t.TempDir()
	s := &Server{Dir: dir, PKI: peers.NewPKI(t, dir, Host, "localhost", "127.0.0.1")}
	udp := peers.FreePort(t)
	tlsPort := peers.FreePort(t)
	s.UDPAddr, s.TLSAddr = fmt.Sprintf("127.0.0.1:%d", udp), fmt.Sprintf("127.0.0.1:%d", tlsPort)
	users := o.Users
	if users == nil {
		users = map[string]string{"alice": "secret", "bob": "secret2"}
	}
	type user struct{ Name, Password string }
	var us []user
	for n, p := range users {
		if strings.ContainsAny(n+p, "\"\\$\n") {
			t.Fatalf("kamailio: user %q: no quotes, backslashes or $ in test credentials", n)
		}
		us = append(us, user{n, p})
	}
	sort.Slice(us, func(i, j int) bool { return us[i].Name < us[j].Name })
	minExp := o.MinExpires
	if minExp == 0 {
		minExp = 1
	}
	callRealm := o.CallRealm
	if callRealm == "" {
		callRealm = Domain
	}
	if strings.ContainsAny(callRealm, "\"\\$\n") {
		t.Fatalf("kamailio: CallRealm %q", callRealm)
	}
	tlsPath := filepath.Join(dir, "tls.cfg")
	peers.WriteFile(t, tlsPath, fmt.Appendf(nil, tlsCfg, s.PKI.KeyFile, s.PKI.CertFile, s.PKI.CAFile))
	var b strings.Builder
	err := cfgTmpl.Execute(&b, map[string]any{
		"UDPPort": udp, "TLSPort": tlsPort, "Domain": Domain, "Host": Host, "ModPath": modPath, "TLSCfg": tlsPath,
		"MinExpires": minExp, "Algorithm": o.Algorithm, "NonceCount": o.NonceCount,
		"NonceExpire": int(o.NonceExpire / time.Second), "NoCallAuth": o.NoCallAuth,
		"ForbiddenOnBadPassword": o.ForbiddenOnBadPassword, "Users": us, "CallRealm": callRealm,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "kamailio.cfg")
	peers.WriteFile(t, cfg, []byte(b.String()))
	// -m/-M: 32 MB shared and 8 MB private memory are plenty and keep
	// several parallel test servers light.
	s.Proc = peers.Start(t, "kamailio", dir, bin, "-DD", "-E", "-f", cfg, "-w", dir, "-Y", dir, "-m", "32", "-M", "8")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.WaitListening(ctx, s.TLSAddr); err != nil {
		t.Fatalf("kamailio did not start: %v\n%s", err, s.Log.String())
	}
	return s
}

// WaitRegistered waits for kamailio's log line of the n-th successful
// REGISTER of user (n counts from 1 over the server's life).
func (s *Server) WaitRegistered(ctx context.Context, user string, n int) error {
	_, err := s.WaitForN(ctx, regexp.MustCompile(`REGISTERED `+regexp.QuoteMeta(user)+` `), n)
	return err
}

// Registrations counts successful REGISTERs of user so far (including
// un-REGISTERs, which kamailio saves too).
func (s *Server) Registrations(user string) int {
	return s.Count(regexp.MustCompile(`REGISTERED ` + regexp.QuoteMeta(user) + ` `))
}

// AuthFailures counts rejected credentials (wrong password, stale nonce,
// user mismatch) of method from user; requests without credentials (rc=-5,
// the normal first request) are not counted.
func (s *Server) AuthFailures(method, user string) int {
	return s.Count(authFailRE(method, user))
}

// WaitAuthFailures waits until kamailio has logged n rejected credentials
// of method from user (see AuthFailures).
func (s *Server) WaitAuthFailures(ctx context.Context, method, user string, n int) error {
	_, err := s.WaitForN(ctx, authFailRE(method, user), n)
	return err
}

func authFailRE(method, user string) *regexp.Regexp {
	return regexp.MustCompile(`AUTHFAIL ` + regexp.QuoteMeta(method) + ` ` + regexp.QuoteMeta(user) + ` rc=-[0-46-9]`)
}
