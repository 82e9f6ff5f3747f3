package server

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/frontgate/gateway/authn/totp"
	"github.com/frontgate/gateway/config"
	"github.com/frontgate/gateway/config/watch"
	"github.com/frontgate/gateway/proxy"
)

func TestConfigReloadsLive(t *testing.T) {
	pollConfigFast(t)
	up := newUpstream(t)
	path := writeConfig(t, up)
	base, logs := runLogged(t, path)
	status := func(p string) int { return statusOf(t, http.DefaultClient, base+p) }
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 5s; log:\n%s", what, logs.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if status("/open/x") != http.StatusUnauthorized {
		t.Fatal("/open/ public before the change")
	}
	orig, _ := os.ReadFile(path)

	// A new public prefix takes effect without a restart.
	edit := strings.Replace(string(orig), "public: [/public/]", "public: [/public/, /open/]",
		1)
	os.WriteFile(path, []byte(edit), 0o600)
	waitFor("new public path served", func() bool { return status("/open/x") == 200 })

	// A broken config is refused with the file, line and key of each of its problems;
	// the running one keeps serving.
	n := strings.Count(edit, "\n")
	os.WriteFile(path, []byte(edit+"bogus_key: 1\nother_key: 2\n"), 0o600)
	where := fmt.Sprintf("%s:%d: bogus_key: unknown key", path, n+1)
	where2 := fmt.Sprintf("%s:%d: other_key: unknown key", path, n+2)
	waitFor("broken config reported", func() bool {
		return strings.Contains(logs.String(), where) &&
			strings.Contains(logs.String(), where2)
	})
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, where) && strings.Contains(line, where2) {
			t.Errorf("two problems in one record, not one in each: %s", line)
		}
	}
	if status("/open/x") != 200 {
		t.Error("a rejected config changed what is served")
	}

	// Keys that need a restart are named, and the rest applies.
	restart := strings.Replace(edit, `listen: "127.0.0.1:0"`, `listen: "127.0.0.1:1"`, 1)
	restart = strings.Replace(restart, "public: [/public/, /open/]", "public: [/public/]", 1)
	os.WriteFile(path, []byte(restart), 0o600)
	waitFor("restart keys named", func() bool {
		return strings.Contains(logs.String(), "need a restart") &&
			strings.Contains(logs.String(), "listen")
	})
	waitFor("the rest applied", func() bool { return status("/open/x") != 200 })
}

// TestReloadKeepsRestartOnlyKeys changes state_dir, a key a reload cannot apply, and
// checks that the gateway goes on with the one it started with: the session signed in
// before still works, nothing is made in the new folder, and once the file is back as
// it started, a reload has nothing left to name.
func TestReloadKeepsRestartOnlyKeys(t *testing.T) {
	pollConfigFast(t)
	up := newUpstream(t)
	path := writeConfig(t, up)
	base, logs := runLogged(t, path)
	c := signIn(t, base, "alice", "pw")
	status := func(p string) int { return statusOf(t, c, base+p) }
	if got := status("/app/x"); got != 200 {
		t.Fatalf("signed in: got %d, want 200", got)
	}

	orig, _ := os.ReadFile(path)
	other := filepath.Join(filepath.Dir(path), "other-state")
	os.WriteFile(path, append([]byte("state_dir: other-state\n"), orig...), 0o600)
	waitReloads(t, logs, 1)
	if !strings.Contains(logs.String(), "need a restart") ||
		!strings.Contains(logs.String(), "changed=[] not_applied=[state_dir]") {
		t.Errorf("state_dir change not named as needing a restart, in the warning and "+
			"the reload record; log:\n%s", logs.String())
	}
	if got := status("/app/x"); got != 200 {
		t.Errorf("after a reload that changed state_dir: got %d, want 200 (still signed in)",
			got)
	}
	if _, err := os.Stat(other); !os.IsNotExist(err) {
		t.Errorf("the new state_dir was used before a restart: %v", err)
	}

	warned := strings.Count(logs.String(), "need a restart")
	os.WriteFile(path, orig, 0o600)
	waitReloads(t, logs, 2)
	if n := strings.Count(logs.String(), "need a restart"); n != warned {
		t.Errorf("a config back as it started was still said to need a restart; log:\n%s",
			logs.String())
	}
}

// statusOf GETs url with c and returns the answer's status, its body read and closed.
func statusOf(t *testing.T, c *http.Client, url string) int {
	t.Helper()
	res, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// runLogged runs the gateway from path until the test ends, and returns its address and
// what it logs.
func runLogged(t *testing.T, path string) (base string, logs *syncBuffer) {
	t.Helper()
	logs = &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{ConfigPath: path, Stderr: logs,
			Ready: func(a net.Addr) { ready <- a }})
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case a := <-ready:
		return "http://" + a.String(), logs
	case err := <-done:
		done <- err // for the cleanup, which waits for Run's end
		t.Fatalf("Run: %v", err)
	}
	return "", nil
}

// codeSignIn signs user, whose password is "pw", in at base with code, in a new
// browser, and returns the answer to the code's post: its status and body. Each of
// between runs after the password step, before the code.
func codeSignIn(t *testing.T, base, user, code string, between ...func()) (int, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	post := func(form url.Values) (int, string) {
		t.Helper()
		res, err := c.PostForm(base+"/.gateway/login", form)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res.StatusCode, string(body)
	}
	res, err := c.Get(base + "/.gateway/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	tok := string(csrfField.FindSubmatch(body)[1])
	if got, _ := post(url.Values{"username": {user}, "password": {"pw"},
		"csrf_token": {tok}}); got != http.StatusOK {
		t.Fatalf("%s's password at %s: status %d, want 200 and the code page", user, base,
			got)
	}
	for _, f := range between {
		f()
	}
	return post(url.Values{"code": {code}, "csrf_token": {tok}})
}

// waitReloads waits up to 5s for the gateway's n-th reload.
func waitReloads(t *testing.T, logs *syncBuffer, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(logs.String(), "config reloaded") < n {
		if time.Now().After(deadline) {
			t.Fatalf("reload %d not within 5s; log:\n%s", n, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSignalledReloadIsNotRepeated reloads an edited config as SIGHUP does: the file
// watcher, which sees the same edit next, does not reload it a second time (each reload
// starts the sign-in throttle afresh).
func TestSignalledReloadIsNotRepeated(t *testing.T) {
	up := newUpstream(t)
	path := writeConfig(t, up)
	g, logs := openLogged(t, path)
	orig, _ := os.ReadFile(path)
	os.WriteFile(path, append(orig, []byte("pages:\n  title: Edited\n")...), 0o600)
	if err := g.reload("SIGHUP"); err != nil {
		t.Fatal(err)
	}
	g.checkConfig()
	g.checkConfig()
	if n := strings.Count(logs.String(), "config reloaded"); n != 1 {
		t.Errorf("one edit reloaded %d times; log:\n%s", n, logs.String())
	}
	// the record names what changed
	if !strings.Contains(logs.String(), "changed=[pages.title]") {
		t.Errorf("the reload's record does not name pages.title; log:\n%s", logs.String())
	}
	// a further edit is still seen
	os.WriteFile(path, append(orig, []byte("pages:\n  title: Again\n")...), 0o600)
	g.checkConfig()
	if n := strings.Count(logs.String(), "config reloaded"); n != 1 {
		t.Errorf("an edit seen once, which may be half written, was read; log:\n%s",
			logs.String())
	}
	// seen again unchanged, it is read
	g.checkConfig()
	if n := strings.Count(logs.String(), "config reloaded"); n != 2 {
		t.Errorf("a second edit: %d reloads in all, want 2; log:\n%s", n, logs.String())
	}
	// a file that cannot be read is logged once, however many checks find it so
	os.Remove(path)
	g.checkConfig()
	g.checkConfig()
	if n := strings.Count(logs.String(), "config file unreadable"); n != 1 {
		t.Errorf("a missing config file logged %d times in two checks, want 1; log:\n%s",
			n, logs.String())
	}
}

// openLogged opens the gateway of the config at path, logging to the buffer it returns.
func openLogged(t *testing.T, path string) (*gateway, *syncBuffer) {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	lg := NewLogger(logs, cfg.Log)
	g, err := openGateway(t.Context(), cfg, lg, proxy.NewMetrics(prometheus.NewRegistry()))
	if err != nil {
		t.Fatal(err)
	}
	return g, logs
}

// TestChurningConfigReloaded: a config file that differs at every check, as one a script
// rewrites without pause, is still read once it has changed for the watcher's longest
// wait and holds still a moment, and not before.
func TestChurningConfigReloaded(t *testing.T) {
	up := newUpstream(t)
	path := writeConfig(t, up)
	g, logs := openLogged(t, path)
	const maxChurn = 100 * time.Millisecond
	g.change = watch.Change{MaxChurn: maxChurn, Settle: 5 * time.Millisecond}
	orig, _ := os.ReadFile(path)
	start := time.Now()
	for i := 0; !strings.Contains(logs.String(), "config reloaded"); i++ {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("a config changed before every check was never read; log:\n%s",
				logs.String())
		}
		edit := fmt.Sprintf("pages:\n  title: Edit %d\n", i)
		os.WriteFile(path, append(slices.Clip(orig), edit...), 0o600)
		g.checkConfig()
		if time.Since(start) < maxChurn && strings.Contains(logs.String(), "config reloaded") {
			t.Fatalf("a config seen once was read before it had changed for %v", maxChurn)
		}
	}
	g.mu.Lock()
	title := g.cfg.Pages.Title
	g.mu.Unlock()
	if !strings.HasPrefix(title, "Edit ") {
		t.Errorf("the churning config was read, yet the title served is %q", title)
	}
}

// TestWarningsLogged checks that the gateway logs what Warnings doubts at start and
// again after a reload, and starts all the same.
func TestWarningsLogged(t *testing.T) {
	up := newUpstream(t)
	path := writeConfig(t, up, "    allow:\n      users: [alice, bobb]\n")
	base, logs := runLogged(t, path)
	if got := statusOf(t, http.DefaultClient, base+"/public/x"); got != http.StatusOK {
		t.Errorf("public page: status %d", got)
	}
	const warning = `routes[0].allow.users[1]: no user \"bobb\" in `
	if n := strings.Count(logs.String(), warning); n != 1 {
		t.Fatalf("warnings at start: %d, want 1; log:\n%s", n, logs.String())
	}
	orig, _ := os.ReadFile(path)
	os.WriteFile(path, append(orig, "    preserve_host: true\n"...), 0o600)
	waitReloads(t, logs, 1)
	if n := strings.Count(logs.String(), warning); n != 2 {
		t.Errorf("warnings after a reload: %d, want 2; log:\n%s", n, logs.String())
	}
}

// TestReloadKeepsWhatSignInsTaught: a reload of the config does not wipe the throttle's
// counts of a guesser, nor let a one-time code that signed in sign in again.
func TestReloadKeepsWhatSignInsTaught(t *testing.T) {
	pollConfigFast(t)
	up := newUpstream(t)
	path := writeConfig(t, up)
	const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	writeUsersFile(t, path, map[string]string{}, map[string]string{"alice": "",
		"erin": "    totp_secret: " + secret + "\n"})
	base, logs := runLogged(t, path)
	guess := func() int {
		t.Helper()
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		res, err := c.Get(base + "/.gateway/login")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		res, err = c.PostForm(base+"/.gateway/login", url.Values{"username": {"alice"},
			"password": {"wrong"}, "csrf_token": {string(csrfField.FindSubmatch(body)[1])}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for i := range 5 {
		if got := guess(); got != http.StatusUnauthorized {
			t.Fatalf("guess %d: status %d, want 401", i+1, got)
		}
	}
	if got := guess(); got != http.StatusTooManyRequests {
		t.Fatalf("sixth guess: status %d, want 429", got)
	}

	// erin signs in with a code
	key, _ := totp.ParseSecret(secret)
	code := key.Code(time.Now())
	signInWithCode := func() int {
		t.Helper()
		got, _ := codeSignIn(t, base, "erin", code)
		return got
	}
	if got := signInWithCode(); got != http.StatusSeeOther {
		t.Fatalf("erin with her code: status %d, want 303", got)
	}

	orig, _ := os.ReadFile(path)
	os.WriteFile(path, append(orig, "pages:\n  title: Reloaded\n"...), 0o600)
	waitReloads(t, logs, 1)
	if got := guess(); got != http.StatusTooManyRequests {
		t.Errorf("a guess after the reload: status %d, want 429 still", got)
	}
	if got := signInWithCode(); got != http.StatusUnauthorized {
		t.Errorf("erin's used code after the reload: status %d, want 401", got)
	}
	// the record tells a code used before from a wrong one
	if !strings.Contains(logs.String(), "reason=\"code used before\"") {
		t.Errorf("no audit record of erin's code used before:\n%s", logs.String())
	}
}

// TestReloadChecksNextAtCode: the target a sign-in stored at its password step is
// checked again at its code step, by the rules in force then: once a reload has taken
// its host off allowed_redirect_hosts, the code sends the browser to / instead.
func TestReloadChecksNextAtCode(t *testing.T) {
	pollConfigFast(t)
	const (
		target = "https://app.example.com/x"
		hosts  = "allowed_redirect_hosts: [app.example.com]\n"
		secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	)
	path := writeConfig(t, newUpstream(t), hosts)
	withCodes := "    totp_secret: " + secret + "\n"
	writeUsersFile(t, path, map[string]string{}, map[string]string{"erin": withCodes,
		"frank": withCodes})
	base, logs := runLogged(t, path)
	key, _ := totp.ParseSecret(secret)

	// signIn signs user in, asking for target, with password and code in a new browser,
	// runs between the two steps, and returns where the code sends the browser.
	signIn := func(user string, between func()) string {
		t.Helper()
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
		read := func(res *http.Response, err error) (*http.Response, string) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			return res, string(body)
		}
		_, form := read(c.Get(base + "/.gateway/login?next=" + url.QueryEscape(target)))
		res, page := read(c.PostForm(base+"/.gateway/login", url.Values{"username": {user},
			"password": {"pw"}, "next": {target},
			"csrf_token": {csrfField.FindStringSubmatch(form)[1]}}))
		if res.StatusCode != http.StatusOK || !strings.Contains(page, `name="code"`) {
			t.Fatalf("%s's password: status %d, want 200 and the code page", user,
				res.StatusCode)
		}
		between()
		res, _ = read(c.PostForm(base+"/.gateway/login", url.Values{
			"code":       {key.Code(time.Now())},
			"csrf_token": {csrfField.FindStringSubmatch(page)[1]}}))
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s's code: status %d, want 303", user, res.StatusCode)
		}
		return res.Header.Get("Location")
	}

	if got := signIn("erin", func() {}); got != target {
		t.Fatalf("with the host allowed: sent to %q, want %q", got, target)
	}
	orig, _ := os.ReadFile(path)
	got := signIn("frank", func() {
		os.WriteFile(path, []byte(strings.Replace(string(orig), hosts, "", 1)), 0o600)
		waitReloads(t, logs, 1)
	})
	if got != "/" {
		t.Errorf("with the host taken off the list between the steps: sent to %q, want /",
			got)
	}
}

// TestReloadKeepsUpstreamConnections: a reload goes on over the connections the gateway
// keeps open to the app, as long as the route's transport settings stay the same; a
// route that changes them gets connections of its own.
func TestReloadKeepsUpstreamConnections(t *testing.T) {
	var conns atomic.Int32
	up := httptest.NewUnstartedServer(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	up.Start()
	t.Cleanup(up.Close)
	path := writeConfig(t, up.URL)
	g, logs := openLogged(t, path)
	gw := httptest.NewServer(g)
	t.Cleanup(gw.Close)
	orig, _ := os.ReadFile(path)
	for i, step := range []struct {
		name   string
		public string // the route's public prefixes
		route  string // more keys of the route
		tail   string // more keys of the config
		conns  int32  // the connections the app accepted in all, after the step
	}{
		{"before any reload", "[/public/]", "", "", 1},
		{"a page title edited", "[/public/]", "", "pages:\n  title: Edited\n", 1},
		{"a public prefix added", "[/public/, /open/]", "", "", 1},
		{"the route's answer timeout set", "[/public/]", "    upstream_timeout: 5s\n", "", 2},
		{"the title edited again", "[/public/]", "    upstream_timeout: 5s\n",
			"pages:\n  title: Again\n", 2},
	} {
		if i > 0 {
			text := strings.Replace(string(orig), "[/public/]\n", step.public+"\n"+step.route,
				1)
			os.WriteFile(path, []byte(text+step.tail), 0o600)
			if err := g.reload("test"); err != nil {
				t.Fatalf("%s: %v; log:\n%s", step.name, err, logs.String())
			}
		}
		if code := statusOf(t, gw.Client(), gw.URL+"/public/x"); code != http.StatusOK {
			t.Fatalf("%s: status %d", step.name, code)
		}
		if got := conns.Load(); got != step.conns {
			t.Errorf("%s: the app accepted %d connections in all, want %d", step.name, got,
				step.conns)
		}
	}
}

// TestStandardLogCarried: what Go's transport writes to the standard logger, about an
// upstream that sent bytes no request asked for, reaches the gateway's log without the
// bytes, which may be another user's answer.
func TestStandardLogCarried(t *testing.T) {
	up := newUpstream(t)
	_, logs := runLogged(t, writeConfig(t, up))
	log.Printf("Unsolicited response received on idle HTTP channel starting with %q; err=%v",
		"HTTP/1.1 200 OK\r\nSet-Cookie: app_session=s3cr3t\r\n", nil)
	got := logs.String()
	if !strings.Contains(got, "upstream sent bytes no request asked for") ||
		strings.Contains(got, "s3cr3t") {
		t.Errorf("log:\n%s\nwant the warning, without the bytes", got)
	}
}

// TestReloadClosesConnectionsToRemovedApps: the connections kept open to an app that no
// route reaches after a reload are closed, not left until they time out.
func TestReloadClosesConnectionsToRemovedApps(t *testing.T) {
	up := newUpstream(t)
	closed := make(chan struct{}, 4)
	b := httptest.NewUnstartedServer(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "b") }))
	b.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed <- struct{}{}
		}
	}
	b.Start()
	t.Cleanup(b.Close)
	route := "  - path: /b/\n    upstream: \"" + b.URL + "\"\n    public: [/b/]\n"
	path := writeConfig(t, up, route)
	g, logs := openLogged(t, path)
	gw := httptest.NewServer(g)
	t.Cleanup(gw.Close)
	if code := statusOf(t, gw.Client(), gw.URL+"/b/x"); code != http.StatusOK {
		t.Fatalf("/b/x: status %d", code)
	}
	text, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(text), route, "", 1)), 0o600)
	if err := g.reload("test"); err != nil {
		t.Fatalf("reload: %v; log:\n%s", err, logs.String())
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Error("the connection to the removed app is still open")
	}
	if code := statusOf(t, gw.Client(), gw.URL+"/public/x"); code != http.StatusOK {
		t.Errorf("the remaining app after the reload: status %d", code)
	}
}

// TestReloadKeepsMisframedApp: once an app sent bytes past an answer, its connections
// carry one request each, and a reload, which builds the routes anew, keeps it so. The
// app here sends a second answer after each, which arrives before the next request: the
// framing closes the connection at once.
func TestReloadKeepsMisframedApp(t *testing.T) {
	var mu sync.Mutex
	closeAsked := map[string]bool{}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		closeAsked[r.URL.Path] = r.Close
		mu.Unlock()
		if r.URL.Path != "/public/twice" {
			io.WriteString(w, "ok")
			return
		}
		// the answer, and a second one after it, in one write
		c, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		const answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
		buf.WriteString(answer + answer)
		buf.Flush()
	}))
	t.Cleanup(up.Close)
	path := writeConfig(t, up.URL)
	g, logs := openLogged(t, path)
	gw := httptest.NewServer(g)
	t.Cleanup(gw.Close)
	asked := func(p string) bool {
		t.Helper()
		if code := statusOf(t, gw.Client(), gw.URL+p); code != http.StatusOK {
			t.Fatalf("%s: status %d", p, code)
		}
		mu.Lock()
		defer mu.Unlock()
		return closeAsked[p]
	}
	if asked("/public/before") {
		t.Fatal("a request reached a well-behaved app with Connection: close")
	}
	asked("/public/twice")
	want := `msg="app sent bytes past the end of an answer; each of its connections now ` +
		`carries one request, until the gateway restarts"`
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("log lacks %s:\n%s", want, logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !asked("/public/after") {
		t.Error("after the second answer: a request reached the app without Connection: close")
	}
	orig, _ := os.ReadFile(path)
	os.WriteFile(path, append(orig, "pages:\n  title: Edited\n"...), 0o600)
	if err := g.reload("test"); err != nil {
		t.Fatal(err)
	}
	if !asked("/public/reloaded") {
		t.Error("after a reload: a request reached the app without Connection: close")
	}
}

// TestReloadKeepsFormerIdentityNamesOut: after a reload renames the identity header, a
// client's copy of the old name is still removed, as is one of a name renamed away
// before that; an app still reading the old name must not take a client's word for
// who the user is.
func TestReloadKeepsFormerIdentityNamesOut(t *testing.T) {
	seen := make(chan http.Header, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
	}))
	t.Cleanup(up.Close)
	path := writeConfig(t, up.URL, "identity_headers:\n  user: X-Employee\n"+
		"trusted_proxies: [127.0.0.1/32]\n")
	g, logs := openLogged(t, path)
	gw := httptest.NewServer(g)
	t.Cleanup(gw.Close)
	orig, _ := os.ReadFile(path)
	received := func(step string) http.Header {
		t.Helper()
		req, _ := http.NewRequest("GET", gw.URL+"/public/x", nil)
		req.Header.Set("X-Employee", "admin")
		req.Header.Set("X-Staff", "admin")
		res, err := gw.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		select {
		case h := <-seen:
			return h
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: the request did not reach the app", step)
		}
		return nil
	}
	reload := func(identity string) {
		t.Helper()
		text := strings.Replace(string(orig), "  user: X-Employee\n", identity, 1)
		os.WriteFile(path, []byte(text), 0o600)
		if err := g.reload("test"); err != nil {
			t.Fatalf("reload: %v; log:\n%s", err, logs.String())
		}
	}
	if h := received("before"); h.Get("X-Employee") != "" || h.Get("X-Staff") != "admin" {
		t.Fatalf("before any reload: the app got X-Employee %q, X-Staff %q; want none and "+
			"the client's", h.Get("X-Employee"), h.Get("X-Staff"))
	}
	reload("  user: X-Staff\n")
	if h := received("renamed"); h.Get("X-Employee") != "" || h.Get("X-Staff") != "" {
		t.Errorf("renamed to X-Staff: the app got X-Employee %q, X-Staff %q; want neither",
			h.Get("X-Employee"), h.Get("X-Staff"))
	}
	// A front proxy asking forward-auth passes the client's headers to the app, and sets
	// only the identity header of now: a client's copy of the old one is refused.
	for _, tt := range []struct {
		header string
		want   int
	}{{"", http.StatusOK}, {"X-Employee", http.StatusForbidden},
		{"x_employee", http.StatusForbidden}} {
		req := httptest.NewRequest("GET", "http://gw"+proxy.AuthPath, nil)
		req.RemoteAddr = "127.0.0.1:5000"
		req.Header.Set("X-Forwarded-Host", "gw")
		req.Header.Set("X-Forwarded-Uri", "/public/x")
		if tt.header != "" {
			req.Header[tt.header] = []string{"admin"}
		}
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("forward-auth with %q: status %d, want %d", tt.header, rec.Code, tt.want)
		}
	}
	reload("  email: X-Mail\n")
	if h := received("renamed again"); h.Get("X-Employee") != "" || h.Get("X-Staff") != "" {
		t.Errorf("back to the default: the app got X-Employee %q, X-Staff %q; want neither",
			h.Get("X-Employee"), h.Get("X-Staff"))
	}
	if !strings.Contains(logs.String(), `headers="[x-employee x-staff]"`) {
		t.Errorf("log does not name the former identity headers:\n%s", logs.String())
	}
}

// TestConfigPipeRefused: a FIFO put in the config file's place is refused at once, by a
// reload and by the watcher, rather than waited on: the wait would hold the reload lock,
// and with it every later reload and the users file's. A stop does not wait for that
// lock either.
func TestConfigPipeRefused(t *testing.T) {
	up := newUpstream(t)
	path := writeConfig(t, up)
	g, logs := openLogged(t, path)
	orig, _ := os.ReadFile(path)
	os.Remove(path)
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		g.checkConfig()
		done <- g.reload("SIGHUP")
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("reload of a FIFO: %v, want it refused as not a regular file", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a check and a reload of a FIFO in the config's place still wait after 10s")
	}
	if !strings.Contains(logs.String(), `msg="config file unreadable, keeping the `+
		`running config"`) {
		t.Errorf("the watcher did not say the config file is unreadable; log:\n%s", logs)
	}
	// the file back, edited, is read
	os.Remove(path)
	os.WriteFile(path, append(orig, []byte("pages:\n  title: Back\n")...), 0o600)
	if err := g.reload("SIGHUP"); err != nil {
		t.Fatalf("reload of the file put back: %v", err)
	}

	// a stop reads its deadline without the reload lock, which a slow reload holds
	g.mu.Lock()
	defer g.mu.Unlock()
	got := make(chan time.Duration, 1)
	go func() { got <- g.shutdownTimeout() }()
	select {
	case d := <-got:
		if d != g.cfg.Timeouts.Shutdown {
			t.Errorf("shutdown deadline %v, want the config's %v", d, g.cfg.Timeouts.Shutdown)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the shutdown deadline waits for the reload lock")
	}
}

// pollConfigFast has the gateways t starts look at their files every 20 ms rather than
// every 2 s, until t ends, so that a test of a reload does not wait for one.
func pollConfigFast(t *testing.T) {
	t.Helper()
	before := configPollInterval
	configPollInterval = 20 * time.Millisecond
	t.Cleanup(func() { configPollInterval = before })
}
