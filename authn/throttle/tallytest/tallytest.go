// Package tallytest checks that a throttle.Tally keeps the contract the throttle relies
// on. Each store of failed sign-ins runs it from its own tests.
package tallytest

import (
	"errors"
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
	t.Run("ReadClaimUndoForget", func(t *testing.T) { readClaimUndoForget(t, open(t)) })
	t.Run("ClaimRefuses", func(t *testing.T) { claimRefuses(t, open(t)) })
	t.Run("ClaimsAtOnce", func(t *testing.T) { claimsAtOnce(t, open(t)) })
	t.Run("ClaimHolds", func(t *testing.T) { claimHolds(t, open(t)) })
	t.Run("StaleCountStartsAgain", func(t *testing.T) { staleCountStartsAgain(t, open(t)) })
	t.Run("ThrottlesCountTogether", func(t *testing.T) {
		tally := open(t)
		c := &clock{t: time.UnixMilli(time.Now().UnixMilli())}
		a := throttle.NewShared(Limits, tally, c.now)
		b := throttle.NewShared(Limits, tally, c.now)
		third := throttle.NewShared(Limits, tally, c.now)
		countTogether(t, c, a, b, third)
	})
	t.Run("AttemptsAtOnce", func(t *testing.T) {
		tally := open(t)
		a := throttle.NewShared(Limits, tally, nil)
		b := throttle.NewShared(Limits, tally, nil)
		attemptsAtOnce(t, a, b)
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

// never is a rule that never refuses.
var never = throttle.Rule{Limit: 1 << 30, MaxWait: time.Minute}

func readClaimUndoForget(t *testing.T, tally throttle.Tally) {
	ctx := t.Context()
	keys := []string{"addr:192.0.2.1", "user:fresh:00ff"}
	counts, err := tally.Read(ctx, keys)
	if err != nil || len(counts) != 2 || counts[0] != (throttle.Count{}) ||
		counts[1] != (throttle.Count{}) {
		t.Fatalf("Read of nothing: %v, %v; want two zero counts", counts, err)
	}
	at := time.UnixMilli(time.Now().UnixMilli())
	rules := []throttle.Rule{never, never}
	for i := range 3 {
		c, err := tally.Claim(ctx, keys[:1], rules[:1], at.Add(time.Duration(i)*time.Second),
			time.Minute)
		if err != nil || c.Refused != -1 {
			t.Fatalf("claim %d: %+v, %v", i+1, c, err)
		}
	}
	// a gateway with a slower clock does not take the latest failure back
	c, err := tally.Claim(ctx, keys, rules, at, time.Minute)
	if err != nil || c.Refused != -1 || len(c.Before) != 2 ||
		!c.Before[0].Equal(at.Add(2*time.Second)) || !c.Before[1].IsZero() {
		t.Fatalf("claim of both: %+v, %v; want the first's latest before, none for the "+
			"second", c, err)
	}
	counts, err = tally.Read(ctx, keys)
	if err != nil || len(counts) != 2 || counts[0].Failures != 4 ||
		!counts[0].Last.Equal(at.Add(2*time.Second)) || counts[1].Failures != 1 ||
		!counts[1].Last.Equal(at) {
		t.Fatalf("after four failures and one: %v, %v; want 4 at %v and 1 at %v", counts,
			err, at.Add(2*time.Second), at)
	}
	// the last claim taken back: one fewer, the latest as it was, the key with none gone
	if err := tally.Undo(ctx, keys, at, c.Before); err != nil {
		t.Fatal(err)
	}
	counts, err = tally.Read(ctx, keys)
	if err != nil || counts[0].Failures != 3 || !counts[0].Last.Equal(at.Add(2*time.Second)) ||
		counts[1] != (throttle.Count{}) {
		t.Fatalf("after Undo: %v, %v; want 3 at %v and none", counts, err,
			at.Add(2*time.Second))
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
	if err := tally.Undo(ctx, keys, at, []time.Time{{}, {}}); err != nil {
		t.Errorf("Undo of what is gone: %v", err)
	}
}

// claimRefuses checks that Claim refuses, counting nothing, a key past its limit for the
// wait WaitFor gives, and that the wait doubles and is capped.
func claimRefuses(t *testing.T, tally throttle.Tally) {
	ctx := t.Context()
	at := time.UnixMilli(time.Now().UnixMilli())
	keys := []string{"addr:a", "pair:a:00"}
	rules := []throttle.Rule{never, {Limit: 2, MaxWait: 3 * time.Second}}
	for i := range 2 {
		if c, err := tally.Claim(ctx, keys, rules, at, time.Minute); err != nil ||
			c.Refused != -1 {
			t.Fatalf("claim %d within the limit: %+v, %v", i+1, c, err)
		}
	}
	c, err := tally.Claim(ctx, keys, rules, at.Add(300*time.Millisecond), time.Minute)
	if err != nil || c.Refused != 1 || c.Wait != 700*time.Millisecond {
		t.Fatalf("claim past the limit: %+v, %v; want the second key to wait 700ms", c, err)
	}
	counts, _ := tally.Read(ctx, keys)
	if counts[0].Failures != 2 || counts[1].Failures != 2 {
		t.Errorf("a refused claim counted: %v", counts)
	}
	// a second later: counted, and the next waits 2 s, then 3 s at most
	for _, want := range []time.Duration{2 * time.Second, 3 * time.Second} {
		at = at.Add(10 * time.Second)
		if c, err := tally.Claim(ctx, keys, rules, at, time.Minute); err != nil ||
			c.Refused != -1 {
			t.Fatalf("claim after the wait: %+v, %v", c, err)
		}
		if c, _ := tally.Claim(ctx, keys, rules, at, time.Minute); c.Refused != 1 ||
			c.Wait != want {
			t.Errorf("claim at once after: %+v; want a wait of %v", c, want)
		}
	}
}

// claimHolds checks that a rule with Hold refuses past its limit until the count is
// dropped, the window after its latest failure, and no longer.
func claimHolds(t *testing.T, tally throttle.Tally) {
	ctx := t.Context()
	at := time.UnixMilli(time.Now().UnixMilli())
	keys := []string{"device:00"}
	rules := []throttle.Rule{{Limit: 2, Hold: true}}
	for i := range 2 {
		if c, err := tally.Claim(ctx, keys, rules, at.Add(time.Duration(i)*time.Minute),
			time.Hour); err != nil || c.Refused != -1 {
			t.Fatalf("claim %d within the limit: %+v, %v", i+1, c, err)
		}
	}
	last := at.Add(time.Minute)
	c, err := tally.Claim(ctx, keys, rules, last.Add(time.Hour-time.Second), time.Hour)
	if err != nil || c.Refused != 0 || c.Wait != time.Second {
		t.Errorf("claim a second before the hour is up: %+v, %v; want a wait of 1s", c, err)
	}
	if c, err := tally.Claim(ctx, keys, rules, last.Add(time.Hour), time.Hour); err != nil ||
		c.Refused != -1 {
		t.Errorf("claim an hour after the latest: %+v, %v; want it counted", c, err)
	}
}

// claimsAtOnce checks that claims made at the same moment are counted one by one: of
// many, exactly the limit's worth get through.
func claimsAtOnce(t *testing.T, tally throttle.Tally) {
	const tries, limit = 24, 5
	at := time.UnixMilli(time.Now().UnixMilli())
	rules := []throttle.Rule{{Limit: limit, MaxWait: time.Minute}}
	var wg sync.WaitGroup
	var mu sync.Mutex
	admitted := 0
	for range tries {
		wg.Go(func() {
			c, err := tally.Claim(t.Context(), []string{"pair:x:00"}, rules, at, time.Minute)
			if err != nil {
				t.Error(err)
				return
			}
			if c.Refused == -1 {
				mu.Lock()
				admitted++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if admitted != limit {
		t.Errorf("%d claims at once against a limit of %d: %d admitted", tries, limit,
			admitted)
	}
}

// staleCountStartsAgain checks that a count whose latest failure is older than it is kept
// for starts again, should its key have outlived that.
func staleCountStartsAgain(t *testing.T, tally throttle.Tally) {
	ctx := t.Context()
	at := time.UnixMilli(time.Now().UnixMilli())
	rules := []throttle.Rule{never}
	for range 3 {
		if _, err := tally.Claim(ctx, []string{"addr:x"}, rules, at, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	later := at.Add(time.Minute)
	if _, err := tally.Claim(ctx, []string{"addr:x"}, rules, later, time.Minute); err != nil {
		t.Fatal(err)
	}
	c, err := tally.Read(ctx, []string{"addr:x"})
	if err != nil || c[0].Failures != 1 || !c[0].Last.Equal(later) {
		t.Errorf("a failure a minute after three kept for a minute: %v, %v; want 1 at %v",
			c, err, later)
	}
}

// FailAt makes a failed attempt at th, begun and claimed, and returns its refusal, if
// any.
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
	err = at.Claim(t.Context())
	var refused *throttle.Refused
	if errors.As(err, &refused) {
		return refused.Wait, refused.Reason
	}
	if err != nil {
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
	if err := at.Claim(t.Context()); err != nil {
		t.Fatal(err)
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

// attemptsAtOnce checks that guesses made at the same moment, spread over throttles a and
// b, get no more through than one at a time would: the limit per username and address.
func attemptsAtOnce(t *testing.T, a, b *throttle.Throttle) {
	const tries = 40
	guesser := netip.MustParseAddr("192.0.2.77")
	var wg sync.WaitGroup
	var mu sync.Mutex
	checked := 0
	for i := range tries {
		th := []*throttle.Throttle{a, b}[i%2]
		wg.Go(func() {
			at, w, _, err := th.Begin(t.Context(), "alice", guesser, false)
			if err != nil {
				t.Error(err)
				return
			}
			if w > 0 || at.Claim(t.Context()) != nil {
				return
			}
			mu.Lock()
			checked++
			mu.Unlock()
		})
	}
	wg.Wait()
	if checked != Limits.UserAddressFailures {
		t.Errorf("%d guesses at once over two gateways: %d let through, want %d", tries,
			checked, Limits.UserAddressFailures)
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
