package proxy

import (
	"fmt"
	"testing"
	"time"
)

// TestStrikesSurviveAFlood: one user signing in over and over pushes out only entries of
// their own, so a cookie another user's sign-in retired stays retired; and users filling
// the whole table make room from the largest share, not from whoever came first.
func TestStrikesSurviveAFlood(t *testing.T) {
	s := newStrikes()
	now := time.Unix(1_800_000_000, 0)
	s.retire("alice", "stolen", now)
	for i := range 20 * deviceStrikesPerUser {
		at := now.Add(time.Duration(i) * time.Millisecond)
		s.take("mallory", fmt.Sprint("m", i), at)
		s.retire("mallory", fmt.Sprint("m", i), at)
	}
	if s.take("alice", "stolen", now.Add(time.Hour)) {
		t.Error("a retired cookie got its exemption back after another user's flood")
	}
	if got := len(s.users["mallory"]); got != deviceStrikesPerUser {
		t.Errorf("mallory holds %d entries, want %d", got, deviceStrikesPerUser)
	}

	// many users fill the table: room comes from the largest share
	for u := 0; s.n < deviceStrikesKept; u++ {
		for i := range 100 {
			s.take(fmt.Sprint("user", u), fmt.Sprint(i), now)
		}
	}
	s.take("latecomer", "x", now)
	if s.n > deviceStrikesKept || len(s.users["latecomer"]) != 1 {
		t.Errorf("full table: %d entries, latecomer %d; want at most %d and 1", s.n,
			len(s.users["latecomer"]), deviceStrikesKept)
	}
	if s.take("alice", "stolen", now.Add(time.Hour)) {
		t.Error("a retired cookie got its exemption back when the table filled")
	}

	// five failures a day, then none; a refused attempt given back
	for range deviceStrikesMax {
		if !s.take("bob", "laptop", now) {
			t.Fatal("bob's cookie lost its exemption early")
		}
	}
	if s.take("bob", "laptop", now) {
		t.Error("a sixth failure in a day kept the exemption")
	}
	s.undo("bob", "laptop")
	if !s.take("bob", "laptop", now) {
		t.Error("an attempt given back was still counted")
	}
	if !s.take("bob", "laptop", now.Add(deviceStrikeWindow)) {
		t.Error("a day later the cookie is still without its exemption")
	}
}
