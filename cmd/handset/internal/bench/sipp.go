package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// ErrNoPeer means a third-party peer binary is not installed.
var ErrNoPeer = errors.New("bench: peer not installed")

// SippCallRate is B6's peer: sipp's built-in uac against its uas over UDP
// on loopback (INVITE, 100, 180, 200, ACK, BYE, 200; no hold), offered far
// above what the box sustains, for window. It returns the successful calls
// per second of the window (calls lost to UDP drops on a busy box simply do
// not count).
func SippCallRate(ctx context.Context, window time.Duration) (float64, error) {
	bin, err := exec.LookPath("sipp")
	if err != nil {
		return 0, fmt.Errorf("%w: sipp", ErrNoPeer)
	}
	l, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("bench: port: %w", err)
	}
	port := strconv.Itoa(l.LocalAddr().(*net.UDPAddr).Port) //nolint:forcetypeassert // udp4 listener
	_ = l.Close()
	uctx, cancel := context.WithCancel(ctx)
	uas := exec.CommandContext(uctx, bin, "-sn", "uas", "-i", "127.0.0.1", "-p", port, "-nostdin")
	if err := uas.Start(); err != nil {
		cancel()
		return 0, fmt.Errorf("bench: sipp uas: %w", err)
	}
	defer func() { cancel(); _ = uas.Wait() }()
	sleep(ctx, 300*time.Millisecond) // let the uas bind
	secs := max(int(window/time.Second), 1)
	uac := exec.CommandContext(ctx, bin, "127.0.0.1:"+port, "-sn", "uac", "-i", "127.0.0.1", "-p", "0",
		"-m", "10000000", "-r", "5000", "-l", "2000", "-d", "0", "-nostdin", "-timeout", strconv.Itoa(secs)+"s")
	out, _ := uac.CombinedOutput() // exits 1 at the timeout by design
	ok := -1
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) > 2 && f[0] == "Successful" && f[1] == "call" {
			if n, err := strconv.Atoi(f[len(f)-1]); err == nil {
				ok = n
			}
		}
	}
	if ok < 0 {
		return 0, fmt.Errorf("bench: sipp uac printed no statistics: %s", out[max(0, len(out)-400):])
	}
	return float64(ok) / float64(secs), nil
}
