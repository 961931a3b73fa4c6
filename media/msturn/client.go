package msturn

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

// Client defaults.
const (
	DefaultRTO      = 250 * time.Millisecond // first retransmission over UDP (RFC 3489 9.3 starts at 100 ms; relays are far)
	DefaultRetries  = 6                      // transmissions per transaction over UDP
	DefaultLifetime = 10 * time.Minute       // requested when Config.Lifetime is 0 (turn-08 default)
	dataQueue       = 256                    // received payloads buffered for ReadFrom
)

// ErrNoRelay wraps every failure to get or keep an allocation: the reason a
// call that needed the relay reports ("no relay", RELIABILITY.md F8).
var ErrNoRelay = errors.New("msturn: no relay")

// ErrClosed is returned after Close.
var ErrClosed = errors.New("msturn: client closed")

// Config is what the handset knows about its relay: the MRAS-issued
// credentials and the relay address (tcpIpApp.ice.username, .password,
// .turn.server, .turn.udpPort/.tcpPort; protocols.md §8.3).
type Config struct {
	Server   string // host:port of the relay
	Network  string // "udp" (default) or "tcp"
	Username string
	Password string
	// Lifetime requested in each Allocate; DefaultLifetime when 0.
	Lifetime time.Duration
	// RTO and Retries govern UDP retransmission; defaults above.
	RTO     time.Duration
	Retries int
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.Server == "" {
		return errors.New("msturn: config: no server")
	}
	if c.Network != "" && c.Network != "udp" && c.Network != "tcp" {
		return fmt.Errorf("msturn: config: network %q (want udp or tcp)", c.Network)
	}
	if c.Username == "" || c.Password == "" {
		return errors.New("msturn: config: no credentials (MRAS has not answered?)")
	}
	return nil
}

// Option configures collaborators of a Client.
type Option func(*Client) error

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(c *Client) error { c.log = l; return nil } }

// WithRand sets the source of transaction IDs (default crypto/rand).
func WithRand(r io.Reader) Option { return func(c *Client) error { c.rand = r; return nil } }

// WithDialer sets how the client reaches the relay (default net.Dialer).
func WithDialer(d func(ctx context.Context, network, addr string) (net.Conn, error)) Option {
	return func(c *Client) error { c.dial = d; return nil }
}

// WithObserver receives every state transition. It is called without locks
// held, from the goroutine that caused the transition.
func WithObserver(f func(from, to State)) Option {
	return func(c *Client) error { c.observe = f; return nil }
}

// Allocation is what a successful Allocate returns.
type Allocation struct {
	Relayed   netip.AddrPort // MAPPED-ADDRESS: the address peers send to
	Reflexive netip.AddrPort // MS XOR-MAPPED-ADDRESS: our address as the relay sees it
	Lifetime  time.Duration
}

// Packet is one payload received through the relay.
type Packet struct {
	From netip.AddrPort
	Data []byte
}

// Client is one MS-TURN allocation on one relay, over UDP or TCP. Allocate
// creates it; Run keeps it refreshed; Send and SetActiveDestination move
// data; PacketConn adapts it to a net.PacketConn for pion/ice's
// AddVirtualCandidate. Close deallocates and stops the reader goroutine.
type Client struct {
	cfg     Config
	log     *slog.Logger
	rand    io.Reader
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	observe func(from, to State)

	conn   net.Conn // connected UDP socket or TCP stream to the relay
	wmu    sync.Mutex
	randMu sync.Mutex
	data   chan Packet
	closed chan struct{}
	once   sync.Once
	wg     sync.WaitGroup

	mu       sync.Mutex
	state    State
	realm    string
	nonce    string
	user     string
	key      Key
	password string
	seq      SequenceNumber
	alloc    Allocation
	active   netip.AddrPort
	pending  map[[16]byte]chan *Message
	dropped  uint64
	readErr  error
}

// New returns a client in StateIdle. It does not touch the network.
func New(cfg Config, opts ...Option) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Network == "" {
		cfg.Network = "udp"
	}
	if cfg.Lifetime == 0 {
		cfg.Lifetime = DefaultLifetime
	}
	if cfg.RTO == 0 {
		cfg.RTO = DefaultRTO
	}
	if cfg.Retries == 0 {
		cfg.Retries = DefaultRetries
	}
	c := &Client{
		cfg: cfg, log: slog.New(slog.DiscardHandler), rand: rand.Reader,
		data: make(chan Packet, dataQueue), closed: make(chan struct{}),
		pending: map[[16]byte]chan *Message{},
		user:    cfg.Username, password: cfg.Password,
	}
	c.dial = (&net.Dialer{}).DialContext
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// State returns the current state.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Allocation returns the current allocation (zero before Allocate succeeds).
func (c *Client) Allocation() Allocation {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.alloc
}

func (c *Client) fire(e event) error {
	c.mu.Lock()
	from := c.state
	to, err := transition(from, e)
	c.state = to
	c.mu.Unlock()
	if err != nil {
		return err
	}
	c.log.Debug("msturn: transition", "from", from, "event", e, "to", to)
	if c.observe != nil && from != to {
		c.observe(from, to)
	}
	return nil
}

// Allocate connects to the relay and runs the Allocate exchange: an
// unauthenticated request, the 401 challenge, and the authenticated request
// (protocols.md §9 "Allocate flow"). ctx bounds the whole exchange. Errors
// wrap ErrNoRelay.
func (c *Client) Allocate(ctx context.Context) (Allocation, error) {
	if err := c.fire(evAllocate); err != nil {
		return Allocation{}, err
	}
	a, err := c.allocate(ctx)
	if err != nil {
		_ = c.fire(evFailure)
		return Allocation{}, fmt.Errorf("%w: allocate on %s/%s: %w", ErrNoRelay, c.cfg.Network, c.cfg.Server, err)
	}
	return a, nil
}

func (c *Client) allocate(ctx context.Context) (Allocation, error) {
	server := c.cfg.Server
	for hop := 0; ; hop++ {
		conn, err := c.dial(ctx, c.cfg.Network, server)
		if err != nil {
			return Allocation{}, err
		}
		c.mu.Lock()
		if c.isClosed() { // Close won the race: do not start a reader it will not stop
			c.mu.Unlock()
			_ = conn.Close()
			return Allocation{}, ErrClosed
		}
		c.conn = conn
		c.wg.Add(1)
		c.mu.Unlock()
		go c.readLoop(conn)

		req := c.newMessage(TypeAllocateRequest)
		req.AddUint32(AttrMSVersion, 1) // protocols.md §9: libnice sends 1
		resp, err := c.transact(ctx, req)
		if err != nil {
			return Allocation{}, err
		}
		if resp.Type == TypeAllocateResponse {
			if ferr := c.fire(evSuccess); ferr != nil {
				return Allocation{}, ferr
			}
			return c.accept(resp)
		}
		e, err := resp.ErrorCode()
		if err != nil {
			return Allocation{}, err
		}
		// The Edge puts ALTERNATE-SERVER in every error; only a 300 with an
		// alternate that is not the server we talk to moves us, once
		// (protocols.md §9, libnice compares before switching).
		if e.Code == CodeTryAlternate && e.Alternate != "" && e.Alternate != conn.RemoteAddr().String() && hop == 0 {
			c.log.Debug("msturn: redirected", "from", server, "to", e.Alternate)
			_ = conn.Close()
			c.wg.Wait()
			server = e.Alternate
			continue
		}
		if e.Code != CodeUnauthorized {
			return Allocation{}, e
		}
		if err := c.learnChallenge(resp); err != nil {
			return Allocation{}, err
		}
		if err := c.fire(evChallenge); err != nil {
			return Allocation{}, err
		}
		return c.authenticatedAllocate(ctx, c.cfg.Lifetime)
	}
}

// learnChallenge takes REALM (0x0015) and NONCE (0x0014) from a 401 or 438
// and derives the long-term key from the real realm.
func (c *Client) learnChallenge(m *Message) error {
	realm, ok1 := m.Text(AttrRealm)
	nonce, ok2 := m.Text(AttrNonce)
	if !ok1 || !ok2 {
		return fmt.Errorf("%w: challenge without REALM or NONCE", ErrAttribute)
	}
	c.mu.Lock()
	c.realm, c.nonce = realm, nonce
	c.key = LongTermKey(c.user, realm, c.password)
	c.mu.Unlock()
	return nil
}

// authenticatedAllocate sends an authenticated Allocate (also the refresh;
// lifetime 0 deallocates) and retries once on a stale nonce.
func (c *Client) authenticatedAllocate(ctx context.Context, lifetime time.Duration) (Allocation, error) {
	for attempt := 0; ; attempt++ {
		c.mu.Lock()
		user, realm, nonce, key := c.user, c.realm, c.nonce, c.key
		c.mu.Unlock()
		req := c.newMessage(TypeAllocateRequest)
		req.AddUint32(AttrMSVersion, 1)
		req.AddString(AttrUsername, user)
		req.AddString(AttrRealm, realm)
		req.AddString(AttrNonce, nonce)
		req.AddUint32(AttrLifetime, uint32(lifetime/time.Second))
		req.AddIntegrity(key)
		resp, err := c.transact(ctx, req)
		if err != nil {
			return Allocation{}, err
		}
		if resp.Type == TypeAllocateResponse {
			if ferr := c.fire(evSuccess); ferr != nil {
				return Allocation{}, ferr
			}
			return c.accept(resp)
		}
		e, err := resp.ErrorCode()
		if err != nil {
			return Allocation{}, err
		}
		if e.Code == CodeStaleNonce && attempt == 0 {
			if err := c.learnChallenge(resp); err != nil {
				return Allocation{}, err
			}
			if err := c.fire(evStaleNonce); err != nil {
				return Allocation{}, err
			}
			continue
		}
		return Allocation{}, e
	}
}

func (c *Client) accept(resp *Message) (Allocation, error) {
	relayed, err := resp.Address(AttrMappedAddress)
	if err != nil {
		return Allocation{}, err
	}
	a := Allocation{Relayed: relayed, Lifetime: c.cfg.Lifetime}
	if r, err := resp.XORAddress(AttrMSXORMappedAddress); err == nil {
		a.Reflexive = r
	}
	if l, err := resp.Uint32(AttrLifetime); err == nil {
		a.Lifetime = time.Duration(l) * time.Second
	}
	c.mu.Lock()
	if s, err := resp.SequenceNumber(); err == nil && s.ConnectionID != c.seq.ConnectionID {
		c.seq = SequenceNumber{ConnectionID: s.ConnectionID}
	}
	c.alloc = a
	c.mu.Unlock()
	c.log.Debug("msturn: allocated", "relayed", a.Relayed, "reflexive", a.Reflexive, "lifetime", a.Lifetime)
	return a, nil
}

// Refresh renews the allocation with the current credentials.
func (c *Client) Refresh(ctx context.Context) (Allocation, error) {
	if err := c.fire(evRefresh); err != nil {
		return Allocation{}, err
	}
	a, err := c.authenticatedAllocate(ctx, c.cfg.Lifetime)
	if err != nil {
		_ = c.fire(evFailure)
		return Allocation{}, fmt.Errorf("%w: refresh: %w", ErrNoRelay, err)
	}
	return a, nil
}

// UpdateCredentials switches to renewed MRAS credentials; the next refresh,
// Send and Set Active Destination use them (the allocation stays).
func (c *Client) UpdateCredentials(username, password string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.user, c.password = username, password
	c.key = LongTermKey(username, c.realm, password)
}

// Run refreshes the allocation at half its lifetime until ctx ends or the
// client is closed. It returns nil on cancellation or Close, and an error
// wrapping ErrNoRelay when a refresh fails.
func (c *Client) Run(ctx context.Context) error {
	for {
		life := c.Allocation().Lifetime
		if life <= 0 {
			life = c.cfg.Lifetime
		}
		t := time.NewTimer(life / 2)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-c.closed:
			t.Stop()
			return nil
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, life/2)
		_, err := c.Refresh(rctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil || c.isClosed() {
				return nil
			}
			return err
		}
	}
}

func (c *Client) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

// SetActiveDestination asks the relay to forward raw data to and from peer
// without per-packet Send / Data Indication framing ([MS-TURN] 3.2.5.4).
func (c *Client) SetActiveDestination(ctx context.Context, peer netip.AddrPort) error {
	req := c.newMessage(TypeSetActiveDestRequest)
	c.mu.Lock()
	user, key := c.user, c.key
	c.seq.Seq++
	seq := c.seq
	c.mu.Unlock()
	req.AddString(AttrUsername, user)
	req.AddAddress(AttrDestinationAddress, peer)
	req.AddSequenceNumber(seq)
	req.AddIntegrity(key)
	resp, err := c.transact(ctx, req)
	if err != nil {
		return fmt.Errorf("msturn: set active destination %v: %w", peer, err)
	}
	if resp.Type != TypeSetActiveDestResponse {
		e, err := resp.ErrorCode()
		if err != nil {
			return fmt.Errorf("msturn: set active destination %v: %w", peer, err)
		}
		return fmt.Errorf("msturn: set active destination %v: %w", peer, e)
	}
	c.mu.Lock()
	c.active = peer
	c.mu.Unlock()
	return nil
}

// Send relays data to peer: raw when peer is the active destination, else in
// a Send request carrying USERNAME, DESTINATION-ADDRESS, DATA,
// MS-SEQUENCE-NUMBER and MESSAGE-INTEGRITY (protocols.md §9). Send requests
// get no response.
func (c *Client) Send(peer netip.AddrPort, data []byte) error {
	c.mu.Lock()
	if c.state != StateAllocated {
		st := c.state
		c.mu.Unlock()
		return fmt.Errorf("%w: send in state %v", ErrNoRelay, st)
	}
	if peer == c.active {
		c.mu.Unlock()
		return c.write(FrameData, data)
	}
	user, key := c.user, c.key
	c.seq.Seq++
	seq := c.seq
	c.mu.Unlock()
	req := c.newMessage(TypeSendRequest)
	req.AddString(AttrUsername, user)
	req.AddAddress(AttrDestinationAddress, peer)
	req.Add(AttrData, data)
	req.AddSequenceNumber(seq)
	return c.write(FrameControl, req.MarshalIntegrity(key))
}

// Recv returns the next payload received through the relay.
func (c *Client) Recv(ctx context.Context) (Packet, error) {
	select {
	case p := <-c.data:
		return p, nil
	case <-ctx.Done():
		return Packet{}, ctx.Err()
	case <-c.closed:
		return Packet{}, ErrClosed
	}
}

// Dropped counts payloads discarded because the receive queue was full.
func (c *Client) Dropped() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropped
}

func (c *Client) newMessage(t MessageType) *Message {
	var r [12]byte
	c.randMu.Lock()
	_, _ = io.ReadFull(c.rand, r[:])
	c.randMu.Unlock()
	return NewMessage(t, NewTransactionID(r[:]))
}

// write sends one message or data chunk: a datagram over UDP, a frame over
// TCP (protocols.md §9 "TCP framing").
func (c *Client) write(ft FrameType, b []byte) error {
	c.mu.Lock()
	conn := c.conn
	c.mu.Unlock()
	if conn == nil {
		return ErrClosed
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.cfg.Network == "tcp" {
		f, err := AppendFrame(nil, ft, b)
		if err != nil {
			return err
		}
		b = f
	}
	_, err := conn.Write(b)
	return err
}

// transact sends req and waits for the response with the same transaction
// ID, retransmitting over UDP with a doubling timeout.
func (c *Client) transact(ctx context.Context, req *Message) (*Message, error) {
	ch := make(chan *Message, 1)
	c.mu.Lock()
	c.pending[req.TransactionID] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, req.TransactionID)
		c.mu.Unlock()
	}()
	raw := req.Marshal()
	rto, tries := c.cfg.RTO, c.cfg.Retries
	if c.cfg.Network == "tcp" {
		tries = 1
		rto = time.Hour // bounded by ctx
	}
	for i := 0; i < tries; i++ {
		// Over UDP a pending ICMP port-unreachable can surface on this
		// write: that transmission is lost, the next one may get through.
		if err := c.write(FrameControl, raw); err != nil && (c.cfg.Network == "tcp" || !isRefused(err)) {
			return nil, err
		}
		t := time.NewTimer(rto)
		select {
		case m := <-ch:
			t.Stop()
			return m, nil
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-c.closed:
			t.Stop()
			return nil, ErrClosed
		case <-t.C:
		}
		rto *= 2
	}
	return nil, fmt.Errorf("msturn: %v: no response after %d transmissions", req.Type, tries)
}

func (c *Client) readLoop(conn net.Conn) {
	defer c.wg.Done()
	buf := make([]byte, 65536)
	for {
		var ft FrameType
		var b []byte
		if c.cfg.Network == "tcp" {
			t, p, err := ReadFrame(conn)
			if err != nil {
				c.readDone(err)
				return
			}
			ft, b = t, p
		} else {
			n, err := conn.Read(buf)
			if err != nil {
				// A connected UDP socket reports an ICMP port-unreachable
				// as a read error; the relay may come back (or the
				// retransmissions will give up), so only a closed socket
				// ends the loop.
				if !errors.Is(err, net.ErrClosed) && !c.isClosed() && isRefused(err) {
					continue
				}
				c.readDone(err)
				return
			}
			b = append([]byte(nil), buf[:n]...)
			ft = FrameData
			if IsMessage(b) {
				ft = FrameControl
			}
		}
		c.handle(ft, b)
	}
}

func isRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED)
}

func (c *Client) readDone(err error) {
	c.mu.Lock()
	c.readErr = err
	c.mu.Unlock()
}

func (c *Client) handle(ft FrameType, b []byte) {
	if ft == FrameData {
		c.mu.Lock()
		from := c.active
		c.mu.Unlock()
		if from.IsValid() {
			c.deliver(Packet{From: from, Data: b})
		}
		return
	}
	m, err := Parse(b)
	if err != nil {
		c.log.Debug("msturn: dropped unparsable message", "err", err)
		return
	}
	switch m.Type {
	case TypeDataIndication:
		from, err := m.Address(AttrRemoteAddress)
		data, ok := m.Get(AttrData)
		if err != nil || !ok {
			c.log.Debug("msturn: data indication without REMOTE-ADDRESS or DATA")
			return
		}
		c.deliver(Packet{From: from, Data: data})
	default:
		c.mu.Lock()
		ch := c.pending[m.TransactionID]
		key := c.key
		authed := c.realm != ""
		c.mu.Unlock()
		if ch == nil {
			return
		}
		// Responses to authenticated requests carry MESSAGE-INTEGRITY
		// under the same key; a success that does not verify is dropped
		// (an error response before authentication cannot be signed).
		if _, hasMI := m.Get(AttrMessageIntegrity); authed && (hasMI || m.Type&0x0110 == 0x0100) {
			if err := CheckIntegrity(b, key); err != nil {
				c.log.Debug("msturn: response failed integrity", "type", m.Type)
				return
			}
		}
		select {
		case ch <- m:
		default:
		}
	}
}

func (c *Client) deliver(p Packet) {
	select {
	case c.data <- p:
	default:
		c.mu.Lock()
		c.dropped++
		c.mu.Unlock()
	}
}

// Close deallocates (a best-effort Allocate with LIFETIME 0, no wait),
// closes the connection and waits for the reader goroutine. Idempotent.
func (c *Client) Close() error {
	c.once.Do(func() {
		c.mu.Lock()
		allocated := c.state == StateAllocated
		user, realm, nonce, key := c.user, c.realm, c.nonce, c.key
		c.mu.Unlock()
		if allocated {
			req := c.newMessage(TypeAllocateRequest)
			req.AddUint32(AttrMSVersion, 1)
			req.AddString(AttrUsername, user)
			req.AddString(AttrRealm, realm)
			req.AddString(AttrNonce, nonce)
			req.AddUint32(AttrLifetime, 0)
			req.AddIntegrity(key)
			_ = c.write(FrameControl, req.Marshal())
		}
		_ = c.fire(evClose)
		c.mu.Lock()
		close(c.closed)
		conn := c.conn
		c.mu.Unlock()
		if conn != nil {
			_ = conn.Close()
		}
		c.wg.Wait()
	})
	return nil
}
