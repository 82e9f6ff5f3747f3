// Package redisstore keeps sessions in Redis, so that several gateways share them: a user
// signed in through one gateway is signed in on all of them, and signing out anywhere
// ends the session everywhere.
//
// # Keys
//
// Every key starts with the configured prefix. A session lives under prefix+"s:"+key as
// the JSON of [session.Marshal], with a Redis expiry equal to its ttl, so Redis itself
// forgets sessions nobody comes back to. Each user has an index, a sorted set under
// prefix+"u:"+user, of the keys of the user's sessions scored by when they expire. A
// session enters its index before it is written, so List(user) never misses a live
// one; Delete takes it out, and every write to the index drops members that expired,
// so the index does not grow with every sign-in. The index itself expires a minute
// after its last session.
//
// Redis offers no atomic write across two keys that a cluster may keep on different
// nodes, so the index can name a session that is gone, never the other way round;
// List skips such members.
//
// # Failures
//
// A store built while Redis is down still works once Redis is back: the client dials
// again by itself. Until then every call returns an error, never [session.ErrNotFound],
// so the gateway fails closed instead of treating every user as signed out. A value
// under a session key that is not a whole session, such as one written by some other
// program, reads as missing and is removed.
//
// The store needs Redis 6.2 or later (for GETDEL and ZADD GT). Run it with
// maxmemory-policy noeviction: a Redis short of memory that evicts keys would end
// sessions at random, or drop an index and so hide live sessions from List.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/frontgate/gateway/authn/session"
)

// Store is a session.Store in Redis. It is safe for concurrent use, also by several
// processes that share one Redis.
type Store struct {
	rdb     redis.UniversalClient
	once    redis.UniversalClient // rdb's settings, without retries; nil: rdb
	reads   readBatcher
	reading atomic.Int64 // reads in flight
	prefix  string
	memo    decodeMemo
}

var (
	_ session.Store   = (*Store)(nil)
	_ session.Counter = (*Store)(nil)
)

// indexGrace is how long an index member outlives the expiry recorded for it. In a
// cluster the index and the session may sit on nodes whose clocks differ; the grace
// keeps a clock that runs ahead from dropping a session that is still live from the
// index, where List would miss it and the user could not end it.
const indexGrace = time.Minute

// NewWithClient returns a Store on rdb whose keys all start with prefix; an empty
// prefix is allowed but leaves the keys "s:…" and "u:…" unqualified. The Store owns rdb
// from then on: Close closes it.
func NewWithClient(rdb redis.UniversalClient, prefix string) *Store {
	return &Store{rdb: rdb, prefix: prefix}
}

// Client returns the Redis client the Store uses, for other state the gateway keeps in
// the same Redis, such as certificates.
func (s *Store) Client() redis.UniversalClient { return s.rdb }

// OnceClient returns a client of the same Redis that sends each command once, never
// again after a timeout: for scripts that count, which Redis may have run although its
// answer came too late, so that a retry would count twice. A Store made by
// NewWithClient has only its one client.
func (s *Store) OnceClient() redis.UniversalClient {
	if s.once == nil {
		return s.rdb
	}
	return s.once
}

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Do(ctx, "ping").Err(); err != nil {
		return fmt.Errorf("pinging redis: %w", err)
	}
	return nil
}

// EvictionPolicy returns Redis's maxmemory-policy. Anything but "noeviction" lets a
// Redis short of memory drop sessions, which signs their users out early. A Redis that
// refuses CONFIG (some hosted ones do) gives an error.
func (s *Store) EvictionPolicy(ctx context.Context) (string, error) {
	reply, err := s.rdb.Do(ctx, "config", "get", "maxmemory-policy").Result()
	if err != nil {
		return "", fmt.Errorf("reading redis maxmemory-policy: %w", err)
	}
	// RESP3 answers with a map, RESP2 with a list of names and values
	var v any
	switch r := reply.(type) {
	case map[any]any:
		v = r["maxmemory-policy"]
	case []any:
		for i := 0; i+1 < len(r); i += 2 {
			if r[i] == "maxmemory-policy" {
				v = r[i+1]
			}
		}
	}
	p, ok := v.(string)
	if !ok {
		return "", errors.New("reading redis maxmemory-policy: not in CONFIG GET's answer")
	}
	return p, nil
}

// Close closes the connections to Redis. The Store is unusable afterwards.
func (s *Store) Close() error {
	err := s.rdb.Close()
	if s.once != nil {
		err = errors.Join(err, s.once.Close())
	}
	if err != nil {
		return fmt.Errorf("closing redis client: %w", err)
	}
	return nil
}

// sessionKey is the Redis key session key is stored under.
func (s *Store) sessionKey(key string) string { return s.prefix + "s:" + key }

// indexKey is the Redis key of the index of user's sessions.
func (s *Store) indexKey(user string) string { return s.prefix + "u:" + user }

// Get implements session.Store.
func (s *Store) Get(ctx context.Context, key string) (*session.Session, error) {
	rkey := s.sessionKey(key)
	val, err := s.get(ctx, rkey)
	sess, err := s.decode(ctx, rkey, val, err)
	if err != nil {
		if errors.Is(err, session.ErrNotFound) {
			return nil, err
		}
		return nil, fmt.Errorf("reading session from redis: %w", err)
	}
	return sess, nil
}

// readWait bounds a batched read, which does not stop at the caller's deadline by
// itself: a read that a hung Redis never answers fails after this long, as one on a
// connection of its own does after its read timeout and one retry.
const readWait = 2 * ioTimeout

// get reads the value of rkey. Reads that arrive while others are in flight, from
// requests served at the same time, share one write to Redis and one read of the
// replies, in place of a round trip each: under load that saves most of the system
// calls, and much of Redis's own work. A read on its own goes straight to Redis, which
// is quicker than handing it to the batcher. Each read still asks Redis, after whatever
// the caller did before it.
func (s *Store) get(ctx context.Context, rkey string) (string, error) {
	alone := s.reading.Add(1) == 1
	defer s.reading.Add(-1)
	var ap *redis.AutoPipeliner
	if !alone {
		ap = s.reads.get(s.rdb)
	}
	if ap == nil {
		return s.rdb.Get(ctx, rkey).Result()
	}
	ctx, cancel := context.WithTimeout(ctx, readWait)
	defer cancel()
	cmd := redis.NewStringCmd(ctx, "get", rkey)
	// Past the deadline the command may still be in flight: it is left to finish on
	// its own and never read.
	if err := ap.Submit(ctx, cmd).WaitContext(ctx); err != nil {
		return "", err
	}
	return cmd.Val(), nil
}

// readBatcher makes the batcher of session reads on first use, so that a gateway that
// has served no signed-in request runs none of its goroutines.
type readBatcher struct {
	once sync.Once
	ap   *redis.AutoPipeliner // nil: none, each read makes its own round trip
}

func (b *readBatcher) get(rdb redis.UniversalClient) *redis.AutoPipeliner {
	b.once.Do(func() {
		// go-redis calls its autopipeliner experimental: should a later version
		// refuse to make one, reads go back to a round trip each.
		if ap, err := rdb.AsyncAutoPipeline(); err == nil {
			b.ap = ap
		}
	})
	return b.ap
}

// Put implements session.Store. A ttl under a millisecond, zero or negative counts as one
// millisecond, the shortest expiry Redis keeps.
func (s *Store) Put(ctx context.Context, key string, sess *session.Session,
	ttl time.Duration) error {
	b, err := session.Marshal(sess)
	if err != nil {
		return err
	}

	// the index first: a live session missing from its index would be hidden from List,
	// so the user could not see or end it, while an index member without a session only
	// costs List a read until the member expires
	if err := s.index(ctx, sess.User, key, ttl); err != nil {
		return fmt.Errorf("writing session to redis: %w", err)
	}
	if err := s.rdb.Set(ctx, s.sessionKey(key), b, millis(ttl)).Err(); err != nil {
		return fmt.Errorf("writing session to redis: %w", err)
	}
	return nil
}

// Touch implements session.Store. It reads the session, sets LastSeen and writes it
// back with Replace.
func (s *Store) Touch(ctx context.Context, key string, lastSeen time.Time,
	ttl time.Duration) error {
	sess, err := s.Get(ctx, key)
	if err != nil {
		return err
	}
	sess.LastSeen = lastSeen
	return s.Replace(ctx, key, sess, ttl)
}

// Replace implements session.Store with SET XX, which writes only if the key still
// exists. A Delete before the write therefore wins: the write fails and the session
// stays deleted, which is what a sign-out racing a renewal needs. A Put of the same key
// between a caller's read and this write would be undone, but the gateway never puts a
// session under a key in use: each sign-in draws a fresh random id.
func (s *Store) Replace(ctx context.Context, key string, sess *session.Session,
	ttl time.Duration) error {
	b, err := session.Marshal(sess)
	if err != nil {
		return err
	}
	// the index first, as in Put
	if err := s.index(ctx, sess.User, key, ttl); err != nil {
		return fmt.Errorf("writing session to redis: %w", err)
	}
	ok, err := s.rdb.SetXX(ctx, s.sessionKey(key), b, millis(ttl)).Result()
	if err != nil {
		return fmt.Errorf("writing session to redis: %w", err)
	}
	if !ok {
		// deleted meanwhile: take back the index member added above, best effort, as
		// in Delete; the key is never used again, so no sign-in can need the member
		_ = s.rdb.ZRem(ctx, s.indexKey(sess.User), key).Err()
		return session.ErrNotFound
	}
	return nil
}

// Delete implements session.Store.
func (s *Store) Delete(ctx context.Context, key string) error {
	s.memo.forget(s.sessionKey(key))
	val, err := s.rdb.GetDel(ctx, s.sessionKey(key)).Result()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("deleting session from redis: %w", err)
	}

	// The session is gone once GETDEL succeeds, and List skips index members without
	// a session, so a failure to tidy the index is not a failure to sign out: a caller
	// told otherwise would show an error for a sign-out that worked.
	if sess, err := session.Unmarshal([]byte(val)); err == nil {
		_ = s.rdb.ZRem(ctx, s.indexKey(sess.User), key).Err()
	}
	return nil
}

// indexScript adds ARGV[1] to the index KEYS[1] with an expiry ARGV[2] ms from now, or
// keeps the later expiry it already has (GT); drops members that expired more than
// ARGV[3] ms ago; and lets the index expire ARGV[3] ms after its last member. It reads
// the clock of Redis, the clock that expires the sessions, not that of any gateway.
var indexScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local grace = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], 'GT', now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - grace)
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then
	redis.call('PEXPIREAT', KEYS[1], tonumber(last[2]) + grace)
end
return 1
`)

// index records in user's index that key holds a session for ttl from now.
func (s *Store) index(ctx context.Context, user, key string, ttl time.Duration) error {
	ms := millis(ttl).Milliseconds()
	return indexScript.Run(ctx, s.rdb, []string{s.indexKey(user)}, key, ms,
		indexGrace.Milliseconds()).Err()
}

// decode turns the reply to a GET of the session key rkey into a session. No value is
// ErrNotFound. So is a foreign value, a string that is not a whole session or a key of
// another type, which decode removes: left in place it would fail every read of the key
// and every listing. Any other error is returned as it is.
func (s *Store) decode(ctx context.Context, rkey, val string, err error) (*session.Session, error) {
	switch {
	case errors.Is(err, redis.Nil):
		return nil, session.ErrNotFound
	case err != nil:
		if !s.foreignType(ctx, rkey, err) {
			return nil, err
		}
	default:
		if sess, ok := s.memo.get(rkey, val); ok {
			return sess, nil
		}
		sess, uerr := session.Unmarshal([]byte(val))
		if uerr == nil {
			s.memo.add(rkey, val, sess)
			return sess, nil
		}
	}
	s.memo.forget(rkey)
	if err := s.rdb.Del(ctx, rkey).Err(); err != nil {
		return nil, fmt.Errorf("removing foreign value: %w", err)
	}
	return nil, session.ErrNotFound
}

// foreignType reports whether err, an error a GET of rkey returned, came from a key
// that is not a string. Only an error reply from the server can mean that; TYPE then
// tells which, without reading the error's text.
func (s *Store) foreignType(ctx context.Context, rkey string, err error) bool {
	var reply redis.Error
	if !errors.As(err, &reply) {
		return false
	}
	typ, terr := s.rdb.Type(ctx, rkey).Result()
	return terr == nil && typ != "string" && typ != "none"
}

// millis is ttl in whole milliseconds, the unit of PX, and at least one, since PX refuses
// zero. It rounds down, so a session never outlives its ttl by the rounding.
func millis(ttl time.Duration) time.Duration {
	return max(ttl.Truncate(time.Millisecond), time.Millisecond)
}
