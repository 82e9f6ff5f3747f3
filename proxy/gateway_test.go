package proxy_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/frontgate/gateway/authn/password"
	"github.com/frontgate/gateway/config"
	"github.com/frontgate/gateway/proxy"
	"github.com/frontgate/gateway/proxy/server"
)

// cheap keeps password hashing fast in tests; production parameters are tested in
// authn/password.
var cheap = password.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// Test users and their passwords.
const (
	alicePass = "alice-correct-horse"
	bobPass   = "bob-battery-staple"
)

// seen is one request as the echo upstream received it.
type seen struct {
	Method     string
	RequestURI string
	Host       string
	Header     http.Header
	Body       int
}

// recorded is a list of requests an upstream received, safe for its goroutines.
type recorded[T any] struct {
	mu   sync.Mutex
	reqs []T
}

func (r *recorded[T]) add(s T) {
	r.mu.Lock()
	r.reqs = append(r.reqs, s)
	r.mu.Unlock()
}

func (r *recorded[T]) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

func (r *recorded[T]) last(t testing.TB) T {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) == 0 {
		t.Fatal("upstream was not contacted")
	}
	return r.reqs[len(r.reqs)-1]
}

// echo is a real upstream that records every request it receives.
type echo struct {
	*httptest.Server
	recorded[seen]
}

func newEcho(t testing.TB) *echo {
	t.Helper()
	e := &echo{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		e.add(seen{r.Method, r.RequestURI, r.Host, r.Header.Clone(), int(n)})
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "upstream %s %s user=%q", r.Method, r.RequestURI,
			r.Header.Get("X-Forwarded-User"))
	}))
	t.Cleanup(e.Close)
	return e
}

// env is a gateway in front of an echo upstream, with its users file on disk.
type env struct {
	t         testing.TB
	gw        *httptest.Server
	h         *proxy.Handler
	up        *echo
	usersFile string
	dir       string
}

func writeUsers(t testing.TB, path string, users map[string]string, extra string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("users:\n")
	groups := map[string]string{"alice": "[staff]", "bob": "[admins, staff]"}
	for _, name := range []string{"alice", "bob", "carol"} {
		pw, ok := users[name]
		if !ok {
			continue
		}
		h := mustHash(t, pw)
		g := groups[name]
		if g == "" {
			g = "[staff]"
		}
		display := name
		if name == "alice" {
			display = "Alice Ærø" // a display name beyond ASCII passes as UTF-8
		}
		fmt.Fprintf(&b, "  %s:\n    displayname: %q\n    password: %q\n"+
			"    email: %s@example.test\n    groups: %s\n", name, display, h, name, g)
	}
	b.WriteString(extra)
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

const secret = "0123456789abcdef0123456789abcdef-test-secret"

func newEnv(t testing.TB, extraConfig string) *env {
	t.Helper()
	return newEnvWithUpstream(t, newEcho(t), extraConfig)
}

// newEnvWithUpstream is newEnv with a given upstream, which extraConfig may name in
// further routes.
func newEnvWithUpstream(t testing.TB, up *echo, extraConfig string) *env {
	t.Helper()
	return newEnvFromYAML(t, up, t.TempDir(), fmt.Sprintf("session:\n  secrets: [%q]\n",
		secret)+"routes:\n  - path: /\n    upstream: \""+up.URL+"\"\n"+
		"    public: [\"/public/\"]\n"+extraConfig)
}

// newEnvFromYAML builds an env in dir from config text; without a routes key, one route
// to up is added.
func newEnvFromYAML(t testing.TB, up *echo, dir, yml string) *env {
	t.Helper()
	usersFile := filepath.Join(dir, "users.yaml")
	writeUsers(t, usersFile, map[string]string{"alice": alicePass, "bob": bobPass}, "")
	if !strings.Contains(yml, "routes:") {
		yml += "routes:\n  - upstream: \"" + up.URL + "\"\n    public: [\"/public/\"]\n"
	}
	yml = "listen: \"127.0.0.1:0\"\nusers:\n  file: users.yaml\n" + yml
	cfg, err := config.Parse([]byte(yml), filepath.Join(dir, "gateway.yaml"))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	h, err := server.Build(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	gw := httptest.NewServer(h)
	t.Cleanup(gw.Close)
	return &env{t: t, gw: gw, h: h, up: up, usersFile: usersFile, dir: dir}
}

// browser is a client with a cookie jar that does not follow redirects.
type browser struct {
	t   testing.TB
	e   *env
	c   *http.Client
	jar *cookiejar.Jar
	// host, when set, is sent as Host on every request in place of the gateway's address
	host string
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: e.t, e: e, jar: jar, c: &http.Client{
		Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

type resp struct {
	*http.Response
	body string
}

func (b *browser) do(req *http.Request) resp {
	b.t.Helper()
	if b.host != "" {
		req.Host = b.host
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return resp{res, string(body)}
}

func (b *browser) get(path string, hdr ...string) resp {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.e.gw.URL+path, nil)
	req.Header.Set("Accept", "text/html")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	return b.do(req)
}

func (b *browser) post(path string, form url.Values, hdr ...string) resp {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.e.gw.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	return b.do(req)
}

var (
	csrfRe = regexp.MustCompile(`name="csrf_token" value="([^"]*)"`)
	nextRe = regexp.MustCompile(`name="next" value="([^"]*)"`)
)

func field(t testing.TB, re *regexp.Regexp, body string) string {
	t.Helper()
	m := re.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s in page:\n%s", re, body)
	}
	return html.UnescapeString(m[1])
}

// login signs in through the form, with next as the hidden field's value, and returns
// the answer to the POST.
func (b *browser) login(user, pass, next string) resp {
	b.t.Helper()
	form := b.get(proxy.LoginPath)
	if form.StatusCode != http.StatusOK {
		b.t.Fatalf("login form: status %d", form.StatusCode)
	}
	return b.post(proxy.LoginPath, url.Values{
		"username": {user}, "password": {pass}, "next": {next},
		"csrf_token": {field(b.t, csrfRe, form.body)},
	})
}

func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.e.gw.URL)
	if b.host != "" {
		u.Host = b.host // where the jar keeps what the gateway set
	}
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// raw sends a request with exactly these headers and the given session cookie value.
func (e *env) raw(method, path, session string, hdr http.Header) resp {
	e.t.Helper()
	return e.rawWith(method, path, session, hdr, nil)
}

// rawWith is raw with a request body; a body of unknown length is sent chunked.
func (e *env) rawWith(method, path, session string, hdr http.Header, body io.Reader) resp {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.gw.URL+path, body)
	for k, v := range hdr {
		req.Header[k] = v
	}
	if h := hdr.Get("Host"); h != "" {
		req.Host = h // the client sends Host from here, never from the headers
	}
	if session != "" {
		req.Header.Add("Cookie", "gateway_session="+session)
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return resp{res, string(got)}
}

func TestProtectedPathRedirectsToLogin(t *testing.T) {
	e := newEnv(t, "")
	tests := []struct {
		method, path, accept string
		want                 int
		location             string
	}{
		{"GET", "/app/page?x=1&y=2", "text/html", 302,
			"/.gateway/login?next=%2Fapp%2Fpage%3Fx%3D1%26y%3D2"},
		{"HEAD", "/", "text/html,application/xhtml+xml", 302, "/.gateway/login?next=%2F"},
		{"GET", "/admin", "text/html;q=0.9, */*;q=0.1", 302, "/.gateway/login?next=%2Fadmin"},
		{"GET", "/api", "application/json", 401, ""},
		{"GET", "/api", "text/html;q=0", 401, ""},
		{"GET", "/api", "", 401, ""},
		{"POST", "/form", "text/html", 401, ""},
		{"OPTIONS", "/x", "text/html", 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path+" "+tt.accept, func(t *testing.T) {
			h := http.Header{}
			if tt.accept != "" {
				h.Set("Accept", tt.accept)
			}
			r := e.raw(tt.method, tt.path, "", h)
			if r.StatusCode != tt.want {
				t.Fatalf("status: got %d, want %d", r.StatusCode, tt.want)
			}
			if got := r.Header.Get("Location"); got != tt.location {
				t.Errorf("Location: got %q, want %q", got, tt.location)
			}
			if got := r.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control: got %q, want no-store", got)
			}
		})
	}
	if n := e.up.count(); n != 0 {
		t.Errorf("upstream contacted %d times without a session", n)
	}
}

func TestLoginSucceedsAndRotatesSession(t *testing.T) {
	e := newEnv(t, "")
	b := e.browser()

	// A session id the browser arrives with, here a live one of bob's planted by an
	// attacker, is never kept, and the session it named is ended.
	before := e.session("bob", bobPass)
	form := b.get(proxy.LoginPath)
	u, _ := url.Parse(e.gw.URL)
	b.jar.SetCookies(u, []*http.Cookie{{Name: "gateway_session", Value: before}})
	r := b.post(proxy.LoginPath, url.Values{
		"username": {"alice"}, "password": {alicePass}, "next": {"/app/page?x=1"},
		"csrf_token": {field(t, csrfRe, form.body)},
	})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("status: got %d, want 303\n%s", r.StatusCode, r.body)
	}
	if got := r.Header.Get("Location"); got != "/app/page?x=1" {
		t.Errorf("Location: got %q, want /app/page?x=1", got)
	}
	after := b.cookie("gateway_session")
	if after == "" || after == before {
		t.Fatalf("session cookie not replaced at login: before %q, after %q", before, after)
	}
	var sc string
	for _, c := range r.Header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "gateway_session=") {
			sc = c
		}
	}
	for _, attr := range []string{"Path=/", "HttpOnly", "SameSite=Lax"} {
		if !strings.Contains(sc, attr) {
			t.Errorf("session cookie %q lacks %s", sc, attr)
		}
	}
	for _, attr := range []string{"Max-Age", "Domain", "Expires"} {
		if strings.Contains(sc, attr) {
			t.Errorf("session cookie %q has %s; want a host-only browser-session cookie",
				sc, attr)
		}
	}

	// The new session serves alice; the one from before the login is gone.
	got := b.get("/app/page?x=1")
	if got.StatusCode != 200 {
		t.Fatalf("after login: status %d", got.StatusCode)
	}
	if u := e.up.last(t).Header.Get("X-Forwarded-User"); u != "alice" {
		t.Errorf("X-Forwarded-User: got %q, want alice", u)
	}
	old := e.raw("GET", "/app/", before, http.Header{"Accept": {"text/html"}})
	if old.StatusCode != http.StatusFound {
		t.Errorf("session from before login: status %d, want 302 to login", old.StatusCode)
	}
}

func TestLoginFailureSameForEveryCause(t *testing.T) {
	e := newEnv(t, "")
	writeUsers(t, e.usersFile, map[string]string{"alice": alicePass, "bob": bobPass},
		"  dave:\n    password: \""+mustHash(t, "dave-pass")+"\"\n    disabled: true\n")
	reload(t, e)

	var bodies []string
	for _, c := range []struct{ user, pass string }{
		{"alice", "wrong"}, {"nobody", "wrong"}, {"dave", "dave-pass"}, {"alice", ""},
	} {
		b := e.browser()
		r := b.login(c.user, c.pass, "/")
		if r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s: status %d, want 401", c.user, r.StatusCode)
		}
		if !strings.Contains(r.body, "Invalid credentials") {
			t.Errorf("%s: page lacks the failure message", c.user)
		}
		if c.pass != "" && strings.Contains(r.body, c.pass) {
			t.Errorf("%s: page echoes the password", c.user)
		}
		if !strings.Contains(r.body, `value="`+c.user+`"`) {
			t.Errorf("%s: username not kept in the form", c.user)
		}
		for _, sc := range r.Header.Values("Set-Cookie") {
			if strings.HasPrefix(sc, "gateway_session=") {
				t.Errorf("%s: failed login set a session cookie %q", c.user, sc)
			}
		}
		if b.cookie("gateway_session") != "" {
			t.Errorf("%s: session cookie present after a failed login", c.user)
		}
		bodies = append(bodies, strings.ReplaceAll(stripTokens(r.body), c.user, "USER"))
	}
	for i := 1; i < len(bodies); i++ {
		if bodies[i] != bodies[0] {
			t.Errorf("failure page %d differs from the first:\n%s\n---\n%s", i, bodies[i],
				bodies[0])
		}
	}
}

func stripTokens(s string) string {
	return csrfRe.ReplaceAllString(s, `name="csrf_token" value=""`)
}

var hashes sync.Map // password -> hash, so rewriting a users file keeps unchanged hashes

func mustHash(t testing.TB, pw string) string {
	t.Helper()
	if h, ok := hashes.Load(pw); ok {
		return h.(string)
	}
	h, err := password.Generate(pw, cheap)
	if err != nil {
		t.Fatal(err)
	}
	hashes.Store(pw, h)
	return h
}

// reload makes the gateway re-read its users file now, as its watcher does when the
// file changes, so tests need not wait for a poll.
func reload(t testing.TB, e *env) {
	t.Helper()
	if err := e.h.ReloadUsers(); err != nil {
		t.Fatalf("reloading users: %v", err)
	}
}

func TestUnsafeNextLandsOnRoot(t *testing.T) {
	e := newEnv(t, "")
	for _, next := range []string{
		"//evil.example/", "/\\evil.example", "https://evil.example/", "/\t/evil.example",
		"/%09/evil.example", "/%5Cevil.example", "%2F%2Fevil.example", "javascript:alert(1)",
		"https://127.0.0.1@evil.example/", "/.gateway/logout", "",
	} {
		t.Run(next, func(t *testing.T) {
			r := e.browser().login("alice", alicePass, next)
			if r.StatusCode != http.StatusSeeOther {
				t.Fatalf("status %d, want 303", r.StatusCode)
			}
			if got := r.Header.Get("Location"); got != "/" {
				t.Errorf("Location: got %q, want /", got)
			}
		})
	}
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestNextIsSentExactlyAsValidated(t *testing.T) {
	e := newEnv(t, "")
	for _, next := range []string{"/x#/../../.gateway/logout", "/app/a?b=c#d", "/reports/2026"} {
		r := e.browser().login("alice", alicePass, next)
		if got := r.Header.Get("Location"); got != next {
			t.Errorf("next=%q: Location %q, want it unchanged", next, got)
		}
	}
}
