package ice

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	pice "github.com/pion/ice/v4"
	"github.com/pion/logging"
	"github.com/pion/stun/v4"
	transport "github.com/pion/transport/v5"

	"github.com/handset-dev/handset/media/msturn"
)

// Modes of tcpIpApp.ice.mode (configs registry: GENERIC, MSOCS).
const (
	ModeGeneric = "GENERIC" // RFC ICE with an RFC 5766 TURN relay (pion/turn)
	ModeMSOCS   = "MSOCS"   // MS-ICE2 with an MS-TURN relay (media/msturn)
)

// Config is one media component's ICE setup.
type Config struct {
	Mode        string // ModeMSOCS (default) or ModeGeneric
	Controlling bool   // the offerer controls (RFC 8445 §6.1.1)
	Ufrag, Pwd  string // local credentials; pion picks random ones when empty
	// NoHost leaves out host (and server-reflexive) candidates: the test
	// "NAT" in which only the relay path can connect.
	NoHost bool
	// STUN is a STUN server ("host:port") for a server-reflexive candidate.
	STUN string
	// TURN (ModeGeneric): an RFC 5766 relay with long-term credentials.
	TURN, TURNUser, TURNPassword string
	// IncludeLoopback gathers host candidates on loopback (tests).
	IncludeLoopback bool
	// RelayWait is how long the controlling side waits before nominating a
	// relay pair (pion's relay acceptance wait; default 500 ms, pion's 2 s
	// delays Lync-style relay-only calls for nothing).
	RelayWait time.Duration
	// FailedTimeout ends connectivity checks that found nothing (the ICE
	// timeout calls fall back on; default pion's 25 s).
	FailedTimeout time.Duration
	// NoActiveDestination keeps relayed media in Send requests and Data
	// Indications. By default, once the relay pair is selected, the agent
	// sets the peer as the MS-TURN active destination so media flows raw
	// ([MS-TURN] 3.2.5.4), as Lync clients do.
	NoActiveDestination bool
}

// Validate checks the configuration.
func (c Config) Validate() error {
	switch c.Mode {
	case "", ModeMSOCS, ModeGeneric:
	default:
		return fmt.Errorf("%w: mode %q (want MSOCS or GENERIC)", ErrConfig, c.Mode)
	}
	if c.TURN != "" && c.Mode != ModeGeneric {
		return fmt.Errorf("%w: TURN is for GENERIC mode; MSOCS uses an MS-TURN relay (WithRelay)", ErrConfig)
	}
	return nil
}

// Option configures collaborators.
type Option func(*Agent) error

// WithNet sets the network (pion vnet in tests).
func WithNet(n transport.Net) Option { return func(a *Agent) error { a.net = n; return nil } }

// WithRelay injects an allocated MS-TURN relay as a virtual relay
// candidate (MSOCS mode).
func WithRelay(c *msturn.Client) Option { return func(a *Agent) error { a.relay = c; return nil } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(a *Agent) error { a.log = l; return nil } }

// Agent is one ICE agent for one component.
type Agent struct {
	cfg   Config
	net   transport.Net
	relay *msturn.Client
	log   *slog.Logger
	a     *pice.Agent

	mu       sync.Mutex
	local    []pice.Candidate
	relayErr error
	gathered chan struct{}
	once     sync.Once
	failed   chan struct{} // closed when checks fail or connectivity is lost for good
	failOnce sync.Once

	stopRelay context.CancelFunc // ends the relay refresh loop
	wg        sync.WaitGroup
}

// New creates the pion agent. It does not gather yet.
func New(cfg Config, opts ...Option) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Mode == "" {
		cfg.Mode = ModeMSOCS
	}
	if cfg.RelayWait == 0 {
		cfg.RelayWait = 500 * time.Millisecond
	}
	ag := &Agent{cfg: cfg, log: slog.New(slog.DiscardHandler), gathered: make(chan struct{}), failed: make(chan struct{})}
	for _, o := range opts {
		if err := o(ag); err != nil {
			return nil, err
		}
	}
	if cfg.Mode == ModeMSOCS && ag.relay != nil && ag.relay.State() != msturn.StateAllocated {
		return nil, fmt.Errorf("%w: relay not allocated (%v)", ErrNoRelay, ag.relay.State())
	}
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelDisabled
	popts := []pice.AgentOption{
		pice.WithMulticastDNSMode(pice.MulticastDNSModeDisabled),
		pice.WithNetworkTypes([]pice.NetworkType{pice.NetworkTypeUDP4}),
		pice.WithRelayAcceptanceMinWait(cfg.RelayWait),
		pice.WithLoggerFactory(lf),
	}
	var types []pice.CandidateType
	if !cfg.NoHost {
		types = append(types, pice.CandidateTypeHost)
	}
	var urls []*stun.URI
	if cfg.STUN != "" && !cfg.NoHost {
		u, err := stun.ParseURI("stun:" + cfg.STUN)
		if err != nil {
			return nil, fmt.Errorf("%w: stun %q: %w", ErrConfig, cfg.STUN, err)
		}
		urls = append(urls, u)
		types = append(types, pice.CandidateTypeServerReflexive)
	}
	if cfg.Mode == ModeGeneric && cfg.TURN != "" {
		u, err := stun.ParseURI("turn:" + cfg.TURN + "?transport=udp")
		if err != nil {
			return nil, fmt.Errorf("%w: turn %q: %w", ErrConfig, cfg.TURN, err)
		}
		u.Username, u.Password = cfg.TURNUser, cfg.TURNPassword
		urls = append(urls, u)
		types = append(types, pice.CandidateTypeRelay)
	}
	if ag.relay != nil {
		types = append(types, pice.CandidateTypeRelay)
	}
	if len(types) == 0 {
		return nil, fmt.Errorf("%w: no candidate types (NoHost without a relay)", ErrNoRelay)
	}
	popts = append(popts, pice.WithCandidateTypes(types), pice.WithUrls(urls))
	if cfg.IncludeLoopback {
		popts = append(popts, pice.WithIncludeLoopback())
	}
	if cfg.Ufrag != "" {
		popts = append(popts, pice.WithLocalCredentials(cfg.Ufrag, cfg.Pwd))
	}
	if cfg.FailedTimeout > 0 {
		popts = append(popts, pice.WithFailedTimeout(cfg.FailedTimeout), pice.WithDisconnectedTimeout(cfg.FailedTimeout))
	}
	if ag.net != nil {
		popts = append(popts, pice.WithNet(ag.net))
	}
	a, err := pice.NewAgentWithOptions(popts...)
	if err != nil {
		return nil, fmt.Errorf("ice: new agent: %w", err)
	}
	ag.a = a
	if err := a.OnCandidate(func(c pice.Candidate) {
		if c == nil {
			ag.once.Do(func() { close(ag.gathered) })
			return
		}
		ag.mu.Lock()
		ag.local = append(ag.local, c)
		ag.mu.Unlock()
	}); err != nil {
		_ = a.Close()
		return nil, err
	}
	if err := a.OnConnectionStateChange(func(st pice.ConnectionState) {
		ag.log.Debug("ice: state", "state", st)
		if st == pice.ConnectionStateFailed {
			ag.failOnce.Do(func() { close(ag.failed) })
		}
	}); err != nil {
		_ = a.Close()
		return nil, err
	}
	return ag, nil
}

// Failed is closed when the checks fail or an established path is lost for
// longer than Config.FailedTimeout (the relay went down, say): the call
// ends with "no relay" or falls back, nothing waits forever.
func (ag *Agent) Failed() <-chan struct{} { return ag.failed }

// Credentials returns the local ufrag and pwd (for a=ice-ufrag/ice-pwd).
func (ag *Agent) Credentials() (ufrag, pwd string) {
	u, p, _ := ag.a.GetLocalUserCredentials()
	return u, p
}

// Gather collects host (and server-reflexive, and GENERIC relay) candidates
// and adds the MS-TURN relay as a virtual candidate. It returns the local
// candidates when gathering is complete or ctx ends.
func (ag *Agent) Gather(ctx context.Context) ([]pice.Candidate, error) {
	if ag.stopRelay != nil {
		return nil, fmt.Errorf("%w: Gather called twice", ErrConfig)
	}
	if ag.relay != nil {
		al := ag.relay.Allocation()
		rc, err := pice.NewCandidateRelay(&pice.CandidateRelayConfig{
			Network: "udp", Address: al.Relayed.Addr().String(), Port: int(al.Relayed.Port()), Component: 1,
			RelAddr: al.Reflexive.Addr().String(), RelPort: int(al.Reflexive.Port()), RelayProtocol: "udp",
		})
		if err != nil {
			return nil, fmt.Errorf("ice: relay candidate: %w", err)
		}
		if err := ag.a.AddVirtualCandidate(rc, ag.relay.PacketConn()); err != nil {
			return nil, fmt.Errorf("%w: add relay candidate: %w", ErrNoRelay, err)
		}
		// The agent keeps the allocation alive for as long as it runs
		// (refresh at half the lifetime); Close stops it.
		rctx, cancel := context.WithCancel(context.Background())
		ag.stopRelay = cancel
		ag.wg.Add(1)
		go func() {
			defer ag.wg.Done()
			if err := ag.relay.Run(rctx); err != nil {
				ag.mu.Lock()
				ag.relayErr = err
				ag.mu.Unlock()
				ag.log.Warn("ice: relay refresh failed", "err", err)
			}
		}()
	}
	if err := ag.a.GatherCandidates(); err != nil {
		return nil, fmt.Errorf("ice: gather: %w", err)
	}
	select {
	case <-ag.gathered:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	cands, err := ag.a.GetLocalCandidates()
	if err != nil {
		return nil, err
	}
	if ag.cfg.Mode == ModeGeneric && ag.cfg.TURN != "" && !hasRelay(cands) {
		return cands, fmt.Errorf("%w: TURN %s gave no relay candidate", ErrNoRelay, ag.cfg.TURN)
	}
	return cands, nil
}

func hasRelay(cs []pice.Candidate) bool {
	for _, c := range cs {
		if c.Type() == pice.CandidateTypeRelay {
			return true
		}
	}
	return false
}

// AddRemote adds the peer's candidates (parsed from its SDP).
func (ag *Agent) AddRemote(cands ...Candidate) error {
	for _, c := range cands {
		pc, err := c.Pion()
		if err != nil {
			return fmt.Errorf("ice: remote %v: %w", c, err)
		}
		if err := ag.a.AddRemoteCandidate(pc); err != nil {
			return fmt.Errorf("ice: remote %v: %w", c, err)
		}
	}
	return nil
}

// SetControlling sets the role before Connect, for a caller that creates
// the agent before it knows whether it offers or answers (a call: the
// offerer controls, RFC 8445 §6.1.1).
func (ag *Agent) SetControlling(on bool) {
	ag.mu.Lock()
	ag.cfg.Controlling = on
	ag.mu.Unlock()
}

// Connect runs the checks against the peer's credentials: Dial when
// controlling, Accept when controlled. ctx bounds it (the ICE timeout).
func (ag *Agent) Connect(ctx context.Context, remoteUfrag, remotePwd string) (net.Conn, error) {
	var c net.Conn
	var err error
	ag.mu.Lock()
	controlling := ag.cfg.Controlling
	ag.mu.Unlock()
	if controlling {
		c, err = ag.a.Dial(ctx, remoteUfrag, remotePwd)
	} else {
		c, err = ag.a.Accept(ctx, remoteUfrag, remotePwd)
	}
	if err != nil {
		return nil, err
	}
	if ag.relay != nil && !ag.cfg.NoActiveDestination {
		if l, r, serr := ag.Selected(); serr == nil && l.Type() == pice.CandidateTypeRelay {
			peer, perr := netip.ParseAddr(r.Address())
			if perr == nil {
				// A failure here is not fatal: Send requests still work.
				if aerr := ag.relay.SetActiveDestination(ctx, netip.AddrPortFrom(peer, uint16(r.Port()))); aerr != nil {
					ag.log.Warn("ice: set active destination", "err", aerr)
				}
			}
		}
	}
	return c, nil
}

// Selected returns the selected pair's local and remote candidates.
func (ag *Agent) Selected() (local, remote pice.Candidate, err error) {
	p, err := ag.a.GetSelectedCandidatePair()
	if err != nil || p == nil {
		return nil, nil, fmt.Errorf("ice: no selected pair: %w", err)
	}
	return p.Local, p.Remote, nil
}

// RenewRelay switches the MS-TURN allocation to renewed MRAS credentials
// and refreshes it with them at once (the allocation and the call stay).
func (ag *Agent) RenewRelay(ctx context.Context, username, password string) error {
	if ag.relay == nil {
		return fmt.Errorf("%w: no relay to renew", ErrNoRelay)
	}
	ag.relay.UpdateCredentials(username, password)
	_, err := ag.relay.Refresh(ctx)
	return err
}

// RelayErr is the error that ended the relay refresh loop, if any (it
// wraps msturn.ErrNoRelay).
func (ag *Agent) RelayErr() error {
	ag.mu.Lock()
	defer ag.mu.Unlock()
	return ag.relayErr
}

// Close stops the agent (its goroutines and sockets; the MS-TURN relay
// client is closed with its virtual candidate) and the relay refresh loop.
func (ag *Agent) Close() error {
	if ag.stopRelay != nil {
		ag.stopRelay()
	}
	err := ag.a.GracefulClose() // waits for pion's goroutines (leak-checked tests)
	ag.wg.Wait()
	return err
}
