package server

import (
	"os"
	"testing"

	"github.com/frontgate/gateway/authn"
)

// TestMain runs the package's tests with the warning of cheap password hashes off: their
// users have cheap hashes so that sign-ins take no time, and every test that counts
// warnings would count it. TestWeakHashWarning turns it back on.
func TestMain(m *testing.M) {
	if path := os.Getenv(fakeControlEnv); path != "" {
		serveFakeControl(path) // a control socket served by another user, for a test
		return
	}
	weakHashes = func(map[string]*authn.User) map[string][]string { return nil }
	os.Exit(m.Run())
}
