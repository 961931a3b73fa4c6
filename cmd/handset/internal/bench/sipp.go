package bench

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
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
	if serr := uas.Start(); serr != nil {
		cancel()
		return 0, fmt.Errorf("bench: sipp uas: %w", serr)
	}
	defer func() { cancel(); _ = uas.Wait() }()
	sleep(ctx, 300*time.Millisecond) // let the uas bind
	// The uac writes its cumulative counters every second (-fd 1); it is
	// killed after the window and the rate is taken between the first and
	// the last row, so retransmission timeouts of calls lost on a busy box
	// do not stretch the measurement.
	dir, err := os.MkdirTemp("", "handset-sipp-")
	if err != nil {
		return 0, fmt.Errorf("bench: %w", err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	stats := filepath.Join(dir, "stats.csv")
	wctx, wcancel := context.WithTimeout(ctx, window+1500*time.Millisecond)
	defer wcancel()
	uac := exec.CommandContext(wctx, bin, "127.0.0.1:"+port, "-sn", "uac", "-i", "127.0.0.1", "-p", "0",
		"-m", "100000000", "-r", "5000", "-l", "2000", "-d", "0", "-nostdin", "-trace_stat", "-stf", stats, "-fd", "1")
	uac.Dir = dir
	_ = uac.Run() // killed at the end of the window by design
	f, err := os.Open(stats)
	if err != nil {
		return 0, fmt.Errorf("bench: sipp uac wrote no statistics: %w", err)
	}
	defer func() { _ = f.Close() }()
	r := csv.NewReader(f)
	r.Comma, r.FieldsPerRecord, r.LazyQuotes = ';', -1, true
	rows, err := r.ReadAll()
	if err != nil || len(rows) < 3 {
		return 0, fmt.Errorf("bench: sipp statistics: %d rows: %w", len(rows), err)
	}
	col := slices.Index(rows[0], "SuccessfulCall(C)")
	if col < 0 {
		return 0, errors.New("bench: sipp statistics lack SuccessfulCall(C)")
	}
	first, err1 := strconv.Atoi(rows[1][col])
	last, err2 := strconv.Atoi(rows[len(rows)-1][col])
	if err1 != nil || err2 != nil {
		return 0, errors.New("bench: sipp statistics: bad SuccessfulCall(C)")
	}
	return float64(last-first) / float64(len(rows)-2), nil
}
