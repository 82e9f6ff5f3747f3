package proxy_test

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frontgate/gateway/authn/session"
	"github.com/frontgate/gateway/authn/session/boltstore"
	"github.com/frontgate/gateway/authn/session/redisstore"
	"github.com/frontgate/gateway/authn/session/redisstore/redistest"
	"github.com/frontgate/gateway/config"
)

// fakeClock is a time the test moves by hand, from many goroutines.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// touchCount counts the renewals a store carries out.
type touchCount struct {
	session.Store
	n atomic.Int64
}

func (s *touchCount) Touch(ctx context.Context, k string, last time.Time,
	ttl time.Duration) error {
	err := s.Store.Touch(ctx, k, last, ttl)
	if err == nil {
		s.n.Add(1)
	}
	return err
}

// TestConcurrentSignInsRenewalsAndOuts runs sign-ins, requests that renew their
// sessions, and sign-outs racing those renewals side by side, for the race detector, on
// every store, Redis a real redis-server. The sessions' clock moves past the renewal
// interval before every request, so each request renews.
func TestConcurrentSignInsRenewalsAndOuts(t *testing.T) {
	for _, tt := range []struct {
		name string
		open func(t *testing.T, clock *fakeClock) session.Store
	}{
		{"memory", func(t *testing.T, clock *fakeClock) session.Store {
			return session.NewMemoryWithClock(clock.Now)
		}},
		{"bolt", func(t *testing.T, clock *fakeClock) session.Store {
			st, err := boltstore.Open(filepath.Join(t.TempDir(), "sessions.db"),
				boltstore.Options{Now: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}},
		{"redis", func(t *testing.T, clock *fakeClock) session.Store {
			srv := redistest.Start(t)
			st, err := redisstore.New(config.Redis{Addresses: []string{srv.Addr()},
				KeyPrefix: "gateway:"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			store := &touchCount{Store: tt.open(t, clock)}
			up := newEcho(t)
			e := newEnvByHand(t, up, "  idle_timeout: 1h\nroutes:\n  - upstream: \""+
				up.URL+"\"\n    public: [/public/]\n", handParts{store: store,
				now: clock.Now})
			// Each request first moves the clock past the renewal interval. The idle
			// timeout is an hour: 4 browsers' 10 requests together move it 41 minutes,
			// so no session runs out for want of a request.
			step := session.RenewInterval + time.Second
			// Fewer sign-ins at once than the throttle's per-user-and-address limit: an
			// attempt in flight counts as a failure until it succeeds.
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					b := e.browser()
					if r := b.login("alice", alicePass, "/"); r.StatusCode !=
						http.StatusSeeOther {
						t.Errorf("sign-in: status %d", r.StatusCode)
						return
					}
					for range 5 {
						clock.Advance(step)
						if r := b.get("/app/x"); r.StatusCode != http.StatusOK {
							t.Errorf("request: status %d, want 200", r.StatusCode)
						}
					}
					token := field(t, csrfRe, b.get("/.gateway/logout").body)
					old := b.cookie("gateway_session")
					// Requests with the same session race the sign-out, each renewing it.
					var racing sync.WaitGroup
					racing.Go(func() {
						for range 5 {
							clock.Advance(step)
							r := e.raw("GET", "/app/x", old, nil)
							if r.StatusCode != http.StatusOK &&
								r.StatusCode != http.StatusUnauthorized {
								t.Errorf("request racing the sign-out: status %d, "+
									"want 200 or 401", r.StatusCode)
							}
						}
					})
					out := b.post("/.gateway/logout", url.Values{"csrf_token": {token}})
					if out.StatusCode != http.StatusSeeOther {
						t.Errorf("sign-out: status %d, want 303", out.StatusCode)
					}
					racing.Wait()
					if r := e.raw("GET", "/app/x", old, nil); r.StatusCode !=
						http.StatusUnauthorized {
						t.Errorf("after sign-out: status %d, want 401", r.StatusCode)
					}
				})
			}
			wg.Wait()
			if n := store.n.Load(); n < 4*5 {
				t.Errorf("%d renewals, want at least one per signed-in request (20)", n)
			}
			// No renewal brought a signed-out session back.
			left, err := store.List(context.Background(), "alice")
			if err != nil {
				t.Fatal(err)
			}
			if len(left) != 0 {
				t.Errorf("%d sessions of alice left in the store, want none", len(left))
			}
		})
	}
}
