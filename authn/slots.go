package authn

import (
	"context"
	"slices"
	"sync"
	"time"
)

// slots hands out a fixed number of password-check slots. Waiters are served in the
// order they came, except that waiters marked first (a browser its user has signed in
// with before) take every other slot while any wait: under a flood of guesses from
// strangers, a returning user waits for a check or two, not for the whole queue. Only
// one waiter per user is marked first at a time, and the others still get every other
// slot, so no user can keep the rest waiting by signing in over and over.
type slots struct {
	mu        sync.Mutex
	free      int
	first     []waiter        // waiting known devices, oldest first
	rest      []waiter        // everyone else waiting, oldest first
	firstUser map[string]bool // users with a waiter in first
	lastFirst bool            // the last slot handed out went to first
}

type waiter struct {
	ch   chan struct{}
	user string // set for waiters in first
}

func newSlots(n int) *slots { return &slots{free: n} }

// acquire waits for a slot, or for ctx to end. user, when not empty, marks a waiter
// to go first: a browser that has signed in as user before.
func (s *slots) acquire(ctx context.Context, user string) error {
	s.mu.Lock()
	if s.free > 0 && len(s.first) == 0 && len(s.rest) == 0 {
		s.free--
		s.mu.Unlock()
		return nil
	}
	w := waiter{ch: make(chan struct{}, 1)}
	if user != "" && !s.firstUser[user] {
		if s.firstUser == nil {
			s.firstUser = make(map[string]bool)
		}
		w.user = user
		s.firstUser[user] = true
		s.first = append(s.first, w)
	} else {
		s.rest = append(s.rest, w)
	}
	s.mu.Unlock()

	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		same := func(o waiter) bool { return o.ch == w.ch }
		i, j := slices.IndexFunc(s.first, same), slices.IndexFunc(s.rest, same)
		switch {
		case i >= 0:
			s.first = slices.Delete(s.first, i, i+1)
			delete(s.firstUser, w.user)
		case j >= 0:
			s.rest = slices.Delete(s.rest, j, j+1)
		default:
			// handed a slot just as ctx ended: pass it on
			s.mu.Unlock()
			s.release()
			return ctx.Err()
		}
		s.mu.Unlock()
		return ctx.Err()
	}
}

// releaseAfter gives a slot back once d has passed.
func (s *slots) releaseAfter(d time.Duration) {
	if d <= 0 {
		s.release()
		return
	}
	time.AfterFunc(d, s.release)
}

// release gives a slot back: to the longest-waiting known device, unless the last slot
// went to one and others wait, else to the longest-waiting other.
func (s *slots) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	var next waiter
	switch {
	case len(s.first) > 0 && (len(s.rest) == 0 || !s.lastFirst):
		next, s.first = s.first[0], s.first[1:]
		delete(s.firstUser, next.user)
		s.lastFirst = true
	case len(s.rest) > 0:
		next, s.rest = s.rest[0], s.rest[1:]
		s.lastFirst = false
	default:
		s.free++
		return
	}
	next.ch <- struct{}{}
}
