package session

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var (
	secretA = []byte(strings.Repeat("a", 32))
	secretB = []byte(strings.Repeat("b", 32))
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newManager(t testing.TB, store Store, c *clock, secrets ...[]byte) *Manager {
	t.Helper()
	keys, err := DeriveKeys(secrets)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewManager(Options{Store: store, Keys: keys, IdleTimeout: 30 * time.Minute,
		Lifetime: 12 * time.Hour, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDeriveKeysRefusesShortSecrets(t *testing.T) {
	if _, err := DeriveKeys(nil); err == nil {
		t.Error("no secrets accepted")
	}
	if _, err := DeriveKeys([][]byte{secretA, []byte("tiny-xyz")}); err == nil ||
		strings.Contains(err.Error(), "tiny-xyz") {
		t.Errorf("short secret: got %v, want an error that does not print it", err)
	}
}

func TestCreateResolveDelete(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	store := &Memory{now: c.now}
	m := newManager(t, store, c, secretA)

	s, v, err := m.Create(ctx, as("alice", "$argon2id$hash"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(v, s.ID) || len(v) > 400 {
		t.Errorf("cookie value %q exposes the id or is too long", v)
	}
	got, err := m.Resolve(ctx, []string{v})
	if err != nil || got.User != "alice" || got.ID != s.ID || got.Reissue() {
		t.Fatalf("Resolve: got %+v, %v", got, err)
	}
	if !m.Bound(got, "$argon2id$hash") || m.Bound(got, "$argon2id$other") {
		t.Error("Bound does not tell the password hashes apart")
	}
	// The store never holds the id itself.
	for k := range store.m {
		if k == s.ID {
			t.Error("store key is the session id")
		}
	}
	if err := m.Delete(ctx, got); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Resolve(ctx, []string{v}); !errors.Is(err, ErrNotFound) {
		t.Errorf("after Delete: got %v, want ErrNotFound", err)
	}
}

func TestIdleAndLifetime(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	store := &Memory{now: c.now}
	m := newManager(t, store, c, secretA)
	_, v, _ := m.Create(ctx, as("alice", "h"))

	// Used every 20 minutes, the session lives until its lifetime ends, and no longer.
	start := c.now()
	for c.now().Add(20*time.Minute).Sub(start) < 12*time.Hour {
		c.add(20 * time.Minute)
		s, err := m.Resolve(ctx, []string{v})
		if err != nil {
			t.Fatalf("after %v: %v", c.now().Sub(start), err)
		}
		if err := m.Renew(ctx, s); err != nil {
			t.Fatalf("renew: %v", err)
		}
	}
	c.add(20 * time.Minute)
	if _, err := m.Resolve(ctx, []string{v}); !errors.Is(err, ErrNotFound) {
		t.Errorf("after %v: got %v, want ErrNotFound", c.now().Sub(start), err)
	}

	// Unused for longer than the idle timeout, it ends and is gone from the store.
	_, v2, _ := m.Create(ctx, as("bob", "h"))
	c.add(31 * time.Minute)
	_, err := m.Resolve(ctx, []string{v2})
	var ee *ExpiredError
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &ee) || ee.User != "bob" {
		t.Errorf("idle session: got %v, want an *ExpiredError for bob", err)
	}
	if _, err := m.Resolve(ctx, []string{v2}); err == nil || errors.As(err, &ee) {
		t.Errorf("expired session resolved twice: got %v, want a plain ErrNotFound", err)
	}
}

func TestRenewIsThrottledAndConditional(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	store := &Memory{now: c.now}
	m := newManager(t, store, c, secretA)
	s, v, _ := m.Create(ctx, as("alice", "h"))

	c.add(30 * time.Second)
	if err := m.Renew(ctx, s); err != nil {
		t.Fatal(err)
	}
	stored, _ := store.Get(ctx, storeKey(s.ID))
	if !stored.LastSeen.Equal(s.Created) {
		t.Error("renewed within the renewal interval")
	}
	c.add(time.Minute)
	got, _ := m.Resolve(ctx, []string{v})
	if err := m.Delete(ctx, got); err != nil {
		t.Fatal(err)
	}
	if err := m.Renew(ctx, got); !errors.Is(err, ErrNotFound) {
		t.Errorf("renewing a deleted session: got %v, want ErrNotFound", err)
	}
	if _, err := store.Get(ctx, storeKey(s.ID)); !errors.Is(err, ErrNotFound) {
		t.Error("renewal brought a deleted session back")
	}
}

func TestSecretRotation(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	store := &Memory{now: c.now}
	old := newManager(t, store, c, secretA)
	_, v, _ := old.Create(ctx, as("alice", "h"))

	rotated := newManager(t, store, c, secretB, secretA)
	s, err := rotated.Resolve(ctx, []string{v})
	if err != nil || !s.Reissue() || !rotated.Bound(s, "h") {
		t.Fatalf("after rotation: got %+v, %v; want a session to reissue, still bound", s, err)
	}
	nv, _ := rotated.CookieValue(s)
	if _, err := old.Resolve(ctx, []string{nv}); err == nil {
		t.Error("a cookie under the new secret opened with only the old one")
	}
	// A second session, used after the rotation, moves onto the new secret: record,
	// digest and cookie. The first, never used since, stays under the old one only.
	_, w, _ := old.Create(ctx, as("bob", "h"))
	used, err := rotated.Resolve(ctx, []string{w})
	if err != nil || !rotated.Bound(used, "h") {
		t.Fatalf("second session after rotation: %+v, %v", used, err)
	}
	if err := rotated.Reseal(ctx, used, "h"); err != nil {
		t.Fatalf("Reseal: %v", err)
	}
	nw, _ := rotated.CookieValue(used)

	removed := newManager(t, store, c, secretB)
	if _, err := removed.Resolve(ctx, []string{v}); !errors.Is(err, ErrNotFound) {
		t.Errorf("old secret removed: got %v, want ErrNotFound", err)
	}
	if _, err := removed.Resolve(ctx, []string{nv}); !errors.Is(err, ErrNotFound) {
		t.Errorf("old secret removed, session never resealed: got %v, want ErrNotFound",
			err)
	}
	s, err = removed.Resolve(ctx, []string{nw})
	if err != nil || s.User != "bob" || !removed.Bound(s, "h") || s.Reissue() {
		t.Errorf("old secret removed, resealed session: got %+v, %v; want bob, bound", s,
			err)
	}

	// Resealing a session deleted meanwhile does not bring it back.
	_, x, _ := old.Create(ctx, as("carol", "h"))
	gone, _ := rotated.Resolve(ctx, []string{x})
	rotated.Delete(ctx, gone)
	if err := rotated.Reseal(ctx, gone, "h"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Reseal of a deleted session: got %v, want ErrNotFound", err)
	}
	if _, err := rotated.Resolve(ctx, []string{x}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Reseal brought back a deleted session: %v", err)
	}
}

func TestResolveDuplicateCookies(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	m := newManager(t, &Memory{now: c.now}, c, secretA)
	_, a, _ := m.Create(ctx, as("alice", "h"))
	_, b, _ := m.Create(ctx, as("bob", "h"))
	if s, err := m.Resolve(ctx, []string{"junk", a, a}); err != nil || s.User != "alice" {
		t.Errorf("junk and alice twice: got %v, %v", s, err)
	}
	if _, err := m.Resolve(ctx, []string{a, b}); !errors.Is(err, ErrNotFound) {
		t.Errorf("two live sessions: got %v, want ErrNotFound", err)
	}
}

// countingStore counts the lookups and deletions of the store it wraps.
type countingStore struct {
	Store
	gets, deletes atomic.Int32
}

func (c *countingStore) Get(ctx context.Context, key string) (*Session, error) {
	c.gets.Add(1)
	return c.Store.Get(ctx, key)
}

func (c *countingStore) Delete(ctx context.Context, key string) error {
	c.deletes.Add(1)
	return c.Store.Delete(ctx, key)
}

// TestResolveLooksUpEachSessionOnce: copies of one cookie, ended or live, cost one store
// lookup between them, and a request with more different values than a browser sends
// has no session and costs at most MaxCookieValues lookups.
func TestResolveLooksUpEachSessionOnce(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	store := &countingStore{Store: &Memory{now: c.now}}
	m := newManager(t, store, c, secretA)
	ended, v, _ := m.Create(ctx, as("alice", "h"))
	m.Delete(ctx, ended)
	_, live, _ := m.Create(ctx, as("bob", "h"))

	for _, tt := range []struct {
		name    string
		values  []string
		user    string // "" for none
		maxGets int32
	}{
		{"an ended session's cookie 300 times", slices.Repeat([]string{v}, 300), "", 1},
		{"a live one's 300 times", slices.Repeat([]string{live}, 300), "bob", 1},
		{"both, over and over", slices.Repeat([]string{v, live}, 150), "bob", 2},
		{"a live one among many other values", append(manyValues(t, m, MaxCookieValues),
			live), "", MaxCookieValues},
	} {
		store.gets.Store(0)
		s, err := m.Resolve(ctx, tt.values)
		switch {
		case tt.user == "" && !errors.Is(err, ErrNotFound):
			t.Errorf("%s: got %v, %v; want ErrNotFound", tt.name, s, err)
		case tt.user != "" && (err != nil || s.User != tt.user):
			t.Errorf("%s: got %v, %v; want %s", tt.name, s, err, tt.user)
		}
		if n := store.gets.Load(); n > tt.maxGets {
			t.Errorf("%s: %d lookups, want at most %d", tt.name, n, tt.maxGets)
		}
	}

	values := append(slices.Repeat([]string{v}, 100), manyValues(t, m, 100)...)
	store.deletes.Store(0)
	if err := m.DeleteCookies(ctx, values); err != nil {
		t.Fatal(err)
	}
	if n := store.deletes.Load(); n != MaxCookieValues {
		t.Errorf("DeleteCookies of 101 sessions' cookies: %d deletions, want %d", n,
			MaxCookieValues)
	}
}

// manyValues returns the cookies of n sessions of m that have ended.
func manyValues(t *testing.T, m *Manager, n int) []string {
	t.Helper()
	var vs []string
	for range n {
		s, v, err := m.Create(context.Background(), as("carol", "h"))
		if err != nil {
			t.Fatal(err)
		}
		m.Delete(context.Background(), s)
		vs = append(vs, v)
	}
	return vs
}

func TestCookieNameIsSigned(t *testing.T) {
	keys, _ := DeriveKeys([][]byte{secretA})
	v, _ := keys.Codec("gateway_session", time.Hour).Encode([]byte("id"))
	if _, _, err := keys.Codec("gateway_login", time.Hour).Decode(v); err == nil {
		t.Error("a session cookie value opened as another cookie")
	}
}

// FuzzDecode checks that no cookie value crashes decoding or opens without the key.
func FuzzDecode(f *testing.F) {
	keys, _ := DeriveKeys([][]byte{secretA})
	codec := keys.Codec(CookieName, time.Hour)
	good, _ := codec.Encode([]byte("id"))
	f.Add(good)
	f.Add("AAAA")
	f.Add(good + "|x")
	f.Add(good[:len(good)/2])
	f.Fuzz(func(t *testing.T, v string) {
		raw, _, err := codec.Decode(v)
		if err == nil && v != good && string(raw) != "id" {
			t.Fatalf("forged value %q opened to %q", v, raw)
		}
		if err != nil && !errors.Is(err, ErrBadCookie) {
			t.Fatalf("error %v is not ErrBadCookie", err)
		}
	})
}

func TestShortIdleTimeoutRenewedByUse(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	keys, _ := DeriveKeys([][]byte{secretA})
	m, _ := NewManager(Options{Store: &Memory{now: c.now}, Keys: keys,
		IdleTimeout: 20 * time.Second, Lifetime: 10 * time.Minute, Now: c.now})
	_, v, _ := m.Create(ctx, as("alice", "h"))
	for i := 0; i < 24; i++ { // two minutes of a request every 5 s
		c.add(5 * time.Second)
		s, err := m.Resolve(ctx, []string{v})
		if err != nil {
			t.Fatalf("in use for %ds: %v", (i+1)*5, err)
		}
		if err := m.Renew(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
}

// as is a sign-in of user with the given password hash.
func as(user, hash string) Login {
	return Login{User: user, Backend: "file", PasswordHash: hash}
}

func TestRememberedSessionLastsLonger(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	keys, _ := DeriveKeys([][]byte{secretA})
	m, _ := NewManager(Options{Store: &Memory{now: c.now}, Keys: keys,
		IdleTimeout: 30 * time.Minute, Lifetime: time.Hour, RememberFor: 720 * time.Hour,
		Now: c.now})
	short, _, _ := m.Create(ctx, as("alice", "h"))
	l := as("alice", "h")
	l.Remember = true
	long, v, _ := m.Create(ctx, l)
	if got := m.CookieMaxAge(short); got != 0 {
		t.Errorf("browser-session cookie: Max-Age %d, want 0", got)
	}
	if got := m.CookieMaxAge(long); got != 720*3600 {
		t.Errorf("remembered cookie: Max-Age %d, want %d", got, 720*3600)
	}
	// Unused for a day, then every day, it outlives the plain lifetime and idle timeout.
	for i := 0; i < 10; i++ {
		c.add(24 * time.Hour)
		s, err := m.Resolve(ctx, []string{v})
		if err != nil {
			t.Fatalf("remembered session after %d days: %v", i+1, err)
		}
		m.Renew(ctx, s)
	}
}

// TestRememberedSessionEndsAtRememberFor checks the deadline of a remembered session:
// remember_for after sign-in, whether it was used every day or never since, and neither
// the idle timeout nor the plain lifetime ends it sooner.
func TestRememberedSessionEndsAtRememberFor(t *testing.T) {
	const rememberFor = 720 * time.Hour
	for _, tc := range []struct {
		name  string
		every time.Duration // how often it is used; zero: never after sign-in
	}{
		{name: "never used", every: 0},
		{name: "used every day", every: 24 * time.Hour},
		{name: "used every idle timeout and a minute", every: 31 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			c := &clock{t: time.Unix(1_700_000_000, 0)}
			store := &Memory{now: c.now}
			keys, err := DeriveKeys([][]byte{secretA})
			if err != nil {
				t.Fatal(err)
			}
			m, err := NewManager(Options{Store: store, Keys: keys,
				IdleTimeout: 30 * time.Minute, Lifetime: time.Hour, RememberFor: rememberFor,
				Now: c.now})
			if err != nil {
				t.Fatal(err)
			}
			l := as("alice", "h")
			l.Remember = true
			_, v, err := m.Create(ctx, l)
			if err != nil {
				t.Fatal(err)
			}
			start := c.now()
			end := start.Add(rememberFor)

			// used as often as the case says, until a second before the end
			if tc.every > 0 {
				for c.now().Add(tc.every).Before(end) {
					c.add(tc.every)
					s, err := m.Resolve(ctx, []string{v})
					if err != nil {
						t.Fatalf("after %v: %v", c.now().Sub(start), err)
					}
					if err := m.Renew(ctx, s); err != nil {
						t.Fatalf("renewing after %v: %v", c.now().Sub(start), err)
					}
				}
			}
			c.add(end.Add(-time.Second).Sub(c.now()))
			if _, err := m.Resolve(ctx, []string{v}); err != nil {
				t.Fatalf("a second before remember_for: got %v, want the session", err)
			}

			// two seconds later it has ended, is told apart from no session, and is gone
			c.add(2 * time.Second)
			_, err = m.Resolve(ctx, []string{v})
			var ee *ExpiredError
			if !errors.As(err, &ee) || ee.User != "alice" {
				t.Fatalf("a second after remember_for: got %v, want alice's session expired",
					err)
			}
			if _, err := m.Resolve(ctx, []string{v}); !errors.Is(err, ErrNotFound) ||
				errors.As(err, &ee) {
				t.Errorf("asked again: got %v, want no session at all", err)
			}
		})
	}
}

// TestFarDeadlinesDoNotWrap checks that a lifetime, idle timeout or remember_for so long
// that a session's end would pass 2262, the last instant Unix nanoseconds hold, gives a
// session that lasts, rather than one whose deadline wraps round to the past and which
// is over as soon as it is made.
func TestFarDeadlinesDoNotWrap(t *testing.T) {
	for _, tt := range []struct {
		name string
		life time.Duration
	}{
		{"ten years", 87600 * time.Hour},
		{"past 2262", 250 * 365 * 24 * time.Hour},
		{"the longest duration", math.MaxInt64},
	} {
		for _, remember := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, remembered %v", tt.name, remember), func(t *testing.T) {
				ctx := context.Background()
				c := &clock{t: time.Unix(1_700_000_000, 0)}
				keys, _ := DeriveKeys([][]byte{secretA})
				m, err := NewManager(Options{Store: &Memory{now: c.now}, Keys: keys,
					IdleTimeout: tt.life, Lifetime: tt.life, RememberFor: tt.life,
					Now: c.now})
				if err != nil {
					t.Fatal(err)
				}
				l := as("alice", "h")
				l.Remember = remember
				s, v, err := m.Create(ctx, l)
				if err != nil {
					t.Fatal(err)
				}
				if !s.Expires.After(c.now()) || s.Expires.After(lastInstant) {
					t.Errorf("got Expires %v, want after %v and by %v", s.Expires, c.now(),
						lastInstant)
				}
				if ttl := m.ttl(s, c.now()); ttl < min(tt.life, 87600*time.Hour) {
					t.Errorf("got ttl %v, want at least %v", ttl, min(tt.life, 87600*time.Hour))
				}
				if got := m.CookieMaxAge(s); remember && got < 87600*3600 {
					t.Errorf("got Max-Age %d, want at least ten years", got)
				}
				// used a day later, renewed, and used again
				c.add(24 * time.Hour)
				got, err := m.Resolve(ctx, []string{v})
				if err != nil {
					t.Fatalf("Resolve a day later: %v", err)
				}
				if err := m.Renew(ctx, got); err != nil {
					t.Fatalf("Renew: %v", err)
				}
				if _, err := m.Resolve(ctx, []string{v}); err != nil {
					t.Errorf("Resolve after Renew: %v", err)
				}
			})
		}
	}
}

func TestRevoke(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	m := newManager(t, &Memory{now: c.now}, c, secretA)
	_, a1, _ := m.Create(ctx, as("alice", "h"))
	_, a2, _ := m.Create(ctx, as("alice", "h"))
	_, b, _ := m.Create(ctx, as("bob", "h"))
	if list, _ := m.List(ctx, "alice"); len(list) != 2 {
		t.Errorf("List(alice): %d sessions, want 2", len(list))
	}
	n, err := m.Revoke(ctx, "alice")
	if err != nil || n != 2 {
		t.Fatalf("Revoke: %d, %v; want 2", n, err)
	}
	for _, v := range []string{a1, a2} {
		if _, err := m.Resolve(ctx, []string{v}); !errors.Is(err, ErrNotFound) {
			t.Errorf("revoked session: got %v", err)
		}
	}
	if _, err := m.Resolve(ctx, []string{b}); err != nil {
		t.Errorf("bob's session: %v", err)
	}
}

func TestEditedRecordIsNoSession(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	store := &Memory{now: c.now}
	m := newManager(t, store, c, secretA)
	bob, _, _ := m.Create(ctx, as("bob", "h"))
	_, mallory, _ := m.Create(ctx, as("mallory", "h"))
	raw, _, _ := m.codec.Decode(mallory)
	key := storeKey(string(raw))

	for name, edit := range map[string]func(s *Session){
		"copied from another key": func(s *Session) { *s = *bob },
		"user swapped":            func(s *Session) { s.User = "bob" },
		"deadline pushed":         func(s *Session) { s.Expires = s.Expires.Add(1e6 * time.Hour) },
	} {
		t.Run(name, func(t *testing.T) {
			got, err := store.Get(ctx, key)
			if err != nil {
				t.Fatalf("mallory's record: %v", err)
			}
			orig := *got
			edit(got)
			store.Put(ctx, key, got, time.Hour)
			// no session, and one the gateway can tell of as a forgery
			if s, err := m.Resolve(ctx, []string{mallory}); !errors.Is(err, ErrForged) ||
				!errors.Is(err, ErrNotFound) {
				t.Errorf("edited record resolved to %+v, %v; want ErrForged", s, err)
			}
			if _, err := store.Get(ctx, key); !errors.Is(err, ErrNotFound) {
				t.Error("edited record left in the store")
			}
			store.Put(ctx, key, &orig, time.Hour)
		})
	}
	if s, err := m.Resolve(ctx, []string{mallory}); err != nil || s.User != "mallory" {
		t.Errorf("the untouched record: %v, %v", s, err)
	}
}

// TestShorterTimeoutsReachOldSessions: sessions made before the lifetime was shortened,
// or before remembering was turned off, end as the new settings say, not as those they
// were made under: an operator who cuts them short means every session.
func TestShorterTimeoutsReachOldSessions(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	store := &Memory{now: c.now}
	keys, err := DeriveKeys([][]byte{secretA})
	if err != nil {
		t.Fatal(err)
	}
	manager := func(o Options) *Manager {
		t.Helper()
		o.Store, o.Keys, o.Now = store, keys, c.now
		m, err := NewManager(o)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	before := manager(Options{IdleTimeout: 30 * time.Minute, Lifetime: 12 * time.Hour,
		RememberFor: 720 * time.Hour})
	_, plain, _ := before.Create(ctx, as("alice", "h"))
	l := as("bob", "h")
	l.Remember = true
	_, remembered, _ := before.Create(ctx, l)

	// a lifetime cut from 12h to 1h: alice, used every 20 minutes, ends at 1h
	shorter := manager(Options{IdleTimeout: 30 * time.Minute, Lifetime: time.Hour,
		RememberFor: 720 * time.Hour})
	for range 2 {
		c.add(20 * time.Minute)
		s, err := shorter.Resolve(ctx, []string{plain})
		if err != nil {
			t.Fatalf("within the shorter lifetime: %v", err)
		}
		shorter.Renew(ctx, s)
	}
	c.add(21 * time.Minute)
	if _, err := shorter.Resolve(ctx, []string{plain}); !errors.Is(err, ErrNotFound) {
		t.Errorf("past the shortened lifetime: got %v, want ErrNotFound", err)
	}

	// remembering turned off: bob's remembered session, unused for 61 minutes, is held
	// to the idle timeout and the lifetime
	s, err := before.Resolve(ctx, []string{remembered})
	if err != nil {
		t.Fatalf("remembered session under the settings it was made with: %v", err)
	}
	off := manager(Options{IdleTimeout: 30 * time.Minute, Lifetime: 12 * time.Hour,
		RememberFor: 720 * time.Hour, RememberOff: true})
	if got := off.CookieMaxAge(s); got != 0 {
		t.Errorf("remembering off: cookie Max-Age %d, want 0", got)
	}
	if _, err := off.Resolve(ctx, []string{remembered}); !errors.Is(err, ErrNotFound) {
		t.Errorf("remembered session past the idle timeout, remembering off: got %v, "+
			"want ErrNotFound", err)
	}
	// and a sign-in that asks to be remembered is not
	s, _, err = off.Create(ctx, l)
	if err != nil || s.Remember || off.CookieMaxAge(s) != 0 {
		t.Errorf("sign-in asking to be remembered, remembering off: %+v, %v", s, err)
	}
}

// TestSharedStoreKeepsRecordsOfOtherSecrets: in a store gateways share, one that moved
// onto a newer secret reseals a session under it; another gateway, which has yet to be
// given that secret, refuses the session but leaves the record for the first, where a
// store of its own would delete it as a forgery.
func TestSharedStoreKeepsRecordsOfOtherSecrets(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	ctx := context.Background()
	for _, shared := range []bool{true, false} {
		store := &Memory{now: c.now}
		ahead := newManager(t, store, c, secretB, secretA) // moved onto B
		keys, _ := DeriveKeys([][]byte{secretA})
		behind, err := NewManager(Options{Store: store, Keys: keys, Shared: shared,
			IdleTimeout: 30 * time.Minute, Lifetime: 12 * time.Hour, Now: c.now})
		if err != nil {
			t.Fatal(err)
		}
		// signed in under A, then resealed under B where the user went next
		_, v, err := behind.Create(ctx, Login{User: "alice", Backend: "file",
			PasswordHash: "h"})
		if err != nil {
			t.Fatal(err)
		}
		s, err := ahead.Resolve(ctx, []string{v})
		if err != nil {
			t.Fatal(err)
		}
		if err := ahead.Reseal(ctx, s, "h"); err != nil {
			t.Fatal(err)
		}

		_, err = behind.Resolve(ctx, []string{v})
		if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrForeign) != shared {
			t.Errorf("shared %v: the gateway behind: %v; want not found, and told it may "+
				"be another gateway's only in a shared store", shared, err)
		}
		_, err = ahead.Resolve(ctx, []string{v})
		if shared && err != nil {
			t.Errorf("shared store: the session is gone for the gateway ahead: %v", err)
		}
		if !shared && !errors.Is(err, ErrNotFound) {
			t.Errorf("a store of its own: the unsealed record was kept: %v", err)
		}
	}
}
