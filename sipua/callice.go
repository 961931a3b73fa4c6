package sipua

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	pice "github.com/pion/ice/v4"

	"github.com/handset-dev/handset/media"
	"github.com/handset-dev/handset/media/ice"
	"github.com/handset-dev/handset/media/msturn"
	"github.com/handset-dev/handset/media/sdp"
)

// Calls over ICE (issue #9 item 5; protocols.md §10.2): with
// tcpIpApp.ice.mode set and relay credentials held (MRAS, in-band
// tcpIpApp.ice.*), each call's media leg allocates on the relay, gathers
// candidates, offers or answers them (a=candidate, a=ice-ufrag, a=ice-pwd;
// c=/m= name the default candidate, the relay), runs the checks once the
// answer is in (the offerer controls, RFC 8445 §6.1.1) and sends its SRTP
// over the selected pair. A relay that cannot be allocated, checks that
// find nothing within the ICE timeout, or a path lost mid-call end the
// call with the reason "no relay" (RELIABILITY.md F8); registration is
// not touched.

// ErrNoRelay is the cause of a call ended (or refused) for "no relay".
var ErrNoRelay = errors.New("sipua: no relay")

// DefaultICETimeout bounds relay allocation and the connectivity checks.
const DefaultICETimeout = 10 * time.Second

// ICEConfig turns ICE on for calls.
type ICEConfig struct {
	// Mode is tcpIpApp.ice.mode: ice.ModeMSOCS (MS-TURN relay from MRAS)
	// or ice.ModeGeneric (RFC TURN at the same in-band server); "" is off.
	// ICE runs only while relay credentials are held (in-band
	// tcpIpApp.ice.username and .turn.server); without them calls use
	// plain media as before.
	Mode string
	// RelayNetwork is how the MS-TURN relay is reached: "udp" (default,
	// tcpIpApp.ice.turn.udpPort) or "tcp" (.tcpPort).
	RelayNetwork string
	// NoHost offers the relay candidate only (the relay-only "NAT" of the
	// tests). Without it a relay that cannot be allocated falls back to
	// host candidates.
	NoHost bool
	// IncludeLoopback gathers loopback host candidates (tests).
	IncludeLoopback bool
	// Timeout bounds the allocation and the checks (DefaultICETimeout).
	// A path lost mid-call is given up after pion's keep-alive interval
	// (2 s) plus twice Timeout (its disconnected, then failed timeout).
	Timeout time.Duration
}

// WithICE runs calls over ICE (see ICEConfig).
func WithICE(cfg ICEConfig) Option {
	return func(h *Handset) error {
		switch cfg.Mode {
		case "", ice.ModeMSOCS, ice.ModeGeneric:
		default:
			return fmt.Errorf("sipua: tcpIpApp.ice.mode %q (want MSOCS or GENERIC)", cfg.Mode)
		}
		if cfg.Timeout <= 0 {
			cfg.Timeout = DefaultICETimeout
		}
		h.iceCfg = &cfg
		return nil
	}
}

// iceParams returns the ICE configuration and the in-band parameters when
// a call should use ICE, nil otherwise. Without relay credentials a
// relay-only handset (NoHost) cannot reach anyone: ErrNoRelay.
func (h *Handset) iceParams() (*ICEConfig, map[string]string, error) {
	cfg := h.iceCfg
	if cfg == nil || cfg.Mode == "" {
		return nil, nil, nil
	}
	ib := h.InBand()
	if ib == nil || strings.TrimSpace(ib.Params["tcpIpApp.ice.turn.server"]) == "" ||
		ib.Params["tcpIpApp.ice.username"] == "" {
		if cfg.NoHost {
			return nil, nil, fmt.Errorf("%w: no relay credentials (MRAS)", ErrNoRelay)
		}
		return nil, nil, nil
	}
	return cfg, ib.Params, nil
}

// newICEMedia builds one call's media leg over ICE: relay allocation,
// gathering, and a media.Session over the pair that will be selected.
func (h *Handset) newICEMedia(cfg *ICEConfig, params map[string]string, mc media.Config, opts []media.Option) (mediaSession, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout)
	defer cancel()
	icfg := ice.Config{Mode: cfg.Mode, NoHost: cfg.NoHost, IncludeLoopback: cfg.IncludeLoopback,
		FailedTimeout: cfg.Timeout}
	var iopts []ice.Option
	iopts = append(iopts, ice.WithLogger(h.log))
	var relayErr error
	var rc *msturn.Client
	switch cfg.Mode {
	case ice.ModeMSOCS:
		if rc, relayErr = h.allocateRelay(ctx, cfg, params); relayErr == nil {
			iopts = append(iopts, ice.WithRelay(rc))
		}
	case ice.ModeGeneric:
		port := params["tcpIpApp.ice.turn.udpPort"]
		if port == "" {
			port = "443"
		}
		icfg.TURN = net.JoinHostPort(strings.TrimSpace(params["tcpIpApp.ice.turn.server"]), port)
		icfg.TURNUser, icfg.TURNPassword = params["tcpIpApp.ice.username"], params["tcpIpApp.ice.password"]
	}
	if relayErr != nil {
		if cfg.NoHost {
			return nil, fmt.Errorf("%w: %w", ErrNoRelay, relayErr)
		}
		h.log.Warn("call: no relay, host candidates only", "err", relayErr)
	}
	// closeAll undoes the leg on a failure below (msturn's Close is
	// idempotent: the agent may or may not have taken the relay yet).
	closeAll := func(ag *ice.Agent) {
		if ag != nil {
			_ = ag.Close()
		}
		if rc != nil {
			_ = rc.Close()
		}
	}
	ag, err := ice.New(icfg, iopts...)
	if err != nil {
		closeAll(nil)
		return nil, fmt.Errorf("%w: %w", ErrNoRelay, err)
	}
	cands, err := ag.Gather(ctx)
	if err != nil && (cfg.NoHost || len(cands) == 0) {
		closeAll(ag)
		return nil, fmt.Errorf("%w: gather: %w", ErrNoRelay, err)
	}
	def, ok := defaultCandidate(cands)
	if !ok {
		closeAll(ag)
		return nil, fmt.Errorf("%w: no candidate gathered", ErrNoRelay)
	}
	ufrag, pwd := ag.Credentials()
	var attrs []sdp.Attribute
	for _, a := range ice.Attributes(ufrag, pwd, cands) {
		k, v, _ := strings.Cut(a, ":")
		attrs = append(attrs, sdp.Attribute{Key: k, Value: v})
	}
	pc := &pairConn{}
	sess, err := media.NewSession(mc, append(append([]media.Option(nil), opts...),
		media.WithTransport(media.Transport{Conn: pc, Addr: def, Attributes: attrs}))...)
	if err != nil {
		closeAll(ag)
		return nil, err
	}
	return &iceMedia{Session: sess, ag: ag, pc: pc, timeout: cfg.Timeout, h: h, noHost: cfg.NoHost,
		relayed: rc != nil, relayUser: params["tcpIpApp.ice.username"],
		plain:  func() (*media.Session, error) { return media.NewSession(mc, opts...) },
		failed: make(chan error, 1)}, nil
}

// allocateRelay allocates on the MS-TURN relay the in-band layer names.
func (h *Handset) allocateRelay(ctx context.Context, cfg *ICEConfig, params map[string]string) (*msturn.Client, error) {
	mcfg, err := msturn.ConfigFromParams(func(k string) string { return params[k] }, cfg.RelayNetwork)
	if err != nil {
		return nil, err
	}
	c, err := msturn.New(mcfg, msturn.WithLogger(h.log))
	if err != nil {
		return nil, err
	}
	if _, err := c.Allocate(ctx); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// defaultCandidate is the address for c= and m=: the relay when there is
// one (it reaches the peer from anywhere, RFC 8445 §5.1.4), else the
// first host candidate.
func defaultCandidate(cs []pice.Candidate) (netip.AddrPort, bool) {
	var best netip.AddrPort
	for _, c := range cs {
		if c.Component() != 1 {
			continue
		}
		a, err := netip.ParseAddr(c.Address())
		if err != nil {
			continue
		}
		ap := netip.AddrPortFrom(a.Unmap(), uint16(c.Port()))
		if c.Type() == pice.CandidateTypeRelay {
			return ap, true
		}
		if !best.IsValid() {
			best = ap
		}
	}
	return best, best.IsValid()
}

// remoteICE reads the peer's ICE attributes of its first audio stream
// (media level, or session level for ufrag/pwd).
func remoteICE(body []byte) (ufrag, pwd string, cands []ice.Candidate, err error) {
	s, err := sdp.Parse(body)
	if err != nil {
		return "", "", nil, err
	}
	for _, a := range s.Attributes {
		switch a.Key {
		case "ice-ufrag":
			ufrag = a.Value
		case "ice-pwd":
			pwd = a.Value
		}
	}
	for _, m := range s.Media {
		if m.Type != "audio" {
			continue
		}
		for _, a := range m.Attributes {
			switch a.Key {
			case "ice-ufrag":
				ufrag = a.Value
			case "ice-pwd":
				pwd = a.Value
			case "candidate":
				c, perr := ice.ParseCandidateLine(a.Value)
				if perr != nil || c.Component != 1 {
					continue // RTCP's component 2 is not used (RTCP is multiplexed on 1)
				}
				cands = append(cands, c)
			}
		}
		break
	}
	if ufrag == "" || pwd == "" || len(cands) == 0 {
		return "", "", nil, fmt.Errorf("%w: the peer's SDP has no ICE credentials or candidates", ErrNoRelay)
	}
	return ufrag, pwd, cands, nil
}

// iceMedia is a media.Session whose transport is an ICE agent's selected
// pair. It owns the agent and the checks' goroutine; Close stops both.
type iceMedia struct {
	*media.Session
	h       *Handset
	ag      *ice.Agent
	pc      *pairConn
	timeout time.Duration
	noHost  bool
	// relayed: the agent holds an MS-TURN allocation made with relayUser;
	// renewed MRAS credentials are applied to it mid-call.
	relayed   bool
	relayUser string
	// plain makes a session on the handset's own sockets, for an offer
	// without ICE (a peer that does not do ICE) when host candidates are
	// allowed: the call falls back to plain media.
	plain func() (*media.Session, error)

	mu         sync.Mutex
	fellBack   bool // plain media: no agent any more
	roleSet    bool
	ufrag, pwd string // the peer's
	haveRemote bool
	started    bool
	failed     chan error // one value: why the path is gone
	closed     bool
	stop       context.CancelFunc // ends run; nil before Start
	closeOnce  sync.Once
	wg         sync.WaitGroup
}

// Failed delivers why the ICE path failed (wraps ErrNoRelay).
func (m *iceMedia) Failed() <-chan error { return m.failed }

func (m *iceMedia) setRole(controlling bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.roleSet {
		m.roleSet = true
		m.ag.SetControlling(controlling)
	}
}

// takeRemote adds the peer's candidates once (re-INVITEs repeat them).
func (m *iceMedia) takeRemote(body []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.haveRemote {
		return nil
	}
	ufrag, pwd, cands, err := remoteICE(body)
	if err != nil {
		return err
	}
	if err := m.ag.AddRemote(cands...); err != nil {
		return fmt.Errorf("%w: %w", ErrNoRelay, err)
	}
	m.ufrag, m.pwd, m.haveRemote = ufrag, pwd, true
	return nil
}

func (m *iceMedia) Offer(dir sdp.Direction) ([]byte, error) {
	m.mu.Lock()
	fellBack := m.fellBack
	m.mu.Unlock()
	if !fellBack {
		m.setRole(true)
	}
	return m.Session.Offer(dir)
}

func (m *iceMedia) Answer(remoteOffer []byte) ([]byte, error) {
	m.mu.Lock()
	first, fellBack := !m.roleSet, m.fellBack
	m.mu.Unlock()
	if fellBack {
		return m.Session.Answer(remoteOffer)
	}
	m.setRole(false)
	if err := m.takeRemote(remoteOffer); err != nil {
		if !first || m.noHost || !errors.Is(err, ErrNoRelay) {
			return nil, fmt.Errorf("%w: %w", media.ErrNegotiation, err)
		}
		if ferr := m.fallBack(); ferr != nil {
			return nil, ferr
		}
	}
	return m.Session.Answer(remoteOffer)
}

// fallBack replaces the ICE leg by plain media before anything was sent
// (an initial offer without ICE).
func (m *iceMedia) fallBack() error {
	s, err := m.plain()
	if err != nil {
		return err
	}
	m.h.log.Info("call: the offer has no ICE, plain media")
	old := m.Session
	m.Session = s // nothing else uses the leg before Answer returns
	m.mu.Lock()
	m.fellBack = true
	m.mu.Unlock()
	return errors.Join(old.Close(), m.ag.Close())
}

func (m *iceMedia) Accept(remoteAnswer []byte) error {
	m.mu.Lock()
	fellBack := m.fellBack
	m.mu.Unlock()
	if fellBack {
		return m.Session.Accept(remoteAnswer)
	}
	if err := m.takeRemote(remoteAnswer); err != nil {
		return fmt.Errorf("%w: %w", media.ErrNegotiation, err)
	}
	return m.Session.Accept(remoteAnswer)
}

// Start runs the connectivity checks in the background (bounded by the
// ICE timeout) and starts the streams on the selected pair; it does not
// block. A failure is delivered on Failed.
func (m *iceMedia) Start(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fellBack {
		return m.Session.Start(ctx)
	}
	if m.started {
		return nil
	}
	if m.closed {
		return fmt.Errorf("%w: start after close", media.ErrState)
	}
	if !m.haveRemote {
		return fmt.Errorf("%w: start before the peer's candidates", ErrNoRelay)
	}
	m.started = true
	rctx, cancel := context.WithCancel(ctx)
	m.stop = cancel // Close ends the checks and the watch
	m.wg.Add(1)
	go m.run(rctx, m.ufrag, m.pwd)
	return nil
}

func (m *iceMedia) fail(err error) {
	select {
	case m.failed <- fmt.Errorf("%w: %w", ErrNoRelay, err):
	default:
	}
}

func (m *iceMedia) run(ctx context.Context, ufrag, pwd string) {
	defer m.wg.Done()
	ictx, icancel := context.WithTimeout(ctx, m.timeout)
	conn, err := m.ag.Connect(ictx, ufrag, pwd)
	icancel()
	if err != nil {
		if ctx.Err() == nil {
			m.fail(fmt.Errorf("ice checks: %w", err))
		}
		return
	}
	if l, r, serr := m.ag.Selected(); serr == nil {
		m.h.log.Debug("call: ice selected", "local", l.String(), "remote", r.String())
	}
	m.pc.set(conn)
	if err := m.Session.Start(ctx); err != nil {
		if ctx.Err() == nil {
			m.fail(err)
		}
		return
	}
	for {
		changed := m.h.relayChanged()
		m.renewRelay(ctx)
		select {
		case <-m.ag.Failed():
			m.fail(errors.New("ice path lost"))
			return
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

// renewRelay applies renewed MRAS credentials to the call's allocation
// (a Refresh with the new user name; protocols.md §8: they change every
// eight minutes and the old ones lapse). A failure is logged: the
// allocation lives on until its lifetime ends, and a lost path ends the
// call through Failed.
func (m *iceMedia) renewRelay(ctx context.Context) {
	if !m.relayed {
		return
	}
	rc := m.h.RelayCredentials()
	if rc == nil || rc.Username == m.relayUser {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	if err := m.ag.RenewRelay(rctx, rc.Username, string(rc.Password)); err != nil {
		m.h.log.Warn("call: relay credentials not applied", "err", err)
		return
	}
	m.relayUser = rc.Username
	m.h.log.Debug("call: relay credentials renewed mid-call")
}

// relayChanged is closed when the next relay credentials are issued.
func (h *Handset) relayChanged() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.relay.issued == nil {
		h.relay.issued = make(chan struct{})
	}
	return h.relay.issued
}

// Close stops the checks, the streams and the agent (with its relay
// allocation).
func (m *iceMedia) Close() error {
	var err error
	m.closeOnce.Do(func() {
		m.mu.Lock()
		m.closed = true
		stop, fellBack := m.stop, m.fellBack
		m.mu.Unlock()
		if stop != nil {
			stop()
		}
		m.wg.Wait()
		if fellBack { // the agent is closed already
			err = m.Session.Close()
			return
		}
		err = errors.Join(m.Session.Close(), m.ag.Close())
	})
	return err
}

// pairConn is the media.Transport conn: the ICE conn once a pair is
// selected. Writes before that are dropped; the streams start only after.
type pairConn struct {
	mu     sync.Mutex
	c      net.Conn
	closed bool
}

func (p *pairConn) set(c net.Conn) {
	p.mu.Lock()
	p.c = c
	p.mu.Unlock()
}

func (p *pairConn) get() (net.Conn, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.c, p.closed
}

func (p *pairConn) ReadFrom(b []byte) (int, net.Addr, error) {
	c, closed := p.get()
	if c == nil || closed {
		return 0, nil, net.ErrClosed
	}
	n, err := c.Read(b)
	if err != nil {
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			err = fmt.Errorf("%w: %w", net.ErrClosed, err) // the agent is gone
		}
		return 0, nil, err
	}
	return n, c.RemoteAddr(), nil
}

func (p *pairConn) WriteTo(b []byte, _ net.Addr) (int, error) {
	c, closed := p.get()
	switch {
	case closed:
		return 0, net.ErrClosed
	case c == nil:
		return len(b), nil
	}
	return c.Write(b)
}

func (p *pairConn) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	return nil // the agent owns the ICE conn
}

func (p *pairConn) LocalAddr() net.Addr {
	if c, _ := p.get(); c != nil && c.LocalAddr() != nil {
		return c.LocalAddr()
	}
	return &net.UDPAddr{}
}

func (p *pairConn) SetDeadline(t time.Time) error {
	if c, _ := p.get(); c != nil {
		return c.SetDeadline(t)
	}
	return nil
}

func (p *pairConn) SetReadDeadline(t time.Time) error {
	if c, _ := p.get(); c != nil {
		return c.SetReadDeadline(t)
	}
	return nil
}

func (p *pairConn) SetWriteDeadline(t time.Time) error {
	if c, _ := p.get(); c != nil {
		return c.SetWriteDeadline(t)
	}
	return nil
}

// watchICE ends the call with "no relay" when its ICE path fails.
func (c *Call) watchICE(failed <-chan error) {
	defer c.h.calls.wg.Done()
	select {
	case <-c.done:
	case <-c.h.closing:
	case err := <-failed:
		conn, sa, cerr := c.h.callConn()
		e := &Error{Op: "call " + c.peer, Class: OutcomeMedia, Why: "no relay", Err: err}
		if cerr != nil {
			c.end(e, e.Why, 0)
			return
		}
		c.bye(conn, sa, e)
	}
}

// mediaSetupWhy is the reason for a media leg that could not be set up.
func mediaSetupWhy(err error) string {
	if errors.Is(err, ErrNoRelay) {
		return "no relay"
	}
	return "media setup"
}

// ICEConfigFromValues reads tcpIpApp.ice.mode (configs registry: GENERIC,
// the default, or MSOCS) into an ICEConfig for WithICE; get is
// configs.Effective.LookupFunc. Unset means the registry default.
func ICEConfigFromValues(get Lookup) (ICEConfig, error) {
	v, _ := get("tcpIpApp.ice.mode")
	switch mode := strings.ToUpper(strings.TrimSpace(v)); mode {
	case "":
		return ICEConfig{Mode: ice.ModeGeneric}, nil
	case ice.ModeGeneric, ice.ModeMSOCS:
		return ICEConfig{Mode: mode}, nil
	default:
		return ICEConfig{}, fmt.Errorf("sipua: tcpIpApp.ice.mode=%q (permitted GENERIC, MSOCS)", v)
	}
}
