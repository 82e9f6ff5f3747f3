package proxy_test

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/frontgate/gateway/authn"
	"github.com/frontgate/gateway/authn/session"
	"github.com/frontgate/gateway/authn/throttle"
	"github.com/frontgate/gateway/config"
	"github.com/frontgate/gateway/proxy"
)

// handParts are what newEnvByHand assembles a handler from besides its config.
type handParts struct {
	store   session.Store
	metrics *proxy.Metrics   // nil: none
	now     func() time.Time // the sessions' clock; nil: time.Now
	log     *slog.Logger     // nil: discarded
	tally   throttle.Tally   // nil: the throttle's counts are the handler's alone
	users   string           // a users file to share with another env; "": a new one
	slots   int              // password checks at a time; 0: the default
}

// newEnvByHand is newEnvFromYAML with the handler assembled from its parts, as
// server.Build does, but with sessions kept in p.store. yml follows the session
// secret, so it may go on with keys of session: (indented) before the top-level ones,
// and must have routes.
func newEnvByHand(t testing.TB, up *echo, yml string, p handParts) *env {
	t.Helper()
	dir := t.TempDir()
	usersFile := filepath.Join(dir, "users.yaml")
	if p.users != "" {
		usersFile = p.users
	} else {
		writeUsers(t, usersFile, map[string]string{"alice": alicePass, "bob": bobPass}, "")
	}
	yml = fmt.Sprintf("listen: \"127.0.0.1:0\"\nusers:\n  file: users.yaml\n"+
		"session:\n  secrets: [%q]\n", secret) + yml
	cfg, err := config.Parse([]byte(yml), filepath.Join(dir, "gateway.yaml"))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	users, err := authn.OpenFileStore(usersFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := session.DeriveKeys([][]byte{[]byte(secret)})
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := session.NewManager(session.Options{Store: p.store, Keys: keys,
		IdleTimeout: cfg.Session.IdleTimeout, Lifetime: cfg.Session.Lifetime, Now: p.now})
	if err != nil {
		t.Fatal(err)
	}
	h, err := proxy.New(proxy.Options{Config: cfg, Auth: authn.NewAuthenticator(users, p.slots),
		Sessions: mgr, Metrics: p.metrics, Logger: p.log, Tally: p.tally})
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(h)
	t.Cleanup(gw.Close)
	return &env{t: t, gw: gw, h: h, up: up, usersFile: usersFile, dir: dir}
}

// closedURL returns the URL of a local address that closes every connection at once,
// unanswered: an upstream no request gets through to. The port stays taken until the
// test ends; a port merely closed could be handed to the next server the test starts,
// the gateway's own among them, which would then answer in the upstream's place.
func closedURL(t testing.TB) string {
	t.Helper()
	return rawUpstream(t, func(net.Conn) {})
}

// rawUpstream listens on loopback until the test ends, hands each connection to serve,
// closing it after, and returns its URL.
func rawUpstream(t testing.TB, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c)
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// getAs sends GET path to the gateway with the given Host, session cookie and Accept
// header (each left out when empty).
func (e *env) getAs(host, path, cookie, accept string) resp {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.gw.URL+path, nil)
	req.Host = host
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if cookie != "" {
		req.Header.Set("Cookie", "gateway_session="+cookie)
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		e.t.Fatalf("GET %s%s: %v", host, path, err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return resp{res, string(body)}
}

// titleRe finds a page's title element, whose text names the page.
var titleRe = regexp.MustCompile(`<title>[^<]*</title>`)

// layoutOf returns the part of a gateway page before its heading, with the title taken
// out: the shared layout every page of the gateway starts with.
func layoutOf(body string) string {
	top, _, _ := strings.Cut(body, "<h1>")
	return titleRe.ReplaceAllString(top, "<title></title>")
}

// TestErrorPages checks the gateway's answers when it refuses or cannot serve a
// request: a page in the layout of the sign-in page for browsers, one plain line for
// scripts, both with the headers of the gateway's own pages and nothing of the cause's
// internals.
func TestErrorPages(t *testing.T) {
	const app = "app.example.test"
	up := newEcho(t)
	down := closedURL(t)
	store := &flaky{Store: session.NewMemory()}
	e := newEnvByHand(t, up, fmt.Sprintf(`routes:
  - host: %[1]s
    upstream: %[2]q
    public: [/public/]
  - host: %[1]s
    path: /admin/
    upstream: %[2]q
    allow:
      groups: [admins]
  - host: %[1]s
    path: /down/
    upstream: %[3]q
`, app, up.URL, down), handParts{store: store})
	alice := e.sessionAt(app, "alice", alicePass)

	login := e.getAs(app, proxy.LoginPath, "", "text/html")
	if login.StatusCode != http.StatusOK {
		t.Fatalf("sign-in page: status %d", login.StatusCode)
	}
	const stylesheet = `<link rel="stylesheet" href="/.gateway/style.css">`
	if !strings.Contains(login.body, stylesheet) || !strings.Contains(login.body,
		`<main class="card">`) {
		t.Fatalf("sign-in page lacks the layout's stylesheet link or card:\n%s", login.body)
	}
	csp := login.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") {
		t.Fatalf("sign-in page's Content-Security-Policy %q lacks default-src 'none'", csp)
	}
	// A signed-in request the rules let pass reaches the app: the refusals below are
	// the rules', not the environment's.
	if r := e.getAs(app, "/app/", alice, "text/html"); r.StatusCode != http.StatusOK {
		t.Fatalf("alice on %s/app/: status %d, want 200", app, r.StatusCode)
	}

	// Text that would tell a visitor about the gateway's insides.
	internals := []string{"goroutine", "panic", ".go:", "runtime.", "dial tcp",
		"connection refused", strings.TrimPrefix(down, "http://"), errDown.Error(),
		"context canceled"}

	for _, tt := range []struct {
		name, host, path, cookie string
		storeDown                bool
		status                   int
		message                  string
		link, linkText           string
		header                   map[string]string // further headers of the answer
	}{
		{"403 not allowed", app, "/admin/x", alice, false, http.StatusForbidden,
			"You are signed in as alice, who may not open this page.", proxy.LogoutPath,
			"Sign out to use another account", nil},
		{"404 no route for the host", "other.example.test", "/app/", "", false,
			http.StatusNotFound, "There is nothing here.", proxy.LoginPath,
			"Go to the sign-in page", nil},
		{"502 upstream unreachable", app, "/down/x", alice, false, http.StatusBadGateway,
			"The application is not answering. Try again in a moment.", "/",
			"Go to the start page", nil},
		{"503 store unreachable", app, "/app/", alice, true,
			http.StatusServiceUnavailable,
			"Sessions cannot be checked right now. Try again in a moment.",
			proxy.LoginPath, "Go to the sign-in page", map[string]string{"Retry-After": "5"}},
	} {
		for _, accept := range []string{"text/html", "application/json", ""} {
			t.Run(tt.name+" Accept="+accept, func(t *testing.T) {
				before := up.count()
				store.down.Store(tt.storeDown)
				r := e.getAs(tt.host, tt.path, tt.cookie, accept)
				store.down.Store(false)

				if r.StatusCode != tt.status {
					t.Fatalf("status: got %d, want %d\n%s", r.StatusCode, tt.status, r.body)
				}
				if n := up.count() - before; n != 0 {
					t.Errorf("the upstream was contacted %d times", n)
				}
				want := map[string]string{
					"Content-Security-Policy": csp,
					"X-Content-Type-Options":  "nosniff",
					"Cache-Control":           "no-store",
					"X-Frame-Options":         "DENY",
					"Referrer-Policy":         "no-referrer",
				}
				for k, v := range tt.header {
					want[k] = v
				}
				for k, v := range want {
					if got := r.Header.Get(k); got != v {
						t.Errorf("%s: got %q, want %q", k, got, v)
					}
				}
				for _, s := range internals {
					if strings.Contains(r.body, s) {
						t.Errorf("answer shows %q:\n%s", s, r.body)
					}
				}

				title := http.StatusText(tt.status)
				if accept != "text/html" {
					if ct := r.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
						t.Errorf("Content-Type: got %q, want text/plain; charset=utf-8", ct)
					}
					if want := title + ": " + tt.message + "\n"; r.body != want {
						t.Errorf("body: got %q, want %q", r.body, want)
					}
					return
				}
				if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
					t.Errorf("Content-Type: got %q, want text/html; charset=utf-8", ct)
				}
				if got, want := layoutOf(r.body), layoutOf(login.body); got != want {
					t.Errorf("page does not start with the sign-in page's layout:\n"+
						"got\n%s\nwant\n%s", got, want)
				}
				for _, s := range []string{
					"<title>" + title + " · Gateway</title>",
					"<h1>" + title + "</h1>",
					"<p>" + tt.message + "</p>",
					`<a href="` + tt.link + `">` + tt.linkText + `</a>`,
					"</main>\n</body>\n</html>",
				} {
					if !strings.Contains(r.body, s) {
						t.Errorf("page lacks %q:\n%s", s, r.body)
					}
				}
			})
		}
	}
}
