// Package clientnet groups client addresses the way limits and throttles count them: by
// the host that likely owns an address, and by the network around it, which one
// attacker often holds much of.
package clientnet

import "net/netip"

// nat64 is the well-known prefix (RFC 6052) under which a translator in front of an
// IPv6-only server hands it IPv4 clients, each address ending in the client's own.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// Addr returns the address that stands for a's client: the IPv4 address of an
// IPv4-mapped one, or of one under the NAT64 prefix, which would otherwise put every
// IPv4 client behind the translator in one IPv6 /64; else a itself.
func Addr(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if nat64.Contains(a) {
		b := a.As16()
		return netip.AddrFrom4([4]byte(b[12:]))
	}
	return a
}

// Host returns the addresses that one host usually owns whole, a's among them: an IPv4
// address alone, and an IPv6 /64. Every host on a link has a link-local address in the
// same /64, which one host may also hold as many of as it likes: they count together.
// a is read as Addr reads it.
func Host(a netip.Addr) netip.Prefix {
	a = Addr(a)
	bits := a.BitLen()
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

// HostKey is Host as a string: the address alone when the host has only it, as an IPv4
// client does, else the prefix.
func HostKey(a netip.Addr) string {
	p := Host(a)
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

// Network returns a's neighbours, which one attacker often holds many of: IPv4 by /24,
// IPv6 by /48. a is read as Addr reads it.
func Network(a netip.Addr) netip.Prefix {
	a = Addr(a)
	bits := 24
	if a.Is6() {
		bits = 48
	}
	p, _ := a.Prefix(bits)
	return p
}
