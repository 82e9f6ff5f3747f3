package proxy

import (
	"sync"
	"time"
)

// deviceStrikesMax is how many sign-ins a browser with a user's device cookie may fail,
// within deviceStrikeWindow, and keep the cookie's exemption from the per-username
// spacing. The exemption is for the owner, who gets their password right within a few
// tries; a thief of the owner's laptop, or of its cookie, gets those few tries and is
// then spaced out as anyone else, however many addresses they ask from.
const (
	deviceStrikesMax   = 5
	deviceStrikeWindow = 24 * time.Hour
	// The counts are bounded in all and per user. Only a device cookie of a user's makes
	// an entry for that user, and one is made only by signing in as them, so a user can
	// push out no one's entries but their own, and many users together only by filling
	// the whole table, from whose largest share room is made then.
	deviceStrikesKept    = 10000
	deviceStrikesPerUser = 256
)

// strikes counts the failed sign-ins of each browser that has a device cookie, by user
// and the cookie's id. Safe for concurrent use.
type strikes struct {
	mu    sync.Mutex
	users map[string]map[string]strike
	n     int // entries in all
}

type strike struct {
	n    int
	last time.Time
	// retired: the id was replaced at a sign-in, and copies of its cookie, which a
	// thief may hold, are exempt from nothing until then
	retired time.Time
}

// stale reports whether st tells nothing any more at now.
func (st strike) stale(now time.Time) bool {
	return now.Sub(st.last) >= deviceStrikeWindow && !now.Before(st.retired)
}

func newStrikes() *strikes { return &strikes{users: make(map[string]map[string]strike)} }

// take reports whether the browser whose device cookie for user has id keeps its
// exemption for one more attempt at now, and if so counts the attempt as failed until
// undo or retire says otherwise, so that attempts made at the same moment cannot share
// out one exemption.
func (s *strikes) take(user, id string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.users[user][id]
	if now.Before(st.retired) {
		return false
	}
	if now.Sub(st.last) >= deviceStrikeWindow {
		st.n = 0
	}
	if st.n >= deviceStrikesMax {
		return false
	}
	st.n++
	st.last = now
	s.put(user, id, st, now)
	return true
}

// undo takes back the attempt take counted for id: the throttle refused it before any
// password was checked, and a refused attempt is no failure.
func (s *strikes) undo(user, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.users[user][id]; ok && st.n > 0 {
		st.n--
		s.users[user][id] = st
	}
}

// retire ends the exemption of id until the cookie it was in expires: the browser
// signed in, and got a cookie with a new id, so any copy of the old one is someone
// else's. Clearing the old id's count instead would give such a copy its failures
// again at each of the owner's sign-ins.
func (s *strikes) retire(user, id string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.put(user, id, strike{n: deviceStrikesMax, last: now, retired: now.Add(deviceTTL)}, now)
}

// put stores st under user and id, making room first when the user's share or the
// whole table is full.
func (s *strikes) put(user, id string, st strike, now time.Time) {
	b := s.users[user]
	if _, ok := b[id]; !ok {
		if len(b) >= deviceStrikesPerUser {
			s.evictFrom(user, now)
		}
		if s.n >= deviceStrikesKept {
			s.evictStale(now)
		}
		if s.n >= deviceStrikesKept {
			largest := user
			for u, ids := range s.users {
				if len(ids) > len(s.users[largest]) {
					largest = u
				}
			}
			s.evictFrom(largest, now)
		}
		if b = s.users[user]; b == nil {
			b = make(map[string]strike)
			s.users[user] = b
		}
		s.n++
	}
	b[id] = st
}

// evictFrom drops one entry of user's: a stale one, or else the one used longest ago.
func (s *strikes) evictFrom(user string, now time.Time) {
	var victim string
	var oldest time.Time
	for id, st := range s.users[user] {
		if st.stale(now) {
			victim = id
			break
		}
		if victim == "" || st.last.Before(oldest) {
			victim, oldest = id, st.last
		}
	}
	if victim != "" {
		s.drop(user, victim)
	}
}

// evictStale drops every entry that tells nothing any more.
func (s *strikes) evictStale(now time.Time) {
	for user, ids := range s.users {
		for id, st := range ids {
			if st.stale(now) {
				s.drop(user, id)
			}
		}
	}
}

func (s *strikes) drop(user, id string) {
	delete(s.users[user], id)
	s.n--
	if len(s.users[user]) == 0 {
		delete(s.users, user)
	}
}
