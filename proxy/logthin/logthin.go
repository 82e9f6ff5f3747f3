// Package logthin thins out a log record that something outside the gateway can make it
// write in a loop (a client opening connections, a Redis that is down): at most one
// record is written every so often, and each says how many were left out before it.
package logthin

import (
	"sync"
	"time"
)

// Thinner lets a record through at most once every Every. Safe for concurrent use.
type Thinner struct {
	// Every is the least time between two records let through.
	Every time.Duration
	// Now reads the clock; nil is time.Now.
	Now func() time.Time

	mu         sync.Mutex
	last       time.Time // of the last record let through
	suppressed int       // records held back since then
}

// Allow reports whether a record may be written now and, when it may, how many were
// held back since the last one written.
func (t *Thinner) Allow() (suppressed int, ok bool) {
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	at := now()
	if !t.last.IsZero() && at.Sub(t.last) < t.Every {
		t.suppressed++
		return 0, false
	}
	n := t.suppressed
	t.last, t.suppressed = at, 0
	return n, true
}

// Held returns how many records were held back since the last one let through, and
// forgets them, for a record that closes the matter (a recovery) to tell of them.
func (t *Thinner) Held() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.suppressed
	t.suppressed = 0
	return n
}

// Set thins records by a key, their message most often, each key on its own. The zero
// value lets a record of each key through at once; Every sets the pace of them all.
type Set struct {
	Every time.Duration

	mu sync.Mutex
	m  map[string]*Thinner
}

// Of returns the Thinner of key, made on first use. Keys are meant to be few: the
// messages the code names, never a value a client sends.
func (s *Set) Of(key string) *Thinner {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.m[key]
	if t == nil {
		if s.m == nil {
			s.m = make(map[string]*Thinner)
		}
		t = &Thinner{Every: s.Every}
		s.m[key] = t
	}
	return t
}

// Held returns how many records the Thinners of every key held back since each last let
// one through, and forgets them.
func (s *Set) Held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.m {
		n += t.Held()
	}
	return n
}
