// Package redistally keeps the gateway's counts of failed sign-ins in Redis, so that
// gateways sharing one Redis throttle guessers together: one who spreads attempts over
// ten gateways gets no more than at one.
//
// # Keys
//
// Every key is the configured prefix and a throttle.Tally key: "addr:" and an address,
// "pair:" and an address and a username's digest, or "user:" and a lane and a digest. Each
// is a hash with fields n (failures) and last (the latest, in Unix milliseconds), and
// expires a throttle window after its latest failure. Failures are written only once a
// password was checked and found wrong, so a flood of fresh names and addresses writes no
// faster than the gateways check passwords, and its keys are gone a window later.
//
// Times come from the gateways' clocks, not Redis's, as they do for a single gateway; a
// few seconds between gateways' clocks shift a wait by as much.
package redistally

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/frontgate/gateway/authn/throttle"
)

// Tally is a throttle.Tally in Redis. It is safe for concurrent use, also by several
// processes that share one Redis.
type Tally struct {
	rdb    redis.UniversalClient
	prefix string
}

var _ throttle.Tally = (*Tally)(nil)

// New returns a Tally on rdb whose keys all start with prefix. It does not own rdb.
func New(rdb redis.UniversalClient, prefix string) *Tally {
	return &Tally{rdb: rdb, prefix: prefix}
}

// Read implements throttle.Tally. Each key is one command of one pipeline, so that a
// cluster may hold them on different nodes.
func (t *Tally) Read(ctx context.Context, keys []string) ([]throttle.Count, error) {
	pipe := t.rdb.Pipeline()
	cmds := make([]*redis.SliceCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.HMGet(ctx, t.prefix+k, "n", "last")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("reading failed sign-ins: %w", err)
	}
	counts := make([]throttle.Count, len(keys))
	for i, cmd := range cmds {
		v := cmd.Val()
		if len(v) != 2 || v[0] == nil {
			continue
		}
		n, err1 := strconv.Atoi(fmt.Sprint(v[0]))
		last, err2 := strconv.ParseInt(fmt.Sprint(v[1]), 10, 64)
		if err := errors.Join(err1, err2); err != nil || n < 0 {
			// not a count this package wrote: refuse rather than read it as none
			return nil, fmt.Errorf("reading failed sign-ins under %q: not a count: %v",
				t.prefix+keys[i], v)
		}
		counts[i] = throttle.Count{Failures: n, Last: time.UnixMilli(last)}
	}
	return counts, nil
}

// fail counts a failure under KEYS[1] at ARGV[1] (Unix milliseconds) and keeps the key
// ARGV[2] milliseconds. A count whose latest failure is that old starts again, as it
// would had the key expired.
var fail = redis.NewScript(`
local f = redis.call('HMGET', KEYS[1], 'n', 'last')
local n, last = tonumber(f[1]) or 0, tonumber(f[2]) or 0
local now, keep = tonumber(ARGV[1]), tonumber(ARGV[2])
if now - last >= keep then n = 0 end
if now >= last then
  redis.call('HSET', KEYS[1], 'n', n + 1, 'last', ARGV[1])
else
  redis.call('HSET', KEYS[1], 'n', n + 1)
end
redis.call('PEXPIRE', KEYS[1], keep)
return n + 1
`)

// Fail implements throttle.Tally. Each key is changed by one script, atomically, and the
// scripts go in one pipeline.
func (t *Tally) Fail(ctx context.Context, keys []string, now time.Time,
	keep time.Duration) error {
	pipe := t.rdb.Pipeline()
	for _, k := range keys {
		fail.Eval(ctx, pipe, []string{t.prefix + k}, now.UnixMilli(), keep.Milliseconds())
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("counting a failed sign-in: %w", err)
	}
	return nil
}

// Forget implements throttle.Tally.
func (t *Tally) Forget(ctx context.Context, keys []string) error {
	pipe := t.rdb.Pipeline()
	for _, k := range keys {
		pipe.Del(ctx, t.prefix+k)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("clearing failed sign-ins: %w", err)
	}
	return nil
}
