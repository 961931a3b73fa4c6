package labfe

import (
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/handset-dev/handset/labfe/internal/sipmsg"
)

// Fault knobs for rehearsing failures (RELIABILITY.md F1, F3, F4, F10): a
// 503 storm for a period, a silent (black-holed) front end, flows closed
// with FIN or RST, and a restart that forgets every flow and refuses
// connections for a while. They are safe to call from any goroutine while
// Serve runs.

// CloseMode says how CloseFlowsMode ends a TCP connection.
type CloseMode uint8

// Close modes.
const (
	// CloseFIN sends TLS close_notify and a TCP FIN: an orderly close, as a
	// front end shutting down cleanly.
	CloseFIN CloseMode = iota
	// CloseRST aborts the connection with a TCP RST (SO_LINGER 0), as a
	// crashed or restarted front end, or a load balancer dropping it.
	CloseRST
)

func (m CloseMode) String() string {
	if m == CloseRST {
		return "rst"
	}
	return "fin"
}

// ParseCloseMode maps "fin" or "rst" (any case) to a CloseMode.
func ParseCloseMode(s string) (CloseMode, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "fin", "":
		return CloseFIN, true
	case "rst":
		return CloseRST, true
	}
	return 0, false
}

// Reject503 answers every new sign-in REGISTER with 503 Service
// Unavailable (and Retry-After when retryAfter > 0) for period (0: until
// ClearFault), as an overloaded pool does (RELIABILITY.md F3).
func (s *Server) Reject503(retryAfter, period time.Duration) {
	s.SetFault(Fault{Status: 503, RetryAfter: retryAfter, Count: -1, Until: s.until(period)})
}

// BlackHole stops answering every request, on every flow, for period (0:
// until ClearFault): the client's transactions time out (RELIABILITY.md F4).
// Keep-alives are still read, so flows stay open, as with a hung server.
func (s *Server) BlackHole(period time.Duration) {
	s.SetFault(Fault{Status: 0, Count: -1, AllRequests: true, Until: s.until(period)})
}

// ClearFault removes any fault installed by SetFault, InjectFault,
// Reject503 or BlackHole.
func (s *Server) ClearFault() { s.SetFault(Fault{}) }

func (s *Server) until(period time.Duration) time.Time {
	if period <= 0 {
		return time.Time{}
	}
	return s.now().Add(period)
}

// CloseFlowsMode closes every TLS flow of the user aor (all flows if aor is
// "") with mode and returns how many.
func (s *Server) CloseFlowsMode(aor string, mode CloseMode) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for f := range s.flows {
		if aor == "" || (f.sa != nil && f.sa.user.aor == strings.ToLower(aor)) {
			closeFlowConn(f, mode)
			n++
		}
	}
	return n
}

// closeFlowConn closes f's connection with FIN or RST.
func closeFlowConn(f *flow, mode CloseMode) {
	if mode == CloseRST {
		if nc, ok := f.c.(interface{ NetConn() net.Conn }); ok {
			if tc, ok := nc.NetConn().(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // close sends RST and drops unsent data
				_ = tc.Close()
				return
			}
		}
	}
	_ = f.c.Close()
}

// Restart simulates a front-end restart: every flow is aborted with RST
// (the registrar forgets their bindings and security associations with
// them) and, for down, new connections are accepted and reset at once, as
// a host whose service is not up yet. down 0 only drops the flows. It
// returns how many flows it dropped.
func (s *Server) Restart(down time.Duration) int {
	s.mu.Lock()
	s.downUntil = s.until(down)
	s.mu.Unlock()
	return s.CloseFlowsMode("", CloseRST)
}

// Resume ends a Restart's down period now: new connections are served.
func (s *Server) Resume() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.downUntil = time.Time{}
}

// refuseWhileDown resets c when a Restart's down period is running; it
// reports whether it did.
func (s *Server) refuseWhileDown(c net.Conn) bool {
	s.mu.Lock()
	down := !s.downUntil.IsZero() && s.now().Before(s.downUntil)
	s.mu.Unlock()
	if !down {
		return false
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
	return true
}

// activeFault returns the fault in force for a request, consuming one use
// of a counted fault. initial is true for a REGISTER without credentials
// (the first of a sign-in); other requests are only affected by an
// AllRequests fault.
func (s *Server) activeFault(initial bool) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fl := s.fault
	if fl.Count == 0 {
		return Fault{}, false
	}
	if !fl.Until.IsZero() && !s.now().Before(fl.Until) {
		s.fault = Fault{} // the period is over
		return Fault{}, false
	}
	if !initial && !fl.AllRequests {
		return Fault{}, false
	}
	if fl.Count > 0 {
		s.fault.Count--
	}
	return fl, true
}

// applyFault answers req per the fault in force, if any; handled reports
// whether it did, keep whether the flow stays open.
func (s *Server) applyFault(f *flow, req *sipmsg.Message, initial bool) (handled, keep bool) {
	fl, ok := s.activeFault(initial)
	if !ok {
		return false, true
	}
	if req.Method == "ACK" || fl.Status == 0 {
		return true, true // black hole: the client's transaction times out
	}
	s.count(nil, func(st *UserStats) { st.FaultsInjected++ })
	r := s.failure(req, fl.Status, statusText(fl.Status), diagInjected)
	if fl.RetryAfter > 0 {
		r.Add("Retry-After", strconv.FormatInt(int64(fl.RetryAfter/time.Second), 10))
	}
	return true, s.reply(f, nil, r)
}
