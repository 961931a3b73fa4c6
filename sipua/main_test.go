package sipua

import (
	"log/slog"
	"os"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// TestMain silences sipgo's package logger (connection reference counting
// such as "TCP ref went negative" when a UA closes); it is a process global
// read without synchronisation, so it is set once before any test runs.
func TestMain(m *testing.M) {
	if os.Getenv("SIPUA_SIPGO_LOG") == "" {
		sip.SetDefaultLogger(slog.New(slog.DiscardHandler))
	}
	m.Run()
}
