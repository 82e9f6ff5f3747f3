package proxy_test

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestBasicAuthRoute(t *testing.T) {
	up := newEcho(t)
	e := newEnvWithUpstream(t, up, "  - path: /api/\n    upstream: \""+up.URL+"\"\n"+
		"    basic_auth: true\n")
	basic := func(user, pass string, hdr ...string) resp {
		req, _ := http.NewRequest("GET", e.gw.URL+"/api/items", nil)
		req.SetBasicAuth(user, pass)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return resp{res, string(body)}
	}

	for i := 0; i < 3; i++ { // the second and third come from the cache
		if r := basic("alice", alicePass); r.StatusCode != 200 {
			t.Fatalf("right credentials: status %d", r.StatusCode)
		}
		h := up.last(t).Header
		if h.Get("X-Forwarded-User") != "alice" || h.Get("Authorization") != "" {
			t.Errorf("upstream saw user %q and Authorization %q; want alice and none",
				h.Get("X-Forwarded-User"), h.Get("Authorization"))
		}
	}
	// one answer for every cause
	const refused = "Unauthorized: invalid credentials.\n"
	for _, who := range [][2]string{{"alice", "wrong"}, {"nobody", alicePass}} {
		r := basic(who[0], who[1])
		if r.StatusCode != http.StatusUnauthorized ||
			!strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Basic ") ||
			r.body != refused {
			t.Errorf("%s: %d %q %q, want 401 with a Basic challenge and %q", who,
				r.StatusCode, r.Header.Get("WWW-Authenticate"), r.body, refused)
		}
	}
	if r := e.raw("GET", "/api/items", "", nil); r.StatusCode != http.StatusUnauthorized ||
		r.Header.Get("WWW-Authenticate") == "" || r.body != "Unauthorized: sign in first.\n" {
		t.Errorf("no credentials, API client: %d %q, want 401 with a challenge, asking "+
			"to sign in", r.StatusCode, r.body)
	}
	if r := e.raw("GET", "/api/items", "", http.Header{"Accept": {"text/html"}}); r.StatusCode !=
		http.StatusFound {
		t.Errorf("no credentials, browser: %d, want 302 to sign in", r.StatusCode)
	}
	// Basic credentials count only on basic_auth routes.
	req, _ := http.NewRequest("GET", e.gw.URL+"/app/", nil)
	req.SetBasicAuth("alice", alicePass)
	res, _ := http.DefaultTransport.RoundTrip(req)
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("Basic on a route without basic_auth: status %d, want 401", res.StatusCode)
	}

	// A password change ends cached credentials at once.
	writeUsers(t, e.usersFile, map[string]string{"alice": "alice-new-pass", "bob": bobPass},
		"")
	reload(t, e)
	if r := basic("alice", alicePass); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("old password after a change: status %d, want 401", r.StatusCode)
	}
	if r := basic("alice", "alice-new-pass"); r.StatusCode != 200 {
		t.Errorf("new password: status %d, want 200", r.StatusCode)
	}

	// Guessing is throttled like the sign-in form.
	var last resp
	for i := 0; i < 8; i++ {
		last = basic("bob", "guess")
	}
	if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Errorf("repeated wrong Basic credentials: %d, want 429 with Retry-After",
			last.StatusCode)
	}
}

// basicFrom returns a function that asks e's /api/ as alice with a password, from an
// address given in X-Forwarded-For, and returns the status.
func basicFrom(t *testing.T, e *env) func(pass, from string) int {
	return func(pass, from string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", e.gw.URL+"/api/items", nil)
		req.SetBasicAuth("alice", pass)
		req.Header.Set("X-Forwarded-For", from)
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
}

// basicEnv is an env with a basic_auth route /api/, believing X-Forwarded-For from the
// test, and a throttle whose clock moves only by the function returned.
func basicEnv(t *testing.T) (*env, func(time.Duration)) {
	up := newEcho(t)
	e := newEnvWithUpstream(t, up, "  - path: /api/\n    upstream: \""+up.URL+"\"\n"+
		"    basic_auth: true\ntrusted_proxies: [\"127.0.0.1/32\"]\n")
	return e, e.h.FreezeThrottle(time.Now())
}

// TestBasicCacheKeepsGuessSpacing: credentials checked a moment ago pass without a
// password check, but do not start the account's guess counts afresh as a success
// does: guessers stay spaced out while the client works.
func TestBasicCacheKeepsGuessSpacing(t *testing.T) {
	e, _ := basicEnv(t)
	basic := basicFrom(t, e)
	if c := basic(alicePass, "192.0.2.1"); c != http.StatusOK {
		t.Fatalf("the client's first request: status %d", c)
	}
	// one network guesses: its first two guesses count in the lane of networks fresh
	// to alice, the next five in the other lane, which then spaces them out
	for i := range 7 {
		if c := basic("wrong", fmt.Sprintf("198.51.100.%d", i+1)); c != http.StatusUnauthorized {
			t.Fatalf("guess %d: status %d, want 401", i+1, c)
		}
	}
	if c := basic("wrong", "198.51.100.20"); c != http.StatusTooManyRequests {
		t.Fatalf("eighth guess: status %d, want 429", c)
	}
	// the client's network is fresh to alice, and its lane has room
	for range 3 {
		if c := basic(alicePass, "192.0.2.1"); c != http.StatusOK {
			t.Fatalf("the client's cached credentials: status %d", c)
		}
	}
	if c := basic("wrong", "198.51.100.21"); c != http.StatusTooManyRequests {
		t.Errorf("a guess after the client's requests: status %d, want 429: they started "+
			"the account's counts afresh", c)
	}
}

// TestBasicCacheBehindThrottle: a throttled address gets 429 for the right password
// too, though the client's use of it put it in the cache: otherwise the answer would
// tell a throttled guesser which guess is right.
func TestBasicCacheBehindThrottle(t *testing.T) {
	e, _ := basicEnv(t)
	basic := basicFrom(t, e)
	if c := basic(alicePass, "192.0.2.1"); c != http.StatusOK {
		t.Fatalf("the client's first request: status %d", c)
	}
	for i := range 5 {
		if c := basic("wrong", "203.0.113.9"); c != http.StatusUnauthorized {
			t.Fatalf("guess %d: status %d, want 401", i+1, c)
		}
	}
	for _, pass := range []string{"wrong", alicePass} {
		if c := basic(pass, "203.0.113.9"); c != http.StatusTooManyRequests {
			t.Errorf("throttled address, password %q: status %d, want 429", pass, c)
		}
	}
	if c := basic(alicePass, "192.0.2.1"); c != http.StatusOK {
		t.Errorf("the client from its own address: status %d, want 200", c)
	}
}

// TestBasicCacheLetsFailuresExpire: a client's cached requests count nowhere, so the
// failures of those who guessed at its account expire a window after the last of
// them, however often the client calls meanwhile.
func TestBasicCacheLetsFailuresExpire(t *testing.T) {
	e, advance := basicEnv(t)
	basic := basicFrom(t, e)
	if c := basic(alicePass, "192.0.2.1"); c != http.StatusOK {
		t.Fatalf("the client's first request: status %d", c)
	}
	// five guesses from networks new to alice fill the lane the client's network is in
	for i := range 5 {
		if c := basic("wrong", fmt.Sprintf("198.51.%d.1", i)); c != http.StatusUnauthorized {
			t.Fatalf("guess %d: status %d, want 401", i+1, c)
		}
	}
	// the client calls every 30 s for a window (15 minutes), held back at times
	for range 30 {
		advance(30 * time.Second)
		basic(alicePass, "192.0.2.1")
	}
	advance(time.Second)
	for i := range 3 {
		if c := basic(alicePass, "192.0.2.1"); c != http.StatusOK {
			t.Errorf("a window after the last guess, request %d: status %d, want 200: the "+
				"client's requests kept the guesses from expiring", i+1, c)
		}
	}
}

// TestBasicCredentialsStayInTheirScope: a browser that answered a basic_auth route's
// challenge sends the credentials to every path under it, routes nested there included.
// Those are the gateway's users' passwords, so no app under the route sees them, nor one
// that a path of another route reaches as it reads it ("/API/x" as "/api/x"); a route
// elsewhere keeps the Authorization a client sends, which may be the app's own.
func TestBasicCredentialsStayInTheirScope(t *testing.T) {
	up := newEcho(t)
	e := newEnvWithUpstream(t, up, "  - path: /api/\n    upstream: \""+up.URL+"\"\n"+
		"    basic_auth: true\n"+
		"  - path: /api/legacy/\n    upstream: \""+up.URL+"\"\n"+
		"    public: [/api/legacy/open/]\n")
	alice := e.session("alice", alicePass)
	creds := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:"+alicePass))
	for _, tt := range []struct {
		path, session string
		want          string
	}{
		{"/api/legacy/x", alice, ""},
		{"/api/legacy/open/x", "", ""},
		// paths of another route that an app may read as one under /api/
		{"/API/x", alice, ""},
		{"/Api/Legacy/x", alice, ""},
		{"/api.json", alice, ""},
		{"/index.php/api/x", alice, ""},
		{"/app/x", alice, creds},
		{"/public/x", "", creds},
	} {
		r := e.raw("GET", tt.path, tt.session, http.Header{"Authorization": {creds}})
		if r.StatusCode != 200 {
			t.Errorf("%s: status %d, want 200", tt.path, r.StatusCode)
			continue
		}
		if got := up.last(t).Header.Get("Authorization"); got != tt.want {
			t.Errorf("%s: upstream saw Authorization %q, want %q", tt.path, got, tt.want)
		}
	}
}

// TestBasicClientKeepsItsAddress: guessers from many networks fill the account's spacing,
// but the address the client's credentials checked out from stands in for a browser's
// device cookie: the client is not held back with them. The same credentials from an
// address they never checked out from are.
func TestBasicClientKeepsItsAddress(t *testing.T) {
	e, _ := basicEnv(t)
	basic := basicFrom(t, e)
	if c := basic(alicePass, "192.0.2.1"); c != http.StatusOK {
		t.Fatalf("the client's first request: status %d", c)
	}
	// a network of its own for every guess, as an IPv6 attacker has by the thousand
	refused := false
	for i := range 30 {
		c := basic("wrong", fmt.Sprintf("2001:db8:%x::1", i+1))
		refused = refused || c == http.StatusTooManyRequests
	}
	if !refused {
		t.Fatal("30 guesses from new networks were never spaced out")
	}
	for i := range 5 {
		if c := basic(alicePass, "192.0.2.1"); c != http.StatusOK {
			t.Errorf("the client from its own address, request %d: status %d, want 200",
				i+1, c)
		}
	}
	if c := basic(alicePass, "192.0.2.99"); c != http.StatusTooManyRequests {
		t.Errorf("the same credentials from a new address: status %d, want 429", c)
	}
}

// TestBasicChallengeNeverAtTheBarePrefix: a browser takes a challenge at "/api" to cover
// "/", every app of the site; the gateway sends "/api" on to "/api/" instead, and
// challenges only within the route's folder.
func TestBasicChallengeNeverAtTheBarePrefix(t *testing.T) {
	up := newEcho(t)
	e := newEnvWithUpstream(t, up, "  - path: /api/\n    upstream: \""+up.URL+"\"\n"+
		"    basic_auth: true\n"+
		"  - path: /café/\n    upstream: \""+up.URL+"\"\n    basic_auth: true\n"+
		"  - path: /a b/\n    upstream: \""+up.URL+"\"\n    basic_auth: true\n")
	wrong := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:wrong"))
	for _, tt := range []struct {
		path, auth string
		status     int
		location   string
	}{
		{"/api", "", http.StatusPermanentRedirect, "/api/"},
		{"/api?q=1&r=%2F", "", http.StatusPermanentRedirect, "/api/?q=1&r=%2F"},
		{"/api", wrong, http.StatusPermanentRedirect, "/api/"},
		{"/api/", "", http.StatusUnauthorized, ""},
		// route paths are written decoded; requests come escaped, in either case
		{"/caf%C3%A9", "", http.StatusPermanentRedirect, "/caf%C3%A9/"},
		{"/caf%c3%a9", "", http.StatusPermanentRedirect, "/caf%c3%a9/"},
		{"/a%20b", wrong, http.StatusPermanentRedirect, "/a%20b/"},
		{"/caf%C3%A9/x", "", http.StatusUnauthorized, ""},
		{"/api/x", wrong, http.StatusUnauthorized, ""},
	} {
		hdr := http.Header{}
		if tt.auth != "" {
			hdr.Set("Authorization", tt.auth)
		}
		r := e.raw("GET", tt.path, "", hdr)
		challenge := r.Header.Get("WWW-Authenticate")
		if r.StatusCode != tt.status || r.Header.Get("Location") != tt.location ||
			(challenge != "") != (tt.status == http.StatusUnauthorized) {
			t.Errorf("%s: status %d, Location %q, challenge %q; want %d, %q", tt.path,
				r.StatusCode, r.Header.Get("Location"), challenge, tt.status, tt.location)
		}
	}
	// right credentials at the bare prefix pass, as ever
	right := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:"+alicePass))
	if r := e.raw("GET", "/api", "", http.Header{"Authorization": {right}}); r.StatusCode !=
		200 {
		t.Errorf("/api with right credentials: status %d, want 200", r.StatusCode)
	}
}

// TestUsernameReadAsNFKC: a username typed in fullwidth letters, or in other
// compatibility forms, names the user it reads as in NFKC form, as Django reads it, on
// the form and in Basic credentials.
func TestUsernameReadAsNFKC(t *testing.T) {
	e, _ := basicEnv(t)
	const wide = "\uff41\uff4c\uff49\uff43\uff45" // ａｌｉｃｅ
	if r := e.browser().login(wide, alicePass, "/"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("sign-in as %q: status %d, want 303 as alice", wide, r.StatusCode)
	}
	req, _ := http.NewRequest("GET", e.gw.URL+"/api/x", nil)
	req.SetBasicAuth(wide, alicePass)
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("Basic as %q: status %d, want 200", wide, res.StatusCode)
	}
	if got := e.up.last(t).Header.Get("X-Forwarded-User"); got != "alice" {
		t.Errorf("the app was told the user is %q, want alice", got)
	}
}
