package watch

import (
	"testing"
	"time"
)

// TestReady walks a Change through the checks of a watched file: a version is read when
// two checks in a row see it unchanged, a version written again in between (even with
// the same text) waits, and a file that never holds still is read once it has churned
// for MaxChurn and then holds still for Settle.
func TestReady(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	still := func(stamp string, mod time.Time) func() (string, time.Time, error) {
		return func() (string, time.Time, error) { return stamp, mod, nil }
	}
	moved := func() (string, time.Time, error) { return "other", t0.Add(time.Hour), nil }

	var c Change
	if c.Ready("a", t0, still("a", t0)) {
		t.Fatal("a version seen once was read")
	}
	if !c.Ready("a", t0, still("a", t0)) {
		t.Fatal("a version seen twice unchanged was not read")
	}
	if c.Ready("a", t0, still("a", t0)) {
		t.Fatal("a version read stayed pending and was read again")
	}
	if !c.Ready("a", t0, still("a", t0)) {
		t.Fatal("the same version seen twice after a read was not read")
	}
	c.Same()
	c.Ready("b", t0, moved)
	if c.Ready("b", t0.Add(time.Millisecond), moved) {
		t.Fatal("a version written again between checks was read")
	}

	churn := Change{MaxChurn: 20 * time.Millisecond, Settle: time.Millisecond}
	start := time.Now()
	for i := 0; ; i++ {
		stamp, mod := string(rune('a'+i%26)), t0.Add(time.Duration(i))
		elapsed := time.Since(start)
		ready := churn.Ready(stamp, mod, still(stamp, mod))
		if ready {
			if elapsed < churn.MaxChurn {
				t.Fatalf("a churning file was read after %v, before MaxChurn", elapsed)
			}
			break
		}
		if elapsed > 5*time.Second {
			t.Fatal("a churning file that held still at the end was never read")
		}
		time.Sleep(2 * time.Millisecond)
	}
	// past MaxChurn, a file that does not hold still for Settle is not read
	churn = Change{MaxChurn: time.Nanosecond, Settle: time.Millisecond}
	churn.Ready("x", t0, moved)
	time.Sleep(time.Millisecond)
	if churn.Ready("y", t0.Add(1), moved) {
		t.Error("a churning file that did not hold still was read")
	}
}
