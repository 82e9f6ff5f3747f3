// Package storetest checks that a session.Store keeps the Store contract. Every store's
// tests run it against a real instance of the store.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/frontgate/gateway/authn/session"
)

// Options describes the store under test.
type Options struct {
	// Open returns an empty store. Required.
	Open func(t *testing.T) session.Store
	// Advance moves the store's clock forward by d: an injected clock for stores that
	// have one, a real wait (or the server's own fast-forward) for those that do not.
	// Required.
	Advance func(t *testing.T, d time.Duration)
	// TTLStep is the shortest ttl the store keeps reliably; the expiry tests use it.
	// Zero means one second.
	TTLStep time.Duration
}

// Sample returns a complete session for user, as a store would be given it.
func Sample(user string) *session.Session {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return &session.Session{
		User: user, Backend: "file", AuthHash: "digest-of-" + user, CSRFToken: "csrf-" + user,
		Created: now, LastSeen: now, Expires: now.Add(12 * time.Hour),
		ClientIP: "192.0.2.7",
	}
}

// Run checks the Store contract.
func Run(t *testing.T, o Options) {
	step := o.TTLStep
	if step == 0 {
		step = time.Second
	}
	ctx := context.Background()

	t.Run("missing", func(t *testing.T) {
		st := o.Open(t)
		if _, err := st.Get(ctx, "nope"); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("Get of a missing key: got %v, want ErrNotFound", err)
		}
		if err := st.Delete(ctx, "nope"); err != nil {
			t.Errorf("Delete of a missing key: %v", err)
		}
		err := st.Touch(ctx, "nope", time.Now(), time.Hour)
		if !errors.Is(err, session.ErrNotFound) {
			t.Errorf("Touch of a missing key: got %v, want ErrNotFound", err)
		}
		if _, err := st.Get(ctx, "nope"); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("Touch created a session: Get gives %v", err)
		}
	})

	t.Run("round trip", func(t *testing.T) {
		st := o.Open(t)
		want := Sample("alice")
		want.Remember = true
		if err := st.Put(ctx, "k1", want, time.Hour); err != nil {
			t.Fatal(err)
		}
		got, err := st.Get(ctx, "k1")
		if err != nil {
			t.Fatal(err)
		}
		same(t, got, want)
		// Put replaces.
		again := Sample("alice")
		again.CSRFToken = "replaced"
		if err := st.Put(ctx, "k1", again, time.Hour); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.Get(ctx, "k1"); got == nil || got.CSRFToken != "replaced" {
			t.Errorf("Put did not replace the session: %+v", got)
		}
	})

	t.Run("touch", func(t *testing.T) {
		st := o.Open(t)
		s := Sample("alice")
		if err := st.Put(ctx, "k", s, 2*step); err != nil {
			t.Fatal(err)
		}
		later := s.LastSeen.Add(time.Minute)
		if err := st.Touch(ctx, "k", later, 10*step); err != nil {
			t.Fatalf("Touch: %v", err)
		}
		got, err := st.Get(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		if !got.LastSeen.Equal(later) || got.User != "alice" || got.CSRFToken != s.CSRFToken {
			t.Errorf("after Touch: got %+v, want LastSeen %v and the rest unchanged", got,
				later)
		}
		o.Advance(t, 4*step) // past the first ttl, within the renewed one
		if _, err := st.Get(ctx, "k"); err != nil {
			t.Errorf("Touch did not extend the ttl: %v", err)
		}
	})

	t.Run("replace", func(t *testing.T) {
		st := o.Open(t)
		err := st.Replace(ctx, "nope", Sample("alice"), time.Hour)
		if !errors.Is(err, session.ErrNotFound) {
			t.Errorf("Replace of a missing key: got %v, want ErrNotFound", err)
		}
		if _, err := st.Get(ctx, "nope"); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("Replace created a session: Get gives %v", err)
		}
		s := Sample("alice")
		if err := st.Put(ctx, "k", s, 2*step); err != nil {
			t.Fatal(err)
		}
		resealed := Sample("alice")
		resealed.AuthHash, resealed.MAC = "new-digest", "new-mac"
		if err := st.Replace(ctx, "k", resealed, 10*step); err != nil {
			t.Fatalf("Replace: %v", err)
		}
		got, err := st.Get(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		same(t, got, resealed)
		o.Advance(t, 4*step) // past the first ttl, within the new one
		if _, err := st.Get(ctx, "k"); err != nil {
			t.Errorf("Replace did not set the new ttl: %v", err)
		}
		if err := st.Delete(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		if err := st.Replace(ctx, "k", resealed, time.Hour); !errors.Is(err,
			session.ErrNotFound) {
			t.Errorf("Replace after Delete: got %v, want ErrNotFound", err)
		}
		if _, err := st.Get(ctx, "k"); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("Replace brought back a deleted session: Get gives %v", err)
		}
		if list, _ := st.List(ctx, "alice"); len(list) != 0 {
			t.Errorf("Replace after Delete left %d sessions in the listing", len(list))
		}
	})

	t.Run("expiry", func(t *testing.T) {
		st := o.Open(t)
		if err := st.Put(ctx, "short", Sample("alice"), step); err != nil {
			t.Fatal(err)
		}
		if err := st.Put(ctx, "long", Sample("alice"), 100*step); err != nil {
			t.Fatal(err)
		}
		o.Advance(t, 2*step)
		if _, err := st.Get(ctx, "short"); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("Get after the ttl: got %v, want ErrNotFound", err)
		}
		if err := st.Touch(ctx, "short", time.Now(), time.Hour); !errors.Is(err,
			session.ErrNotFound) {
			t.Errorf("Touch after the ttl: got %v, want ErrNotFound", err)
		}
		list, err := st.List(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if keys := keysOf(list); fmt.Sprint(keys) != "[long]" {
			t.Errorf("List after one expired: got %v, want [long]", keys)
		}
	})

	t.Run("ttl past 2262", func(t *testing.T) {
		// a deadline past what Unix nanoseconds hold must be kept as the latest one,
		// never wrap round to one long gone
		for _, ttl := range []time.Duration{250 * 365 * 24 * time.Hour, math.MaxInt64} {
			st := o.Open(t)
			if err := st.Put(ctx, "put", Sample("alice"), ttl); err != nil {
				t.Fatal(err)
			}
			st.Put(ctx, "touched", Sample("alice"), step)
			if err := st.Touch(ctx, "touched", time.Now(), ttl); err != nil {
				t.Fatalf("Touch for %v: %v", ttl, err)
			}
			st.Put(ctx, "replaced", Sample("alice"), step)
			if err := st.Replace(ctx, "replaced", Sample("alice"), ttl); err != nil {
				t.Fatalf("Replace for %v: %v", ttl, err)
			}
			o.Advance(t, 2*step) // past the first ttls
			for _, k := range []string{"put", "touched", "replaced"} {
				if _, err := st.Get(ctx, k); err != nil {
					t.Errorf("Get of a session %s for %v: %v", k, ttl, err)
				}
			}
			if c, ok := st.(session.Counter); ok {
				if got, err := c.Count(ctx, session.ExpiryGrace); err != nil || got != 3 {
					t.Errorf("Count with ttls of %v: got %d, %v; want 3", ttl, got, err)
				}
			}
		}
	})

	t.Run("delete", func(t *testing.T) {
		st := o.Open(t)
		st.Put(ctx, "k", Sample("alice"), time.Hour)
		if err := st.Delete(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Get(ctx, "k"); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("Get after Delete: got %v, want ErrNotFound", err)
		}
		if err := st.Touch(ctx, "k", time.Now(), time.Hour); !errors.Is(err,
			session.ErrNotFound) {
			t.Errorf("Touch after Delete: got %v, want ErrNotFound", err)
		}
		if _, err := st.Get(ctx, "k"); !errors.Is(err, session.ErrNotFound) {
			t.Error("Touch brought a deleted session back")
		}
	})

	t.Run("list", func(t *testing.T) {
		st := o.Open(t)
		st.Put(ctx, "a1", Sample("alice"), time.Hour)
		st.Put(ctx, "a2", Sample("alice"), time.Hour)
		st.Put(ctx, "b1", Sample("bob"), time.Hour)
		for user, want := range map[string]string{
			"alice": "[a1 a2]", "bob": "[b1]", "": "[a1 a2 b1]", "carol": "[]",
		} {
			list, err := st.List(ctx, user)
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(keysOf(list)); got != want {
				t.Errorf("List(%q): got %s, want %s", user, got, want)
			}
			for _, e := range list {
				if user != "" && e.Session.User != user {
					t.Errorf("List(%q) holds a session of %q", user, e.Session.User)
				}
			}
		}
		st.Delete(ctx, "a1")
		list, _ := st.List(ctx, "alice")
		if got := fmt.Sprint(keysOf(list)); got != "[a2]" {
			t.Errorf("List after Delete: got %s, want [a2]", got)
		}
	})

	t.Run("count", func(t *testing.T) {
		st := o.Open(t)
		c, ok := st.(session.Counter)
		if !ok {
			t.Skipf("%T does not implement session.Counter", st)
		}
		countWith := func(what string, margin time.Duration, want int) {
			t.Helper()
			if got, err := c.Count(ctx, margin); err != nil || got != want {
				t.Errorf("Count %s: got %d, %v; want %d", what, got, err, want)
			}
		}
		count := func(what string, want int) {
			t.Helper()
			countWith(what, 0, want)
		}
		count("of an empty store", 0)
		st.Put(ctx, "a1", Sample("alice"), 100*step)
		st.Put(ctx, "a2", Sample("alice"), step)
		st.Put(ctx, "b1", Sample("bob"), 100*step)
		count("after three Puts", 3)
		// a margin leaves out the sessions with no more than it left of their ttl
		countWith("with a margin past one ttl", 2*step, 2)
		countWith("with a margin past every ttl", 200*step, 0)
		st.Put(ctx, "a1", Sample("alice"), 100*step)
		count("after a Put that replaces", 3)
		st.Delete(ctx, "b1")
		count("after Delete", 2)
		o.Advance(t, 2*step)
		count("after one expired", 1)
		st.Touch(ctx, "a1", time.Now(), 100*step)
		count("after Touch", 1)
		st.Delete(ctx, "a1")
		count("after the last Delete", 0)

		done, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := c.Count(done, 0); !errors.Is(err, context.Canceled) {
			t.Errorf("Count with an ended context: got %v, want context.Canceled", err)
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		st := o.Open(t)
		var wg sync.WaitGroup
		errs := make(chan error, 1000)
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				key := fmt.Sprintf("c%d", i)
				for j := 0; j < 10; j++ {
					if err := st.Put(ctx, key, Sample("alice"), time.Hour); err != nil {
						errs <- err
					}
					if _, err := st.Get(ctx, key); err != nil {
						errs <- err
					}
					if err := st.Touch(ctx, key, time.Now(), time.Hour); err != nil {
						errs <- err
					}
					if _, err := st.List(ctx, "alice"); err != nil {
						errs <- err
					}
					if c, ok := st.(session.Counter); ok {
						if _, err := c.Count(ctx, session.ExpiryGrace); err != nil {
							errs <- err
						}
					}
					if err := st.Delete(ctx, key); err != nil {
						errs <- err
					}
				}
			}(i)
		}
		// Renewals racing a deletion never bring the session back.
		st.Put(ctx, "shared", Sample("bob"), time.Hour)
		stop := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					st.Touch(ctx, "shared", time.Now(), time.Hour)
				}
			}
		}()
		time.Sleep(10 * time.Millisecond)
		if err := st.Delete(ctx, "shared"); err != nil {
			t.Error(err)
		}
		time.Sleep(10 * time.Millisecond)
		close(stop)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("concurrent use: %v", err)
		}
		if _, err := st.Get(ctx, "shared"); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("a renewal racing Delete brought the session back: %v", err)
		}
	})
}

func same(t *testing.T, got, want *session.Session) {
	t.Helper()
	if got.User != want.User || got.Backend != want.Backend || got.AuthHash != want.AuthHash ||
		got.CSRFToken != want.CSRFToken || !got.Created.Equal(want.Created) ||
		!got.LastSeen.Equal(want.LastSeen) || !got.Expires.Equal(want.Expires) ||
		got.Remember != want.Remember || got.ClientIP != want.ClientIP || got.MAC != want.MAC {
		t.Errorf("stored session changed:\n got %+v\nwant %+v", got, want)
	}
}

func keysOf(list []session.Entry) []string {
	keys := make([]string, 0, len(list))
	for _, e := range list {
		keys = append(keys, e.Key)
	}
	sort.Strings(keys)
	return keys
}
