package redisstore

import (
	"sync"

	"github.com/frontgate/gateway/authn/session"
)

// memoMax bounds how many decoded records the memo holds.
const memoMax = 16384

// decodeMemo remembers the last record read under each key, as Redis sent it, with the
// session it decoded to. A read whose bytes are exactly the remembered ones reuses the
// decoding instead of parsing the JSON again. Every read still asks Redis, so a session
// that another gateway ended or renewed is seen at once: the memo only ever saves the
// parsing of bytes already parsed.
type decodeMemo struct {
	mu sync.RWMutex
	m  map[string]memoEntry
}

type memoEntry struct {
	raw string
	s   session.Session
}

// get returns a copy of the session raw decodes to, if raw is what was last read
// under rkey.
func (d *decodeMemo) get(rkey, raw string) (*session.Session, bool) {
	d.mu.RLock()
	e, ok := d.m[rkey]
	d.mu.RUnlock()
	if !ok || e.raw != raw {
		return nil, false
	}
	s := e.s
	return &s, true
}

// add remembers that raw, read under rkey, decodes to s.
func (d *decodeMemo) add(rkey, raw string, s *session.Session) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil || len(d.m) >= memoMax {
		d.m = make(map[string]memoEntry)
	}
	d.m[rkey] = memoEntry{raw: raw, s: *s}
}

// forget drops what was read under rkey.
func (d *decodeMemo) forget(rkey string) {
	d.mu.Lock()
	delete(d.m, rkey)
	d.mu.Unlock()
}
