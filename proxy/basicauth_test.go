package proxy_test

import (
	"fmt"
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
		return resp{Response: res}
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
	r := basic("alice", "wrong")
	if r.StatusCode != http.StatusUnauthorized ||
		!strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Basic ") {
		t.Errorf("wrong password: %d %q, want 401 with a Basic challenge", r.StatusCode,
			r.Header.Get("WWW-Authenticate"))
	}
	if r := e.raw("GET", "/api/items", "", nil); r.StatusCode != http.StatusUnauthorized ||
		r.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("no credentials, API client: %d, want 401 with a challenge", r.StatusCode)
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

// TestBasicCacheKeepsGuessSpacing: credentials checked within the last minute pass
// without the throttle, so a client that calls often does not start its account's
// guess counts afresh with every request, and guessers stay spaced out meanwhile.
func TestBasicCacheKeepsGuessSpacing(t *testing.T) {
	up := newEcho(t)
	e := newEnvWithUpstream(t, up, "  - path: /api/\n    upstream: \""+up.URL+"\"\n"+
		"    basic_auth: true\ntrusted_proxies: [\"127.0.0.1/32\"]\n")
	e.h.FreezeThrottle(time.Now()) // no wait runs out during the test
	basic := func(pass, from string) int {
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
	if c := basic(alicePass, "192.0.2.1"); c != http.StatusOK {
		t.Fatalf("the client's first request: status %d", c)
	}
	// guesses from networks new to alice: five fail, then they are spaced out
	for i := range 5 {
		if c := basic("wrong", fmt.Sprintf("198.51.%d.1", i)); c != http.StatusUnauthorized {
			t.Fatalf("guess %d: status %d, want 401", i+1, c)
		}
	}
	if c := basic("wrong", "198.51.10.1"); c != http.StatusTooManyRequests {
		t.Fatalf("sixth guess: status %d, want 429", c)
	}
	for range 3 {
		if c := basic(alicePass, "192.0.2.1"); c != http.StatusOK {
			t.Fatalf("the client's cached credentials: status %d", c)
		}
	}
	if c := basic("wrong", "198.51.11.1"); c != http.StatusTooManyRequests {
		t.Errorf("a guess after the client's requests: status %d, want 429: they started "+
			"the account's counts afresh", c)
	}
}
