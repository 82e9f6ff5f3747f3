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
	deviceStrikesKept  = 10000
)

// strikes counts the failed sign-ins of each browser that has a device cookie, by the
// cookie's id. Safe for concurrent use; bounded to deviceStrikesKept browsers.
type strikes struct {
	mu sync.Mutex
	m  map[string]strike
}

type strike struct {
	n    int
	last time.Time
	// retired: the id was replaced at a sign-in, and copies of its cookie, which a
	// thief may hold, are exempt from nothing until then
	retired time.Time
}

func newStrikes() *strikes { return &strikes{m: make(map[string]strike)} }

// take reports whether the browser whose cookie has id keeps its exemption for one more
// attempt at now, and if so counts the attempt as failed until clear says otherwise, so
// that attempts made at the same moment cannot share out one exemption.
func (s *strikes) take(id string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.m[id]
	if now.Before(st.retired) {
		return false
	}
	if now.Sub(st.last) >= deviceStrikeWindow {
		st.n = 0
	}
	if st.n >= deviceStrikesMax {
		return false
	}
	if _, ok := s.m[id]; !ok && len(s.m) >= deviceStrikesKept {
		for k, old := range s.m {
			stale := now.Sub(old.last) >= deviceStrikeWindow && !now.Before(old.retired)
			if stale || len(s.m) >= deviceStrikesKept {
				delete(s.m, k)
			}
			if len(s.m) < deviceStrikesKept*7/8 {
				break
			}
		}
	}
	s.m[id] = strike{n: st.n + 1, last: now}
	return true
}

// undo takes back the attempt take counted for id: the throttle refused it before any
// password was checked, and a refused attempt is no failure.
func (s *strikes) undo(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.m[id]; ok && st.n > 0 {
		st.n--
		s.m[id] = st
	}
}

// retire ends the exemption of id until the cookie it was in expires: the browser
// signed in, and got a cookie with a new id, so any copy of the old one is someone
// else's. Clearing the old id's count instead would give such a copy its failures
// again at each of the owner's sign-ins.
func (s *strikes) retire(id string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[id] = strike{n: deviceStrikesMax, last: now, retired: now.Add(deviceTTL)}
}
