package boltstore

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/frontgate/gateway/authn/session"
	"github.com/frontgate/gateway/authn/session/storetest"
)

// TestReadCacheFollowsWrites reads a session, so that it is cached, then changes it in
// each way the Store can, and reads it again.
func TestReadCacheFollowsWrites(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	s := openTest(t, Options{Now: clk.Now})
	const key = "k"
	get := func() (*session.Session, error) { return s.Get(ctx, key) }
	put := func(user string, ttl time.Duration) {
		t.Helper()
		if err := s.Put(ctx, key, storetest.Sample(user), ttl); err != nil {
			t.Fatal(err)
		}
		if got, err := get(); err != nil || got.User != user {
			t.Fatalf("after Put(%s): %+v, %v", user, got, err)
		}
		if _, ok := s.read.m[key]; !ok {
			t.Fatal("a session just read is not cached")
		}
	}

	put("alice", time.Hour)
	put("bob", time.Hour) // a Put over a cached session
	seen := time.Now().Add(time.Minute).UTC().Truncate(time.Millisecond)
	if err := s.Touch(ctx, key, seen, time.Hour); err != nil {
		t.Fatal(err)
	}
	if got, err := get(); err != nil || !got.LastSeen.Equal(seen) {
		t.Errorf("after Touch: LastSeen %v, %v; want %v", got.LastSeen, err, seen)
	}
	if err := s.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := get(); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("after Delete: %v, want ErrNotFound", err)
	}

	put("carol", time.Minute)
	clk.Advance(time.Minute)
	if _, err := get(); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("a cached session past its ttl: %v, want ErrNotFound", err)
	}

	put("dave", time.Minute)
	clk.Advance(2 * time.Minute)
	if n, err := s.Sweep(); err != nil || n != 1 {
		t.Fatalf("Sweep: %d, %v; want 1", n, err)
	}
	clk.Advance(-2 * time.Minute) // the record is gone even if the clock goes back
	if _, err := get(); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("after a sweep: %v, want ErrNotFound", err)
	}
}

// TestReadCacheRacingDelete reads a session from many goroutines while it is deleted:
// once Delete has returned, no read may find it, even one that started before.
func TestReadCacheRacingDelete(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, Options{})
	for round := range 200 {
		key := "k"
		if err := s.Put(ctx, key, storetest.Sample("alice"), time.Hour); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for range 4 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
						s.Get(ctx, key)
					}
				}
			})
		}
		if round%2 == 0 {
			s.Get(ctx, key) // start cached half of the time
		}
		if err := s.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, key); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("round %d: read after Delete returned: %v", round, err)
		}
		close(stop)
		wg.Wait()
		if _, err := s.Get(ctx, key); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("round %d: a read that raced Delete left the session cached: %v",
				round, err)
		}
	}
}

// TestReadCacheBounded fills the cache past its bound.
func TestReadCacheBounded(t *testing.T) {
	var c readCache
	s := storetest.Sample("alice")
	for i := range cacheMax + 10 {
		c.add(string(rune(i)), s, 1<<62, c.generation())
	}
	if n := len(c.m); n > cacheMax {
		t.Errorf("cache holds %d sessions, more than %d", n, cacheMax)
	}
	gen := c.generation()
	c.forget("x")
	c.add("late", s, 1<<62, gen)
	if _, ok := c.m["late"]; ok {
		t.Error("a read from before a write was cached")
	}
}
