package boltstore

import (
	"sync"

	"github.com/frontgate/gateway/authn/session"
)

// cacheMax bounds how many decoded sessions the read cache holds.
const cacheMax = 16384

// readCache keeps decoded sessions, so that a session in use is not read from the file
// and decoded from JSON on each of its requests. It can be exact because the file is
// locked to this process: every write to it goes through this Store, and each write
// forgets what it touched once it has committed. A read that raced a write does not
// keep what it read: every forget moves the generation on, and a read keeps its result
// only if the generation it started under is still current. Cached sessions carry their
// expiry and are not served past it.
type readCache struct {
	mu  sync.RWMutex
	gen uint64
	m   map[string]cachedSession
}

type cachedSession struct {
	s       session.Session
	expires int64 // Unix nanoseconds, as in the record's header
}

// get returns a copy of the session cached under key, if it is live at now.
func (c *readCache) get(key string, now int64) (*session.Session, bool) {
	c.mu.RLock()
	e, ok := c.m[key]
	c.mu.RUnlock()
	if !ok || now >= e.expires {
		return nil, false
	}
	s := e.s
	return &s, true
}

// generation returns the generation a read starts under.
func (c *readCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// add keeps s, read from the file under generation gen, unless a write has been
// committed since.
func (c *readCache) add(key string, s *session.Session, expires int64, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if c.m == nil || len(c.m) >= cacheMax {
		c.m = make(map[string]cachedSession)
	}
	c.m[key] = cachedSession{s: *s, expires: expires}
}

// forget drops key after a committed write to it.
func (c *readCache) forget(key string) {
	c.mu.Lock()
	c.gen++
	delete(c.m, key)
	c.mu.Unlock()
}

// forgetAll drops everything after a committed write to many keys.
func (c *readCache) forgetAll() {
	c.mu.Lock()
	c.gen++
	c.m = nil
	c.mu.Unlock()
}
