package logthin

import (
	"testing"
	"time"
)

func TestAllow(t *testing.T) {
	start := time.Unix(1e9, 0)
	now := start
	th := &Thinner{Every: 10 * time.Second, Now: func() time.Time { return now }}
	for _, tt := range []struct {
		at         time.Duration
		ok         bool
		suppressed int
	}{
		{0, true, 0},
		{time.Second, false, 0},
		{5 * time.Second, false, 0},
		{11 * time.Second, true, 2},
		{12 * time.Second, false, 0},
		{25 * time.Second, true, 1},
		{35 * time.Second, true, 0},
	} {
		now = start.Add(tt.at)
		n, ok := th.Allow()
		if ok != tt.ok || n != tt.suppressed {
			t.Errorf("at %v: %d, %v; want %d, %v", tt.at, n, ok, tt.suppressed, tt.ok)
		}
	}
}

// TestHeld: the records held back are told once, by Held or by the next record let
// through, never by both.
func TestHeld(t *testing.T) {
	now := time.Unix(1e9, 0)
	th := &Thinner{Every: 10 * time.Second, Now: func() time.Time { return now }}
	th.Allow()
	th.Allow()
	th.Allow()
	if n := th.Held(); n != 2 {
		t.Errorf("Held after two held back: %d, want 2", n)
	}
	if n := th.Held(); n != 0 {
		t.Errorf("Held again: %d, want 0", n)
	}
	th.Allow()
	now = now.Add(10 * time.Second)
	if n, ok := th.Allow(); !ok || n != 1 {
		t.Errorf("the next record let through: %d, %v; want it to tell of 1", n, ok)
	}
}

// TestSet: each key is thinned on its own, and Held counts what all of them held back.
func TestSet(t *testing.T) {
	s := &Set{Every: time.Hour}
	for _, key := range []string{"a", "b", "a", "a", "b"} {
		s.Of(key).Allow()
	}
	if _, ok := s.Of("c").Allow(); !ok {
		t.Error("a key's first record was held back")
	}
	if n := s.Held(); n != 3 {
		t.Errorf("Held: %d, want 3 (two of a, one of b)", n)
	}
	if n := s.Held(); n != 0 {
		t.Errorf("Held again: %d, want 0", n)
	}
}
