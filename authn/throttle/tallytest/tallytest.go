// Package tallytest checks that a throttle.Tally keeps the contract the throttle relies
// on. Each store of failed sign-ins runs it from its own tests.
package tallytest

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/frontgate/gateway/authn/throttle"
)

// Limits are the throttle limits the checks use: the gateway's defaults.
var Limits = throttle.Limits{AddressFailures: 20, UserAddressFailures: 5, UserFailures: 10,
	Window: 15 * time.Minute, MaxEntries: 1000}

// Run checks the Tallies open returns, each call a new, empty one. Where it checks
// gateways that count together, their throttles share one Tally.
func Run(t *testing.T, open func(t *testing.T) throttle.Tally) {
	t.Run("ReadFailForget", func(t *testing.T) { readFailForget(t, open(t)) })
	t.Run("StaleCountStartsAgain", func(t *testing.T) { staleCountStartsAgain(t, open(t)) })
	t.Run("ThrottlesCountTogether", func(t *testing.T) {
		tally := open(t)
		c := &clock{t: time.UnixMilli(time.Now().UnixMilli())}
		a := throttle.NewShared(Limits, tally, c.now)
		b := throttle.NewShared(Limits, tally, c.now)
		third := throttle.NewShared(Limits, tally, c.now)
		countTogether(t, c, a, b, third)
	})
	t.Run("AddressCountedTogether", func(t *testing.T) {
		tally := open(t)
		c := &clock{t: time.UnixMilli(time.Now().UnixMilli())}
		a := throttle.NewShared(Limits, tally, c.now)
		b := throttle.NewShared(Limits, tally, c.now)
		addressTogether(t, c, a, b)
	})
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

func readFailForget(t *testing.T, tally throttle.Tally) {
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
	if err := tally.Forget(ctx, keys); err != nil {
		t.Fatal(err)
	}
	counts, err = tally.Read(ctx, keys)
	if err != nil || counts[0] != (throttle.Count{}) || counts[1] != (throttle.Count{}) {
		t.Errorf("after Forget: %v, %v; want zero counts", counts, err)
	}
	if err := tally.Forget(ctx, keys); err != nil {
		t.Errorf("Forget of what is gone: %v", err)
	}
}

// staleCountStartsAgain checks that a count whose latest failure is older than it is kept
// for starts again, should its key have outlived that.
func staleCountStartsAgain(t *testing.T, tally throttle.Tally) {
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

// FailAt makes a failed attempt at th and returns its refusal, if any.
func FailAt(t *testing.T, th *throttle.Throttle, user string, addr netip.Addr) (
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

// countTogether checks the counts per pair and per username of throttles a and b, as two
// gateways keep, and that a right password at one clears them for a third.
func countTogether(t *testing.T, c *clock, a, b, third *throttle.Throttle) {
	owner := netip.MustParseAddr("198.51.100.7")
	guesser := netip.MustParseAddr("192.0.2.1")

	// per username and address: five failures spread over both, and the sixth waits
	for i := range 5 {
		if w, r := FailAt(t, []*throttle.Throttle{a, b}[i%2], "alice", guesser); w > 0 {
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
		if w, r := FailAt(t, []*throttle.Throttle{a, b}[i%2], "bob", from); w > 0 {
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
	FailAt(t, a, "carol", owner)
	for range 4 {
		FailAt(t, b, "carol", owner)
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

// addressTogether checks the count per address of throttles a and b.
func addressTogether(t *testing.T, c *clock, a, b *throttle.Throttle) {
	guesser := netip.MustParseAddr("2001:db8:1:2::5")
	for i := range Limits.AddressFailures {
		if w, r := FailAt(t, a, fmt.Sprint("user", i), guesser); w > 0 {
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
	c.add(Limits.Window)
	if _, w, _, err := b.Begin(t.Context(), "someone", guesser, false); w != 0 || err != nil {
		t.Errorf("a window later: %v %v; want admitted", w, err)
	}
}
