package redisstore

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/frontgate/gateway/authn/session/redisstore/redistest"
	"github.com/frontgate/gateway/authn/session/storetest"
)

// TestSweepExpired: two gateways sweep one Redis at once; each session that expired
// unused is reported once, with its user, by one of them, and a deleted or live one never.
func TestSweepExpired(t *testing.T) {
	srv := redistest.Start(t)
	a, b := newStore(t, srv, "gw:"), newStore(t, srv, "gw:")
	other := newStore(t, srv, "other:") // another store's sessions are not this one's
	rdb := rawClient(t, srv)
	ctx := context.Background()

	for _, p := range []struct {
		st        *Store
		key, user string
		ttl       time.Duration
	}{
		{a, "a1", "alice", 50 * time.Millisecond},
		{b, "a2", "alice", 50 * time.Millisecond},
		{a, "b1", "bob", 50 * time.Millisecond},
		{a, "c1", "carol", time.Hour},
		{b, "d1", "dave", 50 * time.Millisecond},
		{other, "o1", "olga", 50 * time.Millisecond},
	} {
		if err := p.st.Put(ctx, p.key, storetest.Sample(p.user), p.ttl); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Delete(ctx, "d1"); err != nil {
		t.Fatal(err)
	}
	rdb.Set(ctx, "gw:u:mallory", "a string where an index would be", 0)
	time.Sleep(200 * time.Millisecond)

	var (
		mu   sync.Mutex
		got  []string
		wg   sync.WaitGroup
		errs = make([]error, 2)
		ns   = make([]int, 2)
	)
	for i, st := range []*Store{a, b} {
		wg.Go(func() {
			ns[i], errs[i] = st.SweepExpired(ctx, func(user string) {
				mu.Lock()
				got = append(got, user)
				mu.Unlock()
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("sweep %d: %v", i, err)
		}
	}
	slices.Sort(got)
	if want := []string{"alice", "alice", "bob"}; !slices.Equal(got, want) {
		t.Errorf("reported expired: %v, want %v", got, want)
	}
	if ns[0]+ns[1] != 3 {
		t.Errorf("sweeps counted %d and %d, want 3 in all", ns[0], ns[1])
	}

	// nothing is reported twice, and the live session stays listed
	n, err := a.SweepExpired(ctx, func(user string) { t.Errorf("reported again: %s", user) })
	if err != nil || n != 0 {
		t.Errorf("second sweep: %d, %v; want 0, nil", n, err)
	}
	if list, err := a.List(ctx, "carol"); err != nil || len(list) != 1 {
		t.Errorf("carol's live session after the sweeps: %v, %v", keys(list), err)
	}
}

// TestSweeperStops: the background sweeper reports an expiry and stops when told.
func TestSweeperStops(t *testing.T) {
	srv := redistest.Start(t)
	st := newStore(t, srv, "gw:")
	ctx := context.Background()
	if err := st.Put(ctx, "k", storetest.Sample("alice"), time.Millisecond); err != nil {
		t.Fatal(err)
	}
	reported := make(chan string, 1)
	stop := st.StartSweeper(20*time.Millisecond, func(user string) { reported <- user },
		nil)
	select {
	case u := <-reported:
		if u != "alice" {
			t.Errorf("reported %q, want alice", u)
		}
	case <-time.After(10 * time.Second):
		t.Error("no expiry reported within 10 s")
	}
	stop()
}
