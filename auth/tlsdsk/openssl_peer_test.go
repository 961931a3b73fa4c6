package tlsdsk

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/handset-dev/handset/certrenew"
	"github.com/handset-dev/handset/internal/testutil"
)

// These tests check the TLS-DSK key derivation against OpenSSL, an
// independent TLS stack: for the same handshake, `-keymatexport "client EAP
// encryption" -keymatexportlen 128` must print the material whose bytes
// 64..127 are our client and server keys (protocols.md §5.3, §5.4).

var keyMatRE = regexp.MustCompile(`Keying material: ([0-9A-Fa-f]+)`)

// pumpConn drives a pump over a real TCP connection, one whole TLS record
// per Step (a TCP read may split a flight; the pump waits for the rest).
func pumpConn(conn net.Conn, step func([]byte) ([]byte, bool, error), client bool) error {
	if client {
		out, _, err := step(nil)
		if err != nil {
			return err
		}
		if _, err := conn.Write(out); err != nil {
			return err
		}
	}
	r := bufio.NewReader(conn)
	for {
		hdr := make([]byte, 5)
		if _, err := io.ReadFull(r, hdr); err != nil {
			return fmt.Errorf("read record header: %w", err)
		}
		rec := make([]byte, 5+int(binary.BigEndian.Uint16(hdr[3:])))
		copy(rec, hdr)
		if _, err := io.ReadFull(r, rec[5:]); err != nil {
			return fmt.Errorf("read record: %w", err)
		}
		out, done, err := step(rec)
		if len(out) > 0 {
			if _, werr := conn.Write(out); werr != nil && err == nil {
				err = werr
			}
		}
		if err != nil || done {
			return err
		}
	}
}

// opensslOut collects a peer's stdout and reports the line it waits for.
func scanFor(r io.Reader, re *regexp.Regexp, lines chan<- string) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if re.MatchString(sc.Text()) {
			lines <- sc.Text()
		}
	}
	close(lines)
}

func wantKeys(t *testing.T, line string, k Keys) {
	t.Helper()
	m := keyMatRE.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no key material in %q", line)
	}
	mat, err := hex.DecodeString(m[1])
	if err != nil || len(mat) != MaterialLen {
		t.Fatalf("openssl material %q: %v", m[1], err)
	}
	if got := hex.EncodeToString(k.Client[:]); got != hex.EncodeToString(mat[64:96]) {
		t.Errorf("client key %s, openssl bytes 64..95 %x", got, mat[64:96])
	}
	if got := hex.EncodeToString(k.Server[:]); got != hex.EncodeToString(mat[96:128]) {
		t.Errorf("server key %s, openssl bytes 96..127 %x", got, mat[96:128])
	}
}

func TestOpenSSLServerKeyExport(t *testing.T) {
	bin := testutil.RequirePeer(t, "openssl")
	// An OpenSSL configuration that turns Extended Master Secret off, as a
	// front end without RFC 7627 would: the keys must then come from the
	// fallback PRF and still agree.
	noEMS := filepath.Join(t.TempDir(), "noems.cnf")
	if err := os.WriteFile(noEMS, []byte("openssl_conf = oc\n[oc]\nssl_conf = sc\n[sc]\nsystem_default = sd\n[sd]\nOptions = -ExtendedMasterSecret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cipher string
		ems    bool
	}{{"AES128-SHA", true}, {"AES256-SHA", true}, {"AES128-SHA", false}} {
		cipher := tc.cipher
		t.Run(fmt.Sprintf("%s/ems=%v", cipher, tc.ems), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "s_server", "-accept", "127.0.0.1:0", "-naccept", "1",
				"-cert", "testdata/server.crt", "-key", "testdata/server.key", "-CAfile", "testdata/ca.crt",
				"-Verify", "1", "-tls1_2", "-cipher", cipher,
				"-keymatexport", ExporterLabel, "-keymatexportlen", "128")
			if !tc.ems {
				cmd.Env = append(os.Environ(), "OPENSSL_CONF="+noEMS)
			}
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			defer stdin.Close()
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err = cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { cancel(); _ = cmd.Wait() }()
			lines := make(chan string, 4)
			go scanFor(stdout, regexp.MustCompile(`^ACCEPT|Keying material: [0-9A-Fa-f]`), lines)
			accept := <-lines
			addr := accept[strings.LastIndex(accept, ":")+1:]

			var store certrenew.Store
			if _, err = store.Swap(loadPair(t, "user")); err != nil {
				t.Fatal(err)
			}
			c, err := NewClient(ClientConfig{ServerName: "fe.lab.test", RootCAs: pool(t, "ca"), Store: &store})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			conn, err := net.Dial("tcp", "127.0.0.1:"+addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
			if err := pumpConn(conn, c.Step, true); err != nil {
				t.Fatalf("handshake with s_server: %v\n%s", err, stderr.String())
			}
			line, ok := <-lines
			if !ok {
				t.Fatalf("s_server printed no key material\n%s", stderr.String())
			}
			wantKeys(t, line, *c.u.keys)
			if c.u.viaPRF == tc.ems {
				t.Errorf("fallback PRF used = %v with ems=%v", c.u.viaPRF, tc.ems)
			}
			if c.u.suite != cipherID(cipher) {
				t.Errorf("suite %#04x", c.u.suite)
			}
		})
	}
}

func cipherID(name string) uint16 {
	switch name {
	case "AES128-SHA":
		return tls.TLS_RSA_WITH_AES_128_CBC_SHA
	case "AES256-SHA":
		return tls.TLS_RSA_WITH_AES_256_CBC_SHA
	}
	return 0
}

func TestOpenSSLClientKeyExport(t *testing.T) {
	bin := testutil.RequirePeer(t, "openssl")
	noEMS := filepath.Join(t.TempDir(), "noems.cnf")
	if err := os.WriteFile(noEMS, []byte("openssl_conf = oc\n[oc]\nssl_conf = sc\n[sc]\nsystem_default = sd\n[sd]\nOptions = -ExtendedMasterSecret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, cert string
		ok, noEMS  bool
	}{
		{"user", "user", true, false},
		{"user without EMS", "user", true, true},
		{"rogue certificate", "rogue", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "s_client", "-connect", ln.Addr().String(),
				"-servername", "fe.lab.test", "-CAfile", "testdata/ca.crt", "-verify_return_error",
				"-cert", "testdata/"+tc.cert+".crt", "-key", "testdata/"+tc.cert+".key", "-tls1_2",
				"-keymatexport", ExporterLabel, "-keymatexportlen", "128")
			if tc.noEMS {
				cmd.Env = append(os.Environ(), "OPENSSL_CONF="+noEMS)
			}
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			defer stdin.Close()
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err = cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { cancel(); _ = cmd.Wait() }()
			lines := make(chan string, 4)
			go scanFor(stdout, keyMatRE, lines)

			conn, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
			s, err := NewServer(ServerConfig{Certificate: loadPair(t, "server"), ClientCAs: pool(t, "ca")})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			err = pumpConn(conn, s.Step, false)
			if !tc.ok {
				if err == nil {
					t.Fatal("rogue client certificate accepted")
				}
				return
			}
			if err != nil {
				t.Fatalf("handshake with s_client: %v\n%s", err, stderr.String())
			}
			line, ok := <-lines
			if !ok {
				t.Fatalf("s_client printed no key material\n%s", stderr.String())
			}
			wantKeys(t, line, *s.u.keys)
			if s.u.viaPRF != tc.noEMS {
				t.Errorf("fallback PRF used = %v, want %v", s.u.viaPRF, tc.noEMS)
			}
		})
	}
}
