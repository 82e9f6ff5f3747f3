package authn

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSlotsOrder holds the one slot while others queue, and checks who gets it next.
func TestSlotsOrder(t *testing.T) {
	s := newSlots(1)
	ctx := context.Background()
	if err := s.acquire(ctx, Stranger, ""); err != nil {
		t.Fatal(err)
	}
	order := make(chan string, 9)
	var wg sync.WaitGroup
	waiting := 0
	enqueue := func(name string, p Priority, user string) {
		wg.Go(func() {
			if err := s.acquire(ctx, p, user); err != nil {
				t.Error(err)
				return
			}
			order <- name
			s.release()
		})
		// wait until it is queued, so that the order of arrival is known
		waiting++
		for queued(s) < waiting {
			time.Sleep(time.Millisecond)
		}
	}
	enqueue("stranger 1", Stranger, "")
	enqueue("stranger 2", Stranger, "")
	enqueue("quiet 1", Quiet, "")
	enqueue("stranger 3", Stranger, "")
	enqueue("alice 1", Known, "alice")
	enqueue("alice 2", Known, "alice") // alice is already first: this one queues as a stranger
	enqueue("quiet 2", Quiet, "")
	enqueue("bob", Known, "bob")
	enqueue("stranger 4", Stranger, "")
	s.release()
	wg.Wait()
	close(order)
	var got []string
	for n := range order {
		got = append(got, n)
	}
	// Known and Quiet checks take every other slot while strangers wait, taking turns
	want := []string{"alice 1", "stranger 1", "quiet 1", "stranger 2", "bob", "stranger 3",
		"quiet 2", "alice 2", "stranger 4"}
	if len(got) != len(want) {
		t.Fatalf("served %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("served %v, want %v", got, want)
		}
	}
}

// queued returns how many wait for a slot of s.
func queued(s *slots) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.first) + len(s.quiet) + len(s.rest)
}

// TestSlotsCancel leaves the queue by cancelling, many times and racing the release of
// slots, and checks that no slot is lost or made up.
func TestSlotsCancel(t *testing.T) {
	const n = 2
	s := newSlots(n)
	var running, most atomic.Int32
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(),
				time.Duration(i%5)*100*time.Microsecond)
			defer cancel()
			p, user := Priority(i%3), ""
			if p == Known {
				user = fmt.Sprint("user", i%7)
			}
			if s.acquire(ctx, p, user) != nil {
				return
			}
			r := running.Add(1)
			for m := most.Load(); r > m && !most.CompareAndSwap(m, r); m = most.Load() {
			}
			time.Sleep(50 * time.Microsecond)
			running.Add(-1)
			s.release()
		})
	}
	wg.Wait()
	if m := most.Load(); m > n {
		t.Errorf("%d checks ran at once, want at most %d", m, n)
	}
	s.mu.Lock()
	free, waiting := s.free, len(s.first)+len(s.quiet)+len(s.rest)+len(s.firstUser)
	s.mu.Unlock()
	if free != n || waiting != 0 {
		t.Errorf("after everyone left: %d free slots and %d waiting, want %d and 0",
			free, waiting, n)
	}
}

// TestSlotsRest checks that a slot given back after a rest is not handed out before it.
func TestSlotsRest(t *testing.T) {
	s := newSlots(1)
	ctx := context.Background()
	if err := s.acquire(ctx, Stranger, ""); err != nil {
		t.Fatal(err)
	}
	const rest = 30 * time.Millisecond
	start := time.Now()
	s.releaseAfter(rest)
	if err := s.acquire(ctx, Stranger, ""); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < rest {
		t.Errorf("the slot was handed out after %v, before its rest of %v", waited, rest)
	}
	s.release()
}

// TestSlotsKnownLoopStarvesNoOne: a user who signs in over and over from a known browser
// keeps a Known check waiting at all times; a Quiet check and a stranger still get
// their turns.
func TestSlotsKnownLoopStarvesNoOne(t *testing.T) {
	s := newSlots(1)
	ctx := context.Background()
	if err := s.acquire(ctx, Stranger, ""); err != nil {
		t.Fatal(err)
	}
	served := make(chan string, 100)
	var wg sync.WaitGroup
	var loop func(n int)
	// each of mallory's checks queues the next before giving its slot back
	loop = func(n int) {
		wg.Go(func() {
			if err := s.acquire(ctx, Known, "mallory"); err != nil {
				t.Error(err)
				return
			}
			served <- "mallory"
			if n > 1 {
				loop(n - 1)
				for !knownWaits(s) {
					time.Sleep(time.Millisecond)
				}
			}
			s.release()
		})
	}
	loop(10)
	for !knownWaits(s) {
		time.Sleep(time.Millisecond)
	}
	for i, p := range []Priority{Quiet, Stranger} {
		wg.Go(func() {
			if err := s.acquire(ctx, p, ""); err != nil {
				t.Error(err)
				return
			}
			served <- p.String()
			s.release()
		})
		for queued(s) < i+2 {
			time.Sleep(time.Millisecond)
		}
	}
	s.release()
	wg.Wait()
	close(served)
	var got []string
	for n := range served {
		got = append(got, n)
	}
	want := []string{"mallory", "stranger", "quiet", "mallory"}
	if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
		t.Errorf("served %v, want it to start %v", got, want)
	}
}

// knownWaits reports whether a Known check waits for a slot of s.
func knownWaits(s *slots) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.first) > 0
}
