package redistally_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/frontgate/gateway/authn/session/redisstore/redistest"
	"github.com/frontgate/gateway/authn/throttle"
	"github.com/frontgate/gateway/authn/throttle/redistally"
)

func client(t *testing.T, srv *redistest.Server) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1,
		DialTimeout: time.Second, ReadTimeout: time.Second})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var limits = throttle.Limits{AddressFailures: 20, UserAddressFailures: 5, UserFailures: 10,
	Window: 15 * time.Minute, MaxEntries: 1000}

func TestReadFailForget(t *testing.T) {
	srv := redistest.Start(t)
	tally := redistally.New(client(t, srv), "gw:throttle:")
	ctx := t.Context()
	keys := []string{"addr:192.0.2.1", "user:fresh:00ff"}
	counts, err := tally.Read(ctx, keys)
	if err != nil || len(counts) != 2 || counts[0] != (throttle.Count{}) ||
		counts[1] != (throttle.Count{}) {
		t.Fatalf("Read of nothing: %v, %v; want two zero counts", counts, err)
	}
	at := time.UnixMilli(time.Now().UnixMilli())
	for i := range 3 {
		if err := tally.Fail(ctx, keys[:1], at.Add(time.Duration(i)*time.Second),
			time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	// a failure a gateway with a slower clock counts does not take the latest back
	if err := tally.Fail(ctx, keys, at, time.Minute); err != nil {
		t.Fatal(err)
	}
	counts, err = tally.Read(ctx, keys)
	if err != nil || len(counts) != 2 || counts[0].Failures != 4 ||
		!counts[0].Last.Equal(at.Add(2*time.Second)) || counts[1].Failures != 1 ||
		!counts[1].Last.Equal(at) {
		t.Fatalf("after four failures and one: %v, %v; want 4 at %v and 1 at %v", counts,
			err, at.Add(2*time.Second), at)
	}
	rdb := client(t, srv)
	for _, k := range keys {
		ttl := rdb.PTTL(ctx, "gw:throttle:"+k).Val()
		if ttl <= 0 || ttl > time.Minute {
			t.Errorf("%s expires in %v, want within the minute it is kept", k, ttl)
		}
	}
	if err := tally.Forget(ctx, keys); err != nil {
		t.Fatal(err)
	}
	if n := rdb.Exists(ctx, "gw:throttle:"+keys[0], "gw:throttle:"+keys[1]).Val(); n != 0 {
		t.Errorf("%d keys left after Forget", n)
	}
}

// TestStaleCountStartsAgain checks that a count whose latest failure is older than it is
// kept for starts again, should its key have outlived that (a key restored from a
// snapshot, say).
func TestStaleCountStartsAgain(t *testing.T) {
	srv := redistest.Start(t)
	tally := redistally.New(client(t, srv), "gw:")
	ctx := t.Context()
	at := time.UnixMilli(time.Now().UnixMilli())
	for range 3 {
		if err := tally.Fail(ctx, []string{"addr:x"}, at, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	later := at.Add(time.Minute)
	if err := tally.Fail(ctx, []string{"addr:x"}, later, time.Minute); err != nil {
		t.Fatal(err)
	}
	c, err := tally.Read(ctx, []string{"addr:x"})
	if err != nil || c[0].Failures != 1 || !c[0].Last.Equal(later) {
		t.Errorf("a failure a minute after three kept for a minute: %v, %v; want 1 at %v",
			c, err, later)
	}
}

func TestNotACountIsAnError(t *testing.T) {
	srv := redistest.Start(t)
	rdb := client(t, srv)
	tally := redistally.New(rdb, "gw:")
	ctx := t.Context()
	rdb.HSet(ctx, "gw:addr:x", "n", "many", "last", "0")
	if c, err := tally.Read(ctx, []string{"addr:x"}); err == nil {
		t.Errorf("Read of a hash that holds no count: %v, want an error", c)
	}
}

// gateways returns two throttles, as two gateways keep, that share one Redis, each
// through its own client, on one clock.
func gateways(t *testing.T, srv *redistest.Server, c *clock) (a, b *throttle.Throttle) {
	a = throttle.NewShared(limits, redistally.New(client(t, srv), "gw:"), c.now)
	b = throttle.NewShared(limits, redistally.New(client(t, srv), "gw:"), c.now)
	return a, b
}

// failAt makes a failed attempt at th and returns its refusal, if any.
func failAt(t *testing.T, th *throttle.Throttle, user string, addr netip.Addr) (
	time.Duration, throttle.Reason) {
	t.Helper()
	at, w, r, err := th.Begin(t.Context(), user, addr, false)
	if err != nil {
		t.Fatal(err)
	}
	if w > 0 {
		return w, r
	}
	if err := at.Failed(t.Context()); err != nil {
		t.Fatal(err)
	}
	return 0, ""
}

func TestGatewaysCountTogether(t *testing.T) {
	srv := redistest.Start(t)
	c := &clock{t: time.UnixMilli(time.Now().UnixMilli())}
	a, b := gateways(t, srv, c)
	owner := netip.MustParseAddr("198.51.100.7")
	guesser := netip.MustParseAddr("192.0.2.1")

	// per username and address: five failures spread over both, and the sixth waits
	for i := range 5 {
		if w, r := failAt(t, []*throttle.Throttle{a, b}[i%2], "alice", guesser); w > 0 {
			t.Fatalf("failure %d refused: %v %s", i+1, w, r)
		}
	}
	for name, th := range map[string]*throttle.Throttle{"first": a, "second": b} {
		_, w, r, err := th.Begin(t.Context(), "alice", guesser, false)
		if w != time.Second || r != throttle.ByUserAddress || err != nil {
			t.Errorf("sixth attempt at the %s gateway: %v %q %v; want 1s by user and "+
				"address", name, w, r, err)
		}
	}

	// per username: five failures from five networks, spread over both gateways, fill
	// the lane of networks new to bob, which neither gateway's own counts fill alone
	c.add(time.Second)
	for i := range 5 {
		from := netip.AddrFrom4([4]byte{203, 0, byte(i), 1})
		if w, r := failAt(t, []*throttle.Throttle{a, b}[i%2], "bob", from); w > 0 {
			t.Fatalf("bob from network %d: refused %v %s", i, w, r)
		}
	}
	for name, th := range map[string]*throttle.Throttle{"first": a, "second": b} {
		_, w, r, err := th.Begin(t.Context(), "bob", netip.MustParseAddr("203.0.9.1"), false)
		if w != time.Second || r != throttle.ByUser || err != nil {
			t.Errorf("bob from a sixth network at the %s gateway: %v %q %v; want 1s by "+
				"user", name, w, r, err)
		}
	}

	// A right password at one gateway clears the pair's and the username's shared counts:
	// a third gateway, which counted nothing itself, goes by them alone.
	third := throttle.NewShared(limits, redistally.New(client(t, srv), "gw:"), c.now)
	failAt(t, a, "carol", owner)
	for range 4 {
		failAt(t, b, "carol", owner)
	}
	if _, w, r, err := third.Begin(t.Context(), "carol", owner, false); w == 0 ||
		r != throttle.ByUserAddress || err != nil {
		t.Fatalf("carol at a third gateway after five failures: %v %q %v; want a wait by "+
			"user and address", w, r, err)
	}
	c.add(time.Second) // the wait five failures give
	at, w, _, err := a.Begin(t.Context(), "carol", owner, true)
	if w > 0 || err != nil {
		t.Fatalf("carol's sign-in at the first gateway: %v %v", w, err)
	}
	if err := at.Succeeded(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, w, r, err := third.Begin(t.Context(), "carol", owner, false); w != 0 ||
		err != nil {
		t.Errorf("carol at the third gateway after signing in at the first: %v %q %v; "+
			"want admitted", w, r, err)
	}
}

func TestAddressCountedTogether(t *testing.T) {
	srv := redistest.Start(t)
	c := &clock{t: time.UnixMilli(time.Now().UnixMilli())}
	a, b := gateways(t, srv, c)
	guesser := netip.MustParseAddr("2001:db8:1:2::5")
	for i := range limits.AddressFailures {
		if w, r := failAt(t, a, fmt.Sprint("user", i), guesser); w > 0 {
			t.Fatalf("failure %d refused: %v %s", i+1, w, r)
		}
	}
	// another address of the same /64, at the other gateway
	_, w, r, err := b.Begin(t.Context(), "someone", netip.MustParseAddr("2001:db8:1:2::9"),
		true)
	if w != time.Second || r != throttle.ByAddress || err != nil {
		t.Errorf("the /64 at the second gateway: %v %q %v; want 1s by address", w, r, err)
	}
	// and the count expires with the window, at both
	c.add(limits.Window)
	if _, w, _, err := b.Begin(t.Context(), "someone", guesser, false); w != 0 || err != nil {
		t.Errorf("a window later: %v %v; want admitted", w, err)
	}
}

func TestKeysUnderPrefixAndKeptAWindow(t *testing.T) {
	srv := redistest.Start(t)
	rdb := client(t, srv)
	c := &clock{t: time.UnixMilli(time.Now().UnixMilli())}
	th := throttle.NewShared(limits, redistally.New(rdb, "gw:throttle:"), c.now)
	failAt(t, th, "alice", netip.MustParseAddr("192.0.2.1"))
	keys := rdb.Keys(t.Context(), "*").Val()
	if len(keys) != 3 {
		t.Errorf("keys after one failure: %q, want three: address, pair, username", keys)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "gw:throttle:") {
			t.Errorf("key %q is not under the prefix", k)
		}
		if strings.Contains(k, "alice") {
			t.Errorf("key %q names the user; want a digest", k)
		}
		if ttl := rdb.PTTL(t.Context(), k).Val(); ttl <= 0 || ttl > limits.Window {
			t.Errorf("key %q expires in %v, want within %v", k, ttl, limits.Window)
		}
	}
}

func TestRedisDownAdmitsNothing(t *testing.T) {
	srv := redistest.Start(t)
	c := &clock{t: time.Now()}
	th := throttle.NewShared(limits, redistally.New(client(t, srv), "gw:"), c.now)
	at, _, _, err := th.Begin(t.Context(), "alice", netip.MustParseAddr("192.0.2.1"), false)
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if err := at.Failed(t.Context()); err == nil {
		t.Error("Failed with Redis down: no error")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	at, w, _, err := th.Begin(ctx, "alice", netip.MustParseAddr("192.0.2.1"), false)
	if err == nil || at != nil || w != 0 {
		t.Errorf("Begin with Redis down: attempt %t, wait %v, error %v; want an error and "+
			"no attempt", at != nil, w, err)
	}
}
