package clientnet

import (
	"net/netip"
	"testing"
)

func TestGroups(t *testing.T) {
	for _, tt := range []struct {
		addr, host, network string
	}{
		{"192.0.2.7", "192.0.2.7/32", "192.0.2.0/24"},
		{"::ffff:192.0.2.7", "192.0.2.7/32", "192.0.2.0/24"},
		// an IPv4 client handed over by a NAT64 translator is that IPv4 client
		{"64:ff9b::c000:207", "192.0.2.7/32", "192.0.2.0/24"},
		{"64:ff9b::198.51.100.1", "198.51.100.1/32", "198.51.100.0/24"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64", "2001:db8:1::/48"},
		{"2001:db8:1:2::9", "2001:db8:1:2::/64", "2001:db8:1::/48"},
		// any host may take as many link-local addresses as it likes
		{"fe80::1:2", "fe80::/64", "fe80::/48"},
		{"::1", "::/64", "::/48"},
		{"64:ff9b:1::c000:207", "64:ff9b:1::/64", "64:ff9b:1::/48"}, // not the /96
	} {
		a := netip.MustParseAddr(tt.addr)
		if got := Host(a).String(); got != tt.host {
			t.Errorf("Host(%s) = %s, want %s", tt.addr, got, tt.host)
		}
		want := tt.host
		if p := netip.MustParsePrefix(tt.host); p.IsSingleIP() {
			want = p.Addr().String()
		}
		if got := HostKey(a); got != want {
			t.Errorf("HostKey(%s) = %s, want %s", tt.addr, got, want)
		}
		if got := Network(a).String(); got != tt.network {
			t.Errorf("Network(%s) = %s, want %s", tt.addr, got, tt.network)
		}
	}
}
