package proxy

import (
	"net/netip"
	"time"
)

// SetTunnelCheck makes open websockets be checked every d, for tests; the returned
// function restores the interval.
func SetTunnelCheck(d time.Duration) (restore func()) {
	old := tunnelCheck
	tunnelCheck = d
	return func() { tunnelCheck = old }
}

// SignedInFrom reports whether name has signed in from addr, as the head start under a
// login flood sees it.
func (h *Handler) SignedInFrom(name string, addr netip.Addr) bool {
	return h.places.has(name, addr, time.Now())
}
