// Package redisledger keeps the gateway's record of one-time codes in Redis, so that
// gateways sharing one Redis accept each code once between them and space out wrong codes
// together: a guesser who spreads codes over ten gateways gets no more tries than at one.
//
// # Keys
//
// Every key starts with the configured prefix. The step of the last code a user signed
// in with lives under prefix+"used:"+hex(SHA-256(user)), for totp.Remember and a little
// more for clocks that differ. The wrong codes
// given under a key live in a hash under prefix+"wrong:"+hex(key), with fields n (how
// many) and last (when the latest was given, in Unix milliseconds), until
// totp.WrongMemory after the last one. Each change is one Lua script, so it is atomic:
// two gateways taking the same code at the same moment cannot both have it.
//
// Times come from the gateways' clocks, not Redis's, as they do for a single gateway; a
// few seconds between gateways' clocks shift a wait by as much.
package redisledger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/frontgate/gateway/authn/totp"
)

// Ledger is a totp.Ledger in Redis. It is safe for concurrent use, also by several
// processes that share one Redis.
type Ledger struct {
	rdb    redis.UniversalClient
	prefix string
}

var _ totp.Ledger = (*Ledger)(nil)

// New returns a Ledger on rdb whose keys all start with prefix. It does not own rdb.
func New(rdb redis.UniversalClient, prefix string) *Ledger {
	return &Ledger{rdb: rdb, prefix: prefix}
}

// usedFor is how long the step of a code is kept: totp.Remember, and a minute more for
// gateways whose clocks run apart.
const usedFor = totp.Remember + time.Minute

func (l *Ledger) usedKey(user string) string {
	sum := sha256.Sum256([]byte(user))
	return l.prefix + "used:" + hex.EncodeToString(sum[:])
}

func (l *Ledger) wrongKey(key string) string {
	return l.prefix + "wrong:" + hex.EncodeToString([]byte(key))
}

// Last implements totp.Ledger.
func (l *Ledger) Last(ctx context.Context, user string) (int64, error) {
	step, err := l.rdb.Get(ctx, l.usedKey(user)).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading the last one-time code: %w", err)
	}
	return step, nil
}

// claim sets KEYS[1] to the step ARGV[2], for ARGV[3] milliseconds, when it holds the
// step ARGV[1] or an earlier one, or nothing, and not ARGV[2] or a later one.
var claim = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local after, step = tonumber(ARGV[1]), tonumber(ARGV[2])
if cur > after or step <= cur then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`)

// Claim implements totp.Ledger.
func (l *Ledger) Claim(ctx context.Context, user string, after, step int64,
	_ time.Time) (bool, error) {
	n, err := claim.Run(ctx, l.rdb, []string{l.usedKey(user)}, after, step,
		usedFor.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("recording a one-time code: %w", err)
	}
	return n == 1, nil
}

// take counts a wrong code under KEYS[1] at ARGV[1] (Unix milliseconds), unless it must
// wait, and returns the wait in milliseconds, or 0. ARGV[2] is the number of free wrong
// codes, ARGV[3] how long they count, ARGV[4] the first wait and ARGV[5] the longest, all
// in milliseconds: the spacing of totp.Wait.
var take = redis.NewScript(`
local now = tonumber(ARGV[1])
local free, memory = tonumber(ARGV[2]), tonumber(ARGV[3])
local first, max = tonumber(ARGV[4]), tonumber(ARGV[5])
local f = redis.call('HMGET', KEYS[1], 'n', 'last')
local n, last = tonumber(f[1]) or 0, tonumber(f[2]) or 0
if now - last >= memory then n = 0 end
if n >= free then
  local wait = max
  if n - free < 12 then wait = math.min(first * 2 ^ (n - free), max) end
  local left = last + wait - now
  if left > 0 then return math.floor(left) end
end
redis.call('HSET', KEYS[1], 'n', n + 1, 'last', now)
redis.call('PEXPIRE', KEYS[1], memory)
return 0
`)

// Take implements totp.Ledger.
func (l *Ledger) Take(ctx context.Context, key string, now time.Time) (time.Duration, error) {
	ms, err := take.Run(ctx, l.rdb, []string{l.wrongKey(key)}, now.UnixMilli(),
		totp.FreeWrong, totp.WrongMemory.Milliseconds(), totp.FirstWait.Milliseconds(),
		totp.MaxWait.Milliseconds()).Int64()
	if err != nil {
		return 0, fmt.Errorf("counting a one-time code: %w", err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// right takes back one wrong code under KEYS[1], and the hash with the last of them.
var right = redis.NewScript(`
local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0') or 0
if n <= 1 then
  redis.call('DEL', KEYS[1])
else
  redis.call('HINCRBY', KEYS[1], 'n', -1)
end
return 0
`)

// Right implements totp.Ledger.
func (l *Ledger) Right(ctx context.Context, key string) error {
	if err := right.Run(ctx, l.rdb, []string{l.wrongKey(key)}).Err(); err != nil {
		return fmt.Errorf("taking back a one-time code: %w", err)
	}
	return nil
}
