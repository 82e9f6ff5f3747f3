// Package session keeps signed-in sessions on the server side and names them with signed,
// encrypted cookies.
//
// A browser holds only a random session id, sealed with securecookie under keys derived
// from the configured secrets. The store holds the session under a SHA-256 digest of that
// id, so even someone who reads the store cannot build a working cookie from it.
package session

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"
)

// Errors of this package.
var (
	// ErrNotFound means the store holds no live session under the key.
	ErrNotFound = errors.New("session not found")
	// ErrBadCookie means a cookie value was forged, expired or malformed.
	ErrBadCookie = errors.New("cookie value is not valid")
	// ErrForeign means no session was found, and a cookie value or a record in a store
	// other gateways share was sealed under no secret of this Manager's: it may be
	// another gateway's, under a secret this one has yet to be given, so its cookie is
	// best left in the browser. It wraps ErrNotFound.
	ErrForeign = fmt.Errorf("%w: sealed under a secret this gateway lacks", ErrNotFound)
	// ErrForged means no session was found, and an authentic cookie named a record in
	// the store that no secret sealed: written into the store by someone other than a
	// gateway, and deleted. It wraps ErrNotFound.
	ErrForged = fmt.Errorf("%w: the stored record was sealed under none of the secrets, "+
		"and was deleted", ErrNotFound)
)

// lastInstant is the latest time Unix nanoseconds hold, in April 2262: the record's MAC
// covers its times, and the stores keep their deadlines, in that form.
var lastInstant = time.Unix(0, math.MaxInt64)

// deadline returns d after t, or lastInstant when that is later. A deadline past it
// would wrap round to 1677 as nanoseconds, ending the session the moment it began;
// held at lastInstant, it is still more than two centuries off.
func deadline(t time.Time, d time.Duration) time.Time {
	if end := t.Add(d); end.Before(lastInstant) {
		return end
	}
	return lastInstant
}

// Session is one signed-in session, as the store keeps it.
type Session struct {
	// ID is the secret id the browser's cookie carries. It is not stored.
	ID string `json:"-"`
	// User is the username.
	User string `json:"user"`
	// Backend names the user store that authenticated the user.
	Backend string `json:"backend"`
	// AuthHash is a keyed digest of the user's password hash at sign-in; see
	// Keys.AuthHash. A different password hash today means the session is over.
	AuthHash string `json:"auth_hash"`
	// CSRFToken guards the session's state-changing forms, such as sign-out.
	CSRFToken string `json:"csrf"`
	// Created is when the user signed in.
	Created time.Time `json:"created"`
	// LastSeen is when the session was last used, to within the renewal interval.
	LastSeen time.Time `json:"last_seen"`
	// Expires is the absolute end of the session, however active it is.
	Expires time.Time `json:"expires"`
	// Remember is set when the user asked to be remembered: the cookie then outlives
	// the browser session.
	Remember bool `json:"remember,omitempty"`
	// ClientIP is the address the user signed in from, for listings.
	ClientIP string `json:"client_ip,omitempty"`
	// MAC authenticates the record under the session secrets; see Keys.sealRecord.
	MAC string `json:"mac"`

	// reissue is set when the cookie was sealed under an older secret.
	reissue bool
	// stale is set when the record was sealed under an older secret.
	stale bool
}

// Reissue reports whether the browser's cookie was sealed under an older secret and
// should be replaced by one under the newest.
func (s *Session) Reissue() bool { return s.reissue }

// Store keeps sessions. Implementations are safe for concurrent use. Keys are digests of
// session ids, never ids. An error other than ErrNotFound means the store could not be
// used; callers then fail closed.
type Store interface {
	// Get returns the session stored under key, or ErrNotFound.
	Get(ctx context.Context, key string) (*Session, error)
	// Put stores s under key for ttl.
	Put(ctx context.Context, key string, s *Session, ttl time.Duration) error
	// Touch sets the LastSeen of the session under key and extends its ttl, only if it is
	// still stored: a renewal racing a sign-out must not bring the session back. It
	// returns ErrNotFound when there is nothing to touch.
	Touch(ctx context.Context, key string, lastSeen time.Time, ttl time.Duration) error
	// Replace stores s under key for ttl, only if a session is still stored there, as
	// Touch does: it re-seals a session without bringing back one deleted meanwhile. It
	// returns ErrNotFound when there is nothing to replace.
	Replace(ctx context.Context, key string, s *Session, ttl time.Duration) error
	// Delete removes the session under key. Deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// List returns the stored sessions of user, or of every user when user is empty, in
	// no particular order. Sessions past their ttl are left out.
	List(ctx context.Context, user string) ([]Entry, error)
}

// Checker is a Store that can tell of a fault of its own that reads and writes do not
// show, such as a file removed while open. Manager.Check reports it.
type Checker interface {
	Check(ctx context.Context) error
}

// Counter is implemented by a Store that can count its live sessions, for the gateway's
// metrics. Count returns how many sessions are stored with more than margin left of their
// ttl, at about the moment it is called: with a margin of ExpiryGrace, the sessions that
// have not expired. Each store's doc says how exact it is and what it costs. It is safe
// for concurrent use, and returns an error wrapping ctx's when ctx ends first. An error
// means the store could not be counted, never that it holds no sessions.
type Counter interface {
	Count(ctx context.Context, margin time.Duration) (int, error)
}

// Entry is a stored session with the key it is stored under.
type Entry struct {
	Key     string
	Session Session
}

// Marshal encodes s for a store.
func Marshal(s *Session) ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encoding session: %w", err)
	}
	return b, nil
}

// Unmarshal decodes a session a store holds. Anything that is not a whole session (a
// torn write, a foreign value under the key) is an error, never a session.
func Unmarshal(b []byte) (*Session, error) {
	var s Session
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("decoding session: %w", err)
	}
	if s.User == "" || s.Backend == "" || s.AuthHash == "" || s.CSRFToken == "" ||
		s.Created.IsZero() || s.Expires.IsZero() || s.LastSeen.IsZero() {
		return nil, errors.New("decoding session: incomplete record")
	}
	return &s, nil
}

// ListedIDLength is how much of the key a session is stored under listings show: enough
// to tell sessions apart and revoke one by, useless to sign in with.
const ListedIDLength = 12

// ListedID returns the id a listing shows for the session whose secret id is id, as
// audit records name it.
func ListedID(id string) string { return storeKey(id)[:ListedIDLength] }

// storeKey is the key a session id is stored under.
func storeKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Memory is a Store in process memory: sessions end when the process does. The zero value
// is ready to use.
type Memory struct {
	// Expired, when set before the store is first used, is called with the user of each
	// session the store drops because its time in the store ran out, after the drop and
	// outside the store's lock: the gateway writes an audit record of it. Deletions are
	// not reported.
	Expired func(user string)

	mu        sync.Mutex
	m         map[string]memEntry
	lastSweep time.Time
	now       func() time.Time
	gone      []string // users of sessions dropped as expired, for Expired; under mu
}

// memEntry is a session as the memory store keeps it, in as little room as it can
// take: its strings one after another in one string, the two hex digests (the auth hash
// and the record's MAC) as their 32 bytes, its times as Unix nanoseconds. The entry is
// then small enough to sit in the map itself; a Session read out shares the other
// strings and allocates only the two digests' hex.
type memEntry struct {
	text                        string    // user, backend, auth hash, csrf, client ip, mac
	ends                        [6]uint32 // where each of them ends in text
	created, lastSeen, deadline int64     // the session's own times
	expires                     int64     // when the store drops it
	flags                       uint8     // memRemember, and which fields are packed
}

const (
	memRemember   = 1 << 0
	memPackedHash = 1 << 1 // the auth hash is kept as its bytes
	memPackedMAC  = 1 << 2 // the MAC is kept as its bytes
)

func newMemEntry(s *Session, expires time.Time) memEntry {
	e := memEntry{created: s.Created.UnixNano(), lastSeen: s.LastSeen.UnixNano(),
		deadline: s.Expires.UnixNano(), expires: expires.UnixNano()}
	if s.Remember {
		e.flags |= memRemember
	}
	fields := [...]string{s.User, s.Backend, s.AuthHash, s.CSRFToken, s.ClientIP, s.MAC}
	for _, p := range [...]struct {
		i   int
		bit uint8
	}{{2, memPackedHash}, {5, memPackedMAC}} {
		if raw, ok := packHex(fields[p.i]); ok {
			fields[p.i] = raw
			e.flags |= p.bit
		}
	}
	n := 0
	for _, f := range fields {
		n += len(f)
	}
	var b strings.Builder
	b.Grow(n) // one allocation of the very size
	for i, f := range fields {
		b.WriteString(f)
		e.ends[i] = uint32(b.Len())
	}
	e.text = b.String()
	return e
}

// packHex returns the bytes that h, a lower-case hex SHA-256 digest, spells, and false
// for anything else, which is then kept as it is.
func packHex(h string) (string, bool) {
	if len(h) != 2*sha256.Size || strings.ToLower(h) != h {
		return "", false
	}
	raw, err := hex.DecodeString(h)
	if err != nil {
		return "", false
	}
	return string(raw), true
}

func (e *memEntry) field(i int) string {
	start := uint32(0)
	if i > 0 {
		start = e.ends[i-1]
	}
	return e.text[start:e.ends[i]]
}

// digest returns field i, written out in hex again if it was packed.
func (e *memEntry) digest(i int, packed uint8) string {
	if e.flags&packed == 0 {
		return e.field(i)
	}
	var raw [sha256.Size]byte // packed fields are always this long
	var buf [2 * sha256.Size]byte
	copy(raw[:], e.field(i))
	hex.Encode(buf[:], raw[:])
	return string(buf[:])
}

func (e *memEntry) session() Session {
	return Session{User: e.field(0), Backend: e.field(1),
		AuthHash: e.digest(2, memPackedHash), CSRFToken: e.field(3), ClientIP: e.field(4),
		MAC: e.digest(5, memPackedMAC), Created: time.Unix(0, e.created),
		LastSeen: time.Unix(0, e.lastSeen), Expires: time.Unix(0, e.deadline),
		Remember: e.flags&memRemember != 0}
}

// live reports whether the store still keeps e at now.
func (e *memEntry) live(now time.Time) bool { return now.UnixNano() < e.expires }

var (
	_ Store   = (*Memory)(nil)
	_ Counter = (*Memory)(nil)
)

// NewMemory returns an empty Memory store.
func NewMemory() *Memory { return &Memory{} }

// NewMemoryWithClock returns an empty Memory store that reads the time from now.
func NewMemoryWithClock(now func() time.Time) *Memory { return &Memory{now: now} }

func (m *Memory) clock() time.Time {
	if m.now != nil {
		return m.now()
	}
	return time.Now()
}

// Get implements Store.
func (m *Memory) Get(_ context.Context, key string) (*Session, error) {
	m.mu.Lock()
	e, ok := m.liveLocked(key, m.clock())
	m.unlock()
	if !ok {
		return nil, ErrNotFound
	}
	s := e.session()
	return &s, nil
}

// Put implements Store.
func (m *Memory) Put(_ context.Context, key string, s *Session, ttl time.Duration) error {
	now := m.clock()
	m.mu.Lock()
	defer m.unlock()
	if m.m == nil {
		m.m = make(map[string]memEntry)
	}
	// as in every store, the id is not kept: only the browser holds it
	m.m[key] = newMemEntry(s, deadline(now, ttl))
	m.sweepLocked(now)
	return nil
}

// Touch implements Store.
func (m *Memory) Touch(_ context.Context, key string, seen time.Time, ttl time.Duration) error {
	now := m.clock()
	m.mu.Lock()
	defer m.unlock()
	e, ok := m.liveLocked(key, now)
	if !ok {
		return ErrNotFound
	}
	e.lastSeen = seen.UnixNano()
	e.expires = deadline(now, ttl).UnixNano()
	m.m[key] = e
	return nil
}

// Replace implements Store.
func (m *Memory) Replace(_ context.Context, key string, s *Session, ttl time.Duration) error {
	now := m.clock()
	m.mu.Lock()
	defer m.unlock()
	if _, ok := m.liveLocked(key, now); !ok {
		return ErrNotFound
	}
	m.m[key] = newMemEntry(s, deadline(now, ttl))
	return nil
}

// liveLocked returns the entry under key if it is live at now, and drops an expired one.
// m.mu must be held.
func (m *Memory) liveLocked(key string, now time.Time) (memEntry, bool) {
	e, ok := m.m[key]
	if ok && !e.live(now) {
		m.dropLocked(key, &e)
		ok = false
	}
	return e, ok
}

// dropLocked deletes the expired entry e under key, noting its user for Expired. m.mu
// must be held.
func (m *Memory) dropLocked(key string, e *memEntry) {
	delete(m.m, key)
	if m.Expired != nil {
		m.gone = append(m.gone, e.field(0))
	}
}

// unlock releases m.mu, then reports the sessions dropped meanwhile to Expired.
func (m *Memory) unlock() {
	gone := m.gone
	m.gone = nil
	m.mu.Unlock()
	for _, user := range gone {
		m.Expired(user)
	}
}

// Delete implements Store.
func (m *Memory) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	delete(m.m, key)
	m.mu.Unlock()
	return nil
}

// List implements Store.
func (m *Memory) List(_ context.Context, user string) ([]Entry, error) {
	now := m.clock()
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Entry
	for k, e := range m.m {
		if e.live(now) && (user == "" || e.field(0) == user) {
			out = append(out, Entry{Key: k, Session: e.session()})
		}
	}
	return out, nil
}

// Count implements Counter: it counts the sessions with more than margin left of their
// ttl, exactly, in one pass over the map under its lock.
func (m *Memory) Count(ctx context.Context, margin time.Duration) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("counting sessions: %w", err)
	}
	now := m.clock().Add(margin)
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, e := range m.m {
		if e.live(now) {
			n++
		}
	}
	return n, nil
}

// Len returns the number of sessions held, expired ones not yet swept included.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.m)
}

// sweepLocked drops expired sessions at most once a minute, on a write, so memory does
// not fill with sessions nobody comes back to.
func (m *Memory) sweepLocked(now time.Time) {
	if now.Sub(m.lastSweep) < time.Minute {
		return
	}
	m.lastSweep = now
	for k, e := range m.m {
		if !e.live(now) {
			m.dropLocked(k, &e)
		}
	}
}
