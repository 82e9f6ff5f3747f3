package authn

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frontgate/gateway/authn/password"
)

func TestSlowestCheck(t *testing.T) {
	// 32 MiB and two passes against 64 KiB and one: the first is hundreds of times the
	// work, whatever the machine
	slow, err := password.Generate("pw", password.Argon2Params{Memory: 32 << 10, Time: 2,
		Threads: 1, SaltLen: 16, KeyLen: 32})
	if err != nil {
		t.Fatal(err)
	}
	users, err := ParseUsers([]byte("users:\n  alice:\n    password: \""+hash(t, "pw")+
		"\"\n  bob:\n    password: \""+slow+"\"\n  carol:\n    password: \""+slow+
		"\"\n    disabled: true\n"), "users.yaml")
	if err != nil {
		t.Fatal(err)
	}

	got := SlowestCheck(users, time.Minute)
	if got.User != "bob" || got.Kind != "$argon2id$v=19$m=32768,t=2,p=1" ||
		got.Took <= 0 || got.Unfinished {
		t.Errorf("got %+v, want bob's kind of hash, finished", got)
	}

	delete(users, "alice")
	delete(users, "bob")
	if got := SlowestCheck(users, time.Minute); got != (CheckCost{}) {
		t.Errorf("with every user disabled: got %+v, want none", got)
	}
}

// blockingHash is a password.Hash whose Verify counts its calls and returns only once
// release is closed, standing in for a hash that takes hours to check.
type blockingHash struct {
	release <-chan struct{}
	calls   *atomic.Int32
}

func (h blockingHash) Verify(string) bool {
	h.calls.Add(1)
	<-h.release
	return false
}

func (blockingHash) Scheme() string { return "bcrypt" }

// blockingUsers returns one enabled user for each kind, in the order of kinds by name,
// each with a blockingHash of release and calls. A kind is a bcrypt cost, as "12".
func blockingUsers(release <-chan struct{}, calls *atomic.Int32,
	kinds ...string) map[string]*User {
	users := make(map[string]*User, len(kinds))
	for i, k := range kinds {
		name := fmt.Sprintf("user%d", i)
		users[name] = &User{Name: name, encoded: "$2b$" + k + "$" + name,
			hash: blockingHash{release: release, calls: calls}}
	}
	return users
}

// TestSlowestCheckTimesEachKindOnce checks that a kind of hash is timed once, however
// often SlowestCheck is asked, and that a check which outlasts its limit is waited on
// by later calls, never started beside itself: one started at every reload would pile
// up until they took every CPU.
func TestSlowestCheckTimesEachKindOnce(t *testing.T) {
	type step struct {
		release    bool     // let the checks end before this step
		kinds      []string // the kinds of the users, one user each
		kind       string   // the kind SlowestCheck should return
		unfinished bool     // whether that kind's check should still be running
		checks     int32    // how many checks should have been started in all
		sameTook   bool     // whether Took should be that of the step before
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"a running check is waited on, not started again", []step{
			{kinds: []string{"31"}, kind: "$2b$31", unfinished: true, checks: 1},
			{kinds: []string{"31"}, kind: "$2b$31", unfinished: true, checks: 1},
			{kinds: []string{"31"}, kind: "$2b$31", unfinished: true, checks: 1},
			{release: true, kinds: []string{"31"}, kind: "$2b$31", checks: 1},
			{kinds: []string{"31"}, kind: "$2b$31", checks: 1, sameTook: true},
		}},
		{"a finished check is remembered", []step{
			{release: true, kinds: []string{"12"}, kind: "$2b$12", checks: 1},
			{kinds: []string{"12"}, kind: "$2b$12", checks: 1, sameTook: true},
			{kinds: []string{"12"}, kind: "$2b$12", checks: 1, sameTook: true},
		}},
		{"no kind is checked after one left running", []step{
			{kinds: []string{"30", "31"}, kind: "$2b$30", unfinished: true, checks: 1},
			{kinds: []string{"30", "31"}, kind: "$2b$30", unfinished: true, checks: 1},
		}},
		{"a kind no user has is kept while its check runs", []step{
			{kinds: []string{"31"}, kind: "$2b$31", unfinished: true, checks: 1},
			{kinds: []string{"30"}, kind: "$2b$30", unfinished: true, checks: 2},
			{kinds: []string{"31"}, kind: "$2b$31", unfinished: true, checks: 2},
			{release: true, kinds: []string{"31"}, kind: "$2b$31", checks: 2},
		}},
		{"a kind no user has is forgotten once its check ends", []step{
			{release: true, kinds: []string{"12"}, kind: "$2b$12", checks: 1},
			{kinds: []string{"13"}, kind: "$2b$13", checks: 2},
			{kinds: []string{"12"}, kind: "$2b$12", checks: 3},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c checkTimings
			var calls atomic.Int32
			release := make(chan struct{})
			defer func() {
				select {
				case <-release:
				default:
					close(release)
				}
			}()
			limit := 10 * time.Millisecond
			var took time.Duration
			for i, s := range tt.steps {
				if s.release {
					close(release)
					limit = time.Minute
				}
				got := c.slowest(blockingUsers(release, &calls, s.kinds...), limit)
				if got.Kind != s.kind || got.Unfinished != s.unfinished {
					t.Errorf("step %d: got %+v, want kind %s, unfinished %v", i, got, s.kind,
						s.unfinished)
				}
				if got.Unfinished && got.Took < limit {
					t.Errorf("step %d: got Took %v, want at least the limit, %v", i,
						got.Took, limit)
				}
				if s.sameTook && got.Took != took {
					t.Errorf("step %d: got Took %v, want %v, as before", i, got.Took, took)
				}
				took = got.Took
				if n := calls.Load(); n != s.checks {
					t.Errorf("step %d: got %d checks started, want %d", i, n, s.checks)
				}
			}
		})
	}
}

// TestSlowestCheckConcurrent checks that reloads at once start one check of a kind
// between them.
func TestSlowestCheckConcurrent(t *testing.T) {
	var c checkTimings
	var calls atomic.Int32
	release := make(chan struct{})
	defer close(release)
	users := blockingUsers(release, &calls, "31")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if got := c.slowest(users, 10*time.Millisecond); !got.Unfinished {
				t.Errorf("got %+v, want the check unfinished", got)
			}
		})
	}
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Errorf("got %d checks started, want 1", n)
	}
}
