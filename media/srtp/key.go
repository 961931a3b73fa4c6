package srtp

import (
	"bytes"
	"fmt"
	"log/slog"
	"sync"

	"github.com/handset-dev/handset/media/sdp"
)

// Key is one SRTP master key with its salt and MKI (nil MKI = no MKI on the
// wire). It is a secret: String and LogValue print only the MKI.
type Key struct {
	Master []byte // 16 bytes
	Salt   []byte // 14 bytes
	MKI    []byte // 0..4 bytes
}

// KeyFromCrypto converts a negotiated sdp.Crypto.
func KeyFromCrypto(c sdp.Crypto) (Key, error) {
	if len(c.Key) != sdp.KeyLen {
		return Key{}, fmt.Errorf("%w: key must be %d bytes, got %d", ErrConfig, sdp.KeyLen, len(c.Key))
	}
	return Key{Master: bytes.Clone(c.MasterKey()), Salt: bytes.Clone(c.MasterSalt()), MKI: c.MKIBytes()}, nil
}

func (k Key) validate() error {
	if len(k.Master) != 16 || len(k.Salt) != 14 {
		return fmt.Errorf("%w: master key must be 16 bytes and salt 14", ErrConfig)
	}
	if len(k.MKI) > 4 {
		return fmt.Errorf("%w: mki longer than 4 bytes", ErrConfig)
	}
	return nil
}

func (k Key) String() string { return fmt.Sprintf("srtp.Key{[redacted] mki=%x}", k.MKI) }

// GoString redacts %#v too.
func (k Key) GoString() string { return k.String() }

// LogValue redacts the key in slog output.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.String()) }

// MKICounter hands out MKI values per sec.srtp.mki.*: with
// startSessionAtOne=1 every SDP session starts at 1; with 0 the value keeps
// incrementing for each new key across sessions. Values wrap within the
// MKI length and never use 0. Safe for concurrent use.
type MKICounter struct {
	mu         sync.Mutex
	length     int
	startAtOne bool
	next       uint64
}

// NewMKICounter validates sec.srtp.mki.length (1..4).
func NewMKICounter(length int, startSessionAtOne bool) (*MKICounter, error) {
	if length < 1 || length > 4 {
		return nil, fmt.Errorf("%w: sec.srtp.mki.length=%d (permitted 1 to 4)", ErrConfig, length)
	}
	return &MKICounter{length: length, startAtOne: startSessionAtOne, next: 1}, nil
}

// Length is the MKI length in bytes.
func (c *MKICounter) Length() int { return c.length }

// StartSession returns the MKI for the first key of a new SDP session.
func (c *MKICounter) StartSession() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.startAtOne {
		c.next = 1
	}
	return c.take()
}

// Next returns the MKI for a new key within the session (re-key, hold).
func (c *MKICounter) Next() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.take()
}

func (c *MKICounter) take() uint32 {
	v := c.next
	c.next++
	if c.next >= 1<<(8*c.length) {
		c.next = 1
	}
	return uint32(v)
}

// KeyPolicy is sec.srtp.holdWithNewKey / sec.srtp.resumeWithNewKey.
type KeyPolicy struct {
	HoldWithNewKey   bool
	ResumeWithNewKey bool
}

// KeyEvent is why the call layer is about to send a new offer.
type KeyEvent uint8

// Key events.
const (
	EventRekey   KeyEvent = iota // half the key lifetime sent (NeedsRekey)
	EventHold                    // local hold (a=inactive / sendonly)
	EventResume                  // resume from hold
	EventRefresh                 // session refresh or other re-INVITE
)

// NewKeyFor reports whether the re-INVITE for ev carries a new key.
// Handset defaults (both 0): no new key on hold or resume (protocols.md §10.3).
func (p KeyPolicy) NewKeyFor(ev KeyEvent) bool {
	switch ev {
	case EventRekey:
		return true
	case EventHold:
		return p.HoldWithNewKey
	case EventResume:
		return p.ResumeWithNewKey
	}
	return false
}
