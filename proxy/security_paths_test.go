package proxy_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/frontgate/gateway/proxy"
)

// Path-normalisation bypasses: S09 and S10.

func TestS09QueryAndFragment(t *testing.T) {
	e := newSecEnv(t, secOptions{})
	alice := e.session(t, "alice", alicePass)
	bob := e.session(t, "bob", bobPass)
	for _, tt := range []struct {
		target string
		may400 bool // a raw "#", or an encoded "#" or "?" in the path
	}{
		{"/admin/?/public/", false},
		{"/admin/?x=/public/", false},
		{"/admin/%23/public/", true},
		{"/admin/#/public/", true},

		{"/admin?/public/", false},
		{"/admin/?%2Fpublic%2F", false},
		{"/admin/?next=/public/&x=/public/", false},
		{"/admin/%3F/public/", true},
		{"/admin/%3f/public/", true},
		{"/admin/%23", true},
		{"/admin#/public/", true},
		{"/admin/?#/public/", true},
		{"/admin/%2523/public/", true}, // double-encoded "#": one decoding from a real one
	} {
		t.Run(tt.target, func(t *testing.T) {
			head := []string{"GET " + tt.target + " HTTP/1.1", "Host: " + secHost,
				"Accept: text/html"}
			before := e.up.count()
			got := e.send(t, rawLines(head...))
			if !(tt.may400 && got.StatusCode == http.StatusBadRequest) {
				wantLoginRequired(t, got, tt.target)
			}
			wantUntouched(t, e.up, before)

			before = e.up.count()
			got = e.send(t, rawLines(append(head, "Cookie: gateway_session="+alice)...))
			if !(tt.may400 && got.StatusCode == http.StatusBadRequest) {
				wantForbidden(t, got, e.up, before)
			} else {
				wantUntouched(t, e.up, before)
			}
		})
	}
	for _, target := range []string{"/admin/%23/public/", "/admin/%3F/public/"} {
		t.Run("bob/"+target, func(t *testing.T) {
			got := e.send(t, rawLines("GET "+target+" HTTP/1.1", "Host: "+secHost,
				"Cookie: gateway_session="+bob))
			switch got.StatusCode {
			case http.StatusBadRequest:
			case http.StatusOK:
				if s := e.up.last(t); s.Target != target {
					t.Errorf("upstream target: got %q, want %q", s.Target, target)
				}
			default:
				t.Errorf("status: got %d, want 400 or 200", got.StatusCode)
			}
		})
	}
}

// cleanTarget reports whether a request-target the upstream received holds none of what
// S10 forbids: "..", an encoded ".", "/" or "\", a backslash, a NUL, or ";" next to a
// dot.
func cleanTarget(target string) bool {
	path, _, _ := strings.Cut(target, "?")
	low := strings.ToLower(path)
	for _, bad := range []string{"..", "%2e", "%2f", "%5c", `\`, "%00", "\x00", ".;", ";."} {
		if strings.Contains(low, bad) {
			return false
		}
	}
	return true
}

func TestS10DotSegmentsAndEncodedSeparators(t *testing.T) {
	e := newSecEnv(t, secOptions{})
	alice := e.session(t, "alice", alicePass)
	paths := []string{
		"/public/../admin/", "/public/./../admin/", "/public/x/../../admin/",
		"/public/%2e%2e/admin/", "/public/%2E%2E/admin/", "/public/.%2e/admin/",
		"/public/%2e%2e%2fadmin/", "/public%2F..%2Fadmin/", "/public/..%2Fadmin/",
		"/public/..%5Cadmin/", `/public\..\admin\`,
		"/public/%00/../admin/", "/public/%3B/../admin/", "/public/..;/admin/",
		"/public/%3F/../admin/", "/public/%23/../admin/",
		"/public/%252e%252e/admin/",

		"/public/%2e./admin/", "/public/%2E%2e/admin/", "/public/..%2fadmin/",
		"/public/..%5cadmin/", "/public/%2e%2e%5cadmin/", `/public/..\admin/`,
		"/public/%2e/../admin/", "/public/..%00/admin/", "/public/%2e%2e;/admin/",
		"/public/..;x=1/admin/", "/public/.;/../admin/", "/public/%3b/../admin/",
		"/public/%252E%252E/admin/", "/public/%25252e%25252e/admin/",
		"/public/%c0%ae%c0%ae/admin/", "/public/x/..%2F..%2Fadmin/", "//public/../admin/",
		"/public//../admin/", "/public/%2e%2e%2f%2e%2e%2fadmin/", "/public/%2f../admin/",
		"/public/..%2F%2e%2e%2Fadmin/", "/public/..%252Fadmin/", "/public/%2E./admin/",

		// double encodings whose hex digits are escaped too: one decoding leaves "%2e"
		"/public/%25%32%65%25%32%65/admin/", "/public/%25%32%45%25%32%45/admin/",
		"/public/%25%32e%25%32e/admin/", "/public/%252%65%252%65/admin/",
		"/public/%25%32%65%25%32%65%25%32%66admin%25%32%66", "/public/..%25%35%63admin/",
		"/public/%25%30%30/../admin/", "/public/%25%32%33/../admin/",
		"/public/%25%33%62/../admin/", "/public/%25%32%35%32%65%25%32%35%32%65/admin/",
	}
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			for _, who := range []struct{ name, cookie string }{
				{"anonymous", ""}, {"alice", alice},
			} {
				lines := []string{"GET " + path + " HTTP/1.1", "Host: " + secHost,
					"Accept: text/html"}
				if who.cookie != "" {
					lines = append(lines, "Cookie: gateway_session="+who.cookie)
				}
				before := e.up.count()
				got := e.send(t, rawLines(lines...))
				checkS10(t, e, got, path, who.name, before)
			}
		})
	}
}

func checkS10(t *testing.T, e *secEnv, got sresp, path, who string, before int) {
	t.Helper()
	switch code := got.StatusCode; {
	case code == http.StatusBadRequest:
		wantUntouched(t, e.up, before)
	case code == http.StatusForbidden && who != "anonymous":
		wantUntouched(t, e.up, before)
	case code/100 == 3:
		wantUntouched(t, e.up, before)
		loc := got.Header.Get("Location")
		u, err := url.Parse(loc)
		if err != nil || browserHost(loc) != secHost {
			t.Errorf("%s: redirect to %q, want one on %s", who, loc, secHost)
			return
		}
		if u.Path == proxy.LoginPath {
			if who != "anonymous" {
				t.Errorf("%s: sent to sign in again, want 403 or 400", who)
			}
			return
		}
		if !cleanTarget(u.EscapedPath()) {
			t.Errorf("%s: redirect to %q, which is not a cleaned path", who, loc)
		}
	case code == http.StatusOK:
		if e.up.count() != before+1 {
			t.Fatalf("%s: status 200 but the upstream got %d requests", who,
				e.up.count()-before)
		}
		target := e.up.last(t).Target
		if !cleanTarget(target) {
			t.Errorf("%s: upstream target %q holds a dot segment or encoded separator",
				who, target)
		}
		decoded, err := url.PathUnescape(target)
		if err != nil || !strings.HasPrefix(decoded, "/public/") {
			t.Errorf("%s: upstream target %q lies outside /public/", who, target)
		}
		// nor does an app that decodes twice read it otherwise
		if twice, err := url.PathUnescape(decoded); err == nil && twice != decoded {
			t.Errorf("%s: upstream target %q reads as %q decoded twice", who, target, twice)
		}
	default:
		t.Errorf("%s: status: got %d, want 400, login-required, 403 or a normalised "+
			"path under /public/", who, code)
	}
}

// TestEscapedLettersJudgedAndSentPlain sends paths whose letters are percent-encoded.
// They are judged as the plain path they stand for, and the upstream is sent that plain
// path, so an app that does not decode them cannot read another path than the one
// judged.
func TestEscapedLettersJudgedAndSentPlain(t *testing.T) {
	e := newSecEnv(t, secOptions{})
	alice := e.session(t, "alice", alicePass)
	for _, tt := range []struct {
		path, cookie string
		status       int
		target       string // what the upstream receives, when it does
	}{
		{"/%70ublic/x", "", http.StatusOK, "/public/x"},
		{"/p%75%62lic/%78?q=%70", "", http.StatusOK, "/public/x?q=%70"},
		{"/%61dmin/", "", http.StatusUnauthorized, ""},
		{"/%61dmin/", alice, http.StatusForbidden, ""},
		{"/%41dmin/", alice, http.StatusForbidden, ""}, // "/admin/" to a case-blind app
		{"/%41bout/", alice, http.StatusOK, "/About/"},
	} {
		before := e.up.count()
		lines := []string{"GET " + tt.path + " HTTP/1.1", "Host: " + secHost}
		if tt.cookie != "" {
			lines = append(lines, "Cookie: gateway_session="+tt.cookie)
		}
		got := e.send(t, rawLines(lines...))
		if got.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d", tt.path, got.StatusCode, tt.status)
			continue
		}
		if tt.target == "" {
			wantUntouched(t, e.up, before)
		} else if s := e.up.last(t); s.Target != tt.target {
			t.Errorf("%s: upstream target %q, want %q", tt.path, s.Target, tt.target)
		}
	}
}

// TestWindowsReadingsRefused: a path a Windows server reads as another, by an NTFS
// stream name or a trailing "+" an app turns into a trimmed space, gets 400 when that
// reading would be judged otherwise, and passes when it would not.
func TestWindowsReadingsRefused(t *testing.T) {
	e := newSecEnv(t, secOptions{})
	alice := e.session(t, "alice", alicePass)
	for _, tt := range []struct {
		path string
		want int
	}{
		{"/admin+/x", http.StatusBadRequest},
		{"/admin++/", http.StatusBadRequest},
		{"/admin::$DATA/x", http.StatusBadRequest},
		{"/admin::$INDEX_ALLOCATION/x", http.StatusBadRequest},
		{"/public+/x", http.StatusBadRequest}, // judged protected, read as public
		{"/admin.+", http.StatusBadRequest},
		{"/admin%20+/x", http.StatusBadRequest},
		{"/admin+.+/x", http.StatusBadRequest},
		{"/admin+;x/x", http.StatusBadRequest}, // ";x" dropped, then "+"
		{"/public/..::$DATA/admin/x", http.StatusBadRequest},
		{"/admin:$I30:$INDEX_ALLOCATION/x", http.StatusBadRequest},
		{"/admin:$i30:$index_allocation/x", http.StatusBadRequest},
		{"/admin.::$INDEX_ALLOCATION/x", http.StatusBadRequest},
		{"/admin%20::$INDEX_ALLOCATION/x", http.StatusBadRequest},
		{"/(S(abc))/admin/x", http.StatusBadRequest}, // ASP.NET drops the session segment
		{"/public/(S(abc))/x", http.StatusOK},
		{"/app/Talk:Main", http.StatusOK},
		{"/public/c++", http.StatusOK}, // the same route and rule either way
		{"/app/a+b", http.StatusOK},
	} {
		before := e.up.count()
		r := e.send(t, rawLines("GET "+tt.path+" HTTP/1.1", "Host: "+secHost,
			"Cookie: gateway_session="+alice))
		if r.StatusCode != tt.want {
			t.Errorf("%s: status %d, want %d", tt.path, r.StatusCode, tt.want)
		}
		if tt.want != http.StatusOK {
			wantUntouched(t, e.up, before)
		}
	}
}
