// Package throttle limits password guessing.
//
// Failed sign-ins are counted three ways: per client address (IPv6 addresses by their
// /64, which one host usually owns whole), per username and address, and per username
// from anywhere. Past the first two limits the address is refused for a time that
// doubles with every further failure. Past the third, attempts for the username are only
// spaced out, never refused for long, so that an attacker can slow an account down but
// cannot lock its owner out; networks fresh to the username are spaced apart from the
// rest, so that the few an attacker has cannot take every attempt let through.
//
// Memory is bounded: each count is kept for at most MaxEntries keys, so a flood of fresh
// names or addresses cannot grow it. When a count is full, keys with a single failure go
// first, least recently used first; a key with more is dropped only when none with one
// is left. A flood of fresh keys, each tried once, therefore cannot push out the counts
// that hold an address or a name back: that would take MaxEntries keys with repeated
// failures each.
//
// Gateways that share a store keep the counts per address, per username and address, and
// per username together in a Tally as well, so that a guesser who spreads attempts over
// them gets no more than at one. An attempt is counted there once its password is about
// to be checked, so what a flood can write is bounded by how fast the gateways check
// passwords, and every count expires a Window after its latest failure.
package throttle

import (
	"container/list"
	"context"
	"crypto/sha256"
	"net/netip"
	"sync"
	"time"

	"github.com/frontgate/gateway/authn/clientnet"
)

// Limits configures a Throttle. Zero fields are not allowed; see config.Throttle for the
// defaults.
type Limits struct {
	AddressFailures     int
	UserAddressFailures int
	UserFailures        int
	Window              time.Duration
	MaxEntries          int
}

// MaxUserSpacing is the spacing that attempts for one username, whoever makes them, are
// held to once past the limit: one attempt every MaxUserSpacing in all, in two lanes
// (see Begin) of one attempt every 2×MaxUserSpacing each.
const MaxUserSpacing = 30 * time.Second

// Reason says which limit refused an attempt.
type Reason string

// Reasons an attempt is refused.
const (
	ByAddress     Reason = "address"
	ByUserAddress Reason = "user and address"
	ByUser        Reason = "user"
)

// freshBelow is how many attempts for a username a network (IPv4 /24, IPv6 /48) may
// have failed within laneMemory and still be fresh to it: its attempts are spaced out
// apart from those of networks that have failed more, so that an attacker's addresses
// cannot take every attempt the spacing lets through. One mistyped password keeps an
// owner's network fresh.
const freshBelow = 2

// quietBelow is how many sign-ins a network (IPv4 /24, IPv6 /48) may have failed, for any
// username, within laneMemory and still be quiet: its password checks wait ahead of
// others' under a flood (see Attempt.QuietNetwork). A flood's networks soon stop being
// quiet, so a user at a new address is not kept waiting behind them; only a flood with
// a new network for every other attempt holds that user up.
const quietBelow = 2

// laneMemory is how long a network's failures for a username keep it out of the fresh
// lane: a day, so that a few addresses recycled once their failures would be forgotten
// cannot hold the lane; an attacker needs hundreds of networks a day for that.
const laneMemory = 24 * time.Hour

// laneSpacing caps the spacing within each lane. Two lanes at twice the spacing of one
// let as many guesses through as one lane did.
const laneSpacing = 2 * MaxUserSpacing

// Throttle decides whether a sign-in attempt may be checked. Safe for concurrent use.
type Throttle struct {
	mu       sync.Mutex // makes Begin's check and count one step
	limits   Limits
	tally    Tally // nil when the counts are this gateway's alone
	addr     *table
	userAddr *table
	user     *table // attempts for a username from networks that failed for it before
	fresh    *table // attempts for a username from networks fresh to it
	netUser  *table // failures per network and username, kept laneMemory
	net      *table // failures per network for any username, kept laneMemory
	now      func() time.Time
}

// New returns a Throttle for l whose counts are its own. now, when not nil, replaces
// time.Now.
func New(l Limits, now func() time.Time) *Throttle {
	return NewShared(l, nil, now)
}

// NewShared returns a Throttle for l that keeps its counts per address, per username and
// address, and per username in tally too, and refuses an attempt when either its own
// counts or the tally's refuse it. A nil tally keeps the counts to the Throttle.
func NewShared(l Limits, tally Tally, now func() time.Time) *Throttle {
	if now == nil {
		now = time.Now
	}
	return &Throttle{
		limits:   l,
		tally:    tally,
		addr:     newTable(l.MaxEntries),
		userAddr: newTable(l.MaxEntries),
		user:     newTable(l.MaxEntries),
		fresh:    newTable(l.MaxEntries),
		netUser:  newTable(l.MaxEntries),
		net:      newTable(l.MaxEntries),
		now:      now,
	}
}

// Attempt is one sign-in attempt admitted by Begin. It counts as a failure unless
// Succeeded or Cancel is called, so attempts that run at the same time cannot slip past
// the limits together.
type Attempt struct {
	t                             *Throttle
	addrKey, uaKey, nuKey, netKey string
	user                          string
	lane                          *table // the username's spacing this attempt counts in
	quiet                         bool   // see QuietNetwork
	at                            time.Time
	before                        [5]time.Time // each count's last failure before it
	shared                        sharedCount  // its count in the Tally, if any
}

// Begin admits an attempt to sign in as user from addr, or returns how long to wait and
// why when a limit refuses it. trustedDevice exempts the attempt from the per-username
// spacing: it is set when the browser proved it signed in as user before, so that the
// owner is never held up by strangers guessing at the account.
//
// The per-username spacing runs in two lanes: one for networks fresh to the username
// (fewer than freshBelow failures for it within laneMemory) and one for the others,
// each allowed half the failures and twice the spacing one lane would be. An attacker's
// networks soon leave the fresh lane, however fast they ask, and stay out of it for a
// day, so an owner on a new browser and a new network is not kept out by them; only an
// attacker with hundreds of networks a day competes with the owner there.
//
// With a Tally, Begin reads its counts too, and fails, admitting nothing, when it
// cannot; the attempt counts there once Claim is called.
func (t *Throttle) Begin(ctx context.Context, user string, addr netip.Addr,
	trustedDevice bool) (*Attempt, time.Duration, Reason, error) {
	now := t.now()
	a := t.attempt(user, addr)
	t.mu.Lock()
	w, r := t.wait(a, trustedDevice, now)
	if w == 0 {
		a.count(now)
	}
	t.mu.Unlock()
	if w > 0 {
		return nil, w, r, nil
	}
	if t.tally != nil {
		a.shared.prepare(a, trustedDevice)
		w, r, err := a.shared.read(ctx, now)
		if err != nil || w > 0 {
			a.undo()
			return nil, w, r, err
		}
	}
	return a, 0, "", nil
}

// count counts a as a failure, at now, in every count it belongs to. t.mu must be held.
func (a *Attempt) count(now time.Time) {
	t := a.t
	a.at = now
	a.before[0] = t.addr.add(a.addrKey, 1, t.limits.Window, now)
	a.before[1] = t.userAddr.add(a.uaKey, 1, t.limits.Window, now)
	a.quiet = t.net.failures(a.netKey, laneMemory, now) < quietBelow
	a.before[2] = t.netUser.add(a.nuKey, 1, laneMemory, now)
	a.before[3] = t.net.add(a.netKey, 1, laneMemory, now)
	a.before[4] = a.lane.add(a.user, 1, t.limits.Window, now)
}

// Claim counts the attempt in the Tally, where the gateways that share it see it, unless
// the counts there refuse it: then the attempt is taken back here too, as if Begin had
// refused it, and the error is a *Refused. The check and the count are one step in the
// Tally, so attempts that gateways make at the same time cannot slip past its limits
// together. Call it once the password is about to be checked, so that the Tally is
// written no faster than passwords are checked. Without a Tally it does nothing. On any
// other error the attempt is taken back, and must not be checked.
func (a *Attempt) Claim(ctx context.Context) error {
	if a.t.tally == nil || a.shared.claimed {
		return nil
	}
	if err := a.shared.claim(ctx, a.t.now()); err != nil {
		a.undo()
		return err
	}
	return nil
}

// Cancel takes the attempt back: it was no guess, but credentials the caller checked a
// moment ago. Every count is left as it was before the attempt, the time of its last
// failure too, so the attempt neither clears the failures of those guessing at the
// account, as Succeeded does, nor keeps them from expiring, nor changes the wait they
// are told. Counted until then, it kept attempts made at the same time within the
// limits, as any attempt does. The error says that its count in the Tally could not be
// taken back; it expires all the same.
func (a *Attempt) Cancel(ctx context.Context) error {
	a.undo()
	return a.shared.undo(ctx)
}

// undo takes the attempt back from the Throttle's own counts.
func (a *Attempt) undo() {
	a.t.addr.undo(a.addrKey, a.at, a.before[0])
	a.t.userAddr.undo(a.uaKey, a.at, a.before[1])
	a.t.netUser.undo(a.nuKey, a.at, a.before[2])
	a.t.net.undo(a.netKey, a.at, a.before[3])
	a.lane.undo(a.user, a.at, a.before[4])
}

// attempt returns the keys an attempt to sign in as user from addr counts under.
func (t *Throttle) attempt(user string, addr netip.Addr) *Attempt {
	// Usernames are kept as a fixed-size digest: a client chooses them, and long ones
	// would otherwise make each tracked entry as large as a sign-in form allows.
	a := &Attempt{t: t, addrKey: addressKey(addr), user: userKey(user)}
	a.uaKey = a.addrKey + "\x00" + a.user
	a.netKey = networkKey(addr)
	a.nuKey = a.netKey + "\x00" + a.user
	return a
}

// wait returns how long a must wait and why, and sets the lane it counts in.
func (t *Throttle) wait(a *Attempt, trustedDevice bool, now time.Time) (time.Duration,
	Reason) {
	if w := t.addr.wait(a.addrKey, t.limits.AddressFailures, t.limits.Window,
		t.limits.Window, now); w > 0 {
		return w, ByAddress
	}
	if w := t.userAddr.wait(a.uaKey, t.limits.UserAddressFailures, t.limits.Window,
		t.limits.Window, now); w > 0 {
		return w, ByUserAddress
	}
	a.lane = t.user
	if !trustedDevice && t.netUser.failures(a.nuKey, laneMemory, now) < freshBelow {
		a.lane = t.fresh
	}
	if !trustedDevice {
		if w := a.lane.wait(a.user, (t.limits.UserFailures+1)/2, laneSpacing,
			t.limits.Window, now); w > 0 {
			return w, ByUser
		}
	}
	return 0, ""
}

// QuietNetwork reports whether the attempt's network had failed fewer than quietBelow
// sign-ins, for any username, within laneMemory when it began (attempts still running
// count as failures). The caller may check its password ahead of others'; it changes
// nothing the throttle allows. It depends on the address alone, so it tells nothing
// about the username.
func (a *Attempt) QuietNetwork() bool { return a.quiet }

// Succeeded records that the attempt's password was right: it no longer counts as a
// failure, and the username's and the pair's counts start again, in the Tally too. The
// error says that the Tally's could not be cleared; they expire all the same.
func (a *Attempt) Succeeded(ctx context.Context) error {
	now := a.t.now()
	a.t.addr.add(a.addrKey, -1, a.t.limits.Window, now)
	a.t.userAddr.reset(a.uaKey)
	a.t.netUser.reset(a.nuKey)
	a.t.net.add(a.netKey, -1, laneMemory, now)
	a.t.user.reset(a.user)
	a.t.fresh.reset(a.user)
	return a.shared.succeeded(ctx)
}

// userKey is a fixed-size digest of a username.
func userKey(name string) string {
	sum := sha256.Sum256([]byte(name))
	return string(sum[:16])
}

// addressKey groups an address with the others its owner controls (see
// clientnet.Host).
func addressKey(a netip.Addr) string { return clientnet.HostKey(a) }

// networkKey groups an address with its neighbours, which one attacker often holds
// many of: IPv4 by /24, IPv6 by /48.
func networkKey(a netip.Addr) string { return clientnet.Network(a).String() }

// table counts failures per key in bounded memory. Keys with one failure live in a
// probation list, keys with more in a protected one; each is ordered by use, front first,
// and eviction takes from probation while it has any.
type table struct {
	mu        sync.Mutex
	m         map[string]*list.Element
	probation *list.List
	protected *list.List
	max       int
}

// promoteAt is the failure count at which a key moves to the protected list.
const promoteAt = 2

type entry struct {
	key       string
	failures  int
	last      time.Time // of the latest failure
	protected bool
}

func newTable(max int) *table {
	return &table{m: make(map[string]*list.Element), probation: list.New(),
		protected: list.New(), max: max}
}

// listOf returns the list e lives in.
func (t *table) listOf(e *entry) *list.List {
	if e.protected {
		return t.protected
	}
	return t.probation
}

// remove forgets el. t.mu must be held.
func (t *table) remove(el *list.Element) {
	e := el.Value.(*entry)
	t.listOf(e).Remove(el)
	delete(t.m, e.key)
}

// wait returns how long key must wait, given its failures: nothing below limit; then a
// time that doubles with each failure past it, capped at maxWait, counted from the last
// failure. Failures older than window are forgotten.
func (t *table) wait(key string, limit int, maxWait, window time.Duration,
	now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	el, ok := t.m[key]
	if !ok {
		return 0
	}
	e := el.Value.(*entry)
	if now.Sub(e.last) >= window {
		t.remove(el)
		return 0
	}
	return WaitFor(e.failures, e.last, limit, maxWait, window, now)
}

// waitFor returns how long a key with failures, the latest at last, must wait: nothing
// below limit or once last is window old; then a time that doubles with each failure
// past limit, capped at maxWait, counted from last.
func WaitFor(failures int, last time.Time, limit int, maxWait, window time.Duration,
	now time.Time) time.Duration {
	if failures < limit || now.Sub(last) >= window {
		return 0
	}
	d := time.Second << min(failures-limit, 30)
	d = min(d, maxWait)
	if left := last.Add(d).Sub(now); left > 0 {
		return left
	}
	return 0
}

// failures returns key's failures within window.
func (t *table) failures(key string, window time.Duration, now time.Time) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	el, ok := t.m[key]
	if !ok {
		return 0
	}
	if e := el.Value.(*entry); now.Sub(e.last) < window {
		return e.failures
	}
	return 0
}

// add changes key's failure count by n. A new key evicts one when the table is full:
// the least recently used of probation, or, with none there, of the protected keys.
func (t *table) add(key string, n int, window time.Duration, now time.Time) (
	before time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if el, ok := t.m[key]; ok {
		e := el.Value.(*entry)
		before = e.last
		if now.Sub(e.last) >= window {
			e.failures = 0
		}
		e.failures = max(e.failures+n, 0)
		if n > 0 {
			e.last = now
		}
		if !e.protected && e.failures >= promoteAt {
			t.probation.Remove(el)
			e.protected = true
			t.m[key] = t.protected.PushFront(e)
			return before
		}
		t.listOf(e).MoveToFront(el)
		return before
	}
	if n <= 0 {
		return before
	}
	if t.probation.Len()+t.protected.Len() >= t.max {
		victim := t.probation.Back()
		if victim == nil {
			victim = t.protected.Back()
		}
		t.remove(victim)
	}
	e := &entry{key: key, failures: n, last: now, protected: n >= promoteAt}
	t.m[key] = t.listOf(e).PushFront(e)
	return before
}

// undo takes back one failure that add counted for key at at, when the key's last
// failure was before: the count drops by one and, unless another failure came since,
// the time of the last failure goes back to before. A key that add created and that
// holds no failure now is dropped.
func (t *table) undo(key string, at, before time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	el, ok := t.m[key]
	if !ok {
		return
	}
	e := el.Value.(*entry)
	e.failures = max(e.failures-1, 0)
	if !e.last.Equal(at) {
		return
	}
	if before.IsZero() {
		if e.failures == 0 {
			t.remove(el)
		}
		return
	}
	e.last = before
}

func (t *table) reset(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if el, ok := t.m[key]; ok {
		t.remove(el)
	}
}

// Len returns how many keys each count holds: addresses, pairs and usernames (the
// larger of the two lanes).
func (t *Throttle) Len() (addresses, pairs, users int) {
	return t.addr.len(), t.userAddr.len(), max(t.user.len(), t.fresh.len())
}

func (t *table) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.probation.Len() + t.protected.Len()
}
