package proxy

import (
	"net/netip"
	"sync"
	"time"

	"github.com/frontgate/gateway/authn/throttle"
)

// SetTunnelCheck makes open websockets be checked every d, for tests; the returned
// function restores the interval.
func SetTunnelCheck(d time.Duration) (restore func()) {
	old := tunnelCheck
	tunnelCheck = d
	return func() { tunnelCheck = old }
}

// OnClientLeft makes f run each time a client goes away while its request's upstream
// exchange goes on; the returned function removes it.
func OnClientLeft(f func()) (restore func()) {
	testHookClientLeft.Store(&f)
	return func() { testHookClientLeft.Store(nil) }
}

// SetLinger sets how long an upstream exchange goes on after its client went away, and
// how many may at once; the returned function restores both.
func SetLinger(grace time.Duration, most int32) (restore func()) {
	testLinger.Store(&struct {
		grace time.Duration
		most  int32
	}{grace, most})
	return func() { testLinger.Store(nil) }
}

// Lingering returns how many upstream exchanges go on after their clients went away.
func Lingering() int32 { return lingering.Load() }

// SignedInFrom reports whether name has signed in from addr, as the head start under a
// login flood sees it.
func (h *Handler) SignedInFrom(name string, addr netip.Addr) bool {
	return h.places.has(name, addr, time.Now())
}

// FreezeThrottle gives h a throttle with the default limits whose clock stands at now
// until the returned function moves it on, so that no wait it sets runs out while a
// test runs unless the test says so.
func (h *Handler) FreezeThrottle(now time.Time) (advance func(time.Duration)) {
	var mu sync.Mutex
	h.throttle = throttle.New(throttle.Limits{AddressFailures: 20, UserAddressFailures: 5,
		UserFailures: 10, Window: 15 * time.Minute, MaxEntries: 10000},
		func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	return func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
}

// DeviceStrikes is how many failed sign-ins a device cookie keeps its exemption for.
const DeviceStrikes = deviceStrikesMax

// RaceEnabled is raceEnabled, for the external tests.
const RaceEnabled = raceEnabled

// ThinAuditAt has the records of repeatable refusals thinned by the time now reads,
// for tests.
func (h *Handler) ThinAuditAt(now func() time.Time) { h.auditThin.Now = now }
