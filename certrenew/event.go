package certrenew

import (
	"log/slog"
	"time"
)

// EventKind says what an [Event] reports.
type EventKind uint8

// Event kinds, in the order a renewal produces them.
const (
	EventStarted   EventKind = iota // Run began with a valid certificate; Next is the planned first attempt
	EventScheduled                  // the next attempt moved (after a clock jump); Next is the new instant
	EventAttempt                    // an attempt is starting; Attempt counts attempts for this certificate
	EventFailed                     // the attempt failed (Err) or its certificate was refused; Next is the retry, zero if none is left
	EventRenewed                    // a new certificate was swapped into the Store; NotAfter is its expiry
	EventRekeyed                    // a new TLS-DSK SA was started (Err if not); Gap is the time without service
	EventExpired                    // the certificate expired (at start, or after failing renewal); Err says why
	EventStopped                    // Run ended because ctx was cancelled
)

// Event is what the renewer reports to its observer: every state transition
// and every attempt. sipua adapts it to the handset's observer. Observers are
// called from Run's goroutine with no lock held; they must not block for long.
type Event struct {
	Kind     EventKind
	At       time.Time // clock time of the event
	From, To State     // the transition (equal when the state did not change)
	Attempt  int       // attempt number for the current certificate, from 1
	Next     time.Time // next planned attempt, zero if none
	NotAfter time.Time // expiry of the current certificate (the new one for EventRenewed)
	Gap      time.Duration
	Err      error
}

// LogValue renders the event for slog.
func (e Event) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("kind", e.Kind.String()),
		slog.Time("at", e.At),
		slog.String("from", e.From.String()),
		slog.String("to", e.To.String()),
	}
	if e.Attempt > 0 {
		attrs = append(attrs, slog.Int("attempt", e.Attempt))
	}
	if !e.Next.IsZero() {
		attrs = append(attrs, slog.Time("next", e.Next))
	}
	if !e.NotAfter.IsZero() {
		attrs = append(attrs, slog.Time("not_after", e.NotAfter))
	}
	if e.Kind == EventRekeyed {
		attrs = append(attrs, slog.Duration("gap", e.Gap))
	}
	if e.Err != nil {
		attrs = append(attrs, slog.String("err", e.Err.Error()))
	}
	return slog.GroupValue(attrs...)
}
