// Package tlsstore keeps certmagic's certificates, private keys, ACME accounts and
// locks in Redis, so that several gateways share one set of certificates: one of
// them orders a certificate while the others wait for it and then load it, and none
// orders the same certificate twice.
//
// # Keys
//
// Every Redis key starts with the prefix given to [New]. A certmagic key such as
// "certificates/acme-v02.api.letsencrypt.org-directory/example.com/example.com.crt"
// lives under prefix+"file:"+key, as a hash with two fields: "value", the bytes
// stored, and "modified", when they were stored, in microseconds since 1970 by the
// Redis server's clock (so that gateways whose clocks differ still agree on which of
// two writes is the newer). One script writes both fields, so a reader never sees a
// value without its time or half of an overwrite. A lock lives under
// prefix+"lock:"+name.
//
// "Directories" are not stored: a key is a directory when it is a prefix, on a
// component basis, of stored keys ("a" is a prefix of "a/b" but not of "ab/c").
// Listing a directory, deleting one, and asking whether one exists walk the keys
// under the prefix with SCAN, which, unlike KEYS, does not stall Redis for its other
// clients, but does visit every key in the database. Certmagic lists directories
// only in its periodic clean-up; give the Storage a database of its own if it shares
// Redis with millions of other keys. In a cluster every master is walked, and no
// command touches two keys, so no key needs a hash tag.
//
// # Locks
//
// Lock sets the lock's key to a random token, only if the key is absent, with an
// expiry of a lease (10s). While the lock is held, a goroutine renews the lease
// every third of it, for as long as the key still holds the token; Unlock deletes
// the key only if it still holds the token. A gateway that crashes, or loses Redis,
// stops renewing, and its locks expire within a lease, so another gateway can take
// over the work.
//
// These locks carry no fencing token: a holder stalled for longer than a lease (a
// long pause, a network partition) may still believe it holds a lock another
// gateway has since taken, and a Redis failover may lose a lock that was not yet
// replicated. Certmagic tolerates such rare overlaps: after taking a lock it checks
// storage again before it orders a certificate.
//
// # Redis
//
// The Storage needs Redis 5 or later, for scripts that read the server's clock
// before they write. Run Redis with maxmemory-policy noeviction: an evicted lock
// lets two gateways order the same certificate, and an evicted certificate is
// ordered again, which counts against the CA's rate limits.
package tlsstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/redis/go-redis/v9"
)

// Errors of this package. A missing key is reported with an error that wraps
// fs.ErrNotExist, as certmagic expects.
var (
	// ErrInvalidKey means a key is empty, starts or ends with a slash, or has an
	// empty component ("a//b"). Certmagic never builds such keys; refusing them keeps
	// an empty key from naming, and Delete from removing, every key there is.
	ErrInvalidKey = errors.New("invalid storage key")
	// ErrNotLocked means the Storage does not hold the lock: it never took it, has
	// released it already, or lost it because its lease ran out before it could be
	// renewed, in which case another gateway may hold it now.
	ErrNotLocked = errors.New("lock not held")
)

// Defaults of a Storage made by New.
const (
	// defaultLease is how long a lock outlives the last renewal by its holder, and so
	// how long the other gateways wait for the work of one that crashed.
	defaultLease = 10 * time.Second
	// defaultRetry is how often Lock tries again to take a lock held by someone else.
	defaultRetry = 250 * time.Millisecond
)

// scanBatch bounds how many keys one SCAN step asks for and one pipeline deletes.
const scanBatch = 500

// Storage keeps certmagic's certificates, keys and locks in Redis, so that several
// gateways share one set of certificates and never order the same one twice. It is
// a certmagic.Storage, a certmagic.TryLocker and a certmagic.LockLeaseRenewer, and it
// is safe for concurrent use, also by several processes that share one Redis.
type Storage struct {
	rdb    redis.UniversalClient
	prefix string
	lease  time.Duration // expiry of a lock; renewed every third of it
	retry  time.Duration // pause between attempts to take a lock

	mu   sync.Mutex
	held map[string]*hold // locks this Storage holds, by name
}

var (
	_ certmagic.Storage          = (*Storage)(nil)
	_ certmagic.TryLocker        = (*Storage)(nil)
	_ certmagic.LockLeaseRenewer = (*Storage)(nil)
)

// New returns a Storage on rdb whose Redis keys all start with prefix, such as
// "gateway:tls:". Gateways that are to share certificates must use the same Redis
// database and the same prefix; an empty prefix is allowed but leaves the keys
// "file:…" and "lock:…" unqualified.
//
// New does not connect, and the Storage does not own rdb: close rdb once the
// Storage is no longer used and its locks are released. Locks still held then
// expire within a lease.
func New(rdb redis.UniversalClient, prefix string) *Storage {
	return &Storage{
		rdb:    rdb,
		prefix: prefix,
		lease:  defaultLease,
		retry:  defaultRetry,
		held:   make(map[string]*hold),
	}
}

// String describes the Storage for certmagic's logs.
func (s *Storage) String() string { return "redis storage " + strconv.Quote(s.prefix) }

// fileKey is the Redis key storage key is kept under.
func (s *Storage) fileKey(key string) string { return s.prefix + "file:" + key }

// lockKey is the Redis key of the lock name.
func (s *Storage) lockKey(name string) string { return s.prefix + "lock:" + name }

// storeScript overwrites a whole file in one step, stamped with the server's clock.
// The DEL drops whatever was there before, even a key of another type.
var storeScript = redis.NewScript(`
local t = redis.call('TIME')
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'value', ARGV[1],
	'modified', t[1] .. string.format('%06d', tonumber(t[2])))
return 1
`)

// statScript returns a file's modification time and size, without its value, or
// nil for a missing file.
var statScript = redis.NewScript(`
local m = redis.call('HGET', KEYS[1], 'modified')
if not m then
	return false
end
return {m, redis.call('HSTRLEN', KEYS[1], 'value')}
`)

// Store implements certmagic.Storage.
func (s *Storage) Store(ctx context.Context, key string, value []byte) error {
	if !validKey(key) {
		return fmt.Errorf("storing %q in redis: %w", key, ErrInvalidKey)
	}
	if err := storeScript.Run(ctx, s.rdb, []string{s.fileKey(key)}, value).Err(); err != nil {
		return fmt.Errorf("storing %q in redis: %w", key, err)
	}
	return nil
}

// Load implements certmagic.Storage.
func (s *Storage) Load(ctx context.Context, key string) ([]byte, error) {
	if !validKey(key) {
		return nil, fmt.Errorf("loading %q from redis: %w", key, ErrInvalidKey)
	}
	value, err := s.rdb.HGet(ctx, s.fileKey(key), "value").Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("loading %q from redis: %w", key, fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("loading %q from redis: %w", key, err)
	}
	return value, nil
}

// Delete implements certmagic.Storage: it deletes the file key and every key under
// the directory key. A key that does not exist is not an error.
func (s *Storage) Delete(ctx context.Context, key string) error {
	if !validKey(key) {
		return fmt.Errorf("deleting %q from redis: %w", key, ErrInvalidKey)
	}
	if err := s.rdb.Del(ctx, s.fileKey(key)).Err(); err != nil {
		return fmt.Errorf("deleting %q from redis: %w", key, err)
	}

	// then the directory, if key is one
	var under []string
	err := s.scan(ctx, key+"/", func(k string) bool {
		under = append(under, k)
		return true
	})
	if err != nil {
		return fmt.Errorf("deleting %q from redis: %w", key, err)
	}
	for chunk := range slices.Chunk(under, scanBatch) {
		// one DEL per key: a cluster refuses a DEL of keys in different slots
		pipe := s.rdb.Pipeline()
		for _, k := range chunk {
			pipe.Del(ctx, s.fileKey(k))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("deleting %q from redis: %w", key, err)
		}
	}
	return nil
}

// Exists implements certmagic.Storage. It reports false for an invalid key, and
// when Redis cannot be asked.
func (s *Storage) Exists(ctx context.Context, key string) bool {
	if !validKey(key) {
		return false
	}
	n, err := s.rdb.Exists(ctx, s.fileKey(key)).Result()
	if err != nil {
		return false
	}
	if n > 0 {
		return true
	}
	dir, err := s.isDir(ctx, key)
	return err == nil && dir
}

// Stat implements certmagic.Storage. For a file it reports the size of the value and
// when it was stored; for a directory only the key, with IsTerminal false.
func (s *Storage) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	if !validKey(key) {
		return certmagic.KeyInfo{}, fmt.Errorf("reading info on %q from redis: %w",
			key, ErrInvalidKey)
	}
	vals, err := statScript.Run(ctx, s.rdb, []string{s.fileKey(key)}).Slice()
	if err == nil {
		return fileInfo(key, vals)
	}
	if !errors.Is(err, redis.Nil) {
		return certmagic.KeyInfo{}, fmt.Errorf("reading info on %q from redis: %w", key, err)
	}

	// not a file; perhaps a directory
	dir, err := s.isDir(ctx, key)
	if err != nil {
		return certmagic.KeyInfo{}, fmt.Errorf("reading info on %q from redis: %w", key, err)
	}
	if !dir {
		return certmagic.KeyInfo{}, fmt.Errorf("reading info on %q from redis: %w",
			key, fs.ErrNotExist)
	}
	return certmagic.KeyInfo{Key: key}, nil
}

// fileInfo decodes what statScript returned for the file key.
func fileInfo(key string, vals []any) (certmagic.KeyInfo, error) {
	if len(vals) != 2 {
		return certmagic.KeyInfo{}, fmt.Errorf("reading info on %q from redis: "+
			"got %d values, want 2", key, len(vals))
	}
	m, _ := vals[0].(string)
	micros, err := strconv.ParseInt(m, 10, 64)
	if err != nil {
		return certmagic.KeyInfo{}, fmt.Errorf("reading info on %q from redis: "+
			"modification time %q: %w", key, m, err)
	}
	size, _ := vals[1].(int64)
	return certmagic.KeyInfo{
		Key:        key,
		Modified:   time.UnixMicro(micros),
		Size:       size,
		IsTerminal: true,
	}, nil
}

// List implements certmagic.Storage. It returns whole keys, sorted. Without
// recursive it lists the files and directories directly in dir; with recursive it
// lists every file under dir, at any depth, and no directories. An empty dir stands
// for the root, the directory above every key. A dir that is a file has nothing
// under it, and a dir that does not exist is an error that wraps fs.ErrNotExist.
func (s *Storage) List(ctx context.Context, dir string, recursive bool) ([]string, error) {
	base := ""
	if dir != "" {
		if !validKey(dir) {
			return nil, fmt.Errorf("listing %q in redis: %w", dir, ErrInvalidKey)
		}
		base = dir + "/"
	}
	seen := make(map[string]bool)
	err := s.scan(ctx, base, func(key string) bool {
		rest := strings.TrimPrefix(key, base)
		if i := strings.IndexByte(rest, '/'); i >= 0 && !recursive {
			rest = rest[:i]
		}
		seen[base+rest] = true
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("listing %q in redis: %w", dir, err)
	}
	if len(seen) > 0 {
		return slices.Sorted(maps.Keys(seen)), nil
	}

	// nothing under dir: a file, or nothing at all
	if dir != "" {
		n, err := s.rdb.Exists(ctx, s.fileKey(dir)).Result()
		if err != nil {
			return nil, fmt.Errorf("listing %q in redis: %w", dir, err)
		}
		if n > 0 {
			return nil, nil
		}
	}
	return nil, fmt.Errorf("listing %q in redis: %w", dir, fs.ErrNotExist)
}

// isDir reports whether any file lies under key, which makes it a directory.
func (s *Storage) isDir(ctx context.Context, key string) (bool, error) {
	found := false
	err := s.scan(ctx, key+"/", func(string) bool {
		found = true
		return false
	})
	return found, err
}

// scan calls fn with every storage key that starts with base, until fn returns
// false. fn may see a key twice, as SCAN may return it twice, but never runs
// concurrently with itself.
func (s *Storage) scan(ctx context.Context, base string, fn func(key string) bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu      sync.Mutex
		stopped bool
	)
	match := escapeGlob(s.fileKey(base)) + "*"
	walk := func(ctx context.Context, c redis.Cmdable) error {
		iter := c.Scan(ctx, 0, match, scanBatch).Iterator()
		for iter.Next(ctx) {
			mu.Lock()
			if !stopped && !fn(strings.TrimPrefix(iter.Val(), s.fileKey(""))) {
				stopped = true
				cancel() // the other masters need not go on
			}
			done := stopped
			mu.Unlock()
			if done {
				return nil
			}
		}
		return iter.Err()
	}

	// a cluster or ring spreads keys over its nodes, and SCAN walks one node
	var err error
	switch c := s.rdb.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			return walk(ctx, n)
		})
	case *redis.Ring:
		err = c.ForEachShard(ctx, func(ctx context.Context, n *redis.Client) error {
			return walk(ctx, n)
		})
	default:
		err = walk(ctx, s.rdb)
	}
	mu.Lock()
	defer mu.Unlock()
	if stopped {
		// the cancel above, seen by the walks still going
		return nil
	}
	return err
}

// validKey reports whether key is a key in certmagic's sense: components separated
// by single slashes, with no slash at either end.
func validKey(key string) bool {
	return key != "" && !strings.HasPrefix(key, "/") && !strings.HasSuffix(key, "/") &&
		!strings.Contains(key, "//")
}

// escapeGlob quotes the characters SCAN's MATCH pattern gives a meaning, so that a
// key such as "certificates/a[1]" matches only itself.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\*?[]`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
