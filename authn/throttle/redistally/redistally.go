// Package redistally keeps the gateway's counts of failed sign-ins in Redis, so that
// gateways sharing one Redis throttle guessers together: one who spreads attempts over
// ten gateways, however many at once, gets no more than at one.
//
// # Keys
//
// Every key is the configured prefix, the hash tag "{throttle}:", and a throttle.Tally
// key: "addr:" and an address, "pair:" and an address and a username's digest, or "user:"
// and a lane and a digest. The hash tag puts them all in one slot of a cluster, so that
// one script may check and count the keys of an attempt together. Each key is a hash
// with fields n (failures) and last (the latest, in Unix milliseconds), and expires a
// throttle window after its latest failure. An attempt is counted only once its password
// is about to be checked, so a flood of fresh names and addresses writes no faster than
// the gateways check passwords, and its keys are gone a window later.
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

// New returns a Tally on rdb whose keys all start with prefix and "{throttle}:". It does
// not own rdb.
func New(rdb redis.UniversalClient, prefix string) *Tally {
	return &Tally{rdb: rdb, prefix: prefix + "{throttle}:"}
}

func (t *Tally) keys(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = t.prefix + k
	}
	return out
}

// Read implements throttle.Tally.
func (t *Tally) Read(ctx context.Context, keys []string) ([]throttle.Count, error) {
	pipe := t.rdb.Pipeline()
	cmds := make([]*redis.SliceCmd, len(keys))
	for i, k := range t.keys(keys) {
		cmds[i] = pipe.HMGet(ctx, k, "n", "last")
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

// claim checks each of KEYS against its rule at ARGV[1] (Unix milliseconds), a count
// whose latest failure is ARGV[2] milliseconds old or more holding none: its limit
// ARGV[3i], longest wait ARGV[3i+1] (milliseconds) and hold ARGV[3i+2] (1 or 0), as
// throttle.Rule.Wait reads them. When one must wait, it returns its index (from 1) and
// the wait; otherwise it counts a failure under each, keeps each for ARGV[2]
// milliseconds, and returns 0 and each one's latest failure before (0 for none).
var claim = redis.NewScript(`
local now, keep = tonumber(ARGV[1]), tonumber(ARGV[2])
local counts = {}
for i, key in ipairs(KEYS) do
  local f = redis.call('HMGET', key, 'n', 'last')
  local n, last = tonumber(f[1]) or 0, tonumber(f[2]) or 0
  if now - last >= keep then n = 0 end
  counts[i] = {n, last}
  local limit, max = tonumber(ARGV[3 * i]), tonumber(ARGV[3 * i + 1])
  if n >= limit then
    local wait = keep
    if ARGV[3 * i + 2] ~= '1' then
      wait = max
      if n - limit < 30 then wait = math.min(1000 * 2 ^ (n - limit), max) end
    end
    local left = last + wait - now
    if left > 0 then return {i, math.ceil(left)} end
  end
end
local out = {0}
for i, key in ipairs(KEYS) do
  local n, last = counts[i][1], counts[i][2]
  if now >= last then
    redis.call('HSET', key, 'n', n + 1, 'last', ARGV[1])
  else
    redis.call('HSET', key, 'n', n + 1)
  end
  redis.call('PEXPIRE', key, keep)
  out[i + 1] = last
end
return out
`)

// Claim implements throttle.Tally. One script checks and counts every key, so that
// attempts at the same moment, at one gateway or at several, are counted one by one.
func (t *Tally) Claim(ctx context.Context, keys []string, rules []throttle.Rule,
	now time.Time, keep time.Duration) (throttle.Claimed, error) {
	args := []any{now.UnixMilli(), keep.Milliseconds()}
	for _, r := range rules {
		hold := 0
		if r.Hold {
			hold = 1
		}
		args = append(args, r.Limit, r.MaxWait.Milliseconds(), hold)
	}
	v, err := claim.Run(ctx, t.rdb, t.keys(keys), args...).Int64Slice()
	if err != nil {
		return throttle.Claimed{}, fmt.Errorf("counting a sign-in: %w", err)
	}
	if len(v) == 2 && v[0] > 0 {
		return throttle.Claimed{Refused: int(v[0]) - 1,
			Wait: time.Duration(v[1]) * time.Millisecond}, nil
	}
	if len(v) != len(keys)+1 {
		return throttle.Claimed{}, fmt.Errorf("counting a sign-in: %d values back", len(v))
	}
	c := throttle.Claimed{Refused: -1, Before: make([]time.Time, len(keys))}
	for i, ms := range v[1:] {
		if ms > 0 {
			c.Before[i] = time.UnixMilli(ms)
		}
	}
	return c, nil
}

// undo takes back a failure counted at ARGV[1] (Unix milliseconds) under each of KEYS:
// the count drops by one, a key left with none is dropped, and a key whose latest
// failure is still that one gets back ARGV[1+i] as its latest.
var undo = redis.NewScript(`
for i, key in ipairs(KEYS) do
  local f = redis.call('HMGET', key, 'n', 'last')
  local n, last = tonumber(f[1]), tonumber(f[2]) or 0
  if n ~= nil then
    if n <= 1 then
      redis.call('DEL', key)
    else
      redis.call('HSET', key, 'n', n - 1)
      if last == tonumber(ARGV[1]) and tonumber(ARGV[1 + i]) > 0 then
        redis.call('HSET', key, 'last', ARGV[1 + i])
      end
    end
  end
end
return 0
`)

// Undo implements throttle.Tally.
func (t *Tally) Undo(ctx context.Context, keys []string, at time.Time,
	before []time.Time) error {
	args := []any{at.UnixMilli()}
	for _, b := range before {
		ms := int64(0)
		if !b.IsZero() {
			ms = b.UnixMilli()
		}
		args = append(args, ms)
	}
	if err := undo.Run(ctx, t.rdb, t.keys(keys), args...).Err(); err != nil &&
		!errors.Is(err, redis.Nil) {
		return fmt.Errorf("taking back a sign-in: %w", err)
	}
	return nil
}

// Forget implements throttle.Tally.
func (t *Tally) Forget(ctx context.Context, keys []string) error {
	if err := t.rdb.Del(ctx, t.keys(keys)...).Err(); err != nil {
		return fmt.Errorf("clearing failed sign-ins: %w", err)
	}
	return nil
}
