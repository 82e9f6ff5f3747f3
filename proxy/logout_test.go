package proxy_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestLogout(t *testing.T) {
	e := newEnv(t, "")
	b := e.browser()
	b.login("alice", alicePass, "/")
	alice := b.cookie("gateway_session")

	// GET and HEAD show the confirmation and change nothing.
	confirm := b.get("/.gateway/logout")
	if confirm.StatusCode != 200 || !strings.Contains(confirm.body, "Sign out") {
		t.Fatalf("GET logout: status %d\n%s", confirm.StatusCode, confirm.body)
	}
	head, _ := http.NewRequest("HEAD", e.gw.URL+"/.gateway/logout", nil)
	if r := b.do(head); r.StatusCode != 200 {
		t.Errorf("HEAD logout: status %d", r.StatusCode)
	}
	if r := b.get("/app/"); r.StatusCode != 200 {
		t.Fatalf("session ended by GET/HEAD logout: status %d", r.StatusCode)
	}

	// Other methods are not allowed and change nothing.
	for _, m := range []string{"PUT", "DELETE", "PATCH"} {
		req, _ := http.NewRequest(m, e.gw.URL+"/.gateway/logout", nil)
		if r := b.do(req); r.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s logout: status %d, want 405", m, r.StatusCode)
		}
	}

	// Without the token, or with another session's token, POST is refused.
	other := e.browser()
	other.login("bob", bobPass, "/")
	bobToken := field(t, csrfRe, other.get("/.gateway/logout").body)
	for name, form := range map[string]url.Values{
		"no token":      {},
		"wrong token":   {"csrf_token": {"x"}},
		"another token": {"csrf_token": {bobToken}},
	} {
		if r := b.post("/.gateway/logout", form); r.StatusCode != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", name, r.StatusCode)
		}
	}
	cross := b.post("/.gateway/logout", url.Values{"csrf_token": {field(t, csrfRe,
		confirm.body)}}, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	if cross.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site logout: status %d, want 403", cross.StatusCode)
	}
	if r := b.get("/app/"); r.StatusCode != 200 {
		t.Fatalf("refused logout ended the session: status %d", r.StatusCode)
	}

	// With the token: the session ends, the cookie is replaced, and the notice shows once.
	r := b.post("/.gateway/logout?next=https%3A%2F%2Fevil.example%2F", url.Values{
		"csrf_token": {field(t, csrfRe, confirm.body)}, "next": {"https://evil.example/"},
	})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/.gateway/login" {
		t.Fatalf("logout: status %d Location %q, want 303 /.gateway/login", r.StatusCode,
			r.Header.Get("Location"))
	}
	cleared := false
	for _, c := range r.Header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "gateway_session=;") && strings.Contains(c, "Max-Age=0") &&
			strings.Contains(c, "Path=/") {
			cleared = true
		}
	}
	if !cleared {
		t.Errorf("logout did not expire the session cookie: %q", r.Header.Values("Set-Cookie"))
	}
	page := b.get("/.gateway/login")
	if page.StatusCode != 200 || !strings.Contains(page.body, "You have been logged out") {
		t.Errorf("login page after logout: status %d, notice missing\n%s", page.StatusCode,
			page.body)
	}
	if again := b.get("/.gateway/login"); strings.Contains(again.body, "logged out") {
		t.Error("logout notice shown twice")
	}

	// The old cookie no longer works anywhere.
	old := e.raw("GET", "/app/", alice, http.Header{"Accept": {"text/html"}})
	if old.StatusCode != http.StatusFound {
		t.Errorf("old cookie after logout: status %d, want 302", old.StatusCode)
	}
	pub := e.raw("GET", "/public/x", alice, nil)
	if u := e.up.last(t).Header.Get("X-Forwarded-User"); pub.StatusCode != 200 || u != "" {
		t.Errorf("old cookie on public path: status %d, user %q", pub.StatusCode, u)
	}

	// Without a session there is nothing to end.
	anon := e.browser()
	if r := anon.post("/.gateway/logout", url.Values{}); r.StatusCode != http.StatusSeeOther {
		t.Errorf("logout without session: status %d, want 303", r.StatusCode)
	}
}

// TestLogoutEverywhere: the confirmation's "every device" box ends every session of the
// user, the one signing out included, and no other user's; without it, only the one.
func TestLogoutEverywhere(t *testing.T) {
	e := newEnv(t, "")
	phone, laptop, tablet := e.browser(), e.browser(), e.browser()
	for _, b := range []*browser{phone, laptop, tablet} {
		b.login("alice", alicePass, "/")
	}
	bob := e.session("bob", bobPass)

	// without the box, the laptop's session ends and the others stay
	confirm := laptop.get("/.gateway/logout")
	if !strings.Contains(confirm.body, `name="everywhere"`) {
		t.Fatalf("the confirmation has no every-device box:\n%s", confirm.body)
	}
	laptop.post("/.gateway/logout", url.Values{"csrf_token": {field(t, csrfRe, confirm.body)}})
	if r := laptop.get("/app/"); r.StatusCode != http.StatusFound {
		t.Errorf("laptop after its sign-out: status %d, want 302 to sign in", r.StatusCode)
	}
	if r := tablet.get("/app/"); r.StatusCode != 200 {
		t.Fatalf("tablet after the laptop's sign-out: status %d, want 200", r.StatusCode)
	}

	// the box does not stand in for the form's token
	if r := tablet.post("/.gateway/logout", url.Values{"everywhere": {"1"},
		"csrf_token": {"x"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("sign-out everywhere with a wrong token: status %d, want 403", r.StatusCode)
	}
	if r := phone.get("/app/"); r.StatusCode != 200 {
		t.Fatalf("phone after a refused sign-out everywhere: status %d, want 200",
			r.StatusCode)
	}

	r := phone.post("/.gateway/logout", url.Values{"everywhere": {"1"},
		"csrf_token": {field(t, csrfRe, phone.get("/.gateway/logout").body)}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/.gateway/login" {
		t.Fatalf("sign-out everywhere: status %d, Location %q", r.StatusCode,
			r.Header.Get("Location"))
	}
	for name, b := range map[string]*browser{"phone": phone, "tablet": tablet} {
		if r := b.get("/app/"); r.StatusCode != http.StatusFound {
			t.Errorf("%s after signing out everywhere: status %d, want 302 to sign in",
				name, r.StatusCode)
		}
	}
	if r := e.raw("GET", "/app/", bob, nil); r.StatusCode != 200 {
		t.Errorf("bob after alice signed out everywhere: status %d, want 200", r.StatusCode)
	}
	if p := phone.get("/.gateway/login"); !strings.Contains(p.body,
		"You have been logged out on every device") {
		t.Errorf("notice after signing out everywhere missing:\n%s", p.body)
	}
}

func TestLoginCSRF(t *testing.T) {
	e := newEnv(t, "")
	attacker := e.browser()
	token := field(t, csrfRe, attacker.get("/.gateway/login").body)
	for name, tt := range map[string]struct {
		token string
		hdr   []string
	}{
		"no token":                 {"", nil},
		"token without its cookie": {token, nil},
		// the rest send the token of their own sign-in form, from another origin
		"cross-site": {"own", []string{"Origin", "https://evil.example"}},
		"two origins, own first": {"own", []string{"Origin", e.gw.URL,
			"Origin", "https://evil.example"}},
		"two Sec-Fetch-Site, same-origin first": {"own", []string{
			"Sec-Fetch-Site", "same-origin", "Sec-Fetch-Site", "cross-site"}},
	} {
		t.Run(name, func(t *testing.T) {
			victim := e.browser()
			if tt.token == "own" {
				tt.token = field(t, csrfRe, victim.get("/.gateway/login").body)
			}
			r := victim.post("/.gateway/login", url.Values{
				"username": {"bob"}, "password": {bobPass}, "csrf_token": {tt.token},
			}, tt.hdr...)
			if r.StatusCode != http.StatusForbidden {
				t.Errorf("status %d, want 403", r.StatusCode)
			}
			// another site may have chosen the name: the page does not show it
			if strings.Contains(r.body, `value="bob"`) {
				t.Error("the refused form shows the username posted")
			}
			if victim.cookie("gateway_session") != "" {
				t.Error("a session was set")
			}
		})
	}
}

func TestSessionEndsWhenUserChanges(t *testing.T) {
	e := newEnv(t, "")
	writeUsers(t, e.usersFile, map[string]string{
		"alice": alicePass, "bob": bobPass, "carol": "carol-pass"}, "")
	reload(t, e)
	alice := e.session("alice", alicePass)
	bob := e.session("bob", bobPass)
	carol := e.session("carol", "carol-pass")

	// alice's password changes and carol is removed.
	writeUsers(t, e.usersFile, map[string]string{"alice": "alice-new-pass", "bob": bobPass}, "")
	reload(t, e)

	for name, c := range map[string]string{"alice": alice, "carol": carol} {
		r := e.raw("GET", "/app/", c, http.Header{"Accept": {"text/html"}})
		if r.StatusCode != http.StatusFound {
			t.Errorf("%s after change: status %d, want 302 to login", name, r.StatusCode)
		}
	}
	if r := e.raw("GET", "/app/", bob, nil); r.StatusCode != 200 {
		t.Errorf("bob, unchanged: status %d, want 200", r.StatusCode)
	}

	// A disabled user is signed out too.
	bob2 := e.session("bob", bobPass)
	body := strings.Replace(readFile(t, e.usersFile), "  bob:\n", "  bob:\n    disabled: true\n", 1)
	writeFile(t, e.usersFile, body)
	reload(t, e)
	if r := e.raw("GET", "/app/", bob2, nil); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("disabled bob: status %d, want 401", r.StatusCode)
	}
}

func TestBadUsersFileKeepsLastGood(t *testing.T) {
	e := newEnv(t, "")
	alice := e.session("alice", alicePass)
	writeFile(t, e.usersFile, "users:\n  alice:\n    pasword: x\n")
	if err := e.h.ReloadUsers(); err == nil {
		t.Fatal("reload of a broken users file succeeded")
	}
	if r := e.raw("GET", "/app/", alice, nil); r.StatusCode != 200 {
		t.Errorf("after a rejected reload: status %d, want 200", r.StatusCode)
	}
}

func TestMalformedSessionCookies(t *testing.T) {
	e := newEnv(t, "")
	alice := e.session("alice", alicePass)
	flip := []byte(alice)
	flip[len(flip)/2] ^= 1
	for name, v := range map[string]string{
		"garbage": "AAAA", "empty": "", "flipped": string(flip), "cut": alice[:len(alice)/2],
		"appended": alice + "|x", "long": strings.Repeat("A", 5000),
	} {
		t.Run(name, func(t *testing.T) {
			before := e.up.count()
			r := e.raw("GET", "/app/whoami", "", http.Header{
				"Accept": {"text/html"}, "Cookie": {"gateway_session=" + v},
			})
			if r.StatusCode != http.StatusFound {
				t.Errorf("status %d, want 302 to login", r.StatusCode)
			}
			if e.up.count() != before {
				t.Error("upstream contacted")
			}
		})
	}
	// Two cookies of the name: the one live session is used.
	for _, order := range [][]string{{"garbage", alice}, {alice, "garbage"}} {
		r := e.raw("GET", "/app/whoami", "", http.Header{
			"Cookie": {"gateway_session=" + order[0] + "; gateway_session=" + order[1]},
		})
		if r.StatusCode != 200 || e.up.last(t).Header.Get("X-Forwarded-User") != "alice" {
			t.Errorf("duplicate cookies: status %d", r.StatusCode)
		}
	}
	// Two live sessions of different users: neither is used.
	bob := e.session("bob", bobPass)
	r := e.raw("GET", "/app/", "", http.Header{
		"Cookie": {"gateway_session=" + alice + "; gateway_session=" + bob},
	})
	if r.StatusCode != http.StatusUnauthorized {
		t.Errorf("two live sessions: status %d, want 401", r.StatusCode)
	}
}

func TestSignedInLoginPageRedirects(t *testing.T) {
	e := newEnv(t, "")
	b := e.browser()
	b.login("alice", alicePass, "/")
	for next, want := range map[string]string{
		"/app/x?y=1": "/app/x?y=1", "//evil.example/": "/", "/\\evil": "/",
	} {
		r := b.get("/.gateway/login?next=" + url.QueryEscape(next))
		if r.StatusCode != http.StatusFound || r.Header.Get("Location") != want {
			t.Errorf("next=%q: status %d Location %q, want 302 %q", next, r.StatusCode,
				r.Header.Get("Location"), want)
		}
	}
}

func TestLoginFormCarriesNextEscaped(t *testing.T) {
	e := newEnv(t, "")
	b := e.browser()
	r := b.get("/.gateway/login?next=" + url.QueryEscape(`/a?q="><script>`))
	if strings.Contains(r.body, "<script>") {
		t.Fatalf("unescaped markup in login page")
	}
	if got := field(t, nextRe, r.body); got != `/a?q="><script>` {
		t.Errorf("hidden next: got %q", got)
	}
	for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options",
		"Referrer-Policy", "Cache-Control"} {
		if r.Header.Get(h) == "" {
			t.Errorf("login page lacks %s", h)
		}
	}
	r = b.get("/.gateway/login?next=" + url.QueryEscape("javascript:alert(1)"))
	if got := field(t, nextRe, r.body); got != "/" {
		t.Errorf("hidden next for javascript: URL: got %q, want /", got)
	}
}

func TestOversizedLoginRefusedBeforeHashing(t *testing.T) {
	e := newEnv(t, "")
	b := e.browser()
	token := field(t, csrfRe, b.get("/.gateway/login").body)
	r := b.post("/.gateway/login", url.Values{
		"username": {"alice"}, "password": {strings.Repeat("a", 20000)},
		"csrf_token": {token},
	})
	if r.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("20 kB body: status %d, want 413", r.StatusCode)
	}
	r = b.post("/.gateway/login", url.Values{
		"username": {"alice"}, "password": {strings.Repeat("a", 5000)},
		"csrf_token": {token},
	})
	if r.StatusCode != http.StatusUnauthorized {
		t.Errorf("5000-byte password: status %d, want 401", r.StatusCode)
	}
}
