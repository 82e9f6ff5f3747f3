// Package boltstore keeps sessions in a bbolt file, so they survive a restart of a
// single gateway.
//
// # Durability
//
// Every write is one bolt transaction, synced to disk before it returns: a session
// written is a session kept, even through a crash. That costs about half a millisecond
// a write, which is why the session manager renews a session at most once a minute.
// Reads take a few microseconds and do not wait for writers; a session read once is
// kept decoded in memory (up to 16,384 of them), so that the requests of a session in
// use read neither the file nor JSON. Since the file is locked to one process, every
// write passes through the Store, which forgets what each write touched: what it keeps
// is never older than the file.
//
// # One owner
//
// Bolt locks the whole file, so only one process can have it open, and a second one
// (another gateway, or an inspection tool run while the gateway is up) fails at Open
// within about a second instead of waiting. Gateways that share sessions need a shared
// store such as Redis.
//
// # Expiry
//
// Bolt has no ttl, so each record carries the instant it expires. A record past it is
// reported as missing at once, and a sweeper deletes such records in the background.
package boltstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/frontgate/gateway/authn/session"
)

// ErrLocked means another process, most likely another gateway, holds the file open.
// Open returns it wrapped, with the file's path.
var ErrLocked = errors.New("file is locked; another gateway is probably using it")

// lockTimeout is how long Open waits for the file lock. Bolt waits forever by default,
// which would hang a second gateway at startup with no word of why.
const lockTimeout = time.Second

// defaultSweepInterval is Options.SweepInterval's default.
const defaultSweepInterval = time.Minute

// Options configures a Store. The zero value is ready to use.
type Options struct {
	// Now returns the current time, which decides when sessions expire; tests set it to
	// a clock they move by hand. Default: time.Now.
	Now func() time.Time
	// SweepInterval is how often expired sessions are deleted in the background. Zero or
	// less means the default. Default: 1 minute.
	SweepInterval time.Duration
	// Logger receives the store's log records: records that do not decode, and sweeps
	// that fail. Default: nil, which discards them.
	Logger *slog.Logger
	// Expired, when set, is called with the user of each session a sweep deletes because
	// it expired, after the deletion: the gateway writes an audit record of it.
	Expired func(user string)
}

// Store is a session.Store in a bbolt file. It is safe for concurrent use. A Store
// whose file cannot be read or written returns errors other than session.ErrNotFound,
// and so do its methods after Close.
type Store struct {
	db      *bolt.DB
	path    string
	opened  fs.FileInfo // the file at path when it was opened
	now     func() time.Time
	log     *slog.Logger
	expired func(user string) // see Options.Expired; never nil
	read    readCache

	stop      chan struct{} // closed by Close to stop the sweeper
	swept     chan struct{} // closed by the sweeper when it has stopped
	closeOnce sync.Once
	closeErr  error
}

var (
	_ session.Store   = (*Store)(nil)
	_ session.Counter = (*Store)(nil)
)

// Open opens the bolt file at path, creating it (mode 0600) and its folder (mode 0700)
// if needed, and starts the sweeper. An existing file that others could read is made
// private to its owner. If another process holds the file, or this one does through
// another Store, Open returns within about a second an error that names the file and
// wraps ErrLocked. The caller must Close the Store.
func Open(path string, o Options) (*Store, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SweepInterval <= 0 {
		o.SweepInterval = defaultSweepInterval
	}
	if o.Expired == nil {
		o.Expired = func(string) {}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	log := o.Logger.With("file", path)

	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("opening session store: %w", err)
	}
	// bbolt would open a FIFO or device too, and fail on it with a riddle
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("opening session store %s: not a regular file (%v)", path,
			fi.Mode())
	}
	db, err := openFile(path)
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("opening session store %s: %w (waited %v: %w)",
			path, ErrLocked, lockTimeout, err)
	}
	if err != nil {
		return nil, fmt.Errorf("opening session store %s: %w", path, err)
	}
	if err := makePrivate(path, log); err != nil {
		db.Close()
		return nil, err
	}
	opened, err := os.Stat(path) // the file bolt opened and locked a moment ago
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("opening session store %s: %w", path, err)
	}
	// Every page in use is read once now, so that a damaged one stops the start, rather
	// than the request that happens on it (70 ms for 100,000 sessions), and the page
	// structure and free list are checked before the first write, which a damaged free
	// list would send outside the file (another 11 ms).
	if err := guard(func() error { return db.View(walkAll) }); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening session store %s: %w", path, err)
	}
	if err := guard(func() error { return db.View(checkPages) }); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening session store %s: %w", path, err)
	}
	if err := guard(func() error { return db.Update(createBuckets) }); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening session store %s: %w", path, err)
	}

	s := &Store{
		db: db, path: path, opened: opened, now: o.Now, log: log, expired: o.Expired,
		stop: make(chan struct{}), swept: make(chan struct{}),
	}
	go s.sweeper(o.SweepInterval)
	return s, nil
}

// Check implements session.Checker: it reports an error when the store's path no
// longer names the file the store has open, which was removed or replaced (by hand, or
// by a restore from a backup). The store goes on working in the file it has open, but
// what it holds is lost when the gateway stops, and a restart opens what the path names
// now.
func (s *Store) Check(context.Context) error {
	now, err := os.Stat(s.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("session store %s was removed while open: the sessions it holds "+
			"are lost at the next restart", s.path)
	case err != nil:
		return fmt.Errorf("session store %s: %w", s.path, err)
	case !os.SameFile(s.opened, now):
		return fmt.Errorf("session store %s was replaced while open: the sessions it holds "+
			"are lost at the next restart, which opens the file there now", s.path)
	}
	return nil
}

// walkAll reads every key and value of every bucket in tx, every byte of them, and so
// every page that holds them: a page whose offsets send bolt outside the file faults
// here, where guard catches it.
func walkAll(tx *bolt.Tx) error {
	var sum byte
	var walk func(b *bolt.Bucket) error
	walk = func(b *bolt.Bucket) error {
		return b.ForEach(func(k, v []byte) error {
			for _, c := range k {
				sum ^= c
			}
			for _, c := range v {
				sum ^= c
			}
			if v == nil {
				if nested := b.Bucket(k); nested != nil {
					return walk(nested)
				}
			}
			return nil
		})
	}
	err := tx.ForEach(func(_ []byte, b *bolt.Bucket) error { return walk(b) })
	_ = sum
	return err
}

// checkPages runs bolt's consistency check in tx: every page is either in use exactly
// once or free, and the free list names only pages inside the file. A file that fails it
// is ErrDamaged. It runs after walkAll has read every page in use, so the check, which
// bolt runs on a goroutine of its own where a fault could not be caught, reads no page
// that has not been read safely already.
func checkPages(tx *bolt.Tx) error {
	var first error
	n := 0
	for err := range tx.Check() {
		if first == nil {
			first = err
		}
		n++
	}
	switch {
	case n == 1:
		return fmt.Errorf("%w (%v)", ErrDamaged, first)
	case n > 1:
		return fmt.Errorf("%w (%v, and %d more problems)", ErrDamaged, first, n-1)
	}
	return nil
}

// ErrDamaged means the file's pages do not hold what bolt wrote there: a disk fault,
// or a copy of the file taken while it was written. Bolt panics on such pages; the
// Store returns this error, wrapped, instead.
var ErrDamaged = errors.New("file is damaged; move it aside to start with no " +
	"sessions, or put back a copy taken while no gateway ran")

// openFile opens the bolt file at path, waiting at most lockTimeout for its lock, and
// returns ErrDamaged rather than panic on a file whose first pages are damaged.
func openFile(path string) (db *bolt.DB, err error) {
	err = guard(func() (err error) {
		db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
		return err
	})
	return db, err
}

// guard runs fn, a step that reads or writes the file, and turns a panic of bolt's on a
// damaged page into ErrDamaged. Bolt rolls the transaction back as the panic passes.
func guard(fn func() error) (err error) {
	// A damaged page can send bolt to an address outside its memory map: a fault, which
	// this goroutine turns into a panic while fn runs, rather than the end of the process.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w (%v)", ErrDamaged, p)
		}
	}()
	return fn()
}

// view runs fn in a read transaction, as bolt's View does; a damaged page gives
// ErrDamaged, with the file's path, not a panic.
func (s *Store) view(fn func(*bolt.Tx) error) error {
	return s.named(guard(func() error { return s.db.View(fn) }))
}

// update runs fn in a write transaction, as bolt's Update does; see view.
func (s *Store) update(fn func(*bolt.Tx) error) error {
	return s.named(guard(func() error { return s.db.Update(fn) }))
}

// named adds the file's path to err, so that whoever reads the error knows which file
// failed, and to move it aside when it is damaged. A session not found is no failure.
func (s *Store) named(err error) error {
	if err == nil || errors.Is(err, session.ErrNotFound) {
		return err
	}
	return fmt.Errorf("%s: %w", s.path, err)
}

// makePrivate takes away the group's and others' access to the file at path: it holds
// the CSRF tokens of live sessions, and a file left readable by an older install or a
// careless copy should not stay that way.
func makePrivate(path string, log *slog.Logger) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("opening session store: %w", err)
	}
	if fi.Mode().Perm()&0o077 == 0 {
		return nil
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return fmt.Errorf("opening session store: restricting permissions: %w", err)
	}
	log.Warn("session store was readable by others; restricted it to its owner",
		"mode", fi.Mode().Perm().String())
	return nil
}

// createBuckets creates the buckets of a new file. It rebuilds the byUser index when a
// file has sessions but no index, so that List never misses a session of a user.
func createBuckets(tx *bolt.Tx) error {
	sessions, err := tx.CreateBucketIfNotExists(bucketSessions)
	if err != nil {
		return err
	}
	if tx.Bucket(bucketByUser) != nil {
		return nil
	}
	byUser, err := tx.CreateBucket(bucketByUser)
	if err != nil {
		return err
	}
	return sessions.ForEach(func(k, v []byte) error {
		s, err := decodeRecord(v)
		if err != nil {
			return nil // the first read of the record deletes it
		}
		return byUser.Put(indexKey(s.User, k), []byte{})
	})
}

// Close stops the sweeper, waiting for a sweep under way, and closes the file. Calling
// it again returns the first call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.swept
		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("closing session store %s: %w", s.path, err)
		}
	})
	return s.closeErr
}

// Get implements session.Store. A record that has expired, or that does not decode, is
// reported as missing; one that does not decode is also deleted, and logged.
func (s *Store) Get(_ context.Context, key string) (*session.Session, error) {
	now := s.now().UnixNano()
	if sess, ok := s.read.get(key, now); ok {
		return sess, nil
	}
	gen := s.read.generation()
	var (
		sess    *session.Session
		expires int64
		bad     []byte // a copy of a record that did not decode
		err     error
	)
	verr := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketSessions).Get([]byte(key))
		if v == nil || (len(v) >= headerLen && !live(v, now)) {
			return nil
		}
		expires, _ = recordExpires(v)
		if sess, err = decodeRecord(v); err != nil {
			bad = bytes.Clone(v)
		}
		return nil
	})
	if verr != nil {
		return nil, fmt.Errorf("reading session: %w", verr)
	}
	if bad != nil {
		s.dropCorrupt(key, bad, err)
		return nil, session.ErrNotFound
	}
	if sess == nil {
		return nil, session.ErrNotFound
	}
	s.read.add(key, sess, expires, gen)
	return sess, nil
}

// Put implements session.Store. A ttl of zero or less stores a session that has already
// expired.
func (s *Store) Put(_ context.Context, key string, sess *session.Session,
	ttl time.Duration) error {
	v, err := encodeRecord(sess, expiresAt(s.now(), ttl))
	if err != nil {
		return fmt.Errorf("storing session: %w", err)
	}
	err = s.update(func(tx *bolt.Tx) error {
		return put(tx, []byte(key), sess.User, v)
	})
	s.read.forget(key)
	if err != nil {
		return fmt.Errorf("storing session: %w", err)
	}
	return nil
}

// put stores record v, a session of user, under key, and keeps the index in step.
func put(tx *bolt.Tx, key []byte, user string, v []byte) error {
	sessions, byUser := tx.Bucket(bucketSessions), tx.Bucket(bucketByUser)
	if old := sessions.Get(key); old != nil {
		if prev, err := decodeRecord(old); err == nil && prev.User != user {
			if err := byUser.Delete(indexKey(prev.User, key)); err != nil {
				return err
			}
		}
	}
	if err := sessions.Put(key, v); err != nil {
		return err
	}
	return byUser.Put(indexKey(user, key), []byte{})
}

// Touch implements session.Store. It reads and rewrites the record in one transaction,
// so a sign-out that deletes the session first wins: the renewal then finds nothing and
// writes nothing, and the session stays ended. An expired record is not renewed either.
func (s *Store) Touch(_ context.Context, key string, seen time.Time,
	ttl time.Duration) error {
	now := s.now()
	var bad error // why the record did not decode
	err := s.update(func(tx *bolt.Tx) error {
		sessions := tx.Bucket(bucketSessions)
		k := []byte(key)
		v := sessions.Get(k)
		if v == nil || (len(v) >= headerLen && !live(v, now.UnixNano())) {
			// returning an error rolls back: nothing is written, and nothing synced
			return session.ErrNotFound
		}
		sess, err := decodeRecord(v)
		if err != nil {
			bad = err
			return sessions.Delete(k)
		}
		sess.LastSeen = seen
		nv, err := encodeRecord(sess, expiresAt(now, ttl))
		if err != nil {
			return err
		}
		return sessions.Put(k, nv)
	})
	s.read.forget(key)
	switch {
	case errors.Is(err, session.ErrNotFound):
		return session.ErrNotFound
	case err != nil:
		return fmt.Errorf("renewing session: %w", err)
	case bad != nil:
		s.log.Error("session record does not decode; deleted it", "key", key, "error", bad)
		return session.ErrNotFound
	}
	return nil
}

// Replace implements session.Store: in one transaction, it writes sess only if a live
// record is still stored under key.
func (s *Store) Replace(_ context.Context, key string, sess *session.Session,
	ttl time.Duration) error {
	now := s.now()
	v, err := encodeRecord(sess, expiresAt(now, ttl))
	if err != nil {
		return fmt.Errorf("storing session: %w", err)
	}
	err = s.update(func(tx *bolt.Tx) error {
		old := tx.Bucket(bucketSessions).Get([]byte(key))
		if old == nil || (len(old) >= headerLen && !live(old, now.UnixNano())) {
			return session.ErrNotFound // rolls back: nothing is written
		}
		return put(tx, []byte(key), sess.User, v)
	})
	s.read.forget(key)
	switch {
	case errors.Is(err, session.ErrNotFound):
		return session.ErrNotFound
	case err != nil:
		return fmt.Errorf("storing session: %w", err)
	}
	return nil
}

// Delete implements session.Store.
func (s *Store) Delete(_ context.Context, key string) error {
	err := s.update(func(tx *bolt.Tx) error {
		sessions := tx.Bucket(bucketSessions)
		k := []byte(key)
		v := sessions.Get(k)
		if v == nil {
			return errNothing
		}
		if sess, err := decodeRecord(v); err == nil {
			if err := tx.Bucket(bucketByUser).Delete(indexKey(sess.User, k)); err != nil {
				return err
			}
		}
		return sessions.Delete(k)
	})
	s.read.forget(key)
	if err != nil && !errors.Is(err, errNothing) {
		return fmt.Errorf("deleting session: %w", err)
	}
	return nil
}

// errNothing rolls back a transaction that found nothing to change, so that it costs no
// write to disk.
var errNothing = errors.New("nothing to change")

// dropCorrupt deletes record bad, which did not decode for the reason why, if key still
// holds it: a Put racing the deletion keeps its new session.
func (s *Store) dropCorrupt(key string, bad []byte, why error) {
	s.log.Error("session record does not decode; deleting it", "key", key, "error", why)
	err := s.update(func(tx *bolt.Tx) error {
		sessions := tx.Bucket(bucketSessions)
		if !bytes.Equal(sessions.Get([]byte(key)), bad) {
			return errNothing
		}
		return sessions.Delete([]byte(key))
	})
	s.read.forget(key)
	if err != nil && !errors.Is(err, errNothing) {
		s.log.Error("deleting a session record that does not decode failed",
			"key", key, "error", err)
	}
}
