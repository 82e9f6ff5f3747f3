package redisstore

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/frontgate/gateway/authn/session"
	"github.com/frontgate/gateway/authn/session/storetest"
)

func TestMain(m *testing.M) {
	// go-redis logs every failed dial through a logger of its own; the tests that stop
	// Redis on purpose would fill the output with them
	redis.SetLogger(quiet{})
	os.Exit(m.Run())
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// The conformance suite against miniredis runs in milliseconds, with no redis-server
// installed: its clock is moved by FastForward instead of by waiting.
func TestConformanceMiniredis(t *testing.T) {
	var m *miniredis.Miniredis
	storetest.Run(t, storetest.Options{
		Open: func(t *testing.T) session.Store {
			m = miniredis.RunT(t)
			return NewWithClient(redis.NewClient(&redis.Options{Addr: m.Addr()}), "gw:")
		},
		Advance: func(t *testing.T, d time.Duration) { m.FastForward(d) },
	})
}
