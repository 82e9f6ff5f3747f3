package assertion

import (
	"slices"
	"sync"
	"time"
)

// DefaultCacheSize is the number of assertions a Cache holds when NewCache is given a
// size of zero or less.
const DefaultCacheSize = 4096

// Cache hands out a Signer's assertions again while they are fresh, to spare a signature,
// most of Sign's cost, on every request of a user to the same app. It is safe for
// concurrent use.
//
// Each assertion it returns has at least half its lifetime left: one issued at iat with
// a given ttl is reused while now is before iat + ttl/2, and only for identical claims
// and ttl. What an app gives up is a fresh "iat" and "jti" on every request: an app that
// treats a repeated "jti" as a replay must be served by a plain Signer instead.
//
// A Cache keeps one assertion per subject and audience, and at most its size of them.
type Cache struct {
	signer *Signer
	size   int

	mu      sync.Mutex
	entries map[cacheKey]*cacheEntry
}

type cacheKey struct{ subject, audience, upstream string }

// cacheEntry is an assertion and everything it was issued for.
type cacheEntry struct {
	email  string
	name   string
	groups []string
	ttl    time.Duration
	iat    time.Time
	token  string
}

// NewCache returns a Cache of up to size assertions signed by s; a size of zero or less
// means [DefaultCacheSize].
func NewCache(s *Signer, size int) *Cache {
	if size <= 0 {
		size = DefaultCacheSize
	}
	return &Cache{signer: s, size: size, entries: make(map[cacheKey]*cacheEntry)}
}

// Sign returns a fresh enough assertion of c from the cache, or else one from the
// Signer's Sign, which it keeps. Its errors are Sign's.
func (k *Cache) Sign(c Claims, now time.Time, ttl time.Duration) (string, error) {
	key := cacheKey{c.Subject, c.Audience, c.Upstream}
	k.mu.Lock()
	e := k.entries[key]
	k.mu.Unlock()
	if e != nil && e.fits(c, ttl) && e.fresh(now) {
		return e.token, nil
	}

	token, err := k.signer.Sign(c, now, ttl)
	if err != nil {
		return "", err
	}
	e = &cacheEntry{
		email:  c.Email,
		name:   c.Name,
		groups: slices.Clone(c.Groups), // the caller may reuse its slice
		ttl:    ttl,
		iat:    time.Unix(now.Unix(), 0),
		token:  token,
	}
	k.mu.Lock()
	if _, ok := k.entries[key]; !ok && len(k.entries) >= k.size {
		k.evict(now)
	}
	k.entries[key] = e
	k.mu.Unlock()
	return token, nil
}

// fits reports whether e was issued for the same claims and ttl as asked now; the
// subject and audience match already, being the key.
func (e *cacheEntry) fits(c Claims, ttl time.Duration) bool {
	return e.ttl == ttl && e.email == c.Email && e.name == c.Name && slices.Equal(e.groups, c.Groups)
}

// fresh reports whether e still has more than half its lifetime left at now. An iat
// after now, from a clock that stepped back, is not fresh: its nbf could be in the future.
func (e *cacheEntry) fresh(now time.Time) bool {
	age := now.Sub(e.iat)
	return age >= 0 && age < e.ttl/2
}

// evict makes room in a full cache: it drops every stale entry and, if that frees less
// than a quarter of the cache, arbitrary ones too, so that the next evictions are not
// due on the very next insert. k.mu must be held.
func (k *Cache) evict(now time.Time) {
	for key, e := range k.entries {
		if !e.fresh(now) {
			delete(k.entries, key)
		}
	}
	// Map iteration order is random, so the survivors are a random sample: no user can
	// arrange to keep their entry while pushing out others.
	for key := range k.entries {
		if len(k.entries) <= k.size*3/4 {
			break
		}
		delete(k.entries, key)
	}
}
