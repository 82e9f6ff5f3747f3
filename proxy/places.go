package proxy

import (
	"net/netip"
	"sync"
	"time"

	"github.com/frontgate/gateway/authn/clientnet"
)

// placesMax bounds how many (user, address) pairs the gateway remembers sign-ins from.
const placesMax = 10000

// places remembers, for deviceTTL, the client addresses users have signed in from, by
// host (see clientnet.Host): IPv4 addresses whole, IPv6 ones by their /64. During a
// flood of sign-in attempts a user signing in again from such an address, in a browser
// the gateway does not know yet, goes before strangers as a known device does; it is not
// exempt from any throttle.
// Pairs are kept as keyed digests, so the memory holds no usernames or addresses.
// Safe for concurrent use.
type places struct {
	digest func(s string) string
	mu     sync.Mutex
	m      map[string]time.Time // digest of the pair -> when it stops counting
}

func newPlaces(digest func(string) string) *places {
	return &places{digest: digest, m: make(map[string]time.Time)}
}

func (p *places) key(user string, addr netip.Addr) string {
	return p.digest("place\x00" + user + "\x00" + clientnet.HostKey(addr))
}

// add records a sign-in of user from addr at now.
func (p *places) add(user string, addr netip.Addr, now time.Time) {
	k := p.key(user, addr)
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.m[k]; !ok && len(p.m) >= placesMax {
		for old, until := range p.m {
			if !now.Before(until) {
				delete(p.m, old)
			}
		}
		// still full: make room for a few by dropping arbitrary pairs, which only
		// costs their users the head start
		for old := range p.m {
			if len(p.m) < placesMax*7/8 {
				break
			}
			delete(p.m, old)
		}
	}
	p.m[k] = now.Add(deviceTTL)
}

// has reports whether user signed in from addr within deviceTTL of now. It does the
// same work for every name.
func (p *places) has(user string, addr netip.Addr, now time.Time) bool {
	k := p.key(user, addr)
	p.mu.Lock()
	until, ok := p.m[k]
	p.mu.Unlock()
	return ok && now.Before(until)
}
