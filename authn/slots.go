package authn

import (
	"context"
	"slices"
	"sync"
	"time"
)

// slots hands out a fixed number of password-check slots. Waiters are served in the
// order they came, except that a waiter marked first (a browser its user has signed in
// with before) goes ahead of every other: under a flood of guesses from strangers, a
// returning user waits for one check to finish, not for the whole queue.
type slots struct {
	mu    sync.Mutex
	free  int
	first []chan struct{} // waiting known devices, oldest first
	rest  []chan struct{} // everyone else waiting, oldest first
}

func newSlots(n int) *slots { return &slots{free: n} }

// acquire waits for a slot, or for ctx to end.
func (s *slots) acquire(ctx context.Context, first bool) error {
	s.mu.Lock()
	if s.free > 0 && len(s.first) == 0 && len(s.rest) == 0 {
		s.free--
		s.mu.Unlock()
		return nil
	}
	ch := make(chan struct{}, 1)
	if first {
		s.first = append(s.first, ch)
	} else {
		s.rest = append(s.rest, ch)
	}
	s.mu.Unlock()

	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		i, j := slices.Index(s.first, ch), slices.Index(s.rest, ch)
		switch {
		case i >= 0:
			s.first = slices.Delete(s.first, i, i+1)
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

// release gives a slot back, to the longest-waiting known device if any, else to the
// longest-waiting other.
func (s *slots) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	var next chan struct{}
	switch {
	case len(s.first) > 0:
		next, s.first = s.first[0], s.first[1:]
	case len(s.rest) > 0:
		next, s.rest = s.rest[0], s.rest[1:]
	default:
		s.free++
		return
	}
	next <- struct{}{}
}
