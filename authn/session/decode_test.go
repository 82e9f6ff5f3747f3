package session

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestDecodeCacheLetsNoEndedSessionThrough ends a session whose cookie has just been
// opened, and so is in the decode cache, in every way a session ends.
func TestDecodeCacheLetsNoEndedSessionThrough(t *testing.T) {
	ctx := context.Background()
	start := time.Unix(1_700_000_000, 0)
	var value string // the cookie of the session under test
	for _, c := range []struct {
		name string
		end  func(m *Manager, s *Session, c *clock) error
	}{
		{"delete", func(m *Manager, s *Session, _ *clock) error { return m.Delete(ctx, s) }},
		{"revoke", func(m *Manager, _ *Session, _ *clock) error {
			_, err := m.Revoke(ctx, "alice")
			return err
		}},
		{"revoke key", func(m *Manager, s *Session, _ *clock) error {
			return m.RevokeKey(ctx, storeKey(s.ID))
		}},
		{"idle", func(m *Manager, _ *Session, c *clock) error {
			// opened again just before the idle deadline, used just after it
			c.add(29*time.Minute + 30*time.Second)
			if _, err := m.Resolve(ctx, []string{value}); err != nil {
				return err
			}
			c.add(45 * time.Second)
			return nil
		}},
		{"lifetime", func(m *Manager, _ *Session, c *clock) error {
			// used every 10 minutes, so only the lifetime can end it
			for c.now().Add(10 * time.Minute).Before(start.Add(12 * time.Hour)) {
				c.add(10 * time.Minute)
				if s, err := m.Resolve(ctx, []string{value}); err == nil {
					m.Renew(ctx, s)
				}
			}
			c.t = start.Add(12*time.Hour - 30*time.Second)
			if _, err := m.Resolve(ctx, []string{value}); err != nil {
				return err
			}
			c.add(45 * time.Second)
			return nil
		}},
		{"edited record", func(m *Manager, s *Session, _ *clock) error {
			stored, err := m.store.Get(ctx, storeKey(s.ID))
			if err != nil {
				return err
			}
			stored.User = "bob"
			return m.store.Put(ctx, storeKey(s.ID), stored, time.Hour)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			clk := &clock{t: start}
			m := newManager(t, &Memory{now: clk.now}, clk, secretA)
			s, v, err := m.Create(ctx, as("alice", "h"))
			if err != nil {
				t.Fatal(err)
			}
			value = v
			if _, err := m.Resolve(ctx, []string{v}); err != nil {
				t.Fatalf("fresh session: %v", err)
			}
			if _, ok := m.decoded.m[v]; !ok {
				t.Fatal("the opened cookie is not in the decode cache")
			}
			if err := c.end(m, s, clk); err != nil {
				t.Fatal(err)
			}
			// the value is still remembered: the store alone must refuse it
			if e, ok := m.decoded.m[v]; !ok || !clk.now().Before(e.until) {
				t.Fatal("the cookie's decoding is no longer remembered")
			}
			if got, err := m.Resolve(ctx, []string{v}); !errors.Is(err, ErrNotFound) {
				t.Errorf("after %s: got %+v, %v; want ErrNotFound", c.name, got, err)
			}
		})
	}
}

// TestDecodeCacheKeepsOnlyAuthenticValues sends forged values, which must neither
// resolve nor be remembered, and more authentic ones than the cache holds, which must
// all keep resolving.
func TestDecodeCacheKeepsOnlyAuthenticValues(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	m := newManager(t, &Memory{now: clk.now}, clk, secretA)
	_, v, err := m.Create(ctx, as("alice", "h"))
	if err != nil {
		t.Fatal(err)
	}
	forged := []string{v[:len(v)-2] + "AA", "x" + v, v[1:], ""}
	for _, f := range forged {
		if _, err := m.Resolve(ctx, []string{f}); !errors.Is(err, ErrNotFound) {
			t.Errorf("forged value %.20q resolved: %v", f, err)
		}
		if _, ok := m.decoded.m[f]; ok {
			t.Errorf("forged value %.20q was remembered", f)
		}
	}

	values := make([]string, decodeMax+500)
	for i := range values {
		_, values[i], err = m.Create(ctx, as("alice", "h"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Resolve(ctx, values[i:i+1]); err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
	}
	if n := len(m.decoded.m); n > decodeMax {
		t.Errorf("the decode cache holds %d values, more than %d", n, decodeMax)
	}
	for i, v := range values {
		if _, err := m.Resolve(ctx, []string{v}); err != nil {
			t.Fatalf("session %d after the cache filled: %v", i, err)
		}
	}
}
