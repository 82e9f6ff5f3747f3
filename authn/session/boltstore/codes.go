package boltstore

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/frontgate/gateway/authn/totp"
)

// Buckets of the one-time code ledger. Under bucketCodesUsed, the key is a SHA-256 of
// the user's name and the value the step of the user's last code and when it was
// claimed (Unix nanoseconds), each 8 bytes big-endian; under bucketCodesWrong, the key is
// the caller's and the value how many wrong codes it has and when the last came.
var (
	bucketCodesUsed  = []byte("totp_used")
	bucketCodesWrong = []byte("totp_wrong")
)

// Codes returns a totp.Ledger kept in the Store's file, so that a restart of the gateway
// neither lets a code that signed someone in do so again nor forgets the wrong codes
// given for a user. Each change is one synced transaction; the sweeper drops what no
// longer counts. It holds an entry per user who signed in with a code, and per user and
// password that got codes wrong, so it stays small.
func (s *Store) Codes() totp.Ledger { return codeLedger{s} }

type codeLedger struct{ s *Store }

func usedKey(user string) []byte {
	sum := sha256.Sum256([]byte(user))
	return sum[:]
}

// pair encodes two numbers as a bucket value.
func pair(a, b int64) []byte {
	v := make([]byte, 16)
	binary.BigEndian.PutUint64(v, uint64(a))
	binary.BigEndian.PutUint64(v[8:], uint64(b))
	return v
}

// unpair decodes a value of pair; anything else reads as zeros.
func unpair(v []byte) (a, b int64) {
	if len(v) != 16 {
		return 0, 0
	}
	return int64(binary.BigEndian.Uint64(v)), int64(binary.BigEndian.Uint64(v[8:]))
}

// Last implements totp.Ledger.
func (l codeLedger) Last(_ context.Context, user string) (int64, error) {
	var step int64
	err := l.s.view(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketCodesUsed); b != nil {
			step, _ = unpair(b.Get(usedKey(user)))
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("reading the last one-time code: %w", err)
	}
	return step, nil
}

// Claim implements totp.Ledger.
func (l codeLedger) Claim(_ context.Context, user string, after, step int64,
	now time.Time) (bool, error) {
	ok := false
	err := l.s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketCodesUsed)
		if err != nil {
			return err
		}
		cur, _ := unpair(b.Get(usedKey(user)))
		if cur > after || step <= cur {
			return nil
		}
		ok = true
		return b.Put(usedKey(user), pair(step, now.UnixNano()))
	})
	if err != nil {
		return false, fmt.Errorf("recording a one-time code: %w", err)
	}
	return ok, nil
}

// Take implements totp.Ledger.
func (l codeLedger) Take(_ context.Context, key string, now time.Time) (time.Duration,
	error) {
	var wait time.Duration
	err := l.s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketCodesWrong)
		if err != nil {
			return err
		}
		n, last := unpair(b.Get([]byte(key)))
		var counted int
		wait, counted = totp.Count(int(n), time.Unix(0, last), now)
		if wait > 0 {
			return nil
		}
		return b.Put([]byte(key), pair(int64(counted), now.UnixNano()))
	})
	if err != nil {
		return 0, fmt.Errorf("counting a one-time code: %w", err)
	}
	return wait, nil
}

// Right implements totp.Ledger.
func (l codeLedger) Right(_ context.Context, key string) error {
	err := l.s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCodesWrong)
		if b == nil {
			return nil
		}
		v := b.Get([]byte(key))
		if v == nil {
			return nil
		}
		n, last := unpair(v)
		if n <= 1 {
			return b.Delete([]byte(key))
		}
		return b.Put([]byte(key), pair(n-1, last))
	})
	if err != nil {
		return fmt.Errorf("taking back a one-time code: %w", err)
	}
	return nil
}

// codeBuckets are the ledger's buckets, each with how long an entry counts after the
// time it holds.
var codeBuckets = []struct {
	name []byte
	keep time.Duration
}{{bucketCodesUsed, totp.Remember}, {bucketCodesWrong, totp.WrongMemory}}

// sweepCodes drops the steps claimed longer than totp.Remember ago and the wrong codes
// whose last came totp.WrongMemory ago or more, and returns how many entries it dropped.
// It looks first, and writes only when it found something to drop.
func (s *Store) sweepCodes() (int, error) {
	now := s.now()
	names := make([][]byte, len(codeBuckets))
	for i, cb := range codeBuckets {
		names[i] = cb.name
	}
	n, err := s.sweepBuckets(names, func(c int, v []byte) bool {
		_, at := unpair(v)
		return now.Sub(time.Unix(0, at)) >= codeBuckets[c].keep
	})
	if err != nil {
		return n, fmt.Errorf("sweeping one-time codes: %w", err)
	}
	return n, nil
}

// sweepBuckets drops the entries of the buckets named that stale reports, given the
// bucket's index in names and the entry's value, and returns how many it dropped. It
// looks first, in a read-only transaction, and writes only when it found something to
// drop, so that a sweep with nothing due costs no write to the file.
func (s *Store) sweepBuckets(names [][]byte, stale func(bucket int, v []byte) bool) (int,
	error) {
	found := false
	err := s.view(func(tx *bolt.Tx) error {
		for i, name := range names {
			if b := tx.Bucket(name); b != nil {
				b.ForEach(func(_, v []byte) error {
					found = found || stale(i, v)
					return nil
				})
			}
		}
		return nil
	})
	if err != nil || !found {
		return 0, err
	}
	dropped := 0
	err = s.update(func(tx *bolt.Tx) error {
		for i, name := range names {
			b := tx.Bucket(name)
			if b == nil {
				continue
			}
			var old [][]byte
			b.ForEach(func(k, v []byte) error {
				if stale(i, v) {
					old = append(old, k)
				}
				return nil
			})
			for _, k := range old {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
			dropped += len(old)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return dropped, nil
}
