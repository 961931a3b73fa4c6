package sipua

import (
	"context"
	"log/slog"
	"sync"
)

// Dead-flow detection (RFC 5626 §4.4, RELIABILITY.md F1). A front end that
// closes our TLS flow (FIN, RST, or a read error) must be noticed at once,
// not at the next CRLF keep-alive minutes later: Lync binds the
// registration to the flow, so the handset is unreachable from that
// moment. sipgo v1.7.2 tells only its own transaction layer when a
// connection reader exits (the callback is unexported); it also logs the
// exit on the transport layer's logger ("connection was closed" for EOF or
// a local close, "Read error" otherwise). Every handset has its own sipgo
// UA with one connection, so that log record is the signal: flowWatch
// forwards sipgo's records to the handset's logger and closes lost when the
// reader ends. TestLabfeDeadFlow pins this against the sipgo version in
// go.mod; if sipgo changes the text, the keep-alive still finds the dead
// flow, only later.

// sipgo's transport messages when its connection reader ends.
var readerExitMessages = map[string]bool{"connection was closed": true, "Read error": true}

type flowWatch struct {
	inner slog.Handler
	lost  func()
}

// newFlowWatch returns a logger for sipgo's transport layer that calls lost
// (once) when the connection reader ends, and a channel closed then.
func newFlowWatch(inner *slog.Logger) (*slog.Logger, <-chan struct{}) {
	ch := make(chan struct{})
	var once sync.Once
	fw := &flowWatch{inner: inner.Handler(), lost: func() { once.Do(func() { close(ch) }) }}
	return slog.New(fw), ch
}

// Enabled is true at every level: the reader's exit is a Debug record.
func (f *flowWatch) Enabled(context.Context, slog.Level) bool { return true }

func (f *flowWatch) Handle(ctx context.Context, r slog.Record) error {
	if readerExitMessages[r.Message] {
		f.lost()
	}
	if f.inner.Enabled(ctx, r.Level) {
		return f.inner.Handle(ctx, r) //nolint:wrapcheck // transparent wrapper
	}
	return nil
}

func (f *flowWatch) WithAttrs(as []slog.Attr) slog.Handler {
	return &flowWatch{inner: f.inner.WithAttrs(as), lost: f.lost}
}

func (f *flowWatch) WithGroup(name string) slog.Handler {
	return &flowWatch{inner: f.inner.WithGroup(name), lost: f.lost}
}
