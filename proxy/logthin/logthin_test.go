package logthin

import (
	"strconv"
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

// TestTable: each key is thinned on its own and tells of what it held back; a key
// whose time has passed makes room for a new one; while none has, new keys are
// thinned together.
func TestTable(t *testing.T) {
	start := time.Unix(1e9, 0)
	now := start
	tb := &Table{Every: 10 * time.Second, Max: 2, Now: func() time.Time { return now }}
	for i, tt := range []struct {
		at         time.Duration
		key        string
		ok         bool
		suppressed int
		shared     bool
	}{
		{0, "a", true, 0, false},
		{time.Second, "a", false, 0, false},
		{time.Second, "b", true, 0, false},
		{2 * time.Second, "a", false, 0, false},
		{3 * time.Second, "b", false, 0, false},
		// the table is full of keys within their time: others go together
		{4 * time.Second, "c", true, 0, true},
		{5 * time.Second, "d", false, 0, true},
		{6 * time.Second, "c", false, 0, true},
		{10 * time.Second, "a", true, 2, false},
		// b is the least recent and its time has passed: e takes its place, and what b
		// held back goes to the shared count
		{11 * time.Second, "e", true, 0, false},
		{12 * time.Second, "b", false, 0, true}, // forgotten, and the table full again
		{13 * time.Second, "e", false, 0, false},
		// the shared count: d, c and b held back as others, and b's own one before
		{14 * time.Second, "b", true, 4, true},
		{21 * time.Second, "e", true, 1, false},
	} {
		now = start.Add(tt.at)
		n, shared, ok := tb.Allow(tt.key)
		if ok != tt.ok || n != tt.suppressed || shared != tt.shared {
			t.Errorf("%d: %s at %v: %d, shared %v, %v; want %d, shared %v, %v", i, tt.key,
				tt.at, n, shared, ok, tt.suppressed, tt.shared, tt.ok)
		}
	}
}

// TestTableBounded: a flood of fresh keys, each once, never holds more than Max of them,
// and lets through no more than Max+1 records in one Every.
func TestTableBounded(t *testing.T) {
	now := time.Unix(1e9, 0)
	tb := &Table{Every: 10 * time.Second, Max: 100, Now: func() time.Time { return now }}
	let := 0
	for i := range 100000 {
		if _, _, ok := tb.Allow(strconv.Itoa(i)); ok {
			let++
		}
		now = now.Add(time.Millisecond) // 10000 keys in one Every
		if i%10000 == 9999 {
			if let > 101 {
				t.Fatalf("%d records let through in %v, want at most 101", let, tb.Every)
			}
			let = 0
		}
	}
	if n := tb.Len(); n != 100 {
		t.Errorf("the table holds %d keys, want 100", n)
	}
}
