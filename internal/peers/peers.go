// Package peers runs real third-party SIP peers (kamailio, baresip) on
// loopback for tests: a throw-away PKI made with crypto/x509, free ports, a
// child process whose output is captured, waited on by polling its log with
// a deadline, and stopped by its process id on t.Cleanup. Subpackages write
// each peer's configuration (../shared/peers.md has the working examples).
// Test-only: nothing in the product imports it.
package peers

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"
)

// PKI is a test CA and one server certificate, written as PEM files.
type PKI struct {
	CAFile   string // CA certificate (PEM)
	CertFile string // server certificate chain: leaf then CA (PEM)
	KeyFile  string // server key (PKCS#8 PEM)
	CAPEM    []byte
	CAPool   *x509.CertPool
}

// NewPKI makes a P-256 CA and a server certificate for hosts (DNS names or
// IP addresses) valid for a day, in dir.
func NewPKI(t testing.TB, dir string, hosts ...string) *PKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "handset peers test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: hosts[0]},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			leaf.IPAddresses = append(leaf.IPAddresses, ip)
		} else {
			leaf.DNSNames = append(leaf.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p := &PKI{
		CAFile: filepath.Join(dir, "ca.pem"), CertFile: filepath.Join(dir, "server-chain.pem"), KeyFile: filepath.Join(dir, "server.key"),
		CAPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), CAPool: x509.NewCertPool(),
	}
	p.CAPool.AddCert(caCert)
	chain := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), p.CAPEM...)
	WriteFile(t, p.CAFile, p.CAPEM)
	WriteFile(t, p.CertFile, chain)
	WriteFile(t, p.KeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	return p
}

// WriteFile writes data to path or fails the test.
func WriteFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// FreePort returns a loopback port that is free for both TCP and UDP at the
// moment of the call (the peer binds it right after; a clash shows up as the
// peer failing to start).
func FreePort(t testing.TB) int {
	t.Helper()
	return FreePorts(t, 1)
}

// FreePorts returns the first of n consecutive loopback ports free for TCP
// and UDP (baresip opens its TLS listener on its SIP port + 1).
func FreePorts(t testing.TB, n int) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		base := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		if base+n > 65535 {
			continue
		}
		if portsFree(base, n) {
			return base
		}
	}
	t.Fatalf("no %d consecutive free loopback ports", n)
	return 0
}

func portsFree(base, n int) bool {
	var closers []func() error
	defer func() {
		for _, c := range closers {
			_ = c()
		}
	}()
	for p := base; p < base+n; p++ {
		addr := fmt.Sprintf("127.0.0.1:%d", p)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return false
		}
		closers = append(closers, l.Close)
		u, err := net.ListenPacket("udp", addr)
		if err != nil {
			return false
		}
		closers = append(closers, u.Close)
	}
	return true
}

// Log is the captured output of a process; WaitFor blocks on new output
// instead of sleeping.
type Log struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced on every write
}

func newLog() *Log { return &Log{changed: make(chan struct{})} }

// Write appends p and wakes the waiters.
func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	close(l.changed)
	l.changed = make(chan struct{})
	return len(p), nil
}

// String returns everything captured so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *Log) snapshot() (string, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String(), l.changed
}

// Proc is a peer process started by Start.
type Proc struct {
	Name string
	Log  *Log
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // exit status, valid after done
}

// Start runs bin with args in dir (its own process group, so that children
// such as kamailio's workers stop with it), captures stdout and stderr, and
// stops it by its id on t.Cleanup: SIGTERM to the group, SIGKILL after 5 s.
func Start(t testing.TB, name, dir, bin string, args ...string) *Proc {
	t.Helper()
	p := &Proc{Name: name, Log: newLog(), done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...) //nolint:gosec // test peers with test-written configs
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = p.Log, p.Log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() || os.Getenv("PEERS_LOG") != "" {
			t.Logf("%s output:\n%s", name, p.Log.String())
		}
	})
	return p
}

// Stop ends the process group and waits for the process. Idempotent.
func (p *Proc) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// ErrExited is returned by WaitFor when the process ended first.
var ErrExited = errors.New("peers: process exited")

// exited wraps the exit status, valid after done.
func (p *Proc) exited() error {
	if p.err != nil {
		return fmt.Errorf("%w: %w", ErrExited, p.err)
	}
	return ErrExited
}

// WaitFor waits until the captured output matches re (from its start), the
// process exits, or ctx ends, and returns the first match's submatches.
func (p *Proc) WaitFor(ctx context.Context, re *regexp.Regexp) ([]string, error) {
	return p.WaitForN(ctx, re, 1)
}

// WaitForN waits for n matches of re and returns the submatches of the n-th.
func (p *Proc) WaitForN(ctx context.Context, re *regexp.Regexp, n int) ([]string, error) {
	for {
		s, changed := p.Log.snapshot()
		if ms := re.FindAllStringSubmatch(s, n); len(ms) >= n {
			return ms[n-1], nil
		}
		select {
		case <-changed:
		case <-p.done:
			s := p.Log.String()
			if ms := re.FindAllStringSubmatch(s, n); len(ms) >= n {
				return ms[n-1], nil
			}
			return nil, fmt.Errorf("%w before %q", p.exited(), re)
		case <-ctx.Done():
			return nil, fmt.Errorf("peers: %s: waiting for %q: %w", p.Name, re, ctx.Err())
		}
	}
}

// Count returns how many times re matches the output so far.
func (p *Proc) Count(re *regexp.Regexp) int { return len(re.FindAllStringIndex(p.Log.String(), -1)) }

// WaitListening polls a TCP connect to addr until it succeeds, the process
// exits or ctx ends (a listener's readiness has no other signal).
func (p *Proc) WaitListening(ctx context.Context, addr string) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			_ = c.Close()
			return nil
		}
		select {
		case <-tick.C:
		case <-p.done:
			return fmt.Errorf("%w before listening on %s", p.exited(), addr)
		case <-ctx.Done():
			return fmt.Errorf("peers: %s: waiting for %s: %w", p.Name, addr, ctx.Err())
		}
	}
}
