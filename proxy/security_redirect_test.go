package proxy_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/frontgate/gateway/proxy"
)

// Open redirects after sign-in and sign-out: S06 to S08.

// s06Values are the redirect targets of S06 in the forms the case lists, and relatives:
// wire is next as sent in a query string or form body; raw means it holds a raw control
// byte and can only go in a body.
var s06Values = []struct {
	name, wire string
	raw        bool
}{
	{"//evil.example/", "%2F%2Fevil.example%2F", false},
	{`/\evil.example`, "%2F%5Cevil.example", false},
	{"/%09/evil.example decoded", "%2F%09%2Fevil.example", false},
	{"/%09/evil.example literal", "%2F%2509%2Fevil.example", false},
	{"/%09/evil.example raw byte", "/\t/evil.example", true},
	{"/%0d/evil.example decoded", "%2F%0D%2Fevil.example", false},
	{"/%0d/evil.example literal", "%2F%250d%2Fevil.example", false},
	{"/%0d/evil.example raw byte", "/\r/evil.example", true},
	{"/%5Cevil.example decoded", "%2F%5Cevil.example", false},
	{"/%5Cevil.example literal", "%2F%255Cevil.example", false},
	{"%2F%2Fevil.example decoded", "%2F%2Fevil.example", false},
	{"%2F%2Fevil.example literal", "%252F%252Fevil.example", false},

	{"/%0a/evil.example decoded", "%2F%0A%2Fevil.example", false},
	{"/%0a/evil.example literal", "%2F%250a%2Fevil.example", false},
	{"/%0a/evil.example raw byte", "/\n/evil.example", true},
	{"/%0D%0A/evil.example decoded", "%2F%0D%0A%2Fevil.example", false},
	{"/%09%5Cevil.example decoded", "%2F%09%5Cevil.example", false},
	{`/\/evil.example`, "%2F%5C%2Fevil.example", false},
	{`\\evil.example`, "%5C%5Cevil.example", false},
	{`\/evil.example`, "%5C%2Fevil.example", false},
	{"///evil.example", "%2F%2F%2Fevil.example", false},
	{"//evil.example/ unencoded", "//evil.example/", false},
	{"leading space //evil.example", "%20%2F%2Fevil.example", false},
	{"leading tab //evil.example", "%09%2F%2Fevil.example", false},
	{"/%2F/evil.example literal", "%2F%252F%2Fevil.example", false},
	{"/%2f/evil.example literal", "%2F%252f%2Fevil.example", false},
	{"/%5c%5cevil.example literal", "%2F%255c%255cevil.example", false},
	{"%2F%2Fevil.example doubly literal", "%25252F%25252Fevil.example", false},
}

func TestS06RedirectHostTricks(t *testing.T) {
	e := newSecEnv(t, secOptions{})
	signedIn := e.client()
	if r := signedIn.login(t, "alice", alicePass, ""); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: status %d, want 303", r.StatusCode)
	}
	for _, v := range s06Values {
		t.Run(v.name, func(t *testing.T) {
			// 1. log in with next=V
			wantHome(t, e.client().login(t, "alice", alicePass, v.wire), http.StatusSeeOther)
			if v.raw {
				return
			}
			decoded, err := url.QueryUnescape(v.wire)
			if err != nil {
				t.Fatal(err)
			}

			// 2. the form carries next, and submitting it as rendered lands on /
			c := e.client()
			page := c.get(t, proxy.LoginPath+"?next="+v.wire)
			if page.StatusCode != http.StatusOK {
				t.Fatalf("sign-in form: status %d, want 200", page.StatusCode)
			}
			hidden := field(t, nextRe, page.body)
			if hidden != "/" && hidden != decoded {
				t.Errorf("hidden next: got %q, want / or %q", hidden, decoded)
			}
			wantSafePage(t, page.body, "")
			r := c.post(t, proxy.LoginPath, loginBody("alice", alicePass,
				field(t, csrfRe, page.body), url.QueryEscape(hidden)))
			wantHome(t, r, http.StatusSeeOther)

			// 3. a signed-in user is sent on, to / as well
			r = signedIn.get(t, proxy.LoginPath+"?next="+v.wire)
			if r.StatusCode/100 == 3 {
				wantHome(t, r, r.StatusCode)
			} else {
				wantSafePage(t, r.body, "evil.example")
			}
		})
	}
}

// s07Values are the targets of S07 and relatives, with a marker that must not show up
// in a page outside the hidden field.
var s07Values = []struct{ v, marker string }{
	{"https:evil.example", "evil.example"},
	{"https://gw.example.test@evil.example/", "evil.example"},
	{"javascript:alert(1)", "alert(1)"},
	{"JaVaScRiPt:alert(1)", "alert(1)"},
	{"data:text/html,<b>x</b>", "<b>x</b>"},

	{"HTTPS:evil.example", "evil.example"},
	{"http:evil.example", "evil.example"},
	{"https:/evil.example", "evil.example"},
	{`https:\\evil.example`, "evil.example"},
	{"https://evil.example/", "evil.example"},
	{"HTTPS://EVIL.EXAMPLE/", "evil.example"},
	{"//gw.example.test@evil.example/", "evil.example"},
	{"https://gw.example.test%40evil.example/", "evil.example"},
	{`https://gw.example.test\@evil.example/`, "evil.example"},
	{"https://gw.example.test:443@evil.example/", "evil.example"},
	{" javascript:alert(1)", "alert(1)"},
	{"java\tscript:alert(1)", "alert(1)"},
	{"javascript%3Aalert(1)", "alert(1)"},
	{"vbscript:msgbox(1)", "msgbox(1)"},
	{"data:text/html;base64,PGI+eDwvYj4=", "PGI+eDwvYj4="},
	{"DATA:text/html,<b>x</b>", "<b>x</b>"},
	{"file:///etc/passwd", "etc/passwd"},
	{"blob:https://evil.example/x", "evil.example"},
}

func TestS07RedirectSchemes(t *testing.T) {
	e := newSecEnv(t, secOptions{})
	for _, v := range s07Values {
		t.Run(v.v, func(t *testing.T) {
			wantHome(t, e.client().login(t, "alice", alicePass, url.QueryEscape(v.v)),
				http.StatusSeeOther)

			c := e.client()
			page := c.get(t, proxy.LoginPath+"?next="+url.QueryEscape(v.v))
			if page.StatusCode != http.StatusOK {
				t.Fatalf("sign-in form: status %d, want 200", page.StatusCode)
			}
			m := nextRe.FindStringSubmatch(page.body)
			if m == nil {
				t.Fatalf("no hidden next field in the page:\n%s", page.body)
			}
			if strings.ContainsAny(m[1], "<>\"") {
				t.Errorf("hidden next not HTML-escaped: %q", m[1])
			}
			if hidden := html.UnescapeString(m[1]); hidden != "/" && hidden != v.v {
				t.Errorf("hidden next: got %q, want / or %q", hidden, v.v)
			}
			wantSafePage(t, page.body, v.marker)
			r := c.post(t, proxy.LoginPath, loginBody("alice", alicePass,
				field(t, csrfRe, page.body), url.QueryEscape(html.UnescapeString(m[1]))))
			wantHome(t, r, http.StatusSeeOther)
		})
	}
}

func TestS08LogoutRedirect(t *testing.T) {
	e := newSecEnv(t, secOptions{})
	var targets []string
	for _, v := range s06Values {
		if d, err := url.QueryUnescape(v.wire); err == nil && !v.raw {
			targets = append(targets, d)
		}
	}
	targets = append(targets, "/\t/evil.example", "/\r/evil.example", "https://evil.example/")
	for _, v := range s07Values {
		targets = append(targets, v.v)
	}

	logoutOK := func(t *testing.T, query, body string) {
		t.Helper()
		c := e.client()
		if r := c.login(t, "alice", alicePass, ""); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in: status %d, want 303", r.StatusCode)
		}
		old := c.session()
		tok := field(t, csrfRe, c.get(t, "/.gateway/logout").body)
		path := "/.gateway/logout"
		if query != "" {
			path += "?next=" + url.QueryEscape(query)
		}
		form := "csrf_token=" + url.QueryEscape(tok)
		if body != "" {
			form += "&next=" + url.QueryEscape(body)
		}
		r := c.post(t, path, form, "Origin", "https://"+secHost)
		loc := r.Header.Get("Location")
		if r.StatusCode != http.StatusSeeOther ||
			(loc != proxy.LoginPath && loc != "https://"+secHost+proxy.LoginPath) {
			t.Errorf("logout: got %d %q, want 303 %s", r.StatusCode, loc, proxy.LoginPath)
		}
		if h := browserHost(loc); h != secHost {
			t.Errorf("Location %q takes a browser to %q", loc, h)
		}
		before := e.up.count()
		wantLoginRequired(t, e.with(t, "GET", "/app/whoami", old), "/app/whoami")
		wantUntouched(t, e.up, before)
	}
	for _, v := range targets {
		t.Run(v, func(t *testing.T) {
			t.Run("query and body", func(t *testing.T) { logoutOK(t, v, v) })
			t.Run("query", func(t *testing.T) { logoutOK(t, v, "") })
			t.Run("body", func(t *testing.T) { logoutOK(t, "", v) })
		})
	}

	alice := e.client()
	alice.login(t, "alice", alicePass, "")
	for _, v := range targets {
		t.Run("confirmation page/"+v, func(t *testing.T) {
			r := alice.get(t, "/.gateway/logout?next="+url.QueryEscape(v))
			if r.StatusCode != http.StatusOK {
				t.Fatalf("status: got %d, want 200", r.StatusCode)
			}
			wantSafePage(t, r.body, "evil.example")
		})
	}

	bob := e.client()
	bob.login(t, "bob", bobPass, "")
	bobToken := field(t, csrfRe, bob.get(t, "/.gateway/logout").body)
	for _, tt := range []struct{ name, form string }{
		{"no token", "next=https%3A%2F%2Fevil.example%2F"},
		{"wrong token", "csrf_token=x&next=https%3A%2F%2Fevil.example%2F"},
		{"empty token", "csrf_token=&next=https%3A%2F%2Fevil.example%2F"},
		{"another session's token", "csrf_token=" + url.QueryEscape(bobToken) +
			"&next=https%3A%2F%2Fevil.example%2F"},
	} {
		t.Run("without a valid token/"+tt.name, func(t *testing.T) {
			r := alice.post(t, "/.gateway/logout?next=https%3A%2F%2Fevil.example%2F", tt.form,
				"Origin", "https://"+secHost)
			if r.StatusCode != http.StatusForbidden {
				t.Errorf("status: got %d, want 403", r.StatusCode)
			}
			if loc := r.Header.Get("Location"); loc != "" && browserHost(loc) != secHost {
				t.Errorf("Location %q leads off-site", loc)
			}
			if got := alice.get(t, "/app/whoami"); got.StatusCode != http.StatusOK {
				t.Errorf("session after a refused logout: status %d, want 200", got.StatusCode)
			}
		})
	}
}

// wantHome checks a redirect with this status to "/" on the gateway itself.
func wantHome(t testing.TB, r sresp, status int) {
	t.Helper()
	if r.StatusCode != status {
		t.Errorf("status: got %d, want %d", r.StatusCode, status)
	}
	loc := r.Header.Get("Location")
	if loc != "/" && loc != "https://"+secHost+"/" {
		t.Errorf("Location: got %q, want /", loc)
	}
	if h := browserHost(loc); h != secHost {
		t.Errorf("Location %q takes a browser to %q, want %s", loc, h, secHost)
	}
}

// browserHost resolves a Location against the sign-in page the way a browser does:
// tabs and newlines dropped, leading and trailing spaces and controls trimmed, "\" read
// as "/". It returns the host the browser would go to.
func browserHost(loc string) string {
	clean := strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, loc)
	clean = strings.TrimFunc(clean, func(r rune) bool { return r <= ' ' })
	clean = strings.ReplaceAll(clean, `\`, "/")
	base, _ := url.Parse("https://" + secHost + proxy.LoginPath)
	u, err := base.Parse(clean)
	if err != nil {
		return "(unparsable)"
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return u.Scheme + ":"
	}
	return u.Host
}

var linkRe = regexp.MustCompile(`(?i)\b(href|action|src|formaction)\s*=\s*"([^"]*)"`)

// wantSafePage checks that a gateway page carries no link or form action off the
// gateway or with a scheme other than http and https, and that marker appears nowhere
// but inside the hidden next field.
func wantSafePage(t testing.TB, body, marker string) {
	t.Helper()
	for _, m := range linkRe.FindAllStringSubmatch(body, -1) {
		v := html.UnescapeString(m[2])
		if h := browserHost(v); h != secHost {
			t.Errorf("page has %s=%q, which leads to %q", m[1], v, h)
		}
		if marker != "" && strings.Contains(strings.ToLower(v), strings.ToLower(marker)) {
			t.Errorf("page has %s=%q carrying %q", m[1], v, marker)
		}
	}
	if strings.Contains(body, "<b>") {
		t.Errorf("page carries unescaped markup:\n%s", body)
	}
	rest := nextRe.ReplaceAllString(body, `name="next" value=""`)
	if marker != "" && strings.Contains(strings.ToLower(rest), strings.ToLower(marker)) {
		t.Errorf("page carries %q outside the hidden next field:\n%s", marker, body)
	}
}
