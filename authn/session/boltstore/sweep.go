package boltstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// sweepBatch is how many records one step of a sweep reads, and so the most one of its
// write transactions deletes. Bolt has one writer at a time, and a step that deleted
// every expired session at once would hold up sign-ins for as long as it ran; a
// thousand deletions take a few milliseconds, plus one sync.
const sweepBatch = 1000

// Sweep deletes the sessions that have expired now, and records too short to hold a
// session, and returns how many it deleted. It works in steps of a short read and a
// short write, so sign-ins and renewals go on meanwhile; a session renewed between the
// two is kept. The sweeper Open starts calls it every Options.SweepInterval.
func (s *Store) Sweep() (int, error) {
	return s.sweep(nil)
}

// sweep is Sweep, stopping early between steps once stop is closed.
func (s *Store) sweep(stop <-chan struct{}) (int, error) {
	now := s.now().UnixNano()
	total := 0
	var from []byte
	for {
		expired, next, err := s.scanExpired(from, now)
		if err != nil {
			return total, fmt.Errorf("sweeping sessions: %w", err)
		}
		n, err := s.deleteExpired(expired, now)
		total += n
		if err != nil {
			return total, fmt.Errorf("sweeping sessions: %w", err)
		}
		if next == nil {
			return total, nil
		}
		select {
		case <-stop:
			return total, nil
		default:
		}
		from = next
	}
}

// scanExpired returns the keys of the expired records among the sweepBatch records from
// key from on (from the first when from is nil), and the key to go on from, nil at the
// end of the file.
func (s *Store) scanExpired(from []byte, now int64) (expired [][]byte, next []byte,
	err error) {
	err = s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketSessions).Cursor()
		k, v := c.First()
		if from != nil {
			k, v = c.Seek(from)
		}
		for i := 0; k != nil; k, v = c.Next() {
			if i == sweepBatch {
				next = bytes.Clone(k)
				return nil
			}
			i++
			if !live(v, now) {
				expired = append(expired, bytes.Clone(k))
			}
		}
		return nil
	})
	return expired, next, err
}

// deleteExpired deletes, in one transaction, the records under keys that are still
// expired at now, with their index entries, and returns how many it deleted.
func (s *Store) deleteExpired(keys [][]byte, now int64) (int, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	var deleted, undecodable int
	var users []string
	err := s.update(func(tx *bolt.Tx) error {
		deleted, undecodable, users = 0, 0, users[:0]
		sessions, byUser := tx.Bucket(bucketSessions), tx.Bucket(bucketByUser)
		for _, k := range keys {
			v := sessions.Get(k)
			if v == nil || live(v, now) {
				continue // deleted, or renewed, since the scan
			}
			if sess, err := decodeRecord(v); err == nil {
				if err := byUser.Delete(indexKey(sess.User, k)); err != nil {
					return err
				}
				users = append(users, sess.User)
			} else {
				undecodable++
			}
			if err := sessions.Delete(k); err != nil {
				return err
			}
			deleted++
		}
		if deleted == 0 {
			return errNothing
		}
		return nil
	})
	for _, k := range keys {
		s.read.forget(string(k))
	}
	if errors.Is(err, errNothing) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if undecodable > 0 {
		s.log.Error("expired session records did not decode; deleted them",
			"count", undecodable)
	}
	for _, u := range users {
		s.expired(u)
	}
	return deleted, nil
}

// sweeper calls sweep every interval until Close.
func (s *Store) sweeper(interval time.Duration) {
	defer close(s.swept)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		n, err := s.sweep(s.stop)
		if err != nil {
			s.log.Error("sweeping expired sessions failed", "error", err)
		}
		if n > 0 {
			s.log.Debug("expired sessions deleted", "count", n)
		}
		if _, err := s.sweepCodes(); err != nil {
			s.log.Error("sweeping one-time codes failed", "error", err)
		}
		if _, err := s.sweepTally(); err != nil {
			s.log.Error("sweeping failed sign-ins failed", "error", err)
		}
		if err := s.Check(context.Background()); err != nil {
			s.log.Error("session store file gone", "error", err)
		}
	}
}
