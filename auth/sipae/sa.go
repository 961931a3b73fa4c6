package sipae

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
)

// Role says which side of the SA we are.
type Role uint8

// Roles.
const (
	RoleClient Role = iota
	RoleServer
)

func (r Role) String() string {
	if r == RoleServer {
		return "server"
	}
	return "client"
}

// SAConfig configures a security association. Scheme, Realm, TargetName and
// Version may be left empty and are then taken from the first Begin. Rand
// defaults to crypto/rand. OnTransition, when set, is called (outside the
// SA's lock) after every state change; Logger, when set, gets each
// transition at Debug.
type SAConfig struct {
	Scheme     Scheme
	Realm      string
	TargetName string
	Version    int
	Rand       io.Reader

	OnTransition func(from, to State, ev Event)
	Logger       *slog.Logger
}

// replayWindow is how far behind the highest seen number a peer's cnum/snum
// may arrive (messages signed concurrently may be written out of order).
const replayWindow = 64

// SA is an MS-SIPAE security association (MS-SIPAE 3.2.1, 3.3.1) for one
// (scheme, realm, targetname). The client signs with fresh crand and cnum
// 1, 2, 3…; the server with srand and snum. Each side verifies the peer's
// response/rspauth and refuses a number it has already seen (ErrReplay,
// sliding window of 64). Safe for concurrent use.
type SA struct {
	role Role

	mu       sync.Mutex
	cfg      SAConfig
	state    State
	opaque   string
	mech     Mechanism
	num      uint64
	peerMax  uint64
	peerBits uint64
	peerAny  bool
}

// NewClientSA returns an idle client SA.
func NewClientSA(cfg SAConfig) *SA { return &SA{role: RoleClient, cfg: cfg} }

// NewServerSA returns an idle server SA (labfe).
func NewServerSA(cfg SAConfig) *SA { return &SA{role: RoleServer, cfg: cfg} }

// Role returns the SA's side.
func (sa *SA) Role() Role { return sa.role }

// State returns the current state.
func (sa *SA) State() State {
	sa.mu.Lock()
	defer sa.mu.Unlock()
	return sa.state
}

// Opaque returns the SA identifier the server assigned.
func (sa *SA) Opaque() string {
	sa.mu.Lock()
	defer sa.mu.Unlock()
	return sa.opaque
}

// Version returns the protocol version in use (0 if unknown).
func (sa *SA) Version() int {
	sa.mu.Lock()
	defer sa.mu.Unlock()
	return sa.cfg.Version
}

// Matches reports whether p names this SA: the lookup key is (scheme,
// realm, targetname) (MS-SIPAE 3.2.5.2, protocols.md §2.4).
func (sa *SA) Matches(p Params) bool {
	sa.mu.Lock()
	defer sa.mu.Unlock()
	return p.Scheme == sa.cfg.Scheme &&
		(p.Realm == "" || p.Realm == sa.cfg.Realm) &&
		(p.TargetName == "" || p.TargetName == sa.cfg.TargetName)
}

// String describes the SA without key material.
func (sa *SA) String() string {
	sa.mu.Lock()
	defer sa.mu.Unlock()
	return fmt.Sprintf("sipae.SA{%v %s %q %q v%d opaque=%q %v}", sa.role, sa.cfg.Scheme, sa.cfg.Realm, sa.cfg.TargetName, sa.cfg.Version, sa.opaque, sa.state)
}

// step applies event e under the lock and returns a notifier to call after
// unlocking.
func (sa *SA) step(e Event) (func(), error) {
	from := sa.state
	to, err := Next(from, e)
	if err != nil {
		return func() {}, err
	}
	sa.state = to
	cfg := sa.cfg
	return func() {
		if cfg.Logger != nil && from != to {
			cfg.Logger.LogAttrs(context.Background(), slog.LevelDebug, "sipae: transition",
				slog.String("role", sa.role.String()), slog.String("from", from.String()),
				slog.String("event", e.String()), slog.String("to", to.String()))
		}
		if cfg.OnTransition != nil {
			cfg.OnTransition(from, to, e)
		}
	}, nil
}

// Begin records a challenge for this SA (client: the 401/407 challenge;
// server: the request that starts the handshake). Non-empty scheme, realm,
// targetname, opaque and version in p fill the SA's values.
func (sa *SA) Begin(p Params) error {
	sa.mu.Lock()
	notify, err := sa.step(EventChallenge)
	if err == nil {
		if p.Scheme != "" {
			sa.cfg.Scheme = p.Scheme
		}
		if p.Realm != "" {
			sa.cfg.Realm = p.Realm
		}
		if p.TargetName != "" {
			sa.cfg.TargetName = p.TargetName
		}
		if p.Version != 0 {
			sa.cfg.Version = p.Version
		}
		if p.Opaque != "" {
			sa.opaque = p.Opaque
		}
	}
	sa.mu.Unlock()
	notify()
	return err
}

// Establish installs the mechanism's keys (after NTLM Authenticate/Accept or
// the TLS-DSK handshake) and the server-assigned opaque.
func (sa *SA) Establish(mech Mechanism, opaque string) error {
	sa.mu.Lock()
	notify, err := sa.step(EventKeys)
	if err == nil {
		sa.mech = mech
		if opaque != "" {
			sa.opaque = opaque
		}
	}
	sa.mu.Unlock()
	notify()
	return err
}

// Fail moves the SA to failed (for example after ErrBadSignature, on which
// SIPE tears the connection down).
func (sa *SA) Fail() {
	sa.mu.Lock()
	notify, _ := sa.step(EventFail)
	sa.mu.Unlock()
	notify()
}

// Reset drops keys, opaque and counters and returns to idle: SA expiry, or a
// 401 to a re-REGISTER (pitfall 6).
func (sa *SA) Reset() {
	sa.mu.Lock()
	notify, _ := sa.step(EventReset)
	sa.mech, sa.opaque = nil, ""
	sa.num, sa.peerMax, sa.peerBits, sa.peerAny = 0, 0, 0, false
	sa.mu.Unlock()
	notify()
}

// Sign signs a message: it fills f's scheme, rand, num, realm and targetname
// from the SA (fresh 8-hex rand and the next number) and returns the
// parameters to attach: the client's Authorization (qop, opaque, realm,
// targetname, version, crand, cnum, response) or the server's
// Authentication-Info (rspauth, srand, snum, opaque, qop, targetname, realm,
// version). Version is echoed only when > 2, like SIPE. The client adds
// gssapi-data itself on the handshake-finishing request.
func (sa *SA) Sign(f SignedFields) (Params, error) {
	sa.mu.Lock()
	notify, err := sa.step(EventSign)
	if err != nil {
		sa.mu.Unlock()
		return Params{}, err
	}
	var rb [4]byte
	r := sa.cfg.Rand
	if r == nil {
		r = rand.Reader
	}
	if _, rerr := io.ReadFull(r, rb[:]); rerr != nil {
		sa.mu.Unlock()
		notify()
		return Params{}, fmt.Errorf("sipae: sign: rand: %w", rerr)
	}
	sa.num++
	rnd := hex.EncodeToString(rb[:])
	if sa.role == RoleServer {
		rnd = strings.ToUpper(rnd) // servers send uppercase srand (capture, protocols.md §2.2)
	}
	num := strconv.FormatUint(sa.num, 10)
	f.Scheme, f.Rand, f.Num, f.Realm, f.TargetName = sa.cfg.Scheme, rnd, num, sa.cfg.Realm, sa.cfg.TargetName
	mech, version, opaque, cfg := sa.mech, sa.cfg.Version, sa.opaque, sa.cfg
	sa.mu.Unlock()
	notify()

	sig, err := mech.Sign(Buffer(version, f))
	if err != nil {
		return Params{}, fmt.Errorf("sipae: sign: %w", err)
	}
	p := Params{Scheme: cfg.Scheme, Qop: "auth", Opaque: opaque, Realm: cfg.Realm, TargetName: cfg.TargetName}
	if version > 2 {
		p.Version = version
	}
	if sa.role == RoleServer {
		p.Srand, p.Snum, p.Rspauth = rnd, num, sig
	} else {
		p.Crand, p.Cnum, p.Response = rnd, num, sig
	}
	return p, nil
}

// Verify checks the peer's signature on a message. p is the message's auth
// header (the client verifies srand/snum/rspauth from Authentication-Info,
// the server crand/cnum/response from Authorization); f holds the message
// fields, and its scheme/rand/num/realm/targetname are taken from p as
// received (or from the SA where p omits realm/targetname). Errors wrap
// ErrBadSignature, ErrReplay, ErrMismatch or ErrState. The first success
// moves the SA from signing to established.
func (sa *SA) Verify(f SignedFields, p Params) error {
	sa.mu.Lock()
	if sa.state != StateSigning && sa.state != StateEstablished {
		err := &TransitionError{From: sa.state, Event: EventVerified}
		sa.mu.Unlock()
		return err
	}
	cfg, opaque, mech := sa.cfg, sa.opaque, sa.mech
	sa.mu.Unlock()

	if p.Scheme != cfg.Scheme ||
		p.Realm != "" && p.Realm != cfg.Realm ||
		p.TargetName != "" && p.TargetName != cfg.TargetName ||
		p.Opaque != "" && opaque != "" && !strings.EqualFold(p.Opaque, opaque) {
		return fmt.Errorf("sipae: verify %s: %w", p.Scheme, ErrMismatch)
	}
	rnd, num, sig := p.Crand, p.Cnum, p.Response
	if sa.role == RoleClient {
		rnd, num, sig = p.Srand, p.Snum, p.Rspauth
	}
	if sig == "" {
		return fmt.Errorf("sipae: verify: no signature: %w", ErrBadSignature)
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		return fmt.Errorf("sipae: verify: bad message number %q: %w", num, ErrBadSignature)
	}
	f.Scheme, f.Rand, f.Num = p.Scheme, rnd, num
	f.Realm, f.TargetName = p.Realm, p.TargetName
	if f.Realm == "" {
		f.Realm = cfg.Realm
	}
	if f.TargetName == "" {
		f.TargetName = cfg.TargetName
	}
	if verr := mech.Verify(Buffer(cfg.Version, f), sig); verr != nil {
		return fmt.Errorf("sipae: verify %s num %d: %w", p.Scheme, n, verr)
	}

	sa.mu.Lock()
	if rerr := sa.checkReplay(n); rerr != nil {
		sa.mu.Unlock()
		return rerr
	}
	notify, err := sa.step(EventVerified)
	sa.mu.Unlock()
	notify()
	return err
}

// checkReplay accepts n once, within replayWindow below the highest number
// seen (sliding bitmap, as in RFC 3711 3.3.2). Only called after the
// signature verified, so forged messages cannot advance the window.
func (sa *SA) checkReplay(n uint64) error {
	if !sa.peerAny {
		sa.peerAny, sa.peerMax, sa.peerBits = true, n, 1
		return nil
	}
	if n > sa.peerMax {
		shift := n - sa.peerMax
		if shift >= replayWindow {
			sa.peerBits = 0
		} else {
			sa.peerBits <<= shift
		}
		sa.peerBits |= 1
		sa.peerMax = n
		return nil
	}
	d := sa.peerMax - n
	if d >= replayWindow || sa.peerBits&(1<<d) != 0 {
		return fmt.Errorf("sipae: verify: number %d (highest %d): %w", n, sa.peerMax, ErrReplay)
	}
	sa.peerBits |= 1 << d
	return nil
}
