package proxy

import "time"

// SetTunnelCheck makes open websockets be checked every d, for tests; the returned
// function restores the interval.
func SetTunnelCheck(d time.Duration) (restore func()) {
	old := tunnelCheck
	tunnelCheck = d
	return func() { tunnelCheck = old }
}
