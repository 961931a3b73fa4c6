package labfe

import (
	"time"

	"github.com/handset-dev/handset/labfe/internal/sipmsg"
)

// Test hooks.
var InstanceFromEpid = instanceFromEpid

func SignatureBuffer(m *sipmsg.Message, scheme, rnd, num, targetname string) []byte {
	return fieldsOf(m).buffer(scheme, rnd, num, targetname)
}

// WithDropHook calls fn each time a closed flow's state has been forgotten.
func WithDropHook(fn func()) Option { return func(o *options) { o.onDrop = fn } }

// SetEchoAckTimeout shortens the echo bot's wait for an ACK (for calls
// created afterwards) and returns a function restoring it.
func SetEchoAckTimeout(d time.Duration) func() {
	old := ackTimeout
	ackTimeout = d
	return func() { ackTimeout = old }
}
