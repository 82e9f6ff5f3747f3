package assertion_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/frontgate/gateway/proxy/assertion"
)

func TestCacheReusesWhileFresh(t *testing.T) {
	s := newSigner(t)
	c := assertion.Claims{Subject: "alice", Groups: []string{"staff"}, Audience: "a.test"}
	t0 := time.Unix(1_800_000_000, 0)
	ttl := time.Minute
	sign := func(t *testing.T, k *assertion.Cache, c assertion.Claims, at time.Time,
		ttl time.Duration) string {
		t.Helper()
		token, err := k.Sign(c, at, ttl)
		if err != nil {
			t.Fatalf("Sign: %v", err)
		}
		// Whatever the cache returns must verify at the time it was asked for, with at
		// least half its lifetime left.
		tok, err := verify(t, s.JWKS(), token, c.Audience, at)
		if err != nil {
			t.Fatalf("cached token at %v: %v", at.Sub(t0), err)
		}
		if exp, _ := tok.Expiration(); exp.Sub(at) < ttl/2 {
			t.Fatalf("token at %v has %v left, want at least %v", at.Sub(t0), exp.Sub(at),
				ttl/2)
		}
		return token
	}

	tests := []struct {
		name string
		c    assertion.Claims
		at   time.Time
		ttl  time.Duration
		same bool
	}{
		{"at once", c, t0, ttl, true},
		{"just under half the ttl", c, t0.Add(29*time.Second + 900*time.Millisecond), ttl,
			true},
		{"half the ttl", c, t0.Add(30 * time.Second), ttl, false},
		{"clock stepped back", c, t0.Add(-time.Second), ttl, false},
		{"other ttl", c, t0, 2 * ttl, false},
		{"groups changed", assertion.Claims{Subject: "alice", Groups: []string{"staff",
			"admins"}, Audience: "a.test"}, t0, ttl, false},
		{"email added", assertion.Claims{Subject: "alice", Email: "a@x", Groups: []string{
			"staff"}, Audience: "a.test"}, t0, ttl, false},
		{"display name changed", assertion.Claims{Subject: "alice", Name: "Alice",
			Groups: []string{"staff"}, Audience: "a.test"}, t0, ttl, false},
		{"other audience", assertion.Claims{Subject: "alice", Groups: []string{"staff"},
			Audience: "b.test"}, t0, ttl, false},
		{"other subject", assertion.Claims{Subject: "bob", Groups: []string{"staff"},
			Audience: "a.test"}, t0, ttl, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Start each case from the first token being the cached one.
			k := assertion.NewCache(s, 0)
			first := sign(t, k, c, t0, ttl)
			got := sign(t, k, tt.c, tt.at, tt.ttl)
			if same := got == first; same != tt.same {
				t.Errorf("reused = %v, want %v", same, tt.same)
			}
		})
	}
}

func TestCacheCopiesGroups(t *testing.T) {
	s := newSigner(t)
	k := assertion.NewCache(s, 0)
	now := time.Now()
	groups := []string{"staff"}
	first, err := k.Sign(assertion.Claims{Subject: "a", Groups: groups, Audience: "a.test"},
		now, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	// A caller that reuses its slice must not make the cache serve stale groups.
	groups[0] = "admins"
	second, err := k.Sign(assertion.Claims{Subject: "a", Groups: groups, Audience: "a.test"},
		now, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if first == second {
		t.Fatal("groups changed in place, and the cache served the old assertion")
	}
	if got := *payloadOf(t, second).Groups; len(got) != 1 || got[0] != "admins" {
		t.Errorf("groups = %q, want [admins]", got)
	}
}

func TestCacheBounded(t *testing.T) {
	s := newSigner(t)
	const size = 64
	k := assertion.NewCache(s, size)
	now := time.Now()
	for i := range 5 * size {
		c := assertion.Claims{Subject: fmt.Sprint("user", i), Audience: "a.test"}
		if _, err := k.Sign(c, now, time.Minute); err != nil {
			t.Fatal(err)
		}
		if n := k.Len(); n > size {
			t.Fatalf("after %d users the cache holds %d, want at most %d", i+1, n, size)
		}
	}
	// Stale entries go first: once all are, one more sign leaves only itself.
	later := now.Add(time.Minute)
	if _, err := k.Sign(assertion.Claims{Subject: "new", Audience: "a.test"}, later,
		time.Minute); err != nil {
		t.Fatal(err)
	}
	if n := k.Len(); n != 1 {
		t.Errorf("after all went stale, one more sign leaves %d entries, want 1", n)
	}
}

func TestCacheErrors(t *testing.T) {
	k := assertion.NewCache(newSigner(t), 0)
	_, err := k.Sign(assertion.Claims{Subject: "", Audience: "a.test"}, time.Now(), time.Minute)
	if !errors.Is(err, assertion.ErrInvalidClaims) {
		t.Errorf("Sign = %v, want ErrInvalidClaims", err)
	}
}

func TestCacheConcurrent(t *testing.T) {
	s := newSigner(t)
	k := assertion.NewCache(s, 8)
	now := time.Now()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				c := assertion.Claims{Subject: fmt.Sprint("u", (i*j)%13), Audience: "a.test"}
				token, err := k.Sign(c, now, time.Minute)
				if err == nil {
					_, err = verify(t, s.JWKS(), token, "a.test", now)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkCacheSign(b *testing.B) {
	k := assertion.NewCache(newSigner(b), 0)
	c := assertion.Claims{
		Subject:  "alice",
		Email:    "alice@example.com",
		Groups:   []string{"admins", "staff"},
		Audience: "app.example.com",
	}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Sign(c, now, time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}
