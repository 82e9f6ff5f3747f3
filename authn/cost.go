package authn

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/frontgate/gateway/authn/password"
)

// CheckCost is how long checking a password took for one kind of stored hash.
type CheckCost struct {
	// User is the first user, by name, whose hash is of this kind.
	User string
	// Kind is the hash's scheme and cost parameters, without salt or key, as in
	// "$argon2id$v=19$m=19456,t=2,p=1" or "$2b$12": nothing secret.
	Kind string
	// Took is how long one check took or, when it had not ended, how long it had run
	// by then: at least the time it was given.
	Took time.Duration
	// Unfinished is set when the check had not ended when its time was up.
	Unfinished bool
}

// SlowestCheck times one password check for each kind of hash (scheme and cost
// parameters) that an enabled user of users has, one after another, and returns the
// kind that took longest. Each check is given limit from when it began: one still
// running then is left to end in the background, and is the one returned, as
// Unfinished, with no other kind checked after it. It returns a zero CheckCost when no
// user is enabled.
//
// Each kind is timed once in the life of the process, and its time is remembered for
// as long as a user has a hash of that kind: a later call, as every reload makes, is
// answered from memory, and one made while that kind's check is still running waits on
// it rather than starting another. Timed afresh at every reload, a hash slower to
// check than reloads come (argon2id at 2 GiB and 64 passes takes minutes, and 2 GiB
// all the while) would pile up checks until they took every CPU and the memory.
// SlowestCheck is safe for concurrent use.
//
// The times are of this machine, when each kind was first timed: a busy machine gives
// longer ones.
func SlowestCheck(users map[string]*User, limit time.Duration) CheckCost {
	return checkTimes.slowest(users, limit)
}

// checkTimes holds the timings SlowestCheck has made in this process.
var checkTimes checkTimings

// checkTimings holds the timing of one password check for each kind of hash, as
// costKey names it. The zero value is ready to use; it is safe for concurrent use.
type checkTimings struct {
	mu     sync.Mutex
	byKind map[string]*checkTiming
}

// checkTiming is one timed check of a wrong password.
type checkTiming struct {
	began time.Time     // when the check was started
	done  chan struct{} // closed once took is set
	took  time.Duration // how long the check took, once done is closed
}

// slowest is SlowestCheck, with the timings of c.
func (c *checkTimings) slowest(users map[string]*User, limit time.Duration) CheckCost {
	names := make([]string, 0, len(users))
	for n, u := range users {
		if !u.Disabled {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	c.forgetOthers(users)
	var slowest CheckCost
	seen := map[string]bool{}
	for _, n := range names {
		u := users[n]
		kind := costKey(u.encoded)
		if seen[kind] {
			continue
		}
		seen[kind] = true
		took, ended := c.timing(kind, u.hash).wait(limit)
		if took > slowest.Took || !ended {
			slowest = CheckCost{User: n, Kind: kind, Took: took, Unfinished: !ended}
		}
		if !ended {
			break
		}
	}
	return slowest
}

// timing returns the timing of kind, starting a check against h when there is none.
func (c *checkTimings) timing(kind string, h password.Hash) *checkTiming {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.byKind[kind]; t != nil {
		return t
	}
	if c.byKind == nil {
		c.byKind = make(map[string]*checkTiming)
	}
	t := &checkTiming{began: time.Now(), done: make(chan struct{})}
	c.byKind[kind] = t
	go t.run(h)
	return t
}

// forgetOthers drops the finished timings of kinds no user of users has, so that what
// c holds is bounded by the users file, however often it changes. A timing still
// running is kept, so that no second check of its kind starts beside it.
func (c *checkTimings) forgetOthers(users map[string]*User) {
	kinds := make(map[string]bool, len(users))
	for _, u := range users {
		kinds[costKey(u.encoded)] = true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for kind, t := range c.byKind {
		if _, ended := t.result(); ended && !kinds[kind] {
			delete(c.byKind, kind)
		}
	}
}

// run checks a wrong password against h, and records how long that took.
func (t *checkTiming) run(h password.Hash) {
	hashBegins()
	defer hashEnds()
	start := time.Now()
	h.Verify("not the password")
	t.took = time.Since(start)
	close(t.done)
}

// result returns how long the check took, and true; or false while it runs.
func (t *checkTiming) result() (time.Duration, bool) {
	select {
	case <-t.done:
		return t.took, true
	default:
		return 0, false
	}
}

// wait returns how long the check took, and true, once it has ended; or, when it has
// not ended limit after it began, how long it has run, and false.
func (t *checkTiming) wait(limit time.Duration) (time.Duration, bool) {
	if took, ended := t.result(); ended {
		return took, true
	}
	left := limit - time.Since(t.began)
	if left <= 0 {
		return time.Since(t.began), false
	}
	timer := time.NewTimer(left)
	defer timer.Stop()
	select {
	case <-t.done:
		return t.took, true
	case <-timer.C:
		return time.Since(t.began), false
	}
}

// HashKinds returns, for each kind of hash (scheme and cost parameters, as CheckCost's
// Kind) that users' hashes have, the names of the users whose hash is of it, sorted.
func HashKinds(users map[string]*User) map[string][]string {
	out := make(map[string][]string)
	for n, u := range users {
		k := costKey(u.encoded)
		out[k] = append(out[k], n)
	}
	for _, names := range out {
		sort.Strings(names)
	}
	return out
}

// DefaultHashKind is the kind (see HashKinds) of the hashes gateway hash-password makes:
// argon2id with password.DefaultArgon2.
func DefaultHashKind() string {
	p := password.DefaultArgon2
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d", argon2.Version, p.Memory, p.Time,
		p.Threads)
}

// WeakHashes returns, for each reason password.Weak gives for users' hashes, the names
// of the users whose hash it describes, sorted.
func WeakHashes(users map[string]*User) map[string][]string {
	out := make(map[string][]string)
	for n, u := range users {
		if why := password.Weak(u.hash); why != "" {
			out[why] = append(out[why], n)
		}
	}
	for _, names := range out {
		sort.Strings(names)
	}
	return out
}
