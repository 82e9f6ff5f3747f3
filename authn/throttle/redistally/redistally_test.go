package redistally_test

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/frontgate/gateway/authn/session/redisstore/redistest"
	"github.com/frontgate/gateway/authn/throttle"
	"github.com/frontgate/gateway/authn/throttle/redistally"
	"github.com/frontgate/gateway/authn/throttle/tallytest"
)

// TestTally runs the contract, each run under a prefix of its own.
func TestTally(t *testing.T) {
	srv := redistest.Start(t)
	n := 0
	tallytest.Run(t, func(t *testing.T) throttle.Tally {
		n++
		return redistally.New(srv.Client(t), "test"+strconv.Itoa(n)+":")
	})
}

func TestKeysUnderPrefixAndKeptAWindow(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	l := tallytest.Limits
	th := throttle.NewShared(l, redistally.New(rdb, "gw:"), nil)
	tallytest.FailAt(t, th, "alice", netip.MustParseAddr("192.0.2.1"))
	keys := rdb.Keys(t.Context(), "*").Val()
	if len(keys) != 3 {
		t.Errorf("keys after one failure: %q, want three: address, pair, username", keys)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "gw:{throttle}:") {
			t.Errorf("key %q is not under the prefix", k)
		}
		if strings.Contains(k, "alice") {
			t.Errorf("key %q names the user; want a digest", k)
		}
		if ttl := rdb.PTTL(t.Context(), k).Val(); ttl <= 0 || ttl > l.Window {
			t.Errorf("key %q expires in %v, want within %v", k, ttl, l.Window)
		}
	}
}

func TestNotACountIsAnError(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	tally := redistally.New(rdb, "gw:")
	ctx := t.Context()
	rdb.HSet(ctx, "gw:{throttle}:addr:x", "n", "many", "last", "0")
	if c, err := tally.Read(ctx, []string{"addr:x"}); err == nil {
		t.Errorf("Read of a hash that holds no count: %v, want an error", c)
	}
}

func TestRedisDownAdmitsNothing(t *testing.T) {
	srv := redistest.Start(t)
	th := throttle.NewShared(tallytest.Limits, redistally.New(srv.Client(t), "gw:"), nil)
	addr := netip.MustParseAddr("192.0.2.1")
	at, _, _, err := th.Begin(t.Context(), "alice", addr, false)
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if err := at.Claim(t.Context()); err == nil {
		t.Error("Claim with Redis down: no error")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	at, w, _, err := th.Begin(ctx, "alice", addr, false)
	if err == nil || at != nil || w != 0 {
		t.Errorf("Begin with Redis down: attempt %t, wait %v, error %v; want an error and "+
			"no attempt", at != nil, w, err)
	}
}
