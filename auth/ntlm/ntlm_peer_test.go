package ntlm

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/handset-dev/handset/internal/testutil"
)

// Real third-party NTLM peers (peers.md, NTLM section):
//   - gss-ntlmssp: an independent acceptor for our connectionless
//     AUTHENTICATE (session key, datagram MAC at its only supported SeqNum 0,
//     and its own MIC for our client to verify);
//   - impacket: an independent client whose AUTHENTICATE our acceptor must
//     verify, with its MAC at SeqNum 100 (the SIP value);
//   - samba ntlm_auth: an independent connection-oriented acceptor.

const (
	python     = "/usr/bin/python3" // Debian's modules are for this interpreter, not pyenv's
	gssPlugin  = "/usr/lib/x86_64-linux-gnu/gssntlmssp/gssntlmssp.so"
	peerDomain = "CONTOSO"
	peerUser   = "alice"
	peerPass   = "secret"
)

// requirePython skips (locally) or fails (CI) when a Debian python module
// is missing.
func requirePython(t *testing.T, modules ...string) string {
	t.Helper()
	py := testutil.RequirePeer(t, python)
	for _, m := range modules {
		if out, err := exec.Command(py, "-c", "import "+m).CombinedOutput(); err != nil {
			if testutil.InCI() {
				t.Fatalf("python module %s missing in CI: %v\n%s", m, err, out)
			}
			t.Skipf("python module %s not installed: %v", m, err)
		}
	}
	return py
}

// linePeer is a line-oriented helper process.
type linePeer struct {
	t     *testing.T
	stdin io.WriteCloser
	out   *bufio.Scanner
}

func startLinePeer(t *testing.T, cmd *exec.Cmd) *linePeer {
	t.Helper()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		if err := cmd.Wait(); err != nil && t.Failed() {
			t.Logf("peer exit: %v\n%s", err, stderr.String())
		}
	})
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	return &linePeer{t: t, stdin: stdin, out: sc}
}

func (p *linePeer) send(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		p.t.Fatalf("write to peer: %v", err)
	}
}

func (p *linePeer) recv() []string {
	p.t.Helper()
	if !p.out.Scan() {
		p.t.Fatalf("peer closed its output: %v", p.out.Err())
	}
	return strings.Fields(p.out.Text())
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func unb64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func startGSSAcceptor(t *testing.T) (*linePeer, []byte) {
	t.Helper()
	py := requirePython(t, "ctypes")
	plugin := gssPlugin
	if m, _ := filepath.Glob("/usr/lib/*/gssntlmssp/gssntlmssp.so"); len(m) > 0 {
		plugin = m[0] // multiarch directory other than x86_64
	}
	plugin = testutil.RequirePeer(t, plugin)
	users := filepath.Join(t.TempDir(), "users.txt")
	if err := os.WriteFile(users, []byte(peerDomain+":"+peerUser+":"+peerPass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), py, "testdata/peers/gss_datagram_acceptor.py", plugin)
	cmd.Env = append(os.Environ(), "NTLM_USER_FILE="+users)
	p := startLinePeer(t, cmd)
	f := p.recv()
	if len(f) != 2 || f[0] != "CHALLENGE" {
		t.Fatalf("gss-ntlmssp start: %q", f)
	}
	return p, unb64(t, f[1])
}

func peerClient(password string, seed uint64) ClientConfig {
	return ClientConfig{
		Credentials: Credentials{Domain: peerDomain, User: peerUser, Workstation: "HANDSET", Password: password},
		Rand:        testutil.NewReader(seed),
		Now:         time.Now,
	}
}

// TestGSSNTLMSSPAcceptsOurDatagramAuthenticate: our connectionless client
// against gss-ntlmssp's datagram acceptor.
func TestGSSNTLMSSPAcceptsOurDatagramAuthenticate(t *testing.T) {
	p, chal := startGSSAcceptor(t)
	ch, err := ParseChallenge(chal)
	if err != nil {
		t.Fatal(err)
	}
	if !ch.Flags.Has(FlagDatagram | FlagKeyExch) {
		t.Fatalf("gss-ntlmssp CHALLENGE flags %v lack DATAGRAM/KEY_EXCH", ch.Flags)
	}
	auth, s, err := Authenticate(peerClient(peerPass, 1), chal)
	if err != nil {
		t.Fatal(err)
	}
	p.send("AUTH " + b64(auth))
	f := p.recv()
	if len(f) != 3 || f[0] != "OK" {
		t.Fatalf("gss-ntlmssp refused our AUTHENTICATE: %q", f)
	}
	if want := hex.EncodeToString(s.ExportedSessionKey()); f[1] != want {
		t.Fatalf("session key: gss-ntlmssp %s, ours %s", f[1], want)
	}

	// Datagram MAC: gss-ntlmssp 1.2.0 verifies at SeqNum 0 only (peers.md).
	msg := []byte("<NTLM><0a1b2c3d><1><SIP Communications Service><pool.contoso.test><callid><1><REGISTER><sip:alice@contoso.test><tag><sip:alice@contoso.test><><><><>")
	p.send("VERIFY " + b64(msg) + " " + b64(s.MAC(msg, 0)))
	if v := p.recv(); len(v) != 2 || v[1] != "0" {
		t.Fatalf("gss-ntlmssp did not verify our MAC: %q", v)
	}
	p.send("VERIFY " + b64(append(bytes.Clone(msg), '!')) + " " + b64(s.MAC(msg, 0)))
	if v := p.recv(); len(v) != 2 || v[1] == "0" {
		t.Fatalf("gss-ntlmssp verified a tampered message: %q", v)
	}
	// And its server-side signature verifies with our client session.
	p.send("MIC " + b64(msg))
	f = p.recv()
	if len(f) != 2 || f[0] != "MIC" {
		t.Fatalf("gss_get_mic: %q", f)
	}
	if err := s.VerifyMAC(msg, unb64(t, f[1]), 0); err != nil {
		t.Fatalf("our client rejects gss-ntlmssp's signature: %v", err)
	}
	if err := s.VerifyMAC(append(bytes.Clone(msg), '!'), unb64(t, f[1]), 0); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("tampered: %v", err)
	}
}

func TestGSSNTLMSSPRejectsWrongPassword(t *testing.T) {
	p, chal := startGSSAcceptor(t)
	auth, _, err := Authenticate(peerClient("WRONG", 2), chal)
	if err != nil {
		t.Fatal(err)
	}
	p.send("AUTH " + b64(auth))
	if f := p.recv(); len(f) == 0 || f[0] != "ERR" {
		t.Fatalf("gss-ntlmssp accepted a wrong password: %q", f)
	}
}

// impacketClient starts impacket's client in mode "datagram" or
// "connection". In connection mode it first prints its NEGOTIATE.
func impacketClient(t *testing.T, mode, password string, seq uint32, msg []byte) *linePeer {
	t.Helper()
	py := requirePython(t, "impacket", "Cryptodome")
	cmd := exec.CommandContext(t.Context(), py, "testdata/peers/impacket_client.py", mode, peerDomain, peerUser, password, fmt.Sprint(seq), b64(msg))
	return startLinePeer(t, cmd)
}

// impacketFinish sends the CHALLENGE and reads AUTHENTICATE, exported key
// and MAC.
func impacketFinish(t *testing.T, p *linePeer, chal []byte) (auth, key, mac []byte) {
	t.Helper()
	p.send(b64(chal))
	for range 3 {
		f := p.recv()
		if len(f) != 2 {
			t.Fatalf("impacket output %q", f)
		}
		switch f[0] {
		case "AUTH":
			auth = unb64(t, f[1])
		case "KEY":
			key, _ = hex.DecodeString(f[1])
		case "MAC":
			mac, _ = hex.DecodeString(f[1])
		}
	}
	if auth == nil || len(key) != 16 || len(mac) != 16 {
		t.Fatalf("impacket output incomplete")
	}
	return auth, key, mac
}

func impacketAuthenticate(t *testing.T, chal []byte, password string, seq uint32, msg []byte) (auth, key, mac []byte) {
	t.Helper()
	return impacketFinish(t, impacketClient(t, "datagram", password, seq, msg), chal)
}

// TestAcceptorVerifiesImpacket: our labfe-side acceptor against an
// independent client, datagram mode, MAC at the SIP SeqNum 100.
func TestAcceptorVerifiesImpacket(t *testing.T) {
	cfg := labAcceptor(40)
	cfg.Now = time.Now
	sc, chal, err := NewChallenge(cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("<NTLM><13317733><1><SIP Communications Service><pool.contoso.test><4037df9284354df39065195bd57a4b14><3><REGISTER><sip:alice@contoso.test><3e49177a52><sip:alice@contoso.test><><><><>")
	auth, key, mac := impacketAuthenticate(t, chal, peerPass, 100, msg)
	lookup := func(d, u string) (string, bool) { return peerPass, d == peerDomain && u == peerUser }
	s, id, err := sc.Accept(auth, lookup)
	if err != nil {
		t.Fatalf("our acceptor refused impacket: %v", err)
	}
	if id.Domain != peerDomain || id.User != peerUser {
		t.Errorf("identity %+v", id)
	}
	if !bytes.Equal(s.ExportedSessionKey(), key) {
		t.Fatalf("session key: ours %x, impacket %x", s.ExportedSessionKey(), key)
	}
	if !s.Datagram() {
		t.Fatalf("session flags %v: not datagram", s.Flags())
	}
	if err := s.VerifyMAC(msg, mac, 100); err != nil {
		t.Fatalf("impacket's SeqNum-100 MAC: %v", err)
	}
	mac[4] ^= 1
	if err := s.VerifyMAC(msg, mac, 100); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("tampered impacket MAC: %v", err)
	}

	sc2, chal2, _ := NewChallenge(cfg, true)
	bad, _, _ := impacketAuthenticate(t, chal2, "WRONG", 100, msg)
	if _, _, err := sc2.Accept(bad, lookup); !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("impacket with wrong password: %v", err)
	}
}

// ntlmAuth runs samba's ntlm_auth as a local-password NTLMSSP server
// (squid-2.5-ntlmssp helper protocol, no winbindd; peers.md).
func ntlmAuth(t *testing.T) *linePeer {
	t.Helper()
	bin := testutil.RequirePeer(t, "ntlm_auth")
	dir := t.TempDir()
	conf := filepath.Join(dir, "smb.conf")
	var b strings.Builder
	fmt.Fprintf(&b, "[global]\n   workgroup = %s\n   netbios name = POOL\n   server role = standalone server\n", peerDomain)
	for _, d := range []string{"private", "lock", "state", "cache"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "   %s dir = %s\n", d, filepath.Join(dir, d))
	}
	fmt.Fprintf(&b, "   log file = %s\n   ntlm auth = ntlmv2-only\n", filepath.Join(dir, "log.%m"))
	if err := os.WriteFile(conf, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), bin, "--configfile="+conf, "--helper-protocol=squid-2.5-ntlmssp",
		"--username="+peerUser, "--domain="+peerDomain, "--password="+peerPass)
	return startLinePeer(t, cmd)
}

// TestNTLMAuthConnectionOriented: our connection-oriented client (with MIC)
// against samba.
func TestNTLMAuthConnectionOriented(t *testing.T) {
	for _, tc := range []struct {
		name, password string
		tamperMIC      bool
		ok             bool
	}{
		{"right password", peerPass, false, true},
		{"wrong password", "WRONG", false, false},
		{"tampered MIC", peerPass, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := ntlmAuth(t)
			cfg := peerClient(tc.password, 3)
			p.send("YR " + b64(Negotiate(cfg)))
			f := p.recv()
			if len(f) != 2 || f[0] != "TT" {
				t.Fatalf("YR: %q", f)
			}
			auth, s, err := AuthenticateConnection(cfg, unb64(t, f[1]))
			if err != nil {
				t.Fatal(err)
			}
			if m, _ := ParseAuthenticate(auth); len(m.MIC) != 16 {
				t.Errorf("no MIC although samba's CHALLENGE has a timestamp")
			}
			if tc.tamperMIC {
				auth[micOffset+3] ^= 0x10
			}
			p.send("KK " + b64(auth))
			f = p.recv()
			if !tc.ok {
				if len(f) == 0 || f[0] != "NA" {
					t.Fatalf("samba accepted it: %q", f)
				}
				return
			}
			if len(f) < 2 || f[0] != "AF" {
				t.Fatalf("samba refused us: %q", f)
			}
			p.send("GK")
			f = p.recv()
			if len(f) != 2 || f[0] != "GK" || !bytes.Equal(unb64(t, f[1]), s.ExportedSessionKey()) {
				t.Fatalf("session key: samba %q, ours %x", f, s.ExportedSessionKey())
			}
		})
	}
}

// TestConnectionAcceptorVerifiesImpacket: our connection-oriented acceptor
// (the web-services side) against impacket's client and its stream MAC.
func TestConnectionAcceptorVerifiesImpacket(t *testing.T) {
	msg := []byte("POST /CertProv/CertProvisioningService.svc")
	cfg := labAcceptor(41)
	cfg.Now = time.Now
	lookup := func(d, u string) (string, bool) { return peerPass, d == peerDomain && u == peerUser }
	for _, tc := range []struct {
		name, password string
		ok             bool
	}{{"right password", peerPass, true}, {"wrong password", "WRONG", false}} {
		t.Run(tc.name, func(t *testing.T) {
			p := impacketClient(t, "connection", tc.password, 0, msg)
			f := p.recv()
			if len(f) != 2 || f[0] != "NEG" {
				t.Fatalf("impacket NEGOTIATE: %q", f)
			}
			sc, chal, err := NewConnectionChallenge(cfg, unb64(t, f[1]))
			if err != nil {
				t.Fatal(err)
			}
			auth, key, mac := impacketFinish(t, p, chal)
			s, _, err := sc.Accept(auth, lookup)
			if !tc.ok {
				if !errors.Is(err, ErrAuthFailed) {
					t.Fatalf("wrong password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("our acceptor refused impacket: %v", err)
			}
			if !bytes.Equal(s.ExportedSessionKey(), key) || s.Datagram() {
				t.Fatalf("session: key ours %x impacket %x, datagram %v", s.ExportedSessionKey(), key, s.Datagram())
			}
			if err := s.VerifyMAC(msg, mac, 0); err != nil {
				t.Fatalf("impacket's stream MAC: %v", err)
			}
		})
	}
}
