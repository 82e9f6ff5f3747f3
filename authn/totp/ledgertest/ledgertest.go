// Package ledgertest checks that a totp.Ledger keeps the contract the gateway relies on:
// each code signs in once, and wrong codes wait as totp.Wait says, also when requests
// come at the same moment.
package ledgertest

import (
	"sync"
	"testing"
	"time"

	"github.com/frontgate/gateway/authn/totp"
)

// Run runs the contract's tests on ledgers from open, which returns a new, empty one
// each time it is called.
func Run(t *testing.T, open func(t *testing.T) totp.Ledger) {
	t.Run("Replay", func(t *testing.T) { testReplay(t, open(t)) })
	t.Run("Backoff", func(t *testing.T) { testBackoff(t, open(t)) })
	t.Run("SameMoment", func(t *testing.T) { testSameMoment(t, open(t)) })
}

var t0 = time.Unix(1111111111, 0)

func testReplay(t *testing.T, l totp.Ledger) {
	ctx := t.Context()
	claim := func(user string, after, step int64) bool {
		t.Helper()
		ok, err := l.Claim(ctx, user, after, step, t0)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	last := func(user string) int64 {
		t.Helper()
		s, err := l.Last(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	cur := totp.Step(t0)
	if last("alice") != 0 {
		t.Errorf("Last of a user with no code: %d", last("alice"))
	}
	if !claim("alice", 0, cur) {
		t.Fatal("first claim refused")
	}
	for _, step := range []int64{cur, cur - 1} {
		if claim("alice", cur, step) {
			t.Errorf("claim of step %d after %d allowed", step, cur)
		}
	}
	// names that differ only in case, or hold bytes a key would mangle, are other users
	for _, other := range []string{"bob", "Alice", "alice\x00", "alice:x", "ålice"} {
		if !claim(other, 0, cur) {
			t.Errorf("claim of %q refused after alice's", other)
		}
	}
	// a sign-in whose password checked out before alice's last code is over
	if claim("alice", 0, cur+1) || claim("alice", cur-1, cur+1) {
		t.Error("a later step allowed after an earlier last code than the one recorded")
	}
	if !claim("alice", cur, cur+1) {
		t.Error("a later step refused")
	}
	if got := last("alice"); got != cur+1 {
		t.Errorf("Last: %d, want %d", got, cur+1)
	}
	if got := last("carol"); got != 0 {
		t.Errorf("Last of a user with no code: %d", got)
	}
}

func testBackoff(t *testing.T, l totp.Ledger) {
	ctx := t.Context()
	take := func(key string, at time.Time) time.Duration {
		t.Helper()
		w, err := l.Take(ctx, key, at)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	right := func(key string) {
		t.Helper()
		if err := l.Right(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	// keys are digests: any bytes
	alice, bob, carol := "\x00\xffalice", "\x00\xffbob", "carol"
	at := t0
	for range totp.FreeWrong {
		if w := take(alice, at); w != 0 {
			t.Fatalf("within the free wrong codes: wait %v", w)
		}
	}
	// from the next one on, each waits twice the one before, from FirstWait
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second,
		8 * time.Second} {
		if w := take(alice, at.Add(time.Millisecond)); w != want-time.Millisecond {
			t.Fatalf("after %d wrong codes: wait %v, want %v", totp.FreeWrong+i, w,
				want-time.Millisecond)
		}
		at = at.Add(want)
		if w := take(alice, at); w != 0 {
			t.Fatalf("once waited: %v", w)
		}
	}
	// a code taken counts as wrong at once: another at the same moment waits
	if w := take(alice, at); w != 16*time.Second {
		t.Errorf("a second code at the same moment: wait %v, want 16s", w)
	}
	if w := take(bob, at); w != 0 {
		t.Errorf("another key waits %v", w)
	}
	// it stops at MaxWait
	for range 20 {
		at = at.Add(totp.MaxWait)
		take(alice, at)
	}
	if w := take(alice, at); w != totp.MaxWait {
		t.Errorf("after many wrong codes: wait %v, want %v", w, totp.MaxWait)
	}
	// a while after the last wrong code, they no longer count
	at = at.Add(totp.WrongMemory)
	if w := take(alice, at); w != 0 {
		t.Errorf("%v later: wait %v", totp.WrongMemory, w)
	}

	// a right code takes back only itself
	right("never taken") // nothing to take back: no error
	for range totp.FreeWrong - 1 {
		take(carol, at)
	}
	for range 5 {
		if w := take(carol, at); w != 0 {
			t.Fatalf("right codes after %d wrong ones: wait %v", totp.FreeWrong-1, w)
		}
		right(carol)
	}
	take(carol, at) // the last free wrong one
	if w := take(carol, at); w != totp.FirstWait {
		t.Errorf("after %d wrong codes and five right ones: wait %v, want %v",
			totp.FreeWrong, w, totp.FirstWait)
	}
}

// testSameMoment sends many requests at once: of claims of one step one wins, as does
// one of the claims of sign-ins that began at once, and of codes given at one moment
// only the free ones are checked.
func testSameMoment(t *testing.T, l totp.Ledger) {
	const n = 16
	ctx := t.Context()
	var (
		wg              sync.WaitGroup
		mu              sync.Mutex
		claimed, passed int
		claimedErin     int
	)
	step := totp.Step(t0)
	for i := range n {
		wg.Go(func() {
			ok, err := l.Claim(ctx, "dave", 0, step, t0)
			w, err2 := l.Take(ctx, "dave's key", t0)
			// sign-ins of erin that all began before her last code, with codes of two steps
			ok2, err3 := l.Claim(ctx, "erin", 0, step+int64(i%2), t0)
			mu.Lock()
			defer mu.Unlock()
			if err != nil || err2 != nil || err3 != nil {
				t.Error(err, err2, err3)
				return
			}
			if ok {
				claimed++
			}
			if ok2 {
				claimedErin++
			}
			if w == 0 {
				passed++
			}
		})
	}
	wg.Wait()
	if claimed != 1 {
		t.Errorf("%d of %d claims of one step allowed, want 1", claimed, n)
	}
	if claimedErin != 1 {
		t.Errorf("%d of %d claims of sign-ins begun before any code allowed, want 1",
			claimedErin, n)
	}
	if passed != totp.FreeWrong {
		t.Errorf("%d of %d codes at one moment checked, want %d", passed, n, totp.FreeWrong)
	}
}
