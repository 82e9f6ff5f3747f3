package throttle

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"
)

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

var limits = Limits{AddressFailures: 20, UserAddressFailures: 5, UserFailures: 10,
	Window: 15 * time.Minute, MaxEntries: 1000}

var (
	a1 = netip.MustParseAddr("192.0.2.1")
	a2 = netip.MustParseAddr("192.0.2.2")
)

// begin calls th.Begin, which with no Tally never fails.
func begin(th *Throttle, user string, addr netip.Addr, trusted bool) (*Attempt,
	time.Duration, Reason) {
	a, w, r, err := th.Begin(context.Background(), user, addr, trusted)
	if err != nil {
		panic(err)
	}
	return a, w, r
}

// fail makes n failed attempts and returns the first refusal.
func fail(th *Throttle, user string, addr netip.Addr, n int) (time.Duration, Reason) {
	for i := 0; i < n; i++ {
		if _, w, r := begin(th, user, addr, false); w > 0 {
			return w, r
		}
	}
	return 0, ""
}

func TestUserAddressLimit(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	th := New(limits, c.now)
	if w, _ := fail(th, "alice", a1, 5); w != 0 {
		t.Fatalf("refused within the limit: %v", w)
	}
	_, w, r := begin(th, "alice", a1, false)
	if w != time.Second || r != ByUserAddress {
		t.Fatalf("sixth attempt: got %v %q, want 1s by user and address", w, r)
	}
	// Another address is not held up by this one.
	if _, w, _ := begin(th, "alice", a2, false); w != 0 {
		t.Errorf("alice from another address: wait %v", w)
	}
	// The wait doubles with each failure past the limit.
	for _, want := range []time.Duration{2, 4, 8} {
		c.add(time.Minute)
		begin(th, "alice", a1, false)
		if _, w, _ := begin(th, "alice", a1, false); w != want*time.Second {
			t.Errorf("got wait %v, want %v", w, want*time.Second)
		}
	}
	// After the window, failures are forgotten.
	c.add(limits.Window)
	if _, w, _ := begin(th, "alice", a1, false); w != 0 {
		t.Errorf("after the window: wait %v", w)
	}
}

func TestAddressLimitAndBoundedMemory(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	l := limits
	l.MaxEntries = 100
	th := New(l, c.now)
	w, r := time.Duration(0), Reason("")
	for i := 0; i < 300 && w == 0; i++ {
		_, w, r = begin(th, fmt.Sprintf("junk-%d", i), a1, false)
	}
	if w == 0 || r != ByAddress {
		t.Fatalf("300 junk names from one address: got %v %q, want refused by address", w, r)
	}
	if _, w, _ := begin(th, "bob", a2, false); w != 0 {
		t.Errorf("bob from another address: wait %v", w)
	}
	for i := 0; i < 1000; i++ {
		begin(th, fmt.Sprintf("n%d", i), netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}),
			false)
	}
	if a, p, u := th.Len(); a > 100 || p > 100 || u > 100 {
		t.Errorf("entries: %d addresses, %d pairs, %d users; want at most 100 each", a, p, u)
	}
}

func TestUserIsSlowedNeverLocked(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	th := New(limits, c.now)
	// Failures for alice from many networks.
	for i := 0; i < 40; i++ {
		c.add(MaxUserSpacing)
		begin(th, "alice", netip.AddrFrom4([4]byte{10, 0, byte(i), 1}), false)
	}
	_, w, r := begin(th, "alice", a2, false)
	if r != ByUser || w <= 0 || w > laneSpacing {
		t.Fatalf("got %v %q, want a wait of at most %v by user", w, r, laneSpacing)
	}
	if _, w, _ := begin(th, "alice", a2, true); w != 0 {
		t.Errorf("trusted device: wait %v, want none", w)
	}
	c.add(w)
	if _, w, _ := begin(th, "alice", a2, false); w != 0 {
		t.Errorf("after the spacing: wait %v, want none", w)
	}
}

func TestSuccessClearsUserCounts(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	th := New(limits, c.now)
	fail(th, "alice", a1, 4)
	at, _, _ := begin(th, "alice", a1, false)
	at.Succeeded(context.Background())
	if w, _ := fail(th, "alice", a1, 5); w != 0 {
		t.Errorf("counts not cleared by a success: wait %v", w)
	}
}

func TestIPv6GroupedBy64(t *testing.T) {
	th := New(limits, nil)
	for i := 0; i < 20; i++ {
		begin(th, fmt.Sprint("u", i), netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", i+1)),
			false)
	}
	_, w, r := begin(th, "x", netip.MustParseAddr("2001:db8::ffff:1"), false)
	if w == 0 || r != ByAddress {
		t.Errorf("same /64: got %v %q, want refused by address", w, r)
	}
	if _, w, _ := begin(th, "x", netip.MustParseAddr("2001:db8:0:1::1"), false); w != 0 {
		t.Errorf("another /64: wait %v", w)
	}
}

func TestConcurrentAttemptsCount(t *testing.T) {
	th := New(limits, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	admitted := 0
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, w, _ := begin(th, "alice", a1, false); w == 0 {
				mu.Lock()
				admitted++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if admitted != limits.UserAddressFailures {
		t.Errorf("admitted %d concurrent attempts, want %d", admitted,
			limits.UserAddressFailures)
	}
}

func TestLongUsernamesTakeFixedSpace(t *testing.T) {
	th := New(limits, nil)
	long := string(make([]byte, 16000))
	fail(th, long, a1, 3) // in both lanes
	if len(th.user.m) != 1 || len(th.fresh.m) != 1 {
		t.Fatalf("lanes hold %d and %d names, want 1 each", len(th.user.m), len(th.fresh.m))
	}
	for _, lane := range []*table{th.user, th.fresh} {
		for k := range lane.m {
			if len(k) > 32 {
				t.Errorf("a 16000-byte username is kept as a %d-byte key", len(k))
			}
		}
	}
	for k := range th.userAddr.m {
		if len(k) > 64 {
			t.Errorf("a 16000-byte username is kept in a %d-byte pair key", len(k))
		}
	}
}

// TestFloodOfFreshKeysCannotResetLimits fills every count with fresh keys, each tried
// once from its own address, after an attacker has run into the limits: the attacker's
// address, pair and name are still held back.
func TestFloodOfFreshKeysCannotResetLimits(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	l := limits
	l.MaxEntries = 50
	th := New(l, c.now)
	attacker := netip.MustParseAddr("2001:db8:aaaa::1")
	if w, r := fail(th, "alice", attacker, 6); w == 0 || r != ByUserAddress {
		t.Fatalf("before the flood: got %v %q, want refused by user and address", w, r)
	}
	// alice's name is over its limit too, from other networks, each fresh to it
	for i := range 12 {
		fail(th, "alice", netip.AddrFrom4([4]byte{198, 51, byte(i), 1}), 1)
	}
	for i := range 5 * l.MaxEntries {
		begin(th, fmt.Sprintf("junk-%d", i), netip.AddrFrom4([4]byte{10, 1, byte(i >> 8),
			byte(i)}), false)
	}
	if _, w, r := begin(th, "alice", attacker, false); w == 0 {
		t.Errorf("after a flood of fresh keys: the attacker is let in again (%q)", r)
	}
	if _, w, r := begin(th, "alice", netip.MustParseAddr("203.0.113.9"), false); w == 0 ||
		r != ByUser {
		t.Errorf("after the flood, alice from a fresh address: got %v %q, want spaced "+
			"out by user", w, r)
	}
	if a, p, u := th.Len(); a > l.MaxEntries || p > l.MaxEntries || u > l.MaxEntries {
		t.Errorf("entries: %d addresses, %d pairs, %d users; want at most %d each", a, p, u,
			l.MaxEntries)
	}
}

// TestFewAddressesCannotHoldOwnerBack has six addresses ask for alice ten times a second,
// each as soon as it may, and alice's owner, on a new browser at a new address, try
// again whenever told to: the owner gets an attempt within the longest spacing of the
// moment the attackers' addresses have all failed for the name.
func TestFewAddressesCannotHoldOwnerBack(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	th := New(limits, c.now)
	start := c.now()
	owner := netip.MustParseAddr("203.0.113.5")
	var ownerNext time.Time // when the owner tries next
	guesses := 0
	for step := 0; step < 3000; step++ { // five minutes
		c.add(100 * time.Millisecond)
		attacker := netip.AddrFrom4([4]byte{198, 51, 100, byte(step % 6)})
		if _, w, _ := begin(th, "alice", attacker, false); w == 0 {
			guesses++ // and it fails: no Succeeded
		}
		if c.now().Sub(start) < time.Minute || c.now().Before(ownerNext) {
			continue
		}
		if _, w, _ := begin(th, "alice", owner, false); w > 0 {
			ownerNext = c.now().Add(w)
			continue
		}
		if waited := c.now().Sub(start) - time.Minute; waited > laneSpacing {
			t.Errorf("the owner got in after %v, want at most %v", waited, laneSpacing)
		}
		t.Logf("owner in after %v; the attackers made %d guesses", c.now().Sub(start),
			guesses)
		return
	}
	t.Fatalf("the owner never got in; the attackers made %d guesses", guesses)
}

// TestFreshLaneIsSpaced: networks that each fail once for a name are spaced out too,
// so ever new networks are held to the spacing as one is.
func TestFreshLaneIsSpaced(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	th := New(limits, c.now)
	admitted := 0
	for i := range 200 {
		c.add(100 * time.Millisecond)
		if _, w, _ := begin(th, "alice", netip.AddrFrom4([4]byte{10, byte(i >> 8),
			byte(i), 1}), false); w == 0 {
			admitted++
		}
	}
	// 5 free, then 1 s, 2 s, 4 s and 8 s apart within the 20 s
	if want := (limits.UserFailures+1)/2 + 4; admitted > want {
		t.Errorf("200 fresh networks in 20 s: %d attempts admitted, want at most %d",
			admitted, want)
	}
}

// TestRecycledAddressesStayOutOfTheFreshLane has nine networks each fail twice for
// alice, then ask again whenever the spacing lets them, beyond the throttle's window:
// they stay out of the fresh lane for a day, so alice's owner, on a new network, gets
// an attempt within one lane's spacing.
func TestRecycledAddressesStayOutOfTheFreshLane(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	l := limits
	l.Window = 2 * time.Minute
	th := New(l, c.now)
	attackers := make([]netip.Addr, 9)
	for i := range attackers {
		attackers[i] = netip.AddrFrom4([4]byte{203, 0, byte(100 + i), 7})
		for range 2 { // each let in, and failing, as the spacing allows
			c.add(laneSpacing)
			if _, w, _ := begin(th, "alice", attackers[i], false); w > 0 {
				t.Fatalf("attacker %d: refused after the spacing (%v)", i, w)
			}
		}
	}
	owner := netip.MustParseAddr("192.0.2.77")
	start := c.now()
	for step := 0; c.now().Sub(start) < 10*time.Minute; step++ {
		c.add(100 * time.Millisecond)
		begin(th, "alice", attackers[step%len(attackers)], false)
		if step%50 != 0 { // the owner tries every 5 s
			continue
		}
		if _, w, _ := begin(th, "alice", owner, false); w == 0 {
			if waited, most := c.now().Sub(start), laneSpacing+5*time.Second; waited > most {
				t.Errorf("the owner got in after %v, want at most %v", waited, most)
			}
			return
		}
	}
	t.Fatal("the owner never got in")
}

// TestLanesAddNoGuesses has an attacker ask for alice ten times a second for two hours in
// both lanes at once: from addresses of a network that has failed for her, and from a
// network fresh to her, a new one as soon as one is let in. The two lanes together let
// through what one did, one guess every MaxUserSpacing past the free ones, but for the
// few more their two ramps of doubling waits (1 s to 32 s, six each) admit.
func TestLanesAddNoGuesses(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	th := New(limits, c.now)
	const run = 2 * time.Hour
	guesses, nets, step := 0, 1, 0
	try := func(addr netip.Addr) bool {
		_, w, _ := begin(th, "alice", addr, false)
		if w == 0 {
			guesses++
		}
		return w == 0
	}
	for elapsed := time.Duration(0); elapsed < run; elapsed += 100 * time.Millisecond {
		c.add(100 * time.Millisecond)
		step++
		// a network failed for alice, by hosts that each stay within their own limits
		try(netip.AddrFrom4([4]byte{10, 200, 0, byte(step%250 + 1)}))
		if try(netip.AddrFrom4([4]byte{10, byte(nets >> 8), byte(nets), 1})) {
			nets++ // a network fresh to alice for the next try
		}
	}
	t.Logf("%d guesses in %v from %d fresh networks", guesses, run, nets-1)
	if want := int(run/MaxUserSpacing) + limits.UserFailures + 12; guesses > want {
		t.Errorf("%d guesses in %v, want at most %d", guesses, run, want)
	}
	if min := int(run / MaxUserSpacing); guesses < min {
		t.Errorf("%d guesses in %v: the lanes let fewer through than their spacing, %d",
			guesses, run, min)
	}
}

// TestQuietNetwork follows one network from quiet to not and back: its failures for any
// username count, running attempts count until they succeed, and a day forgets them.
func TestQuietNetwork(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	th := New(limits, c.now)
	neighbour := netip.MustParseAddr("192.0.2.200") // same /24 as a1
	other := netip.MustParseAddr("198.51.100.7")
	six := netip.MustParseAddr("2001:db8:1:2::1")
	sixNeighbour := netip.MustParseAddr("2001:db8:1:ff::1") // same /48

	begin := func(user string, addr netip.Addr) *Attempt {
		t.Helper()
		a, w, r := begin(th, user, addr, false)
		if w > 0 {
			t.Fatalf("%s from %v refused: %v %q", user, addr, w, r)
		}
		return a
	}
	steps := []struct {
		what      string
		user      string
		addr      netip.Addr
		succeed   bool
		wantQuiet bool
	}{
		{"first attempt", "nobody-1", a1, false, true},
		{"second, another name and address, same /24", "nobody-2", neighbour, false, true},
		{"third from the /24", "alice", a2, false, false},
		{"another network is still quiet", "alice", other, true, true},
		{"it stays quiet after a success", "bob", other, false, true},
		{"IPv6: first of a /48", "x", six, false, true},
		{"IPv6: second of the /48", "y", sixNeighbour, true, true},
		{"a success took its failure back", "z", six, false, true},
		{"two failures: no longer quiet", "z", sixNeighbour, false, false},
	}
	for _, s := range steps {
		a := begin(s.user, s.addr)
		if got := a.QuietNetwork(); got != s.wantQuiet {
			t.Errorf("%s: quiet %v, want %v", s.what, got, s.wantQuiet)
		}
		if s.succeed {
			a.Succeeded(context.Background())
		}
	}
	c.add(laneMemory - time.Minute)
	if begin("carol", a1).QuietNetwork() {
		t.Error("within a day of three failures: quiet, want not")
	}
	c.add(laneMemory)
	if !begin("carol", a1).QuietNetwork() {
		t.Error("a day after its last failure: not quiet, want quiet")
	}
}

// TestCancelLeavesCountsAsTheyWere: an attempt taken back counts as no failure,
// leaves the failures before it standing, and keeps none of them from expiring or
// changes the wait a guesser is told; while it runs, it counts like any attempt.
func TestCancelLeavesCountsAsTheyWere(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	th := New(limits, c.now)
	if w, _ := fail(th, "alice", a1, 4); w != 0 {
		t.Fatalf("refused within the limit: %v", w)
	}
	// while one runs, it counts: a fifth failure at once reaches the pair's limit
	running, w, _ := begin(th, "alice", a1, false)
	if w > 0 {
		t.Fatalf("fifth attempt refused: %v", w)
	}
	if _, w, r := begin(th, "alice", a1, false); w == 0 || r != ByUserAddress {
		t.Fatalf("beside a running fifth: %v %q, want refused by user and address", w, r)
	}
	running.Cancel(context.Background())
	for i := range 10 {
		c.add(limits.Window / 20)
		a, w, r := begin(th, "alice", a1, false)
		if w > 0 {
			t.Fatalf("attempt %d, taken back after it: refused %v %q", i, w, r)
		}
		a.Cancel(context.Background())
	}
	// Half a window on, the four failures stand: one more reaches the limit, and its
	// wait is counted from it, as if nothing had come between.
	if _, w, r := begin(th, "alice", a1, false); w != 0 {
		t.Fatalf("fifth failure refused: %v %q", w, r)
	}
	if _, w, r := begin(th, "alice", a1, false); w != time.Second || r != ByUserAddress {
		t.Errorf("after five failures: %v %q, want 1s by user and address", w, r)
	}
	// keys the cancelled attempts made are gone again
	th2 := New(limits, c.now)
	a, _, _ := begin(th2, "bob", a2, false)
	a.Cancel(context.Background())
	if n, p, u := th2.Len(); n+p+u != 0 {
		t.Errorf("after one attempt taken back: %d, %d, %d keys, want none", n, p, u)
	}
}

// TestCancelLetsFailuresExpire: attempts taken back, however often, keep no failure
// alive: a window after the last failure, it is forgotten.
func TestCancelLetsFailuresExpire(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	th := New(limits, c.now)
	fail(th, "alice", a1, 5)
	for range 20 {
		c.add(limits.Window / 20)
		if a, w, _ := begin(th, "alice", a2, false); w == 0 {
			a.Cancel(context.Background())
		}
	}
	c.add(time.Second)
	if _, w, r := begin(th, "alice", a1, false); w != 0 {
		t.Errorf("a window after the failures: refused %v %q, want them forgotten", w, r)
	}
}
