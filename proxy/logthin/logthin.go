// Package logthin thins out a log record that something outside the gateway can make it
// write in a loop (a client opening connections or retrying a refused sign-in, a Redis
// that is down): at most one record is written every so often, and each says how many
// were left out before it.
package logthin

import (
	"container/list"
	"sync"
	"time"
)

// Thinner lets a record through at most once every Every. Safe for concurrent use.
type Thinner struct {
	// Every is the least time between two records let through.
	Every time.Duration
	// Now reads the clock; nil is time.Now.
	Now func() time.Time

	mu sync.Mutex
	e  entry
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
	return t.e.let(now(), t.Every)
}

// Held returns how many records were held back since the last one let through, and
// forgets them, for a record that closes the matter (a recovery) to tell of them.
func (t *Thinner) Held() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.e.suppressed
	t.e.suppressed = 0
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
// messages the code names, never a value a client sends (see Table for those).
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

// Table thins records by a key a client chooses, such as its address: each key on its
// own, at most one record every Every, as a Thinner does. Safe for concurrent use.
//
// Memory is bounded: the table holds at most Max keys. A key whose last record is
// Every old or more is forgotten to make room for a new one, least recent first, the
// records it held back since then told with the shared ones (see Allow). While every
// key in the table had a record within Every, the keys that find no room are thinned
// together, as one key: a flood from any number of keys is let through at most Max+1
// times every Every, and cannot push a key out of the table before that key may be let
// through again.
type Table struct {
	// Every is the least time between two records of one key.
	Every time.Duration
	// Max is how many keys the table holds; zero or less holds none, and thins every
	// key together, as one.
	Max int
	// Now reads the clock; nil is time.Now.
	Now func() time.Time

	mu    sync.Mutex
	keys  map[string]*list.Element // of *entry
	order list.List                // least recently let through first
	rest  entry                    // of the keys that found no room
}

// entry is the record of one key in a Table, or a Thinner's.
type entry struct {
	key        string
	last       time.Time // of the last record let through
	suppressed int       // records held back since then
}

// let reports whether a record may be let through at at, every being the least time
// between two, and how many were held back since the last one when it may.
func (e *entry) let(at time.Time, every time.Duration) (suppressed int, ok bool) {
	if !e.last.IsZero() && at.Sub(e.last) < every {
		e.suppressed++
		return 0, false
	}
	n := e.suppressed
	e.last, e.suppressed = at, 0
	return n, true
}

// Allow reports whether a record of key may be written now and, when it may, how many
// of key's records were held back since the last one written. For a key that found no
// room in the table it reports shared: suppressed then counts the records held back of
// every such key, and of every key forgotten to make room while it held some back, so
// that none goes untold, and none is told as key's own.
func (t *Table) Allow(key string) (suppressed int, shared, ok bool) {
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	at := now()
	if el := t.keys[key]; el != nil {
		n, ok := el.Value.(*entry).let(at, t.Every)
		if ok {
			t.order.MoveToBack(el)
		}
		return n, false, ok
	}
	if len(t.keys) >= t.Max {
		oldest := t.order.Front()
		if oldest == nil || at.Sub(oldest.Value.(*entry).last) < t.Every {
			n, ok := t.rest.let(at, t.Every)
			return n, true, ok
		}
		gone := oldest.Value.(*entry)
		t.rest.suppressed += gone.suppressed
		delete(t.keys, gone.key)
		t.order.Remove(oldest)
	}
	if t.keys == nil {
		t.keys = make(map[string]*list.Element)
	}
	t.keys[key] = t.order.PushBack(&entry{key: key, last: at})
	return 0, false, true
}

// Len returns how many keys the table holds.
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.keys)
}
