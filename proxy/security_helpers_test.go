package proxy_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontgate/gateway/authn"
	"github.com/frontgate/gateway/authn/session"
	"github.com/frontgate/gateway/config"
	"github.com/frontgate/gateway/proxy"
	"github.com/frontgate/gateway/proxy/server"
)

// Fixtures of the security cases: a gateway configured as the cases' conventions say, in
// front of a raw echo upstream, clients that send exactly what a test says, and the
// assertions the cases share.

// secHost is the gateway's public host name in the security cases.
const secHost = "gw.example.test"

// secLoginPrefix is where a login-required answer sends a browser.
const secLoginPrefix = proxy.LoginPath + "?next="

// secUser is one entry of a users file written by secWriteUsers.
type secUser struct {
	name, pass string
	hash       string // replaces the hash of pass when set
	groups     []string
	disabled   bool
}

// secDefaultUsers are the users of the cases' conventions: alice in staff, bob in admins.
func secDefaultUsers() []secUser {
	return []secUser{
		{name: "alice", pass: alicePass, groups: []string{"staff"}},
		{name: "bob", pass: bobPass, groups: []string{"admins"}},
	}
}

func secWriteUsers(t testing.TB, path string, users []secUser) {
	t.Helper()
	var b strings.Builder
	b.WriteString("users:\n")
	for _, u := range users {
		h := u.hash
		if h == "" {
			h = mustHash(t, u.pass)
		}
		fmt.Fprintf(&b, "  %s:\n    displayname: %q\n    password: %q\n"+
			"    email: %s@example.test\n    groups: [%s]\n    disabled: %t\n",
			u.name, u.name, h, u.name, strings.Join(u.groups, ", "), u.disabled)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// secOptions varies the gateway that newSecEnv builds from the cases' conventions.
type secOptions struct {
	// config is YAML appended at the top level.
	config string
	// session holds keys under session: besides secrets, each line indented two spaces.
	session string
	// secrets replace the test secret.
	secrets []string
	// users replace alice and bob.
	users []secUser
	// tls serves the gateway over TLS.
	tls bool
	// byHand builds the handler from its parts, keeping the Authenticator, instead of
	// through server.Build.
	byHand bool
	// clock, when set, is the time the session manager and its memory store read; the
	// handler is then built by hand.
	clock *fakeClock
}

// secEnv is a gateway in front of a raw echo upstream, with the cases' users and one
// route for / with public: ["/public/"].
type secEnv struct {
	gw        *httptest.Server
	h         *proxy.Handler
	auth      *authn.Authenticator // set only when built by hand
	up        *rawEcho
	usersFile string
	logs      *secLog
}

func secConfig(o secOptions, upstream string) string {
	secrets := o.secrets
	if secrets == nil {
		secrets = []string{secret}
	}
	quoted := make([]string, len(secrets))
	for i, s := range secrets {
		quoted[i] = strconv.Quote(s)
	}
	return fmt.Sprintf(`listen: "127.0.0.1:0"
users:
  file: users.yaml
session:
  secrets: [%s]
%sroutes:
  - path: /
    upstream: %q
    public: ["/public/"]
  - path: /admin/
    upstream: %q
    allow:
      groups: [admins]
%s`, strings.Join(quoted, ", "), o.session, upstream, upstream, o.config)
}

func newSecEnv(t testing.TB, o secOptions) *secEnv {
	t.Helper()
	dir := t.TempDir()
	up := newRawEcho(t)
	usersFile := filepath.Join(dir, "users.yaml")
	users := o.users
	if users == nil {
		users = secDefaultUsers()
	}
	secWriteUsers(t, usersFile, users)
	cfg, err := config.Parse([]byte(secConfig(o, up.URL)), filepath.Join(dir, "gateway.yaml"))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	logs := &secLog{}
	lg := slog.New(slog.NewJSONHandler(logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	e := &secEnv{up: up, usersFile: usersFile, logs: logs}
	if o.byHand || o.clock != nil {
		e.h, e.auth = secBuildByHand(t, cfg, lg, o.clock)
	} else if e.h, err = server.Build(ctx, cfg, lg); err != nil {
		t.Fatalf("build: %v", err)
	}
	e.gw = httptest.NewUnstartedServer(e.h)
	if o.tls {
		e.gw.StartTLS()
	} else {
		e.gw.Start()
	}
	t.Cleanup(e.gw.Close)
	return e
}

// secBuildByHand assembles the handler as server.Build does, keeping the Authenticator
// so tests can count password verifications. Sessions read the time from clock, or
// from the system when it is nil.
func secBuildByHand(t testing.TB, cfg *config.Config, lg *slog.Logger, clock *fakeClock) (
	*proxy.Handler, *authn.Authenticator) {
	t.Helper()
	users, err := authn.OpenFileStore(cfg.Users.File, lg)
	if err != nil {
		t.Fatal(err)
	}
	secrets := make([][]byte, len(cfg.Session.Secrets))
	for i, s := range cfg.Session.Secrets {
		secrets[i] = []byte(s)
	}
	keys, err := session.DeriveKeys(secrets)
	if err != nil {
		t.Fatal(err)
	}
	opts := session.Options{
		Store: session.NewMemory(), Keys: keys,
		IdleTimeout: cfg.Session.IdleTimeout, Lifetime: cfg.Session.Lifetime,
	}
	if clock != nil {
		opts.Store, opts.Now = session.NewMemoryWithClock(clock.Now), clock.Now
	}
	mgr, err := session.NewManager(opts)
	if err != nil {
		t.Fatal(err)
	}
	auth := authn.NewAuthenticator(users, 0)
	h, err := proxy.New(proxy.Options{Config: cfg, Auth: auth, Sessions: mgr, Logger: lg})
	if err != nil {
		t.Fatal(err)
	}
	return h, auth
}

func (e *secEnv) reload(t testing.TB) {
	t.Helper()
	if err := e.h.ReloadUsers(); err != nil {
		t.Fatalf("reloading users: %v", err)
	}
}

// secLog collects the gateway's JSON log records.
type secLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *secLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *secLog) records() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for line := range strings.SplitSeq(l.b.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// lastRequest returns the last access record for path.
func (l *secLog) lastRequest(path string) map[string]any {
	recs := l.records()
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i]["msg"] == "request" && recs[i]["path"] == path {
			return recs[i]
		}
	}
	return nil
}

// sresp is one answer with its body read.
type sresp struct {
	*http.Response
	body string
}

// secClient is a browser-like client: it keeps the gateway's cookies itself (whatever
// their Secure flag, so that forced-Secure cookies work over plain HTTP in tests), sends
// Host: gw.example.test and Accept: text/html, and follows no redirect.
type secClient struct {
	base    string
	hc      *http.Client
	cookies map[string]string
	names   []string // cookie names in the order first set
	extra   []string // header name and value pairs sent on every request
	seen    []string // every Set-Cookie line received
}

func (e *secEnv) client() *secClient {
	tr := http.DefaultTransport
	if e.gw.TLS != nil {
		tr = e.gw.Client().Transport
	}
	return newSecClient(e.gw.URL, tr)
}

func newSecClient(base string, tr http.RoundTripper) *secClient {
	return &secClient{base: base, cookies: map[string]string{}, hc: &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// do sends a request. hdr holds name and value pairs that replace the defaults; an
// empty value removes a header. A Cookie in hdr replaces the client's cookies.
func (c *secClient) do(t testing.TB, method, path string, body io.Reader, hdr ...string) sresp {
	t.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	req.Host = secHost
	req.Header.Set("Accept", "text/html")
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if jar := c.cookieHeader(); jar != "" {
		req.Header.Set("Cookie", jar)
	}
	all := append(append([]string(nil), c.extra...), hdr...)
	for i := 0; i+1 < len(all); i += 2 {
		if all[i+1] == "" {
			req.Header.Del(all[i])
		} else {
			req.Header.Set(all[i], all[i+1])
		}
	}
	res, err := c.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	c.absorb(res.Header.Values("Set-Cookie"))
	return sresp{res, string(b)}
}

func (c *secClient) cookieHeader() string {
	var parts []string
	for _, n := range c.names {
		if v, ok := c.cookies[n]; ok {
			parts = append(parts, n+"="+v)
		}
	}
	return strings.Join(parts, "; ")
}

func (c *secClient) absorb(lines []string) {
	for _, l := range lines {
		c.seen = append(c.seen, l)
		ck, err := http.ParseSetCookie(l)
		if err != nil {
			continue
		}
		if ck.MaxAge < 0 || ck.Value == "" ||
			(!ck.Expires.IsZero() && ck.Expires.Before(time.Now())) {
			delete(c.cookies, ck.Name)
			continue
		}
		c.set(ck.Name, ck.Value)
	}
}

func (c *secClient) set(name, value string) {
	if _, ok := c.cookies[name]; !ok {
		c.names = append(c.names, name)
	}
	c.cookies[name] = value
}

func (c *secClient) get(t testing.TB, path string, hdr ...string) sresp {
	t.Helper()
	return c.do(t, http.MethodGet, path, nil, hdr...)
}

func (c *secClient) post(t testing.TB, path, body string, hdr ...string) sresp {
	t.Helper()
	return c.do(t, http.MethodPost, path, strings.NewReader(body), hdr...)
}

// form opens the sign-in form and returns its csrf_token.
func (c *secClient) form(t testing.TB) string {
	t.Helper()
	r := c.get(t, proxy.LoginPath)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("sign-in form: status %d, want 200", r.StatusCode)
	}
	return field(t, csrfRe, r.body)
}

// loginBody is a sign-in form body; nextWire is put on the wire as given.
func loginBody(user, pass, token, nextWire string) string {
	b := "username=" + url.QueryEscape(user) + "&password=" + url.QueryEscape(pass) +
		"&csrf_token=" + url.QueryEscape(token)
	if nextWire != "" {
		b += "&next=" + nextWire
	}
	return b
}

// login opens the form and signs in; nextWire is the form-encoded next, or empty.
func (c *secClient) login(t testing.TB, user, pass, nextWire string) sresp {
	t.Helper()
	tok := c.form(t)
	return c.post(t, proxy.LoginPath, loginBody(user, pass, tok, nextWire))
}

func (c *secClient) session() string { return c.cookies[session.CookieName] }

// session signs in as user in a new client and returns S(user).
func (e *secEnv) session(t testing.TB, user, pass string) string {
	t.Helper()
	c := e.client()
	if r := c.login(t, user, pass, ""); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in as %s: status %d, want 303", user, r.StatusCode)
	}
	if c.session() == "" {
		t.Fatalf("sign-in as %s set no session cookie", user)
	}
	return c.session()
}

// with sends one request carrying exactly the given session cookie value, or none.
func (e *secEnv) with(t testing.TB, method, path, sess string, hdr ...string) sresp {
	t.Helper()
	c := e.client()
	if sess != "" {
		c.set(session.CookieName, sess)
	}
	return c.do(t, method, path, nil, hdr...)
}

// rawLines joins request lines into a request head.
func rawLines(lines ...string) string {
	return strings.Join(lines, "\r\n") + "\r\n\r\n"
}

// send writes req to the gateway byte for byte over a new connection and reads one
// answer. Ordinary clients clean paths and canonicalise header names, which would hide
// the tricks under test.
func (e *secEnv) send(t testing.TB, req string) sresp {
	t.Helper()
	r, err := sendRaw(e.gw.Listener.Addr().String(), req, 10*time.Second)
	if err != nil {
		t.Fatalf("raw %q: %v", firstLine(req), err)
	}
	return r
}

func sendRaw(addr, req string, within time.Duration) (sresp, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return sresp{}, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(within))
	if _, err := io.WriteString(c, req); err != nil {
		return sresp{}, err
	}
	method, _, _ := strings.Cut(req, " ")
	res, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		return sresp{}, fmt.Errorf("reading answer: %w", err)
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return sresp{}, fmt.Errorf("reading body: %w", err)
	}
	return sresp{res, string(b)}, nil
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\r\n")
	return l
}

// forwardAuth asks /.gateway/auth as a front proxy would, with the given session value
// (or none) and X-Forwarded-* pairs.
func (e *secEnv) forwardAuth(t testing.TB, sess string, hdr ...string) sresp {
	t.Helper()
	base := []string{"Accept", "", "X-Forwarded-Method", "GET", "X-Forwarded-Proto", "https",
		"X-Forwarded-Host", secHost}
	c := e.client()
	if sess != "" {
		// the front proxy's site is HTTPS, where the cookie has the __Host- prefix
		c.set("__Host-"+session.CookieName, sess)
	}
	return c.do(t, http.MethodGet, "/.gateway/auth", nil, append(base, hdr...)...)
}

// socket address.

type handlerClient struct {
	h       http.Handler
	addr    string
	cookies map[string]string
}

func newHandlerClient(h http.Handler, addr string) *handlerClient {
	return &handlerClient{h: h, addr: addr, cookies: map[string]string{}}
}

func (c *handlerClient) do(method, target, body string, hdr ...string) sresp {
	req := httptest.NewRequest(method, "http://"+secHost+target, strings.NewReader(body))
	req.RemoteAddr = c.addr
	req.Header.Set("Accept", "text/html")
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	names := make([]string, 0, len(c.cookies))
	for n := range c.cookies {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		req.AddCookie(&http.Cookie{Name: n, Value: c.cookies[n]})
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	res := rec.Result()
	for _, ck := range res.Cookies() {
		if ck.MaxAge < 0 || ck.Value == "" {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck.Value
		}
	}
	return sresp{res, rec.Body.String()}
}

// attempt opens the sign-in form and posts user and pass with its token.
func (c *handlerClient) attempt(t testing.TB, user, pass string, hdr ...string) sresp {
	t.Helper()
	form := c.do(http.MethodGet, proxy.LoginPath, "", hdr...)
	if form.StatusCode != http.StatusOK {
		t.Fatalf("sign-in form from %s: status %d, want 200", c.addr, form.StatusCode)
	}
	tok := field(t, csrfRe, form.body)
	return c.do(http.MethodPost, proxy.LoginPath, loginBody(user, pass, tok, ""), hdr...)
}

// wantLoginRequired checks the answer to a GET or HEAD with Accept: text/html for a
// protected path without a valid session: 302 to the sign-in page with next set to the
// original path and query.
func wantLoginRequired(t testing.TB, r sresp, target string) {
	t.Helper()
	if r.StatusCode != http.StatusFound {
		t.Errorf("status: got %d, want 302 to the sign-in page", r.StatusCode)
		return
	}
	loc := r.Header.Get("Location")
	u, err := url.Parse(loc)
	if err != nil || (u.Host != "" && (u.Host != secHost || u.Scheme != "https")) ||
		u.Path != proxy.LoginPath {
		t.Errorf("Location: got %q, want %s<escaped %s>", loc, secLoginPrefix, target)
		return
	}
	if got := u.Query().Get("next"); got != target {
		t.Errorf("Location next: got %q, want %q", got, target)
	}
}

// wantUntouched checks that the upstream received nothing since before.
func wantUntouched(t testing.TB, up *rawEcho, before int) {
	t.Helper()
	if n := up.count() - before; n != 0 {
		t.Errorf("upstream contacted %d times, want not contacted", n)
	}
}

// wantForbidden checks a 403 from the gateway with the upstream not contacted.
func wantForbidden(t testing.TB, r sresp, up *rawEcho, before int) {
	t.Helper()
	if r.StatusCode != http.StatusForbidden {
		t.Errorf("status: got %d, want 403 (forbidden)", r.StatusCode)
	}
	wantUntouched(t, up, before)
}

// wantIdentity checks that among the lines the upstream saw whose names fold to one of
// the identity names there is exactly one per name, with the given value; want nil
// means none at all.
func wantIdentity(t testing.TB, s rawSeen, names [3]string, want []string) {
	t.Helper()
	got := s.like(names[:]...)
	if want == nil {
		if len(got) != 0 {
			t.Errorf("identity headers upstream: got %v, want none", got)
		}
		return
	}
	var wantF []rawField
	for i, n := range names {
		wantF = append(wantF, rawField{n, want[i]})
	}
	if !sameFields(got, wantF) {
		t.Errorf("identity headers upstream: got %v, want %v", got, wantF)
	}
}

// sameFields compares header lines as sets, names ignoring case.
func sameFields(a, b []rawField) bool {
	key := func(fs []rawField) []string {
		var out []string
		for _, f := range fs {
			out = append(out, strings.ToLower(f.Name)+": "+f.Value)
		}
		sort.Strings(out)
		return out
	}
	return fmt.Sprint(key(a)) == fmt.Sprint(key(b))
}

var defaultIdentity = [3]string{"X-Forwarded-User", "X-Forwarded-Email", "X-Forwarded-Groups"}

var aliceIdentity = []string{"alice", "alice@example.test", "staff"}

// waitFor polls cond until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}
