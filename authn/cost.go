package authn

import (
	"fmt"
	"sort"
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
	// Took is how long one check took, or the time it was given when it had not ended
	// by then.
	Took time.Duration
	// Unfinished is set when the check had not ended when its time was up.
	Unfinished bool
}

// SlowestCheck times one password check for each kind of hash (scheme and cost
// parameters) that an enabled user of users has, one after another, and returns the
// kind that took longest. Each check is given limit: one still running then is left to
// end in the background, and is the one returned, as Unfinished, with no other kind
// checked after it. It returns a zero CheckCost when no user is enabled.
//
// The times are of this machine, now: a busy machine gives longer ones.
func SlowestCheck(users map[string]*User, limit time.Duration) CheckCost {
	names := make([]string, 0, len(users))
	for n, u := range users {
		if !u.Disabled {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var slowest CheckCost
	seen := map[string]bool{}
	for _, n := range names {
		u := users[n]
		kind := costKey(u.encoded)
		if seen[kind] {
			continue
		}
		seen[kind] = true
		took, ended := timeCheck(u, limit)
		if took > slowest.Took || !ended {
			slowest = CheckCost{User: n, Kind: kind, Took: took, Unfinished: !ended}
		}
		if !ended {
			break
		}
	}
	return slowest
}

// timeCheck returns how long checking a wrong password against u's hash takes, and
// true; or limit and false when it takes longer.
func timeCheck(u *User, limit time.Duration) (time.Duration, bool) {
	done := make(chan time.Duration, 1)
	go func() {
		hashBegins()
		defer hashEnds()
		start := time.Now()
		u.hash.Verify("not the password")
		done <- time.Since(start)
	}()
	select {
	case took := <-done:
		return took, true
	case <-time.After(limit):
		return limit, false
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
