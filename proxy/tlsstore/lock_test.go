package tlsstore

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frontgate/gateway/authn/session/redisstore/redistest"
)

// mustLock takes the lock name on s, or fails tb within 5s.
func mustLock(tb testing.TB, s *Storage, name string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Lock(ctx, name); err != nil {
		tb.Fatal(err)
	}
}

// assertHeldElsewhere fails tb unless someone holds the lock name, seen from s.
func assertHeldElsewhere(tb testing.TB, s *Storage, name string) {
	tb.Helper()
	ok, err := s.TryLock(context.Background(), name)
	if err != nil {
		tb.Fatal(err)
	}
	if ok {
		tb.Fatalf("TryLock(%q): got the lock, want it held by another", name)
	}
}

// Two gateways contend for one lock: the second gets it only after the first lets go.
func TestLockExcludes(t *testing.T) {
	srv := redistest.Start(t)
	a, b := newStorage(t, srv, "gw:"), newStorage(t, srv, "gw:")
	const name = "issue_cert_example.com"
	mustLock(t, a, name)

	// b waits, and gives up with its context
	ctx, cancel := context.WithTimeout(context.Background(), 3*testLease)
	defer cancel()
	if err := b.Lock(ctx, name); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("b.Lock while a holds it: got %v, want context.DeadlineExceeded", err)
	}
	assertHeldElsewhere(t, b, name)

	// b waits, and gets it once a unlocks
	got := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		got <- b.Lock(ctx, name)
	}()
	select {
	case err := <-got:
		t.Fatalf("b.Lock returned %v while a holds the lock", err)
	case <-time.After(testLease):
	}
	if err := a.Unlock(context.Background(), name); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("b.Lock after a.Unlock: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("b.Lock did not return within 5s of a.Unlock")
	}
	assertHeldElsewhere(t, a, name)
	if err := b.Unlock(context.Background(), name); err != nil {
		t.Fatal(err)
	}

	// and a lock is free again after its Unlock
	if ok, err := a.TryLock(context.Background(), name); err != nil || !ok {
		t.Fatalf("a.TryLock after b.Unlock: got %v, %v; want true", ok, err)
	}
	if err := a.Unlock(context.Background(), name); err != nil {
		t.Fatal(err)
	}
}

// Locks of different names are independent, and so are those of different
// prefixes: gateways that share no certificates share no locks.
func TestLockNames(t *testing.T) {
	srv := redistest.Start(t)
	a, b := newStorage(t, srv, "gw:"), newStorage(t, srv, "gw:")
	other := newStorage(t, srv, "other:")
	mustLock(t, a, "issue_cert_a.example")
	mustLock(t, b, "issue_cert_b.example")
	mustLock(t, other, "issue_cert_a.example")
	for _, tc := range []struct {
		s    *Storage
		name string
	}{
		{a, "issue_cert_a.example"},
		{b, "issue_cert_b.example"},
		{other, "issue_cert_a.example"},
	} {
		if err := tc.s.Unlock(context.Background(), tc.name); err != nil {
			t.Error(err)
		}
	}
}

// Many callers on three gateways, and two on each: at most one is ever inside.
func TestLockMutualExclusion(t *testing.T) {
	srv := redistest.Start(t)
	var (
		inside, entries atomic.Int32
		wg              sync.WaitGroup
	)
	for range 3 {
		s := newStorage(t, srv, "gw:")
		for range 2 {
			wg.Go(func() {
				for range 5 {
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					err := s.Lock(ctx, "job")
					cancel()
					if err != nil {
						t.Error(err)
						return
					}
					if n := inside.Add(1); n != 1 {
						t.Errorf("%d callers hold the lock at once", n)
					}
					entries.Add(1)
					time.Sleep(2 * time.Millisecond)
					inside.Add(-1)
					if err := s.Unlock(context.Background(), "job"); err != nil {
						t.Error(err)
					}
				}
			})
		}
	}
	wg.Wait()
	if got := entries.Load(); got != 30 {
		t.Errorf("got %d entries, want 30", got)
	}
}

// A lock held for several leases stays held: its holder renews it.
func TestLockRenewal(t *testing.T) {
	srv := redistest.Start(t)
	a, b := newStorage(t, srv, "gw:"), newStorage(t, srv, "gw:")
	mustLock(t, a, "job")
	rdb := rawClient(t, srv)
	for range 8 {
		time.Sleep(testLease / 2)
		assertHeldElsewhere(t, b, "job")
	}
	ttl, err := rdb.PTTL(context.Background(), a.lockKey("job")).Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl <= 0 || ttl > testLease {
		t.Errorf("PTTL of the lock: got %v, want an expiry within a lease (%v)", ttl, testLease)
	}
	if err := a.RenewLockLease(context.Background(), "job", time.Hour); err != nil {
		t.Errorf("RenewLockLease: %v", err)
	}
	if err := a.Unlock(context.Background(), "job"); err != nil {
		t.Fatal(err)
	}
	if n, _ := rdb.Exists(context.Background(), a.lockKey("job")).Result(); n != 0 {
		t.Error("the lock's key outlives Unlock")
	}
}

// A gateway that crashes holding a lock stops renewing it, and after a lease the
// others can take it.
func TestLockCrashedHolder(t *testing.T) {
	srv := redistest.Start(t)
	a, b := newStorage(t, srv, "gw:"), newStorage(t, srv, "gw:")
	mustLock(t, a, "job")
	time.Sleep(testLease) // a few renewals

	// the crash: a's connection is gone, and with it every renewal
	a.rdb.Close()
	start := time.Now()
	mustLock(t, b, "job")
	// the last renewal came at most a third of a lease before the crash
	if waited := time.Since(start); waited < testLease/2 {
		t.Errorf("b got the lock %v after a crashed, want about a lease (%v)", waited, testLease)
	}
	if err := b.Unlock(context.Background(), "job"); err != nil {
		t.Fatal(err)
	}
}

// A holder that stops renewing (a long pause, say) loses the lock; its Unlock then
// fails, since its token is no longer the lock's, and leaves the new holder's lock.
func TestUnlockAfterLeaseLost(t *testing.T) {
	srv := redistest.Start(t)
	a, b, c := newStorage(t, srv, "gw:"), newStorage(t, srv, "gw:"), newStorage(t, srv, "gw:")
	mustLock(t, a, "job")
	a.mu.Lock()
	a.held["job"].stop() // a's renewal ends, as it would in a paused process
	a.mu.Unlock()

	mustLock(t, b, "job")
	err := a.RenewLockLease(context.Background(), "job", time.Minute)
	if !errors.Is(err, ErrNotLocked) {
		t.Errorf("a.RenewLockLease after losing the lock: got %v, want ErrNotLocked", err)
	}
	if err := a.Unlock(context.Background(), "job"); !errors.Is(err, ErrNotLocked) {
		t.Errorf("a.Unlock after losing the lock: got %v, want ErrNotLocked", err)
	}
	assertHeldElsewhere(t, c, "job")
	if err := b.Unlock(context.Background(), "job"); err != nil {
		t.Errorf("b.Unlock: %v", err)
	}
}

// Unlocking a lock one does not hold is an error, and leaves the lock to its holder.
func TestUnlockNotHeld(t *testing.T) {
	srv := redistest.Start(t)
	a, b := newStorage(t, srv, "gw:"), newStorage(t, srv, "gw:")
	ctx := context.Background()
	if err := a.Unlock(ctx, "job"); !errors.Is(err, ErrNotLocked) {
		t.Errorf("Unlock of a lock never taken: got %v, want ErrNotLocked", err)
	}
	if err := a.RenewLockLease(ctx, "job", time.Minute); !errors.Is(err, ErrNotLocked) {
		t.Errorf("RenewLockLease of a lock never taken: got %v, want ErrNotLocked", err)
	}

	mustLock(t, a, "job")
	if err := b.Unlock(ctx, "job"); !errors.Is(err, ErrNotLocked) {
		t.Errorf("b.Unlock of a's lock: got %v, want ErrNotLocked", err)
	}
	assertHeldElsewhere(t, b, "job")

	// a forged token, as a gateway guessing at the lock would have, releases nothing
	n, err := releaseScript.Run(ctx, b.rdb, []string{b.lockKey("job")}, "forged").Int()
	if err != nil || n != 0 {
		t.Errorf("release with a forged token: got %d, %v; want 0", n, err)
	}
	assertHeldElsewhere(t, b, "job")

	if err := a.Unlock(ctx, "job"); err != nil {
		t.Fatal(err)
	}
	if err := a.Unlock(ctx, "job"); !errors.Is(err, ErrNotLocked) {
		t.Errorf("second Unlock: got %v, want ErrNotLocked", err)
	}
}

// An attempt whose reply was lost, sent again with the same token, finds the lock
// its own.
func TestAcquireAgain(t *testing.T) {
	srv := redistest.Start(t)
	a, b := newStorage(t, srv, "gw:"), newStorage(t, srv, "gw:")
	ctx := context.Background()
	for i, want := range []bool{true, true} {
		ok, err := a.acquire(ctx, "job", "token")
		if err != nil || ok != want {
			t.Fatalf("attempt %d: got %v, %v; want %v", i+1, ok, err, want)
		}
	}
	if ok, err := b.acquire(ctx, "job", "other"); err != nil || ok {
		t.Fatalf("another token: got %v, %v; want false", ok, err)
	}
	if err := a.Unlock(ctx, "job"); err != nil {
		t.Fatal(err)
	}
}
