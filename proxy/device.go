package proxy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/frontgate/gateway/authn/throttle"
)

// deviceStrikesMax is how many sign-ins a browser with a user's device cookie may fail,
// within deviceStrikeWindow, and keep the cookie's exemption from the per-username
// spacing. The exemption is for the owner, who gets their password right within a few
// tries; a thief of the owner's laptop, or of its cookie, gets those few tries and is
// then spaced out as anyone else, however many addresses they ask from.
const (
	deviceStrikesMax   = 5
	deviceStrikeWindow = 24 * time.Hour
	// The counts are bounded in all and per user. Only a device cookie of a user's makes
	// an entry for that user, and one is made only by signing in as them, so a user can
	// push out no one's entries but their own, and many users together only by filling
	// the whole table, from whose largest share room is made then.
	deviceStrikesKept    = 10000
	deviceStrikesPerUser = 256
)

// strikes counts the failed sign-ins of each browser that has a device cookie, by user
// and the cookie's id. Safe for concurrent use.
type strikes struct {
	mu    sync.Mutex
	users map[string]map[string]strike
	n     int // entries in all
}

type strike struct {
	n    int
	last time.Time
	// retired: the id was replaced at a sign-in, and copies of its cookie, which a
	// thief may hold, are exempt from nothing until then
	retired time.Time
}

// stale reports whether st tells nothing any more at now.
func (st strike) stale(now time.Time) bool {
	return now.Sub(st.last) >= deviceStrikeWindow && !now.Before(st.retired)
}

func newStrikes() *strikes { return &strikes{users: make(map[string]map[string]strike)} }

// take reports whether the browser whose device cookie for user has id keeps its
// exemption for one more attempt at now, and if so counts the attempt as failed until
// undo or retire says otherwise, so that attempts made at the same moment cannot share
// out one exemption.
func (s *strikes) take(user, id string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.users[user][id]
	if now.Before(st.retired) {
		return false
	}
	if now.Sub(st.last) >= deviceStrikeWindow {
		st.n = 0
	}
	if st.n >= deviceStrikesMax {
		return false
	}
	st.n++
	st.last = now
	s.put(user, id, st, now)
	return true
}

// undo takes back the attempt take counted for id: the throttle refused it before any
// password was checked, and a refused attempt is no failure.
func (s *strikes) undo(user, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.users[user][id]; ok && st.n > 0 {
		st.n--
		s.users[user][id] = st
	}
}

// retire ends the exemption of id until the cookie it was in expires: the browser
// signed in, and got a cookie with a new id, so any copy of the old one is someone
// else's. Clearing the old id's count instead would give such a copy its failures
// again at each of the owner's sign-ins.
func (s *strikes) retire(user, id string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.put(user, id, strike{n: deviceStrikesMax, last: now, retired: now.Add(deviceTTL)}, now)
}

// put stores st under user and id, making room first when the user's share or the
// whole table is full.
func (s *strikes) put(user, id string, st strike, now time.Time) {
	b := s.users[user]
	if _, ok := b[id]; !ok {
		if len(b) >= deviceStrikesPerUser {
			s.evictFrom(user, now)
		}
		if s.n >= deviceStrikesKept {
			s.evictStale(now)
		}
		if s.n >= deviceStrikesKept {
			largest := user
			for u, ids := range s.users {
				if len(ids) > len(s.users[largest]) {
					largest = u
				}
			}
			s.evictFrom(largest, now)
		}
		if b = s.users[user]; b == nil {
			b = make(map[string]strike)
			s.users[user] = b
		}
		s.n++
	}
	b[id] = st
}

// evictFrom drops one entry of user's: a stale one, or else the one used longest ago.
func (s *strikes) evictFrom(user string, now time.Time) {
	var victim string
	var oldest time.Time
	for id, st := range s.users[user] {
		if st.stale(now) {
			victim = id
			break
		}
		if victim == "" || st.last.Before(oldest) {
			victim, oldest = id, st.last
		}
	}
	if victim != "" {
		s.drop(user, victim)
	}
}

// evictStale drops every entry that tells nothing any more.
func (s *strikes) evictStale(now time.Time) {
	for user, ids := range s.users {
		for id, st := range ids {
			if st.stale(now) {
				s.drop(user, id)
			}
		}
	}
}

func (s *strikes) drop(user, id string) {
	delete(s.users[user], id)
	s.n--
	if len(s.users[user]) == 0 {
		delete(s.users, user)
	}
}

// exemptions decides whether a device cookie exempts a sign-in attempt from the
// per-username spacing: by the Tally where there is one, so that gateways sharing it, or
// a gateway after a restart, count a cookie's failures together; else by strikes in
// memory. Safe for concurrent use.
type exemptions struct {
	local *strikes
	tally throttle.Tally // nil: local alone
}

// exemption is one attempt's use of a device cookie's exemption, for undo.
type exemption struct {
	user, id string
	key      string // in the Tally, when counted there
	at       time.Time
	before   []time.Time
}

func newExemptions(tally throttle.Tally) *exemptions {
	return &exemptions{local: newStrikes(), tally: tally}
}

// tallyKeys returns the Tally's keys of the cookie of id for user: its failures, and
// whether it was retired. Both are digests: a device id is a secret of the browser's.
func tallyKeys(user, id string) (strikes, retired string) {
	sum := sha256.Sum256([]byte(user + "\x00" + id))
	d := hex.EncodeToString(sum[:16])
	return "device:" + d, "retired:" + d
}

// take reports whether the device cookie of id for user keeps its exemption for one
// more attempt at now, and if so counts the attempt as failed until undo says
// otherwise, so that attempts made at the same moment cannot share out one exemption.
// An error from the Tally grants nothing.
func (e *exemptions) take(ctx context.Context, user, id string, now time.Time) (exemption,
	bool, error) {
	x := exemption{user: user, id: id}
	if e.tally == nil {
		return x, e.local.take(user, id, now), nil
	}
	key, retired := tallyKeys(user, id)
	c, err := e.tally.Read(ctx, []string{retired})
	if err != nil {
		return x, false, fmt.Errorf("reading a device cookie's failures: %w", err)
	}
	if c[0].Failures > 0 {
		return x, false, nil
	}
	claimed, err := e.tally.Claim(ctx, []string{key},
		[]throttle.Rule{{Limit: deviceStrikesMax, Hold: true}}, now, deviceStrikeWindow)
	if err != nil {
		return x, false, fmt.Errorf("counting a device cookie's failure: %w", err)
	}
	if claimed.Refused >= 0 {
		return x, false, nil
	}
	x.key, x.at, x.before = key, now, claimed.Before
	return x, true, nil
}

// undo takes back the attempt take counted: the throttle refused it before any password
// was checked, and a refused attempt is no failure.
func (e *exemptions) undo(ctx context.Context, x exemption) error {
	if e.tally == nil {
		e.local.undo(x.user, x.id)
		return nil
	}
	if x.key == "" {
		return nil
	}
	if err := e.tally.Undo(ctx, []string{x.key}, x.at, x.before); err != nil {
		return fmt.Errorf("taking back a device cookie's failure: %w", err)
	}
	return nil
}

// retire ends the exemption of the cookie of id for user until it expires (see
// strikes.retire).
func (e *exemptions) retire(ctx context.Context, user, id string, now time.Time) error {
	if e.tally == nil {
		e.local.retire(user, id, now)
		return nil
	}
	_, retired := tallyKeys(user, id)
	_, err := e.tally.Claim(ctx, []string{retired}, []throttle.Rule{{Limit: 1 << 30}}, now,
		deviceTTL)
	if err != nil {
		return fmt.Errorf("retiring a device cookie: %w", err)
	}
	return nil
}
