package relay

import (
	"sync"
	"time"
)

// Store holds the relay credentials MRAS has issued, each until it expires.
// MRAS writes it; the relay reads it.
type Store struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]storeEntry
}

type storeEntry struct {
	password string
	expires  time.Time
}

// NewStore returns an empty store using clock now (time.Now when nil).
func NewStore(now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{now: now, m: map[string]storeEntry{}}
}

// Issue records a credential valid for ttl.
func (s *Store) Issue(username, password string, ttl time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.now()
	for u, e := range s.m { // forget expired entries as we go
		if !t.Before(e.expires) {
			delete(s.m, u)
		}
	}
	s.m[username] = storeEntry{password: password, expires: t.Add(ttl)}
}

// Revoke forgets a credential.
func (s *Store) Revoke(username string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, username)
}

// Password implements Credentials: the password while it is valid.
func (s *Store) Password(username string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[username]
	if !ok || !s.now().Before(e.expires) {
		return "", false
	}
	return e.password, true
}
