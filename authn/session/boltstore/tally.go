package boltstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/frontgate/gateway/authn/throttle"
)

// bucketTally holds the counts of failed sign-ins. The key is the throttle's; the value
// is the count, the time of the latest failure and the time the entry may be dropped
// (Unix nanoseconds), each 8 bytes big-endian.
var bucketTally = []byte("throttle")

// Tally returns a throttle.Tally kept in the Store's file, so that a restart of the
// gateway does not forget who was guessing passwords. Each attempt is one synced
// transaction, made only once its password is about to be checked, so attempts are
// written no faster than passwords are checked; the sweeper drops each entry a throttle
// window after its latest failure.
func (s *Store) Tally() throttle.Tally { return tally{s} }

type tally struct{ s *Store }

// triple encodes a count, its latest failure and when it may be dropped.
func triple(n int64, last, until time.Time) []byte {
	v := make([]byte, 24)
	binary.BigEndian.PutUint64(v, uint64(n))
	binary.BigEndian.PutUint64(v[8:], uint64(last.UnixNano()))
	binary.BigEndian.PutUint64(v[16:], uint64(until.UnixNano()))
	return v
}

// untriple decodes a value of triple; ok is false for anything else.
func untriple(v []byte) (n int64, last, until time.Time, ok bool) {
	if len(v) != 24 {
		return 0, time.Time{}, time.Time{}, false
	}
	n = int64(binary.BigEndian.Uint64(v))
	last = time.Unix(0, int64(binary.BigEndian.Uint64(v[8:])))
	until = time.Unix(0, int64(binary.BigEndian.Uint64(v[16:])))
	return n, last, until, n >= 0
}

// Read implements throttle.Tally. An entry past its time reads as none, as it would once
// swept.
func (t tally) Read(_ context.Context, keys []string) ([]throttle.Count, error) {
	now := t.s.now()
	counts := make([]throttle.Count, len(keys))
	err := t.s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTally)
		if b == nil {
			return nil
		}
		for i, k := range keys {
			v := b.Get([]byte(k))
			if v == nil {
				continue
			}
			n, last, until, ok := untriple(v)
			if !ok {
				// not a count this package wrote: refuse rather than read it as none
				return fmt.Errorf("entry %q is not a count", k)
			}
			if now.Before(until) {
				counts[i] = throttle.Count{Failures: int(n), Last: last}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading failed sign-ins: %w", err)
	}
	return counts, nil
}

// Claim implements throttle.Tally. The check and the count are one transaction.
func (t tally) Claim(_ context.Context, keys []string, rules []throttle.Rule,
	now time.Time, keep time.Duration) (throttle.Claimed, error) {
	c := throttle.Claimed{Refused: -1}
	err := t.s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketTally)
		if err != nil {
			return err
		}
		type entry struct {
			n           int64
			last, until time.Time
		}
		es := make([]entry, len(keys))
		for i, k := range keys {
			n, last, until, ok := untriple(b.Get([]byte(k)))
			if !ok || now.Sub(last) >= keep {
				n, last, until = 0, time.Time{}, time.Time{}
			}
			es[i] = entry{n, last, until}
			if w := rules[i].Wait(int(n), last, keep, now); w > 0 {
				c.Refused, c.Wait = i, w
				return nil
			}
		}
		c.Before = make([]time.Time, len(keys))
		for i, k := range keys {
			e := es[i]
			c.Before[i] = e.last
			err := b.Put([]byte(k), triple(e.n+1, later(e.last, now), later(e.until,
				now.Add(keep))))
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return throttle.Claimed{}, fmt.Errorf("counting a sign-in: %w", err)
	}
	return c, nil
}

// Undo implements throttle.Tally.
func (t tally) Undo(_ context.Context, keys []string, at time.Time,
	before []time.Time) error {
	err := t.s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTally)
		if b == nil {
			return nil
		}
		for i, k := range keys {
			n, last, until, ok := untriple(b.Get([]byte(k)))
			switch {
			case !ok:
				continue
			case n <= 1:
				if err := b.Delete([]byte(k)); err != nil {
					return err
				}
				continue
			}
			if last.Equal(at) && !before[i].IsZero() {
				last = before[i]
			}
			if err := b.Put([]byte(k), triple(n-1, last, until)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("taking back a sign-in: %w", err)
	}
	return nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Forget implements throttle.Tally.
func (t tally) Forget(_ context.Context, keys []string) error {
	err := t.s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTally)
		if b == nil {
			return nil
		}
		for _, k := range keys {
			if err := b.Delete([]byte(k)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("clearing failed sign-ins: %w", err)
	}
	return nil
}

// sweepTally drops the counts past their time, and entries that hold no count, and
// returns how many it dropped. It writes only when it found something to drop.
func (s *Store) sweepTally() (int, error) {
	now := s.now()
	n, err := s.sweepBuckets([][]byte{bucketTally}, func(_ int, v []byte) bool {
		_, _, until, ok := untriple(v)
		return !ok || !now.Before(until)
	})
	if err != nil {
		return n, fmt.Errorf("sweeping failed sign-ins: %w", err)
	}
	return n, nil
}
