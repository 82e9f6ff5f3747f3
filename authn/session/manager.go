package session

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// CookieName is the name of the session cookie.
const CookieName = "gateway_session"

// RenewInterval is how often a session in use is written back to renew its idle
// deadline: at most once a minute, since writing on every request would put a store
// write on every click; more often when the idle timeout is short, so that a session
// in use never runs out between renewals.
const RenewInterval = time.Minute

// Options configures a Manager.
type Options struct {
	// Store keeps the sessions. Required.
	Store Store
	// Keys seal the cookies. Required.
	Keys *Keys
	// IdleTimeout ends a session unused for this long. Required.
	IdleTimeout time.Duration
	// Lifetime ends a session this long after sign-in. Required.
	Lifetime time.Duration
	// RememberFor replaces Lifetime for sessions whose user asked to be remembered.
	// Zero means Lifetime.
	RememberFor time.Duration
	// RememberOff holds sessions whose user asked to be remembered to IdleTimeout and
	// Lifetime, as any other: the operator no longer offers remembering, and the
	// sessions made while it was offered end as the others do.
	RememberOff bool
	// Shared says that other gateways use the store too, whose secrets may differ from
	// Keys for a while, as they change one gateway at a time: a record none of Keys
	// sealed may be one of theirs, sealed under a secret they have and this Manager
	// lacks. It is refused but left in the store, where on its own it would be deleted.
	Shared bool
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Manager creates, finds, renews and ends sessions. Safe for concurrent use.
type Manager struct {
	store    Store
	keys     *Keys
	codec    *Codec
	idle     time.Duration
	lifetime time.Duration
	remember time.Duration // zero when remembering is off
	now      func() time.Time
	decoded  decodeCache
	shared   bool
	// the secrets this gateway's reloads removed, and their keys; see Retire
	retired atomic.Pointer[retiredKeys]
}

// retiredKeys are secrets removed from a Manager's predecessors, and their keys.
type retiredKeys struct {
	secrets [][]byte
	keys    *Keys
}

// maxRetired bounds how many removed secrets a Manager remembers.
const maxRetired = 16

// NewManager returns a Manager for o.
func NewManager(o Options) (*Manager, error) {
	if o.Store == nil || o.Keys == nil {
		return nil, errors.New("session manager needs a store and keys")
	}
	if o.IdleTimeout <= 0 || o.Lifetime <= 0 {
		return nil, errors.New("session timeouts must be positive")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RememberFor <= 0 {
		o.RememberFor = o.Lifetime
	}
	if o.RememberOff {
		o.RememberFor = 0
	}
	return &Manager{
		store: o.Store, keys: o.Keys, idle: o.IdleTimeout, lifetime: o.Lifetime,
		remember: o.RememberFor, now: o.Now, shared: o.Shared,
		// The cookie's own time-stamp is a second, independent bound on its age.
		codec: o.Keys.Codec(CookieName, max(o.Lifetime, o.RememberFor)),
	}, nil
}

// Keys returns the keys the Manager seals cookies with.
func (m *Manager) Keys() *Keys { return m.keys }

// Login describes a sign-in for Create.
type Login struct {
	// User is the username; Backend names the store that authenticated the user.
	User, Backend string
	// PasswordHash is the user's current password hash, which the session is bound to.
	PasswordHash string
	// Remember asks for a session that lasts RememberFor and outlives the browser.
	Remember bool
	// ClientIP is where the user signed in from, for listings.
	ClientIP string
}

// Create starts a session for l, bound to the user's current password hash. It returns
// the session and the cookie value that names it. The id is always new: a session id a
// browser arrives with is never reused, which defeats session fixation.
func (m *Manager) Create(ctx context.Context, l Login) (*Session, string, error) {
	now := m.now()
	l.Remember = l.Remember && m.remember > 0
	life := m.lifetime
	if l.Remember {
		life = m.remember
	}
	s := &Session{
		ID:        randomToken(),
		User:      l.User,
		Backend:   l.Backend,
		AuthHash:  m.keys.AuthHash(l.PasswordHash),
		CSRFToken: randomToken(),
		Created:   now,
		LastSeen:  now,
		Expires:   deadline(now, life),
		Remember:  l.Remember,
		ClientIP:  l.ClientIP,
	}
	value, err := m.codec.Encode([]byte(s.ID))
	if err != nil {
		return nil, "", err
	}
	s.MAC = m.keys.sealRecord(storeKey(s.ID), s)
	if err := m.store.Put(ctx, storeKey(s.ID), s, m.ttl(s, now)); err != nil {
		return nil, "", fmt.Errorf("storing session: %w", err)
	}
	return s, value, nil
}

// Resolve returns the live session that the cookie values name. A request can carry
// several cookies of the same name; exactly one of them must name a live session. If
// none does it returns ErrNotFound, or an *ExpiredError if one had run out, and if two
// name different sessions neither is used and it returns ErrNotFound as well. Other
// errors come from the store.
//
// Each session is looked up once, however many values name it, and a request with more
// than MaxCookieValues different values has no session: browsers send one or two, and
// a request with hundreds would cost a store lookup each.
func (m *Manager) Resolve(ctx context.Context, values []string) (*Session, error) {
	var found, expired *Session
	foreign := false // a value or record that may be another gateway's
	forged := false  // a record no secret sealed, deleted
	now := m.now()
	var seen, ids [MaxCookieValues]string // the values seen, and the ids looked up
	nseen, nids := 0, 0
	for _, v := range values {
		if slices.Contains(seen[:nseen], v) {
			continue
		}
		if nseen == MaxCookieValues {
			return nil, ErrNotFound
		}
		seen[nseen] = v
		nseen++
		c, ok := m.decode(v, now)
		if !ok {
			foreign = foreign || m.shared
			continue
		}
		id, key, old := c.id, c.key, c.old
		if slices.Contains(ids[:nids], id) {
			continue
		}
		ids[nids] = id
		nids++
		s, err := m.store.Get(ctx, key)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("loading session: %w", err)
		}
		// A record the secrets did not seal was written by someone else into the store:
		// it is no session, and it goes; in a shared store it may be another gateway's,
		// sealed under a secret this one lacks, and stays.
		sealed, newest := m.keys.recordSealed(key, s)
		if !sealed && m.shared {
			foreign = true
			continue
		}
		if !sealed {
			if err := m.store.Delete(ctx, key); err != nil {
				return nil, fmt.Errorf("deleting forged session: %w", err)
			}
			forged = true
			continue
		}
		if !m.live(s, now) {
			// An expired session is deleted at once so nothing lingers.
			if err := m.store.Delete(ctx, key); err != nil {
				return nil, fmt.Errorf("deleting expired session: %w", err)
			}
			s.ID = id
			expired = s
			continue
		}
		if found != nil {
			return nil, ErrNotFound
		}
		s.ID = id
		s.reissue, s.stale = old, !newest
		found = s
	}
	if found == nil {
		switch {
		case expired != nil:
			return nil, &ExpiredError{User: expired.User, ID: expired.ID}
		case foreign:
			return nil, ErrForeign
		case forged:
			return nil, ErrForged
		}
		return nil, ErrNotFound
	}
	return found, nil
}

// MaxCookieValues is how many different values of the session cookie a request may bring
// and still have a session.
const MaxCookieValues = 8

// decodeTTL is how long an authentic cookie value's decoding is remembered.
const decodeTTL = time.Minute

// decodeMax bounds how many decodings are remembered at once.
const decodeMax = 8192

// decodeCache remembers which session an authentic cookie value names, so that a
// browser's every request does not pay for opening its cookie again (a MAC, an AES
// decryption and two base64 decodings, the largest part of a session check). Only
// values that opened are kept, under the exact value, and only for decodeTTL. Whether
// the session they name is live is asked of the store on every request, so nothing it
// keeps lets a revoked, expired or signed-out session through; the cookie's own
// time-stamp, a second bound on its age beside the record's deadlines, is at most
// decodeTTL late.
type decodeCache struct {
	mu sync.RWMutex
	m  map[string]openedCookie
}

// openedCookie is what a session cookie's value names.
type openedCookie struct {
	id    string
	key   string    // storeKey(id)
	old   bool      // sealed under an older secret
	until time.Time // when to open the value again
}

// decode opens a session cookie's value, from the cache when it is there.
func (m *Manager) decode(v string, now time.Time) (openedCookie, bool) {
	m.decoded.mu.RLock()
	c, ok := m.decoded.m[v]
	m.decoded.mu.RUnlock()
	if ok && now.Before(c.until) {
		return c, true
	}
	raw, old, err := m.codec.Decode(v)
	if err != nil {
		return openedCookie{}, false
	}
	id := string(raw)
	c = openedCookie{id: id, key: storeKey(id), old: old, until: now.Add(decodeTTL)}
	m.decoded.mu.Lock()
	switch {
	case m.decoded.m == nil:
		m.decoded.m = make(map[string]openedCookie)
	case len(m.decoded.m) >= decodeMax:
		maps.DeleteFunc(m.decoded.m, func(_ string, c openedCookie) bool {
			return !now.Before(c.until)
		})
		if len(m.decoded.m) >= decodeMax*3/4 {
			// Still mostly live entries: start again. Every value still opens; it
			// only costs a decode.
			m.decoded.m = make(map[string]openedCookie)
		}
	}
	// A copy: the value is part of a request's Cookie header, which it must not keep.
	m.decoded.m[strings.Clone(v)] = c
	m.decoded.mu.Unlock()
	return c, true
}

// ExpiredError reports that the only session a request named had run out, and was
// deleted. It matches ErrNotFound with errors.Is.
type ExpiredError struct {
	// User is the username the session belonged to.
	User string
	// ID is the session's id, for ListedID.
	ID string
}

func (e *ExpiredError) Error() string { return "session expired" }

// Is makes errors.Is(err, ErrNotFound) true.
func (e *ExpiredError) Is(target error) bool { return target == ErrNotFound }

// Live reports whether s is within both its idle deadline and its lifetime, as the
// Manager's settings have them now: a session made under longer ones may have ended.
func (m *Manager) Live(s *Session) bool { return m.live(s, m.now()) }

// live reports whether s is within both its idle deadline and its lifetime.
func (m *Manager) live(s *Session, now time.Time) bool {
	return now.Before(m.end(s)) && now.Before(deadline(s.LastSeen, m.idleFor(s)))
}

// remembered reports whether s is held to RememberFor: its user asked to be
// remembered, and remembering is on.
func (m *Manager) remembered(s *Session) bool { return s.Remember && m.remember > 0 }

// end is the end of the lifetime of s: the one it was given at sign-in, or, when the
// lifetime has been shortened since, the shorter one.
func (m *Manager) end(s *Session) time.Time {
	life := m.lifetime
	if m.remembered(s) {
		life = m.remember
	}
	if end := deadline(s.Created, life); end.Before(s.Expires) {
		return end
	}
	return s.Expires
}

// idleFor is how long s may go unused. A remembered session is meant to outlast a
// closed browser and a weekend away, so only its lifetime bounds it.
func (m *Manager) idleFor(s *Session) time.Duration {
	if m.remembered(s) {
		return m.remember
	}
	return m.idle
}

// ExpiryGrace is how long the store keeps a session past its deadline. The session can
// no longer be used, but a user who comes back within it is told apart from one who never
// had a session, and the expiry is recorded, before the record is deleted. A session with
// no more than ExpiryGrace left of its ttl has expired.
const ExpiryGrace = 5 * time.Minute

// ttl is how long the store should keep s: until the earlier of its deadlines, and the
// grace after it. It saturates rather than wrap round to a negative ttl, which would
// have the store drop a session the moment it was made.
func (m *Manager) ttl(s *Session, now time.Time) time.Duration {
	end := deadline(s.LastSeen, m.idleFor(s))
	if e := m.end(s); e.Before(end) {
		end = e
	}
	return min(end.Sub(now), math.MaxInt64-ExpiryGrace) + ExpiryGrace
}

// Renew extends the idle deadline of s if it was last renewed more than RenewInterval
// ago (or a quarter of the idle timeout, if that is shorter). The write is conditional:
// a session deleted meanwhile stays deleted, and Renew then returns ErrNotFound.
func (m *Manager) Renew(ctx context.Context, s *Session) error {
	now := m.now()
	if now.Sub(s.LastSeen) < min(RenewInterval, m.idleFor(s)/4) {
		return nil
	}
	s.LastSeen = now
	err := m.store.Touch(ctx, storeKey(s.ID), now, m.ttl(s, now))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("renewing session: %w", err)
	}
	return err
}

// Reseal seals s again under the newest secret, once the caller has checked with Bound
// that passwordHash is the user's current hash: the record's MAC, and the digest of the
// password hash it is bound to. It does nothing unless the record was sealed under an
// older secret. A session rotated onto the newest secret this way outlives the removal of
// the old one. The write is conditional, as a renewal's is: a session deleted meanwhile
// stays deleted, and Reseal then returns ErrNotFound.
func (m *Manager) Reseal(ctx context.Context, s *Session, passwordHash string) error {
	if !s.stale {
		return nil
	}
	now := m.now()
	s.AuthHash = m.keys.AuthHash(passwordHash)
	s.MAC = m.keys.sealRecord(storeKey(s.ID), s)
	err := m.store.Replace(ctx, storeKey(s.ID), s, m.ttl(s, now))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("resealing session: %w", err)
	}
	if err == nil {
		s.stale = false
	}
	return err
}

// Delete ends s in the store.
func (m *Manager) Delete(ctx context.Context, s *Session) error {
	if err := m.store.Delete(ctx, storeKey(s.ID)); err != nil {
		return fmt.Errorf("deleting session: %w", err)
	}
	return nil
}

// DeleteCookies ends every session that the cookie values name, live or not, up to
// MaxCookieValues of them, each once. Sign-in uses it to end whatever session the browser
// arrived with before it creates a new one.
func (m *Manager) DeleteCookies(ctx context.Context, values []string) error {
	var ids [MaxCookieValues]string
	n := 0
	for _, v := range values {
		raw, _, err := m.codec.Decode(v)
		if err != nil || slices.Contains(ids[:n], string(raw)) {
			continue
		}
		if n == MaxCookieValues {
			break
		}
		ids[n] = string(raw)
		n++
		if err := m.store.Delete(ctx, storeKey(string(raw))); err != nil {
			return fmt.Errorf("deleting session: %w", err)
		}
	}
	return nil
}

// CookieMaxAge returns the Max-Age for the cookie naming s: zero, a browser-session
// cookie, unless the user asked to be remembered; then the time left in its lifetime.
func (m *Manager) CookieMaxAge(s *Session) int {
	if !m.remembered(s) {
		return 0
	}
	return max(int((m.end(s).Sub(m.now())+time.Second-1)/time.Second), 1)
}

// Revoke ends every session of user and returns how many there were.
func (m *Manager) Revoke(ctx context.Context, user string) (int, error) {
	list, err := m.store.List(ctx, user)
	if err != nil {
		return 0, fmt.Errorf("listing sessions: %w", err)
	}
	for _, e := range list {
		if err := m.store.Delete(ctx, e.Key); err != nil {
			return 0, fmt.Errorf("deleting session: %w", err)
		}
	}
	return len(list), nil
}

// RevokeKey ends the session stored under key, as List shows it.
func (m *Manager) RevokeKey(ctx context.Context, key string) error {
	if err := m.store.Delete(ctx, key); err != nil {
		return fmt.Errorf("deleting session: %w", err)
	}
	return nil
}

// List returns the live sessions of user, or of everyone when user is empty.
func (m *Manager) List(ctx context.Context, user string) ([]Entry, error) {
	list, err := m.Stored(ctx, user)
	if err != nil {
		return nil, err
	}
	now := m.now()
	live := list[:0]
	for _, e := range list {
		if m.live(&e.Session, now) {
			live = append(live, e)
		}
	}
	return live, nil
}

// Stored returns every session the store holds for user, or for every user when user
// is empty, live or not: those past a deadline the Manager's settings have shortened
// since they were made among them, which List leaves out.
func (m *Manager) Stored(ctx context.Context, user string) ([]Entry, error) {
	list, err := m.store.List(ctx, user)
	if err != nil {
		return nil, fmt.Errorf("reading the session store: %w", err)
	}
	return list, nil
}

// Check reports whether the store answers, for readiness checks: a lookup of a key no
// session has must come back "not found", not fail.
func (m *Manager) Check(ctx context.Context) error {
	_, err := m.store.Get(ctx, "readiness-probe")
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("session store: %w", err)
	}
	if c, ok := m.store.(Checker); ok {
		return c.Check(ctx)
	}
	return nil
}

// CheckWrite reports whether the store can be written: it writes a record of its own,
// which no cookie names, for a few seconds, and deletes it.
func (m *Manager) CheckWrite(ctx context.Context) error {
	now := m.now()
	// a user name no users file can hold, so that no listing of a user shows it
	s := &Session{ID: "readiness-probe", User: "\x00readiness-probe", Backend: "probe",
		AuthHash: "probe", CSRFToken: "probe", Created: now, LastSeen: now,
		Expires: now.Add(10 * time.Second)}
	if err := m.store.Put(ctx, "readiness-probe-write", s, 10*time.Second); err != nil {
		return fmt.Errorf("session store: writing: %w", err)
	}
	if err := m.store.Delete(ctx, "readiness-probe-write"); err != nil {
		return fmt.Errorf("session store: writing: %w", err)
	}
	return nil
}

// Bound reports whether s was created under passwordHash, the user's current hash.
func (m *Manager) Bound(s *Session, passwordHash string) bool {
	return m.keys.AuthHashMatches(s.AuthHash, passwordHash)
}

// Sealed reports whether the record s, stored under key, was sealed under one of the
// current secrets. One that was not can never be used again: its secret was removed, or
// someone else wrote it into the store.
func (m *Manager) Sealed(key string, s *Session) bool {
	ok, _ := m.keys.recordSealed(key, s)
	return ok
}

// Shared reports whether other gateways use the Manager's store too (Options.Shared).
func (m *Manager) Shared() bool { return m.shared }

// Retire records secrets as removed from this gateway's list by the change that made m:
// a record in a shared store that one of them sealed, and none of the current ones, is a
// session that change ended, where a record of a secret never seen here may be another
// gateway's. The secrets its predecessor had retired are passed on with Retired, so that
// they are remembered across changes; the most recent maxRetired are kept.
func (m *Manager) Retire(secrets [][]byte) error {
	var all [][]byte
	if r := m.retired.Load(); r != nil {
		all = slices.Clone(r.secrets)
	}
	for _, s := range secrets {
		if !slices.ContainsFunc(all, func(o []byte) bool { return string(o) == string(s) }) {
			all = append(all, s)
		}
	}
	if len(all) == 0 {
		return nil
	}
	all = all[max(0, len(all)-maxRetired):]
	keys, err := DeriveKeys(all)
	if err != nil {
		return err
	}
	m.retired.Store(&retiredKeys{secrets: all, keys: keys})
	return nil
}

// Retired returns the secrets Retire recorded.
func (m *Manager) Retired() [][]byte {
	if r := m.retired.Load(); r != nil {
		return r.secrets
	}
	return nil
}

// SealedRetired reports whether the record s, stored under key, was sealed under one of
// the secrets Retire recorded.
func (m *Manager) SealedRetired(key string, s *Session) bool {
	r := m.retired.Load()
	if r == nil {
		return false
	}
	ok, _ := r.keys.recordSealed(key, s)
	return ok
}

// CookieValue returns a fresh cookie value naming s, sealed under the newest secret.
func (m *Manager) CookieValue(s *Session) (string, error) {
	return m.codec.Encode([]byte(s.ID))
}

// randomToken returns 256 random bits, URL-safe.
func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		// crypto/rand never fails on supported platforms; if it does, no id is safe.
		panic("session: reading random bytes: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewToken returns a random, URL-safe token of 256 bits, for CSRF tokens and the like.
func NewToken() string { return randomToken() }
