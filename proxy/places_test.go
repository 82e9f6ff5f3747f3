package proxy

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

func TestPlaces(t *testing.T) {
	p := newPlaces(func(s string) string { return "d:" + s })
	now := time.Unix(1_700_000_000, 0)
	home := netip.MustParseAddr("192.0.2.10")
	v6 := netip.MustParseAddr("2001:db8:1:2::10")
	p.add("alice", home, now)
	p.add("alice", v6, now)
	for _, tt := range []struct {
		name string
		user string
		addr string
		at   time.Time
		want bool
	}{
		{"same user and address", "alice", "192.0.2.10", now, true},
		{"mapped form of the address", "alice", "::ffff:192.0.2.10", now, true},
		{"another IPv4 address", "alice", "192.0.2.11", now, false},
		{"another user", "bob", "192.0.2.10", now, false},
		{"same IPv6 /64", "alice", "2001:db8:1:2::99", now, true},
		{"another IPv6 /64", "alice", "2001:db8:1:3::10", now, false},
		{"just before the end", "alice", "192.0.2.10", now.Add(deviceTTL - time.Second), true},
		{"after deviceTTL", "alice", "192.0.2.10", now.Add(deviceTTL), false},
	} {
		if got := p.has(tt.user, netip.MustParseAddr(tt.addr), tt.at); got != tt.want {
			t.Errorf("%s: has(%s, %s) = %v, want %v", tt.name, tt.user, tt.addr, got, tt.want)
		}
	}
	// A flood of sign-ins from fresh places stays within the bound.
	for i := range 3 * placesMax {
		p.add(fmt.Sprint("u", i), netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8),
			byte(i)}), now)
	}
	if n := len(p.m); n > placesMax {
		t.Errorf("%d places kept, want at most %d", n, placesMax)
	}
	// Expired pairs are the first to go.
	q := newPlaces(func(s string) string { return s })
	for i := range placesMax {
		q.add(fmt.Sprint("old", i), home, now)
	}
	q.add("fresh", home, now.Add(deviceTTL))
	if n := len(q.m); n != 1 || !q.has("fresh", home, now.Add(deviceTTL)) {
		t.Errorf("after the old pairs expired: %d kept, want only the fresh one", n)
	}
}
