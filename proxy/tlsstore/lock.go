package tlsstore

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// hold is a lock this Storage holds.
type hold struct {
	token string             // what the lock's key holds while the lock is ours
	stop  context.CancelFunc // ends the renewal
	done  chan struct{}      // closed when the renewal has ended
}

// acquireScript sets the lock's key to the token unless it is set, and expires it
// after the lease. A key that already holds the token counts as taken, so that a
// call whose reply was lost, and which the client sent again, does not leave the
// caller waiting a whole lease for its own lock.
var acquireScript = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
	return 1
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
	redis.call('PEXPIRE', KEYS[1], ARGV[2])
	return 1
end
return 0
`)

// renewScript extends the lease on a lock, only if the lock's key still holds the
// token: a lock whose lease ran out may belong to another gateway now.
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`)

// releaseScript deletes the lock's key, only if it still holds the token, so that a
// gateway whose lease ran out cannot release the lock another has taken since.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0
`)

// Lock implements certmagic.Locker. It blocks until the lock is taken, trying every
// 250ms, or until ctx is done; Redis failing to answer is an error too. Once taken,
// the lock is held until Unlock, however long that takes and whatever becomes of
// ctx, as long as this process can reach Redis to renew its lease.
//
// Two calls on one Storage exclude each other as calls on two Storages do.
func (s *Storage) Lock(ctx context.Context, name string) error {
	token := rand.Text()
	for {
		ok, err := s.acquire(ctx, name, token)
		if err != nil {
			return fmt.Errorf("locking %q in redis: %w", name, err)
		}
		if ok {
			return nil
		}
		t := time.NewTimer(s.retry)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("locking %q in redis: %w", name, context.Cause(ctx))
		case <-t.C:
		}
	}
}

// TryLock implements certmagic.TryLocker: it takes the lock if it is free and
// reports whether it did, without waiting.
func (s *Storage) TryLock(ctx context.Context, name string) (bool, error) {
	ok, err := s.acquire(ctx, name, rand.Text())
	if err != nil {
		return false, fmt.Errorf("locking %q in redis: %w", name, err)
	}
	return ok, nil
}

// acquire makes one attempt to take the lock name with token, and starts renewing
// its lease when it succeeds.
func (s *Storage) acquire(ctx context.Context, name, token string) (bool, error) {
	n, err := acquireScript.Run(ctx, s.rdb, []string{s.lockKey(name)},
		token, s.lease.Milliseconds()).Int()
	if err != nil || n == 0 {
		return false, err
	}

	renewCtx, stop := context.WithCancel(context.Background())
	h := &hold{token: token, stop: stop, done: make(chan struct{})}
	s.mu.Lock()
	// an earlier hold of ours can only be one whose lease ran out; its renewal has
	// ended or is about to, and its Unlock will release our new hold: certmagic's
	// checks after taking a lock tolerate that overlap
	if old := s.held[name]; old != nil {
		old.stop()
	}
	s.held[name] = h
	s.mu.Unlock()
	go s.renew(renewCtx, name, h)
	return true, nil
}

// renew extends the lease on the lock name every third of a lease until ctx is done
// or the lock is found lost. A failed renewal is tried again at the next tick; two
// in a row may fail before the lease runs out.
func (s *Storage) renew(ctx context.Context, name string, h *hold) {
	defer close(h.done)
	every := s.lease / 3
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		callCtx, cancel := context.WithTimeout(ctx, every)
		n, err := renewScript.Run(callCtx, s.rdb, []string{s.lockKey(name)},
			h.token, s.lease.Milliseconds()).Int()
		cancel()
		if err == nil && n == 0 {
			return // lost; Unlock will report it
		}
	}
}

// Unlock implements certmagic.Locker. It stops renewing the lock and deletes it, if
// it is still this Storage's. It returns an error wrapping ErrNotLocked when the
// Storage does not hold the lock, or lost it to an expired lease, and leaves the
// lock as it is then; a Redis error means the lock stays until its lease runs out.
func (s *Storage) Unlock(ctx context.Context, name string) error {
	s.mu.Lock()
	h := s.held[name]
	delete(s.held, name)
	s.mu.Unlock()
	if h == nil {
		return fmt.Errorf("unlocking %q in redis: %w", name, ErrNotLocked)
	}
	h.stop()
	<-h.done

	n, err := releaseScript.Run(ctx, s.rdb, []string{s.lockKey(name)}, h.token).Int()
	if err != nil {
		return fmt.Errorf("unlocking %q in redis: %w", name, err)
	}
	if n == 0 {
		return fmt.Errorf("unlocking %q in redis: %w", name, ErrNotLocked)
	}
	return nil
}

// RenewLockLease implements certmagic.LockLeaseRenewer: it checks that the Storage
// still holds the lock name and renews its lease now, or returns an error wrapping
// ErrNotLocked. It does not stretch the lease to d: the lease is renewed anyway for
// as long as the lock is held, and a longer one would only keep the lock of a
// gateway that crashed from the others for d, often many minutes.
func (s *Storage) RenewLockLease(ctx context.Context, name string, d time.Duration) error {
	s.mu.Lock()
	h := s.held[name]
	s.mu.Unlock()
	if h == nil {
		return fmt.Errorf("renewing lock %q in redis: %w", name, ErrNotLocked)
	}
	n, err := renewScript.Run(ctx, s.rdb, []string{s.lockKey(name)},
		h.token, s.lease.Milliseconds()).Int()
	if err != nil {
		return fmt.Errorf("renewing lock %q in redis: %w", name, err)
	}
	if n == 0 {
		return fmt.Errorf("renewing lock %q in redis: %w", name, ErrNotLocked)
	}
	return nil
}
