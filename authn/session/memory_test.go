package session_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/frontgate/gateway/authn/session"
	"github.com/frontgate/gateway/authn/session/storetest"
)

func TestMemoryStore(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	storetest.Run(t, storetest.Options{
		Open: func(t *testing.T) session.Store { return session.NewMemoryWithClock(clock) },
		Advance: func(t *testing.T, d time.Duration) {
			mu.Lock()
			now = now.Add(d)
			mu.Unlock()
		},
	})
}

// TestMemoryExpired: each session the store drops because it ran out is reported once,
// with its user, whether a read, a renewal or the sweep on a write finds it; a deleted
// one is not reported.
func TestMemoryExpired(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	m := session.NewMemoryWithClock(func() time.Time { return now })
	var expired []string
	m.Expired = func(user string) {
		// called outside the store's lock: the store can be used from here
		if _, err := m.Get(ctx, "probe"); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("Get from Expired: %v", err)
		}
		expired = append(expired, user)
	}
	put := func(key, user string, ttl time.Duration) {
		t.Helper()
		if err := m.Put(ctx, key, storetest.Sample(user), ttl); err != nil {
			t.Fatal(err)
		}
	}
	put("read", "alice", time.Minute)
	put("renewed", "bob", time.Minute)
	put("swept", "carol", time.Minute)
	put("deleted", "dave", time.Minute)
	put("kept", "erin", time.Hour)
	if err := m.Delete(ctx, "deleted"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Minute)

	if _, err := m.Get(ctx, "read"); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("Get of an expired session: %v, want ErrNotFound", err)
	}
	if err := m.Touch(ctx, "renewed", now, time.Hour); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("Touch of an expired session: %v, want ErrNotFound", err)
	}
	put("new", "frank", time.Hour) // a write sweeps what has run out
	if _, err := m.Get(ctx, "read"); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("second Get of an expired session: %v, want ErrNotFound", err)
	}

	slices.Sort(expired)
	if want := []string{"alice", "bob", "carol"}; !slices.Equal(expired, want) {
		t.Errorf("reported expired: %v, want %v", expired, want)
	}
	if n := m.Len(); n != 2 {
		t.Errorf("store holds %d sessions, want 2 (kept, new)", n)
	}
}
