package proxy_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// User enumeration and brute force: S16 and S17.

func randomName(prefix string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// liftedThrottle raises the sign-in throttle far past what a test sends, for cases that
// need many failures from one address without being limited.
const liftedThrottle = "throttle:\n  address_failures: 100000\n" +
	"  user_address_failures: 100000\n  user_failures: 100000\n"

// failureShape is what a client can observe of a failed sign-in, with the echoed username
// and the CSRF token taken out.
type failureShape struct {
	status  int
	body    string
	headers string
}

func shapeOf(r sresp, user string, skip ...string) failureShape {
	return failureShape{r.StatusCode, stripVarying(r.body, user), headerShape(r.Header, skip...)}
}

func diffShapes(t testing.TB, what string, got, want failureShape) {
	t.Helper()
	if got.status != want.status {
		t.Errorf("%s: status: got %d, want %d as for the first attempt", what, got.status,
			want.status)
	}
	if got.body != want.body {
		t.Errorf("%s: body differs from the first attempt's:\n got %s\nwant %s", what,
			got.body, want.body)
	}
	if got.headers != want.headers {
		t.Errorf("%s: headers differ from the first attempt's:\n got %s\nwant %s", what,
			got.headers, want.headers)
	}
}

// stripVarying removes from a failure page what legitimately differs between attempts:
// the echoed username and the CSRF token.
func stripVarying(body, user string) string {
	body = csrfRe.ReplaceAllString(body, `name="csrf_token" value=""`)
	if user != "" {
		body = strings.ReplaceAll(body, html.EscapeString(user), "USER")
	}
	return body
}

// headerShape lists a response's headers for comparison: Date and the length, which
// follows from the body, left out; Set-Cookie values blanked; skip names more.
func headerShape(h http.Header, skip ...string) string {
	var out []string
	for name, vs := range h {
		switch {
		case name == "Date" || name == "Content-Length":
			continue
		case slicesContains(skip, name):
			out = append(out, name+": (present)")
			continue
		}
		for _, v := range vs {
			if name == "Set-Cookie" {
				n, rest, _ := strings.Cut(v, "=")
				_, attrs, _ := strings.Cut(rest, ";")
				v = n + "=…;" + attrs
			}
			out = append(out, name+": "+v)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

func slicesContains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestS16UsernameEnumeration(t *testing.T) {
	users := append(secDefaultUsers(), secUser{name: "dave", pass: "dave-correct-pass",
		groups: []string{"staff"}, disabled: true})
	e := newSecEnv(t, secOptions{config: liftedThrottle, users: users, byHand: true})

	type attempt struct{ group, user, pass string }
	var attempts []attempt
	for range 50 {
		attempts = append(attempts,
			attempt{"real user, wrong password", "alice", "wrong"},
			attempt{"unknown user", randomName("nouser-"), "wrong"})
	}
	for range 50 {
		attempts = append(attempts,
			attempt{"disabled user, wrong password", "dave", "wrong"},
			attempt{"unknown user", randomName("nouser-"), "wrong"})
	}
	for range 10 {
		attempts = append(attempts,
			attempt{"disabled user, right password", "dave", "dave-correct-pass"},
			attempt{"real user, empty password", "alice", ""},
			attempt{"unknown user, empty password", randomName("nouser-"), ""},
			attempt{"real user in other case", "Alice", "wrong"},
			attempt{"real user with a trailing space", "alice ", alicePass},
			attempt{"unknown user shaped like a real one", randomName("alice"), alicePass})
	}

	var ref failureShape
	for i, a := range attempts {
		before := e.auth.Verifications()
		r := e.client().login(t, a.user, a.pass, "")
		what := fmt.Sprintf("attempt %d (%s)", i+1, a.group)
		if r.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: status: got %d, want 401", what, r.StatusCode)
		}
		if !strings.Contains(r.body, "Invalid credentials") {
			t.Errorf("%s: page lacks \"Invalid credentials\"", what)
		}
		if n := e.auth.Verifications() - before; n != 1 {
			t.Errorf("%s: password verifications: got %d, want 1", what, n)
		}
		got := shapeOf(r, a.user)
		if i == 0 {
			ref = got
			continue
		}
		diffShapes(t, what, got, ref)
	}

	// A real user and an unknown one, each throttled: the refusals look the same.
	t.Run("rate-limited", func(t *testing.T) {
		e := newSecEnv(t, secOptions{})
		limited := func(user, addr string) sresp {
			c := newHandlerClient(e.h, addr)
			var r sresp
			for range 30 {
				r = c.attempt(t, user, "wrong")
				if r.StatusCode == http.StatusTooManyRequests {
					break
				}
			}
			return r
		}
		unknown := randomName("nouser-")
		real, fake := limited("alice", "10.3.3.3:1234"), limited(unknown, "10.4.4.4:1234")
		for _, r := range []sresp{real, fake} {
			if r.StatusCode != http.StatusTooManyRequests {
				t.Errorf("after 30 failures: status: got %d, want 429", r.StatusCode)
			}
		}
		diffShapes(t, "throttled unknown user", shapeOf(fake, unknown, "Retry-After"),
			shapeOf(real, "alice", "Retry-After"))
	})
}

// wantThrottled checks a refusal by the sign-in throttle: 429 with a Retry-After in
// seconds, and no session.
func wantThrottled(t testing.TB, r sresp, what string) {
	t.Helper()
	if r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("%s: status: got %d, want 429", what, r.StatusCode)
		return
	}
	if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("%s: Retry-After: got %q, want a number of seconds", what,
			r.Header.Get("Retry-After"))
	}
	for _, ck := range r.Cookies() {
		if ck.Name == "gateway_session" && ck.Value != "" {
			t.Errorf("%s: a session cookie was set", what)
		}
	}
}

func TestS17BruteForceLimiter(t *testing.T) {
	t.Run("one client", func(t *testing.T) {
		e := newSecEnv(t, secOptions{})
		c := newHandlerClient(e.h, "10.1.1.1:1234")
		var wrong sresp
		for i := range 10 {
			wrong = c.attempt(t, "alice", "wrong")
			if i < 5 {
				if wrong.StatusCode != http.StatusUnauthorized {
					t.Errorf("failure %d: status: got %d, want 401", i+1, wrong.StatusCode)
				}
			} else {
				wantThrottled(t, wrong, fmt.Sprintf("failure %d", i+1))
			}
		}
		right := c.attempt(t, "alice", alicePass)
		wantThrottled(t, right, "right password after 10 failures")
		diffShapes(t, "right password while throttled",
			shapeOf(right, "alice", "Retry-After"), shapeOf(wrong, "alice", "Retry-After"))
	})

	for _, tt := range []struct {
		name  string
		vary  func(i int) (addr string, hdr []string)
		fresh bool
	}{
		{"X-Forwarded-For and fresh pre-login state", func(i int) (string, []string) {
			return "10.1.1.1:1234", []string{"X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i+1)}
		}, true},
		{"X-Real-IP", func(i int) (string, []string) {
			return "10.1.1.1:1234", []string{"X-Real-IP", fmt.Sprintf("203.0.113.%d", i+1)}
		}, true},
		{"Forwarded", func(i int) (string, []string) {
			return "10.1.1.1:1234", []string{"Forwarded", fmt.Sprintf("for=203.0.113.%d", i+1)}
		}, true},
		{"True-Client-IP", func(i int) (string, []string) {
			return "10.1.1.1:1234", []string{"True-Client-IP", fmt.Sprintf("203.0.113.%d", i+1)}
		}, true},
		{"source port", func(i int) (string, []string) {
			return fmt.Sprintf("10.1.1.1:%d", 40000+i), nil
		}, true},
		{"IPv4-mapped IPv6", func(i int) (string, []string) {
			if i%2 == 1 {
				return "[::ffff:10.1.1.1]:1234", nil
			}
			return "10.1.1.1:1234", nil
		}, true},
		{"IPv6 addresses in one /64", func(i int) (string, []string) {
			return fmt.Sprintf("[2001:db8::%x]:1234", i+1), nil
		}, true},
		{"same pre-login state, new X-Forwarded-For", func(i int) (string, []string) {
			return "10.1.1.1:1234", []string{"X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i+1)}
		}, false},
	} {
		t.Run("dodge/"+tt.name, func(t *testing.T) {
			e := newSecEnv(t, secOptions{})
			addr0, _ := tt.vary(0)
			c := newHandlerClient(e.h, addr0)
			for i := range 10 {
				addr, hdr := tt.vary(i)
				if tt.fresh {
					c = newHandlerClient(e.h, addr)
				}
				c.addr = addr
				c.attempt(t, "alice", "wrong", hdr...)
			}
			addr, hdr := tt.vary(10)
			if tt.fresh {
				c = newHandlerClient(e.h, addr)
			}
			c.addr = addr
			wantThrottled(t, c.attempt(t, "alice", alicePass, hdr...),
				"right password after 10 failures")
		})
	}

	for _, tt := range []struct {
		name string
		addr func(i int) string
	}{
		{"junk names from one address", func(int) string { return "10.1.1.1:1234" }},
		{"junk names from 300 addresses", func(i int) string {
			return fmt.Sprintf("10.9.%d.%d:1234", i/250, i%250+1)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newSecEnv(t, secOptions{})
			admitted := 0
			for i := range 300 {
				r := newHandlerClient(e.h, tt.addr(i)).attempt(t, randomName("junk-"), "wrong")
				oneAddr := tt.addr(0) == tt.addr(1)
				switch {
				case oneAddr && i >= 20 && r.StatusCode == http.StatusUnauthorized:
					// The refusal lasts 1 s and doubles with each admitted failure; on a
					// slow machine the loop outlasts a few of those waits.
					admitted++
				case oneAddr && i >= 20:
					wantThrottled(t, r, fmt.Sprintf("junk attempt %d from one address", i+1))
				case r.StatusCode != http.StatusUnauthorized:
					t.Errorf("junk attempt %d: status: got %d, want 401", i+1, r.StatusCode)
				}
			}
			if admitted > 8 {
				t.Errorf("%d junk attempts past the limit were checked, want at most a few "+
					"as the doubling waits run out", admitted)
			}
			for _, who := range []struct{ user, pass, addr string }{
				{"bob", bobPass, "10.2.2.2:1234"},
				{"alice", alicePass, "10.3.3.3:1234"},
			} {
				c := newHandlerClient(e.h, who.addr)
				r := c.attempt(t, who.user, who.pass)
				if r.StatusCode != http.StatusSeeOther || c.cookies["gateway_session"] == "" {
					t.Errorf("%s from %s: status %d, want 303 with a session", who.user,
						who.addr, r.StatusCode)
					continue
				}
				if r := c.do("GET", "/app/", ""); r.StatusCode != http.StatusOK {
					t.Errorf("%s's session: status %d, want 200", who.user, r.StatusCode)
				}
			}
		})
	}
}
