// Package coturn runs Debian's coturn TURN server on loopback for tests
// (tcpIpApp.ice.mode=GENERIC, RFC TURN): long-term credentials for two
// static users in realm contoso.test, UDP/TCP on a free port, no TLS/DTLS,
// loopback peers allowed. Based on ../shared/peers/coturn/turnserver.conf.
package coturn

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/handset-dev/handset/internal/peers"
	"github.com/handset-dev/handset/internal/testutil"
)

// The realm and the static users of the server.
const (
	Realm     = "contoso.test"
	AliceUser = "alice"
	AlicePass = "secret"
	BobUser   = "bob"
	BobPass   = "secret2"
)

// Start runs turnserver on a free 127.0.0.1 port until the test ends and
// returns the port once it listens. A missing turnserver skips the test
// locally and fails it under CI (testutil.RequirePeer).
func Start(t *testing.T) int {
	t.Helper()
	bin := testutil.RequirePeer(t, "turnserver")
	dir := t.TempDir()
	port := peers.FreePort(t)
	conf := fmt.Sprintf(`listening-ip=127.0.0.1
relay-ip=127.0.0.1
listening-port=%d
no-tls
no-dtls
lt-cred-mech
realm=%s
user=%s:%s
user=%s:%s
fingerprint
allow-loopback-peers
no-cli
no-multicast-peers
no-software-attribute
userdb=%s
pidfile=%s
log-file=stdout
simple-log
`, port, Realm, AliceUser, AlicePass, BobUser, BobPass,
		filepath.Join(dir, "turndb"), filepath.Join(dir, "turnserver.pid"))
	path := filepath.Join(dir, "turnserver.conf")
	peers.WriteFile(t, path, []byte(conf))
	p := peers.Start(t, "coturn", dir, bin, "-c", path)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := p.WaitListening(ctx, "127.0.0.1:"+strconv.Itoa(port)); err != nil {
		t.Fatal(err)
	}
	return port
}
