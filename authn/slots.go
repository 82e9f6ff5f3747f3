package authn

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Priority says where a password check waits when others wait too.
type Priority int

const (
	// Stranger checks wait in the order they came.
	Stranger Priority = iota
	// Quiet checks come from a network that has not failed to sign in lately. With Known
	// checks they take every other slot while strangers wait, the two taking turns: a
	// flood of guesses from a few networks does not hold up a user at a new browser and
	// a new address.
	Quiet
	// Known checks come from a browser or an address the user signed in from before,
	// one per user at a time.
	Known
)

// String names p for logs and tests.
func (p Priority) String() string {
	switch p {
	case Quiet:
		return "quiet"
	case Known:
		return "known"
	}
	return "stranger"
}

// slots hands out a fixed number of password-check slots. Waiters are served in the
// order they came, except that the preferred ones (Known and Quiet) take every other
// slot while strangers wait, Known and Quiet taking turns at it while both wait: under
// a flood of guesses from strangers, a returning user waits for a check or two, not for
// the whole queue. Only one waiter per user counts as Known at a time, and each queue
// gets at least one slot in four while it waits, so no one can keep the others
// waiting by signing in over and over.
type slots struct {
	mu        sync.Mutex
	free      int
	first     []waiter        // waiting Known checks, oldest first
	quiet     []waiter        // waiting Quiet checks, oldest first
	rest      []waiter        // everyone else waiting, oldest first
	firstUser map[string]bool // users with a waiter in first
	lastFirst bool            // the last slot handed out went to first or quiet
	lastKnown bool            // the last preferred slot went to first
}

type waiter struct {
	ch   chan struct{}
	user string // set for waiters in first
}

func newSlots(n int) *slots { return &slots{free: n} }

// acquire waits for a slot, or for ctx to end. p places the waiter; a Known one names
// its user, and waits as a stranger when that user already has a Known waiter.
func (s *slots) acquire(ctx context.Context, p Priority, user string) error {
	s.mu.Lock()
	if s.free > 0 && len(s.first)+len(s.quiet)+len(s.rest) == 0 {
		s.free--
		s.mu.Unlock()
		return nil
	}
	w := waiter{ch: make(chan struct{}, 1)}
	switch {
	case p == Known && !s.firstUser[user]:
		if s.firstUser == nil {
			s.firstUser = make(map[string]bool)
		}
		w.user = user
		s.firstUser[user] = true
		s.first = append(s.first, w)
	case p == Quiet:
		s.quiet = append(s.quiet, w)
	default:
		s.rest = append(s.rest, w)
	}
	s.mu.Unlock()

	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		if !s.leave(w) {
			// handed a slot just as ctx ended: pass it on
			s.mu.Unlock()
			s.release()
			return ctx.Err()
		}
		s.mu.Unlock()
		return ctx.Err()
	}
}

// leave takes w out of its queue, and reports whether it was still waiting. s.mu must
// be held.
func (s *slots) leave(w waiter) bool {
	same := func(o waiter) bool { return o.ch == w.ch }
	for _, q := range []*[]waiter{&s.first, &s.quiet, &s.rest} {
		if i := slices.IndexFunc(*q, same); i >= 0 {
			*q = slices.Delete(*q, i, i+1)
			if w.user != "" {
				delete(s.firstUser, w.user)
			}
			return true
		}
	}
	return false
}

// releaseAfter gives a slot back once d has passed.
func (s *slots) releaseAfter(d time.Duration) {
	if d <= 0 {
		s.release()
		return
	}
	time.AfterFunc(d, s.release)
}

// release gives a slot back: to a preferred waiter, unless the last slot went to one
// and strangers wait, else to the longest-waiting stranger. A preferred slot goes to
// the longest-waiting Known check, or to the longest-waiting Quiet one when the last
// preferred slot went to a Known check or none waits.
func (s *slots) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	var next waiter
	preferred := len(s.first) + len(s.quiet)
	switch {
	case preferred > 0 && (len(s.rest) == 0 || !s.lastFirst):
		if len(s.first) > 0 && (len(s.quiet) == 0 || !s.lastKnown) {
			next, s.first = s.first[0], s.first[1:]
			delete(s.firstUser, next.user)
			s.lastKnown = true
		} else {
			next, s.quiet = s.quiet[0], s.quiet[1:]
			s.lastKnown = false
		}
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
