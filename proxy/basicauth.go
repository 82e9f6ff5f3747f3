package proxy

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/frontgate/gateway/authn"
	"github.com/frontgate/gateway/authn/session"
	"github.com/frontgate/gateway/authn/throttle"
)

// basicCacheTTL is how long a checked set of Basic credentials is remembered after its
// last use, so that an API client does not pay a password hash on every request, and
// basicCacheMaxAge how long at most after its check. A client that calls often is
// checked again once in basicCacheMaxAge, and each check that succeeds starts its
// account's guess counts afresh.
const (
	basicCacheTTL    = time.Minute
	basicCacheMaxAge = time.Hour
)

// basicCacheMax bounds the cache; past it, entries are dropped at random.
const basicCacheMax = 10000

// basicCache remembers credentials that checked out. Its key is a keyed hash of the
// username, the password and the user's stored hash: nothing in it can be read back,
// and a changed password makes every old entry unreachable at once.
type basicCache struct {
	key []byte
	mu  sync.Mutex
	m   map[string]basicEntry
}

// basicEntry is when a cached set of credentials was checked, and when it expires.
type basicEntry struct{ checked, expires time.Time }

func newBasicCache() *basicCache {
	return &basicCache{key: []byte(session.NewToken()), m: map[string]basicEntry{}}
}

func (c *basicCache) id(user, pass string, u *authn.User) string {
	m := hmac.New(sha256.New, c.key)
	for _, s := range []string{user, pass, u.Binding()} {
		m.Write([]byte(strconv.Itoa(len(s))))
		m.Write([]byte{0})
		m.Write([]byte(s))
	}
	return string(m.Sum(nil))
}

// has reports whether id was checked and used recently, and keeps it for another
// basicCacheTTL, up to basicCacheMaxAge after its check.
func (c *basicCache) has(id string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok {
		return false
	}
	if now.After(e.expires) {
		delete(c.m, id)
		return false
	}
	e.expires = minTime(now.Add(basicCacheTTL), e.checked.Add(basicCacheMaxAge))
	c.m[id] = e
	return true
}

// minTime returns the earlier of a and b.
func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func (c *basicCache) add(id string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= basicCacheMax {
		for k := range c.m { // map order is random enough to spread evictions
			delete(c.m, k)
			if len(c.m) < basicCacheMax*9/10 {
				break
			}
		}
	}
	c.m[id] = basicEntry{checked: now, expires: now.Add(basicCacheTTL)}
}

// errThrottled means a Basic attempt was refused by the throttle; the wait is set.
var errThrottled = errors.New("throttled")

// errCodeRequired means Basic credentials were right, for a user who signs in with a
// one-time code as well.
var errCodeRequired = errors.New("one-time code required")

// errCountsDown refuses Basic credentials that could not be checked because the counts
// of failed sign-ins that gateways share could not be read.
var errCountsDown = errors.New("failed sign-ins cannot be counted")

// basicUser checks the Basic credentials of r for a basic_auth route. It returns the
// user, or nil and the error to answer with: errThrottled (and how long to wait), or an
// authentication failure. It returns nil, nil when r carries no Basic credentials.
func (h *Handler) basicUser(r *http.Request) (*authn.User, time.Duration, error) {
	name, pass, ok := r.BasicAuth()
	if !ok {
		return nil, 0, nil
	}
	name = authn.NormalizeName(name)
	// The throttle comes first, and counts the attempt, cache or not: were credentials
	// in the cache let past it, or past attempts made at the same time, a guesser would
	// learn from the answer when a guess is right. An API client has no device cookie;
	// the address its credentials checked out from stands in for one, so that guessers
	// from other networks, however many, never space the client out with them.
	ip, now := h.clientIP(r), time.Now()
	attempt, wait, why, err := h.throttle.Begin(r.Context(), name, ip,
		h.places.has(name, ip, now))
	if err != nil {
		h.storeError("counting failed sign-ins failed", err, h.auditName(name))
		return nil, 0, errCountsDown
	}
	if wait > 0 {
		h.auditThrottled(r, h.auditName(name), why, string(why)+", basic")
		return nil, wait, errThrottled
	}
	// Credentials checked a moment ago are no guess: the attempt is taken back, leaving
	// every count as it was, so that a client calling often neither clears the counts of
	// those guessing at its account nor keeps them from expiring.
	if u := h.auth.Users().Lookup(name); u != nil && !u.Disabled &&
		h.basic.has(h.basic.id(name, pass, u), now) {
		h.cancel(r.Context(), attempt, name)
		return u, 0, nil
	}
	prio := authn.Stranger
	if attempt.QuietNetwork() {
		prio = authn.Quiet
	}
	u, err := h.auth.AuthenticateGated(r.Context(), name, pass, prio, attempt.Claim)
	var refused *throttle.Refused
	switch {
	case errors.As(err, &refused):
		h.auditThrottled(r, h.auditName(name), refused.Reason,
			string(refused.Reason)+", basic")
		return nil, refused.Wait, errThrottled
	case errors.Is(err, throttle.ErrUnavailable):
		h.storeError("counting failed sign-ins failed", err, h.auditName(name))
		return nil, 0, errCountsDown
	}
	if authn.Checked(err) {
		h.metrics.passwordCheck(prio)
	}
	if err != nil {
		reason := err.Error()
		var ae *authn.AuthError
		if errors.As(err, &ae) {
			reason = ae.Reason
		}
		h.audit(r, "sign-in failed", h.auditName(name), reason+", basic")
		return nil, 0, err
	}
	if u.TOTP != nil {
		// Basic credentials carry no one-time code, and a user who signs in with one
		// never signs in without it. The answer is a wrong password's, and it counts as
		// one, so that a job left sending them is held back as such a job is.
		h.audit(r, "sign-in failed", u.Name, "code required, basic")
		return nil, 0, errCodeRequired
	}
	h.succeeded(r.Context(), attempt, u.Name)
	h.basic.add(h.basic.id(name, pass, u), now)
	h.places.add(u.Name, ip, now)
	// Checks served from the cache are not signed in again: one record per password check.
	h.audit(r, "sign-in", u.Name, "basic")
	return u, 0, nil
}

// basicRequired answers a request on the basic_auth route st.route that came without
// valid credentials: with a Basic challenge, or 429 after wait. refused says the request
// brought credentials that were checked and failed, which its text then says.
//
// A browser that answers a challenge sends the credentials unasked to every path in the
// challenged one's folder: for "/api/x" that is "/api/", which the gateway keeps the
// credentials from the apps of, but for the route's bare prefix "/api" it is "/", every
// app of the site. So the bare prefix is sent on to "/api/", where the challenge is safe.
func (h *Handler) basicRequired(w http.ResponseWriter, r *http.Request, st *state,
	wait time.Duration, refused bool) {
	pageHeaders(w.Header(), h.csp)
	// the route's path is written decoded ("/café/"), as st.dpath is
	if bare := strings.TrimSuffix(st.route.path, "/"); wait == 0 && bare != "" &&
		st.dpath == bare {
		target := st.path + "/"
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		noStore(w.Header())
		redirectTo(w, target, http.StatusPermanentRedirect)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte("Too Many Requests: too many failed attempts. Try again later.\n"))
		return
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="gateway", charset="UTF-8"`)
	w.WriteHeader(http.StatusUnauthorized)
	if refused {
		// one answer whatever the cause: unknown user, disabled, wrong password
		w.Write([]byte("Unauthorized: invalid credentials.\n"))
		return
	}
	w.Write([]byte("Unauthorized: sign in first.\n"))
}
