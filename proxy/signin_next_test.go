package proxy_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/frontgate/gateway/proxy"
	"github.com/frontgate/gateway/proxy/redirect"
)

// loginCookieFits fails t unless every gateway_login cookie set by r is one a browser
// keeps: 4096 bytes at most, its name included.
func loginCookieFits(t testing.TB, r *http.Response) {
	t.Helper()
	for _, line := range r.Header.Values("Set-Cookie") {
		ck, err := http.ParseSetCookie(line)
		if err != nil || ck.Name != "gateway_login" {
			continue
		}
		if n := len(ck.Name) + 1 + len(ck.Value); n > 4096 {
			t.Errorf("gateway_login of %d bytes, over the 4096 a browser keeps", n)
		}
	}
}

// TestLongNextSurvivesSignIn opens the sign-in page with a long next, as a deep link
// does, and signs in on the first submit: any target the redirect policy accepts,
// however many of its characters need escaping, comes back after the sign-in; of a
// longer one only its page does, without the query, or else /, before anything is
// stored. No client's target writes an error to the log.
func TestLongNextSurvivesSignIn(t *testing.T) {
	longest := "/" + strings.Repeat(`&<>"`, redirect.MaxLength)[:redirect.MaxLength-1]
	deep := "/s?" + strings.Repeat("a=1&", 244)
	for _, tt := range []struct {
		name string
		open string // the first page asked for
		want string // where the sign-in ends
	}{
		{"longest accepted, all of it escaped in JSON", proxy.LoginPath + "?next=" +
			url.QueryEscape(longest), longest},
		{"deep link to a protected page", deep, deep},
		{"one byte too long", proxy.LoginPath + "?next=/" +
			strings.Repeat("a", redirect.MaxLength), "/"},
		{"far too long", proxy.LoginPath + "?next=/" + strings.Repeat("a", 2200), "/"},
		// a deep link whose query makes it too long lands on its page, without the query
		{"too long by its query", proxy.LoginPath + "?next=" + url.QueryEscape(
			"/reports/q?"+strings.Repeat("a=1&", redirect.MaxLength/4)), "/reports/q"},
		{"protected page too long by its query", "/reports/q?" + strings.Repeat("a=1&",
			redirect.MaxLength/4), "/reports/q"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newSecEnv(t, secOptions{})
			c := e.client()
			r := c.get(t, tt.open)
			if r.StatusCode == http.StatusFound {
				r = c.get(t, r.Header.Get("Location"))
			}
			if r.StatusCode != http.StatusOK || c.cookies["gateway_login"] == "" {
				t.Fatalf("sign-in page: status %d, gateway_login %q; want 200 and the cookie",
					r.StatusCode, c.cookies["gateway_login"])
			}
			loginCookieFits(t, r.Response)
			next := field(t, nextRe, r.body)
			if next != tt.want {
				t.Errorf("hidden next: got %.60q (%d bytes), want %.60q (%d bytes)", next,
					len(next), tt.want, len(tt.want))
			}
			r = c.post(t, proxy.LoginPath, loginBody("alice", alicePass,
				field(t, csrfRe, r.body), url.QueryEscape(next)))
			if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != tt.want {
				t.Errorf("first submit: status %d, Location %.60q; want 303 to %.60q",
					r.StatusCode, r.Header.Get("Location"), tt.want)
			}
			for _, rec := range e.logs.records() {
				if rec["level"] == "ERROR" {
					t.Errorf("error record: %v", rec)
				}
			}
		})
	}
}

// TestLongNextSurvivesCodeStep: the longest target the redirect policy accepts is kept
// with a sign-in waiting for its one-time code, and the code sends the browser there.
func TestLongNextSurvivesCodeStep(t *testing.T) {
	e := totpEnv(t)
	b := e.browser()
	next := "/" + strings.Repeat(`&<>"`, redirect.MaxLength)[:redirect.MaxLength-1]
	page := passwordStep(t, b, next)
	loginCookieFits(t, page.Response)
	r := postCode(b, page, code(t, daveSecret, time.Now()))
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != next {
		t.Errorf("the code: status %d, Location %.60q; want 303 to the long next\n%s",
			r.StatusCode, r.Header.Get("Location"), r.body)
	}
}
