package session_test

import (
	"sync"
	"testing"
	"time"

	"github.com/frontgate/gateway/authn/session"
	"github.com/frontgate/gateway/authn/session/storetest"
)

func TestMemoryStore(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	storetest.Run(t, storetest.Options{
		Open: func(t *testing.T) session.Store { return session.NewMemoryWithClock(clock) },
		Advance: func(t *testing.T, d time.Duration) {
			mu.Lock()
			now = now.Add(d)
			mu.Unlock()
		},
	})
}
