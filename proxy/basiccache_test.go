package proxy

import (
	"testing"
	"time"
)

// TestBasicCacheSlides: an entry in use lives on a minute past each use, and ends an
// hour after its check however often it is used; one unused for a minute ends.
func TestBasicCacheSlides(t *testing.T) {
	c := newBasicCache()
	t0 := time.Unix(1e9, 0)
	c.add("busy", t0)
	c.add("idle", t0)
	for _, tt := range []struct {
		id   string
		at   time.Duration
		want bool
	}{
		{"busy", 50 * time.Second, true},
		{"busy", 100 * time.Second, true}, // past the first minute, within one of a use
		{"idle", 61 * time.Second, false},
		{"idle", 62 * time.Second, false}, // dropped
		{"busy", 59 * time.Minute, false}, // unused for over a minute
	} {
		if got := c.has(tt.id, t0.Add(tt.at)); got != tt.want {
			t.Errorf("%s at %v: %v, want %v", tt.id, tt.at, got, tt.want)
		}
	}
	c.add("steady", t0)
	for at := 30 * time.Second; at < time.Hour; at += 30 * time.Second {
		if !c.has("steady", t0.Add(at)) {
			t.Fatalf("used every 30 s: ended at %v, want it kept for an hour", at)
		}
	}
	if c.has("steady", t0.Add(time.Hour+30*time.Second)) {
		t.Error("used every 30 s: kept past an hour after its check")
	}
}
