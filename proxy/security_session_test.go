package proxy_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontgate/gateway/authn/password"
	"github.com/frontgate/gateway/authn/session"
	"github.com/frontgate/gateway/proxy"
)

// Sessions: malformed cookies, fixation, invalidation and CSRF, S11 to S15.

func TestS11MalformedSessionCookie(t *testing.T) {
	e := newSecEnv(t, secOptions{config: "trusted_proxies: [\"127.0.0.1/32\"]\n"})
	alice := e.session(t, "alice", alicePass)
	bob := e.session(t, "bob", bobPass)

	// a session deleted on the server: signed out from another client
	deleted := func() string {
		c := e.client()
		c.login(t, "alice", alicePass, "")
		s := c.session()
		tok := field(t, csrfRe, c.get(t, "/.gateway/logout").body)
		r := c.post(t, "/.gateway/logout", "csrf_token="+url.QueryEscape(tok))
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("logout: status %d, want 303", r.StatusCode)
		}
		return s
	}()
	// a correctly signed value the server never had: as after a restart with the memory
	// store, and one sealed under another secret
	restarted := newSecEnv(t, secOptions{}).session(t, "alice", alicePass)
	otherSecret := newSecEnv(t, secOptions{secrets: []string{"another-secret-0123456789-abcdefghij"}}).
		session(t, "alice", alicePass)
	login := func() string {
		c := e.client()
		c.form(t)
		return c.cookies["gateway_login"]
	}()

	swap := func(i int) string {
		b := []byte(alice)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	mid := len(alice) / 2
	bad := []struct{ name, cookie string }{
		{"AAAA", "gateway_session=AAAA"},
		{"empty", "gateway_session="},
		{"first character changed", "gateway_session=" + swap(0)},
		{"middle character changed", "gateway_session=" + swap(mid)},
		{"last character changed", "gateway_session=" + swap(len(alice)-1)},
		{"cut by one", "gateway_session=" + alice[:len(alice)-1]},
		{"cut in half", "gateway_session=" + alice[:mid]},
		{"cut to 10", "gateway_session=" + alice[:10]},
		{"| appended", "gateway_session=" + alice + "|"},
		{". appended", "gateway_session=" + alice + "."},
		{"= appended", "gateway_session=" + alice + "="},
		{"| inserted", "gateway_session=" + alice[:mid] + "|" + alice[mid:]},
		{". inserted", "gateway_session=" + alice[:mid] + "." + alice[mid:]},
		{"= inserted", "gateway_session=" + alice[:mid] + "=" + alice[mid:]},
		{"| prepended", "gateway_session=|" + alice},
		{"deleted on the server", "gateway_session=" + deleted},
		{"from before a restart", "gateway_session=" + restarted},
		{"sealed under another secret", "gateway_session=" + otherSecret},
		{"pre-login cookie value", "gateway_session=" + login},
		{"5 KB", "gateway_session=" + strings.Repeat("A", 5000)},
		{"5 KB after a valid value", "gateway_session=" + alice + strings.Repeat("A", 5000)},
		{"upper-cased", "gateway_session=" + strings.ToUpper(alice)},
		{"percent-encoded", "gateway_session=" + url.QueryEscape(alice+"|")},
		{"null", "gateway_session=null"},
		{"two live sessions of different users",
			"gateway_session=" + alice + "; gateway_session=" + bob},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			before := e.up.count()
			r := e.with(t, "GET", "/app/whoami", "", "Cookie", tt.cookie)
			wantLoginRequired(t, r, "/app/whoami")
			wantUntouched(t, e.up, before)
			wantNoCrash(t, r)
		})
	}
	for _, tt := range bad {
		t.Run("forward-auth/"+tt.name, func(t *testing.T) {
			r := e.forwardAuth(t, "", "Cookie", tt.cookie, "X-Forwarded-Uri", "/app/whoami")
			if r.StatusCode != http.StatusUnauthorized {
				t.Errorf("status: got %d, want 401", r.StatusCode)
			}
			wantNoCrash(t, r)
		})
	}

	for _, tt := range []struct {
		name   string
		cookie []string
	}{
		{"garbage then valid", []string{"gateway_session=garbage; gateway_session=" + alice}},
		{"valid then garbage", []string{"gateway_session=" + alice + "; gateway_session=garbage"}},
		{"on two lines", []string{"gateway_session=garbage", "gateway_session=" + alice}},
		{"valid twice", []string{"gateway_session=" + alice + "; gateway_session=" + alice}},
		{"deleted then valid", []string{"gateway_session=" + deleted +
			"; gateway_session=" + alice}},
		{"altered then valid", []string{"gateway_session=" + swap(mid) +
			"; gateway_session=" + alice}},
	} {
		t.Run("duplicates/"+tt.name, func(t *testing.T) {
			c := e.client()
			req, _ := http.NewRequest("GET", e.gw.URL+"/app/whoami", nil)
			req.Host = secHost
			req.Header["Cookie"] = tt.cookie
			res, err := c.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status: got %d, want 200 as alice", res.StatusCode)
			}
			wantIdentity(t, e.up.last(t), defaultIdentity, aliceIdentity)
		})
		t.Run("forward-auth/duplicates/"+tt.name, func(t *testing.T) {
			// the front proxy's site is HTTPS, where the cookie has the __Host- prefix
			cookie := strings.ReplaceAll(strings.Join(tt.cookie, "; "), "gateway_session=",
				"__Host-gateway_session=")
			r := e.forwardAuth(t, "", "Cookie", cookie, "X-Forwarded-Uri", "/app/whoami")
			if r.StatusCode/100 != 2 {
				t.Errorf("status: got %d, want 2xx as alice", r.StatusCode)
			}
		})
	}
}

// TestS11ExpiredSessionCookie checks that the cookie of a session that ran out, idle or
// at the end of its lifetime, signs nobody in: a browser is sent to sign in, a script
// gets 401, the upstream hears nothing, the cookie is cleared, and the audit trail says
// the session ended because it expired.
func TestS11ExpiredSessionCookie(t *testing.T) {
	clock := newFakeClock()
	e := newSecEnv(t, secOptions{clock: clock,
		session: "  idle_timeout: 10m\n  lifetime: 30m\n"})
	idle := func(t *testing.T, sess string) { clock.Advance(11 * time.Minute) }
	// used every 8 minutes, the session never idles out, and its lifetime ends at 30
	lifetime := func(t *testing.T, sess string) {
		for minutes := 8; minutes <= 24; minutes += 8 {
			clock.Advance(8 * time.Minute)
			if r := e.with(t, "GET", "/app/whoami", sess); r.StatusCode != http.StatusOK {
				t.Fatalf("in use after %d minutes: status %d, want 200", minutes,
					r.StatusCode)
			}
		}
		clock.Advance(8 * time.Minute) // at 32 minutes: 8 unused, 2 past the lifetime
	}
	for _, tt := range []struct {
		name    string
		expire  func(t *testing.T, sess string)
		browser bool
	}{
		{"idle/browser", idle, true},
		{"idle/script", idle, false},
		{"lifetime/browser", lifetime, true},
		{"lifetime/script", lifetime, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sess := e.session(t, "alice", alicePass)
			tt.expire(t, sess)
			before, audits := e.up.count(), expiredAudits(e.logs)
			var hdr []string
			if !tt.browser {
				hdr = []string{"Accept", ""}
			}
			r := e.with(t, "GET", "/app/whoami", sess, hdr...)
			if tt.browser {
				wantLoginRequired(t, r, "/app/whoami")
			} else if r.StatusCode != http.StatusUnauthorized {
				t.Errorf("status: got %d, want 401", r.StatusCode)
			}
			wantUntouched(t, e.up, before)
			wantNoCrash(t, r)
			switch ck := findSetCookie(r.Header.Values("Set-Cookie"), session.CookieName); {
			case ck == nil:
				t.Errorf("session cookie: not set, want it cleared")
			case ck.MaxAge >= 0:
				t.Errorf("session cookie: got %q, want it cleared", ck.Raw)
			}
			if n := expiredAudits(e.logs) - audits; n != 1 {
				t.Errorf("audit records of alice's session ended as expired: got %d, want 1", n)
			}
		})
	}
}

// expiredAudits counts the audit records of alice's sessions ended because they expired.
func expiredAudits(l *secLog) int {
	n := 0
	for _, r := range l.records() {
		if r["log"] == "audit" && r["msg"] == "session ended" && r["user"] == "alice" &&
			r["reason"] == "expired" {
			n++
		}
	}
	return n
}

// wantNoCrash checks that an answer is no 500 and carries no stack trace.
func wantNoCrash(t testing.TB, r sresp) {
	t.Helper()
	if r.StatusCode >= 500 {
		t.Errorf("status: got %d, want no server error", r.StatusCode)
	}
	if strings.Contains(r.body, "goroutine ") || strings.Contains(r.body, "panic") {
		t.Errorf("answer carries a stack trace:\n%s", r.body)
	}
}

func TestS12SessionFixation(t *testing.T) {
	e := newSecEnv(t, secOptions{})

	t.Run("case", func(t *testing.T) {
		// 1. the pre-login cookie, and S0 from an earlier login as someone else
		c := e.client()
		tok := c.form(t)
		if c.cookies["gateway_login"] == "" {
			t.Fatal("sign-in form set no pre-login cookie")
		}
		s0 := c.session()
		if s0 == "" {
			s0 = e.session(t, "bob", bobPass)
		}

		// 2. log in as alice carrying both
		c.set("gateway_session", s0)
		r := c.post(t, proxy.LoginPath, loginBody("alice", alicePass, tok, ""))
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in: status %d, want 303", r.StatusCode)
		}
		s1 := c.session()
		if s1 == "" || s1 == s0 {
			t.Fatalf("session after login: got %q, want a new value (S0 %q)", s1, s0)
		}

		// 3. S0 is over, S1 is alice
		before := e.up.count()
		wantLoginRequired(t, e.with(t, "GET", "/app/whoami", s0), "/app/whoami")
		wantUntouched(t, e.up, before)
		if r := e.with(t, "GET", "/app/whoami", s1); r.StatusCode != http.StatusOK {
			t.Fatalf("S1: status %d, want 200", r.StatusCode)
		}
		wantIdentity(t, e.up.last(t), defaultIdentity, aliceIdentity)

		// 5. signed in as alice, log in as bob from the same browser, from a sign-in
		// form opened in another tab
		tab := e.client()
		tok = tab.form(t)
		c.set("gateway_login", tab.cookies["gateway_login"])
		r = c.post(t, proxy.LoginPath, loginBody("bob", bobPass, tok, ""))
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in as bob: status %d, want 303", r.StatusCode)
		}
		s2 := c.session()
		if s2 == "" || s2 == s1 {
			t.Fatalf("session after the second login: got %q, want a new value", s2)
		}
		before = e.up.count()
		wantLoginRequired(t, e.with(t, "GET", "/app/whoami", s1), "/app/whoami")
		wantUntouched(t, e.up, before)
		if r := e.with(t, "GET", "/app/whoami", s2); r.StatusCode != http.StatusOK {
			t.Fatalf("S2: status %d, want 200", r.StatusCode)
		}
		wantIdentity(t, e.up.last(t), defaultIdentity,
			[]string{"bob", "bob@example.test", "admins"})
	})

	// 4. a value chosen by the attacker is never adopted
	aliceBefore := e.session(t, "alice", alicePass)
	for _, tt := range []struct {
		name, planted string
		live          bool // the planted value names a live session before the login
	}{
		{"attacker-chosen-id", "attacker-chosen-id", false},
		{"base64-looking id", strings.Repeat("QUFB", 20), false},
		{"empty", "", false},
		{"a live session of bob", e.session(t, "bob", bobPass), true},
		{"alice's own earlier session", aliceBefore, true},
	} {
		t.Run("planted/"+tt.name, func(t *testing.T) {
			c := e.client()
			tok := c.form(t)
			c.set("gateway_session", tt.planted)
			r := c.post(t, proxy.LoginPath, loginBody("alice", alicePass, tok, ""))
			if r.StatusCode != http.StatusSeeOther {
				if r.StatusCode/100 != 4 {
					t.Fatalf("sign-in: status %d, want 303 or a refusal", r.StatusCode)
				}
				return
			}
			got := c.session()
			if got == "" || got == tt.planted {
				t.Fatalf("session after login: got %q, want a fresh value", got)
			}
			if tt.planted != "" {
				before := e.up.count()
				wantLoginRequired(t, e.with(t, "GET", "/app/whoami", tt.planted),
					"/app/whoami")
				wantUntouched(t, e.up, before)
			}
			if r := e.with(t, "GET", "/app/whoami", got); r.StatusCode != http.StatusOK {
				t.Fatalf("new session: status %d, want 200", r.StatusCode)
			}
			wantIdentity(t, e.up.last(t), defaultIdentity, aliceIdentity)
		})
	}

	t.Run("planted pre-login cookie", func(t *testing.T) {
		attacker := e.client()
		tok := attacker.form(t)
		victim := e.client()
		victim.set("gateway_login", attacker.cookies["gateway_login"])
		r := victim.post(t, proxy.LoginPath, loginBody("alice", alicePass, tok, ""))
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("victim sign-in: status %d, want 303", r.StatusCode)
		}
		before := e.up.count()
		wantLoginRequired(t, attacker.get(t, "/app/whoami"), "/app/whoami")
		wantUntouched(t, e.up, before)
		if r := attacker.get(t, proxy.LoginPath); r.StatusCode != http.StatusOK {
			t.Errorf("attacker's sign-in page: status %d, want 200 with the form", r.StatusCode)
		}
	})
}

func TestS13SessionAfterLogout(t *testing.T) {
	e := newSecEnv(t, secOptions{config: "trusted_proxies: [\"127.0.0.1/32\"]\n"})

	logout := func(t *testing.T, c *secClient) sresp {
		t.Helper()
		tok := field(t, csrfRe, c.get(t, "/.gateway/logout").body)
		return c.post(t, "/.gateway/logout", "csrf_token="+url.QueryEscape(tok),
			"Origin", "https://"+secHost)
	}

	t.Run("logout and replay", func(t *testing.T) {
		c := e.client()
		r := c.login(t, "alice", alicePass, "")
		set := findSetCookie(r.Header.Values("Set-Cookie"), "gateway_session")
		old := c.session()
		if set == nil || old == "" {
			t.Fatal("sign-in set no session cookie")
		}

		r = logout(t, c)
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != proxy.LoginPath {
			t.Errorf("logout: got %d %q, want 303 %s", r.StatusCode,
				r.Header.Get("Location"), proxy.LoginPath)
		}
		exp := findSetCookie(r.Header.Values("Set-Cookie"), "gateway_session")
		switch {
		case exp == nil:
			t.Errorf("logout did not expire gateway_session: %q", r.Header.Values("Set-Cookie"))
		case exp.MaxAge >= 0 || exp.Value != "":
			t.Errorf("logout cookie %q does not expire gateway_session", exp.Raw)
		case exp.Path != set.Path || exp.Domain != set.Domain:
			t.Errorf("expiring cookie Path %q Domain %q, want those it was set with: %q %q",
				exp.Path, exp.Domain, set.Path, set.Domain)
		}

		before := e.up.count()
		wantLoginRequired(t, e.with(t, "GET", "/app/whoami", old), "/app/whoami")
		wantUntouched(t, e.up, before)
		if r := e.with(t, "GET", "/public/echo", old); r.StatusCode != http.StatusOK {
			t.Errorf("old cookie on a public path: status %d, want 200", r.StatusCode)
		} else {
			wantIdentity(t, e.up.last(t), defaultIdentity, nil)
		}
		if r := e.with(t, "GET", "/.gateway/logout", old); csrfRe.MatchString(r.body) {
			t.Error("old cookie still gets a sign-out form with a token")
		}
		fa := e.forwardAuth(t, old, "X-Forwarded-Uri", "/app/whoami")
		if fa.StatusCode != http.StatusUnauthorized {
			t.Errorf("forward-auth with the old cookie: status: got %d, want 401", fa.StatusCode)
		}

		page := c.get(t, proxy.LoginPath)
		if page.StatusCode != http.StatusOK ||
			!strings.Contains(page.body, "You have been logged out") {
			t.Errorf("sign-in page after logout: status %d, want 200 with the notice:\n%s",
				page.StatusCode, page.body)
		}
	})

	t.Run("requests in flight", func(t *testing.T) {
		c := e.client()
		c.login(t, "alice", alicePass, "")
		s := c.session()
		tok := field(t, csrfRe, c.get(t, "/.gateway/logout").body)

		e.up.Hold.Store(int64(2 * time.Second))
		defer e.up.Hold.Store(0)
		const n = 20
		var wg sync.WaitGroup
		set := make([][]string, n)
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest("GET", e.gw.URL+"/slow/x", nil)
				req.Host = secHost
				req.AddCookie(&http.Cookie{Name: "gateway_session", Value: s})
				res, err := http.DefaultTransport.RoundTrip(req)
				if err != nil {
					errs[i] = err
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				set[i] = res.Header.Values("Set-Cookie")
			}()
		}
		if !waitFor(10*time.Second, func() bool { return e.up.Busy.Load() >= n }) {
			t.Fatalf("only %d of %d requests reached the upstream", e.up.Busy.Load(), n)
		}
		r := c.post(t, "/.gateway/logout", "csrf_token="+url.QueryEscape(tok),
			"Origin", "https://"+secHost)
		if r.StatusCode != http.StatusSeeOther {
			t.Errorf("logout: status %d, want 303", r.StatusCode)
		}
		wg.Wait()

		replay := []string{s}
		for i := range n {
			if errs[i] != nil {
				t.Errorf("request %d: %v", i, errs[i])
			}
			for _, l := range set[i] {
				if ck, err := http.ParseSetCookie(l); err == nil &&
					ck.Name == "gateway_session" && ck.Value != "" {
					replay = append(replay, ck.Value)
				}
			}
		}
		for _, v := range replay {
			before := e.up.count()
			wantLoginRequired(t, e.with(t, "GET", "/app/whoami", v), "/app/whoami")
			wantUntouched(t, e.up, before)
		}
	})
}

// findSetCookie returns the last Set-Cookie for name, with Raw holding its line.
func findSetCookie(lines []string, name string) *http.Cookie {
	var found *http.Cookie
	for _, l := range lines {
		if ck, err := http.ParseSetCookie(l); err == nil && ck.Name == name {
			ck.Raw = l
			found = ck
		}
	}
	return found
}

func TestS14SessionAfterUserChange(t *testing.T) {
	carol := secUser{name: "carol", pass: "carol-correct-pass", groups: []string{"staff"}}
	rehash, err := password.Generate(alicePass, cheap)
	if err != nil {
		t.Fatal(err)
	}
	for _, run := range []struct {
		name  string
		after []secUser
	}{
		{"carol disabled", []secUser{
			{name: "alice", pass: "alice-new-password", groups: []string{"staff"}},
			{name: "bob", pass: bobPass, groups: []string{"staff"}},
			{name: "carol", pass: carol.pass, groups: carol.groups, disabled: true},
		}},
		{"carol deleted", []secUser{
			{name: "alice", pass: "alice-new-password", groups: []string{"staff"}},
			{name: "bob", pass: bobPass, groups: []string{"staff"}},
		}},
		{"alice rehashed with the same password, carol disabled", []secUser{
			{name: "alice", pass: alicePass, hash: rehash, groups: []string{"staff"}},
			{name: "bob", pass: bobPass, groups: []string{"staff"}},
			{name: "carol", pass: carol.pass, groups: carol.groups, disabled: true},
		}},
		{"bob's admins dropped among others, carol deleted", []secUser{
			{name: "alice", pass: "alice-new-password", groups: []string{"staff"}},
			{name: "bob", pass: bobPass, groups: []string{"staff", "admins-old"}},
		}},
	} {
		t.Run(run.name, func(t *testing.T) {
			e := newSecEnv(t, secOptions{users: append(secDefaultUsers(), carol)})
			alice := e.session(t, "alice", alicePass)
			bob := e.session(t, "bob", bobPass)
			car := e.session(t, "carol", carol.pass)

			secWriteUsers(t, e.usersFile, run.after)
			e.reload(t)

			before := e.up.count()
			wantLoginRequired(t, e.with(t, "GET", "/app/whoami", alice), "/app/whoami")
			wantUntouched(t, e.up, before)

			before = e.up.count()
			wantForbidden(t, e.with(t, "GET", "/admin/", bob), e.up, before)
			if r := e.with(t, "GET", "/app/whoami", bob); r.StatusCode != http.StatusOK {
				t.Errorf("bob on /app/whoami: status %d, want 200", r.StatusCode)
			} else {
				for _, f := range e.up.last(t).like("X-Forwarded-Groups") {
					for g := range strings.SplitSeq(f.Value, ",") {
						if strings.TrimSpace(g) == "admins" {
							t.Errorf("bob's groups upstream: got %q, want no admins", f.Value)
						}
					}
				}
			}

			before = e.up.count()
			wantLoginRequired(t, e.with(t, "GET", "/app/whoami", car), "/app/whoami")
			wantUntouched(t, e.up, before)
		})
	}
}

func TestS15LogoutAndLoginCSRF(t *testing.T) {
	e := newSecEnv(t, secOptions{})
	alice := e.client()
	alice.login(t, "alice", alicePass, "")
	stillAlice := func(t *testing.T) {
		t.Helper()
		if r := alice.get(t, "/app/whoami"); r.StatusCode != http.StatusOK {
			t.Fatalf("alice's session: status %d, want 200", r.StatusCode)
		}
		wantIdentity(t, e.up.last(t), defaultIdentity, aliceIdentity)
	}
	token := field(t, csrfRe, alice.get(t, "/.gateway/logout").body)

	// 1. no method but POST with the token signs out
	for _, tt := range []struct {
		method, query string
		want          int
	}{
		{"GET", "", http.StatusOK},
		{"HEAD", "", http.StatusOK},
		{"PUT", "", http.StatusMethodNotAllowed},
		{"DELETE", "", http.StatusMethodNotAllowed},
		{"PATCH", "", http.StatusMethodNotAllowed},
		{"GET", "?csrf_token=" + url.QueryEscape(token), http.StatusOK},
		{"DELETE", "?csrf_token=" + url.QueryEscape(token), http.StatusMethodNotAllowed},
	} {
		t.Run("method/"+tt.method+tt.query, func(t *testing.T) {
			r := alice.do(t, tt.method, "/.gateway/logout"+tt.query, nil)
			if r.StatusCode != tt.want {
				t.Errorf("status: got %d, want %d", r.StatusCode, tt.want)
			}
			stillAlice(t)
		})
	}

	// 2. a cross-site POST never signs out
	bob := e.client()
	bob.login(t, "bob", bobPass, "")
	bobToken := field(t, csrfRe, bob.get(t, "/.gateway/logout").body)
	cross := []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}
	for _, tt := range []struct {
		name, path, form string
		hdr              []string
	}{
		{"no token", "/.gateway/logout", "", cross},
		{"the attacker's own token", "/.gateway/logout",
			"csrf_token=" + url.QueryEscape(bobToken), cross},
		{"alice's token, cross-site", "/.gateway/logout",
			"csrf_token=" + url.QueryEscape(token), cross},
		{"no token, Origin only", "/.gateway/logout", "",
			[]string{"Origin", "https://evil.example"}},
		{"no token, Origin null", "/.gateway/logout", "", []string{"Origin", "null"}},
		{"no token, same-site sibling", "/.gateway/logout", "",
			[]string{"Origin", "https://app.example.test", "Sec-Fetch-Site", "same-site"}},
		// alice's own token: only the origin check stands in the way
		{"alice's token, Origin only", "/.gateway/logout",
			"csrf_token=" + url.QueryEscape(token), []string{"Origin", "https://evil.example"}},
		{"alice's token, Origin null", "/.gateway/logout",
			"csrf_token=" + url.QueryEscape(token), []string{"Origin", "null"}},
		{"alice's token, Sec-Fetch-Site only", "/.gateway/logout",
			"csrf_token=" + url.QueryEscape(token), []string{"Sec-Fetch-Site", "cross-site"}},
		{"alice's token, same-site sibling", "/.gateway/logout",
			"csrf_token=" + url.QueryEscape(token),
			[]string{"Origin", "https://app.example.test", "Sec-Fetch-Site", "same-site"}},
		{"attacker's token in the query", "/.gateway/logout?csrf_token=" +
			url.QueryEscape(bobToken), "", cross},
		{"attacker's token as text/plain", "/.gateway/logout",
			"csrf_token=" + url.QueryEscape(bobToken),
			append([]string{"Content-Type", "text/plain"}, cross...)},
	} {
		t.Run("cross-site logout/"+tt.name, func(t *testing.T) {
			r := alice.post(t, tt.path, tt.form, tt.hdr...)
			if r.StatusCode != http.StatusForbidden {
				t.Errorf("status: got %d, want 403", r.StatusCode)
			}
			stillAlice(t)
		})
	}

	// 3. a cross-site POST never signs anyone in
	attacker := e.client()
	attackerToken := attacker.form(t)
	for _, tt := range []struct {
		name  string
		token string
		pre   string // a pre-login cookie the victim's browser carries
		hdr   []string
	}{
		{"no token", "", "", []string{"Origin", "https://evil.example"}},
		{"attacker's token without its cookie", attackerToken, "",
			[]string{"Origin", "https://evil.example"}},
		{"attacker's token without its cookie, no Origin", attackerToken, "", nil},
		{"attacker's token and cookie, cross-site", attackerToken,
			attacker.cookies["gateway_login"],
			[]string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}},
		{"attacker's token and cookie, Origin null", attackerToken,
			attacker.cookies["gateway_login"], []string{"Origin", "null"}},
		{"attacker's token and cookie, Sec-Fetch-Site only", attackerToken,
			attacker.cookies["gateway_login"], []string{"Sec-Fetch-Site", "cross-site"}},
	} {
		t.Run("cross-site login/"+tt.name, func(t *testing.T) {
			victim := e.client()
			if tt.pre != "" {
				victim.set("gateway_login", tt.pre)
			}
			r := victim.post(t, proxy.LoginPath, loginBody("bob", bobPass, tt.token, ""),
				tt.hdr...)
			if r.StatusCode != http.StatusForbidden {
				t.Errorf("status: got %d, want 403", r.StatusCode)
			}
			if ck := findSetCookie(r.Header.Values("Set-Cookie"), "gateway_session"); ck != nil &&
				ck.Value != "" {
				t.Errorf("a session cookie was set: %q", ck.Raw)
			}
		})
	}

	// 4. control: a same-origin POST with alice's own token signs her out
	t.Run("same-origin logout", func(t *testing.T) {
		old := alice.session()
		r := alice.post(t, "/.gateway/logout", "csrf_token="+url.QueryEscape(token),
			"Origin", "https://"+secHost)
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != proxy.LoginPath {
			t.Errorf("logout: got %d %q, want 303 %s", r.StatusCode,
				r.Header.Get("Location"), proxy.LoginPath)
		}
		before := e.up.count()
		wantLoginRequired(t, e.with(t, "GET", "/app/whoami", old), "/app/whoami")
		wantUntouched(t, e.up, before)
	})
}
