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
}

func newStrikes() *strikes { return &strikes{m: make(map[string]strike)} }

// take reports whether the browser whose cookie has id keeps its exemption for one more
// attempt at now, and if so counts the attempt as failed until clear says otherwise, so
// that attempts made at the same moment cannot share out one exemption.
func (s *strikes) take(id string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.m[id]
	if now.Sub(st.last) >= deviceStrikeWindow {
		st.n = 0
	}
	if st.n >= deviceStrikesMax {
		return false
	}
	if _, ok := s.m[id]; !ok && len(s.m) >= deviceStrikesKept {
		for k, old := range s.m {
			if now.Sub(old.last) >= deviceStrikeWindow || len(s.m) >= deviceStrikesKept {
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

// clear forgets the failures of the browser whose cookie has id: it signed in.
func (s *strikes) clear(id string) {
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
}
