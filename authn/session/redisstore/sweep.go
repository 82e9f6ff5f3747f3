package redisstore

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// SweepInterval is how often the sweeper StartSweeper starts looks for sessions that
// expired unused. It is half of indexGrace, the time a write to a user's index waits
// before it drops an expired member unreported, so that a sweep finds each first.
const SweepInterval = indexGrace / 2

// sweepScript removes from the index KEYS[1] the members whose recorded expiry has
// passed by the clock of Redis, the clock that expires the sessions, and returns how
// many it removed. Reading and removing in one script makes each expiry counted once,
// however many gateways sweep the same Redis.
var sweepScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
`)

// SweepExpired finds the sessions Redis let expire, unused, since the last sweep of any
// gateway sharing the store, and calls expired once for each with its user; it returns
// how many it found. A session ended by Delete is not reported, nor is one whose index
// member a write dropped before a sweep came to it (after indexGrace).
//
// It walks the users' indexes with SCAN, in steps of a pipeline, as Count walks the
// sessions: about one Redis command per user with a session. In a cluster it walks the
// masters at once, so expired may be called from several goroutines.
func (s *Store) SweepExpired(ctx context.Context, expired func(user string)) (int, error) {
	var (
		mu    sync.Mutex
		total int
	)
	match := escapeGlob(s.indexKey("")) + "*"
	sweep := func(ctx context.Context, c node) error {
		return scanKeys(ctx, c, match, "zset", listBatch, func(keys []string) error {
			cmds := make([]*redis.Cmd, len(keys))
			// A command that failed leaves the others' removals standing: each is
			// reported, and the first failure returned after.
			_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				for i, k := range keys {
					cmds[i] = sweepScript.Eval(ctx, p, []string{k})
				}
				return nil
			})
			var first error
			for i, k := range keys {
				n, err := cmds[i].Int()
				if err != nil {
					first = cmp.Or(first, err)
					continue
				}
				mu.Lock()
				total += n
				mu.Unlock()
				for range n {
					expired(strings.TrimPrefix(k, s.indexKey("")))
				}
			}
			return first
		})
	}

	if err := s.eachNode(ctx, sweep); err != nil {
		return total, fmt.Errorf("sweeping expired sessions in redis: %w", err)
	}
	return total, nil
}

// StartSweeper calls SweepExpired every interval in the background, logging a sweep
// that fails to lg, until the returned stop is called; stop waits for a sweep under way.
// Each gateway on a shared Redis runs its own: a sweep claims each expiry atomically.
// A nil lg discards the records.
func (s *Store) StartSweeper(interval time.Duration, expired func(user string),
	lg *slog.Logger) (stop func()) {
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if _, err := s.SweepExpired(ctx, expired); err != nil && ctx.Err() == nil {
				lg.Warn("session sweep failed", "store", "redis", "error", err)
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}
