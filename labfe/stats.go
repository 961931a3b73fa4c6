package labfe

// UserStats counts events of one user (or, in Stats.Unattributed, of
// requests no user could be named for).
type UserStats struct {
	Registrations      int // successful REGISTERs with Expires > 0 (incl. refreshes)
	Unregistrations    int // REGISTERs with Expires: 0
	AuthFailures       int // AUTHENTICATE rejected (wrong password) or identity refused
	BadSignatures      int // requests whose signature did not verify (flow closed)
	Replays            int // cnum not above the last seen
	InstanceMismatches int // +sip.instance not derived from the epid
	Malformed          int // unparsable SIP or authorization headers
	KeepAlives         int // CRLF CRLF keep-alive pings received (RFC 5626 §4.4.1)
	FaultsInjected     int // requests answered with an injected failure status (Fault, Reject503)
	ActiveBindings     int // bindings not expired at snapshot time
}

func (a *UserStats) add(b UserStats) {
	a.Registrations += b.Registrations
	a.Unregistrations += b.Unregistrations
	a.AuthFailures += b.AuthFailures
	a.BadSignatures += b.BadSignatures
	a.Replays += b.Replays
	a.InstanceMismatches += b.InstanceMismatches
	a.Malformed += b.Malformed
	a.KeepAlives += b.KeepAlives
	a.FaultsInjected += b.FaultsInjected
	a.ActiveBindings += b.ActiveBindings
}

// Stats is a snapshot of the server counters.
type Stats struct {
	Total        UserStats            // sum over users and Unattributed
	Users        map[string]UserStats // by AOR (user@domain)
	Unattributed UserStats
	Flows        int // open TLS flows
	SAs          int // live security associations
	Dialogs      int // confirmed call dialogs routed through labfe
	Pending      int // forwarded requests awaiting a final response
	Echo         EchoStats
}

// Stats returns a snapshot.
func (s *Server) Stats() Stats {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Users: make(map[string]UserStats, len(s.users)), Unattributed: s.orphan, Flows: len(s.flows), SAs: len(s.sas),
		Dialogs: len(s.dialogs), Pending: len(s.txs), Echo: s.echoStats()}
	st.Echo.Active = len(s.echoCalls)
	for aor, u := range s.users {
		us := u.st
		for _, b := range u.bindings {
			if now.Before(b.expires) {
				us.ActiveBindings++
			}
		}
		st.Users[aor] = us
		st.Total.add(us)
	}
	st.Total.add(s.orphan)
	return st
}

// Bindings returns the number of active bindings of aor.
func (s *Server) Bindings(aor string) int { return s.Stats().Users[aor].ActiveBindings }
