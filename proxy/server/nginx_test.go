package server

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The nginx example (examples/nginx) run for real: Debian's nginx, started by the test on
// a free loopback port with the example's nginx.conf, in front of the gateway and an app.

const nginxExample = "../../examples/nginx/nginx.conf"

// nginxBinary returns the nginx to run. Without one the test is skipped, except in CI,
// where .ci/nginx.sh installs it and a missing one is a failure.
func nginxBinary(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"nginx", "/usr/sbin/nginx"} {
		if bin, err := exec.LookPath(p); err == nil {
			return bin
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("nginx not found; .ci/nginx.sh installs it")
	}
	t.Skip("nginx not found; bash .ci/nginx.sh installs it")
	return ""
}

// syncBuffer collects output written from other goroutines: a process's, for the
// test's failure messages, or a logger's.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// nginxConfig is the example's nginx.conf with its addresses replaced by listen, gateway
// and app, and its temporary files and access log kept in dir.
func nginxConfig(t testing.TB, bin, dir, listen, gateway, app string) string {
	t.Helper()
	return exampleConfig(t, nginxExample, [][2]string{
		{"listen 80;", "listen " + listen + ";"},
		{"server 127.0.0.1:8080;", "server " + gateway + ";"},
		{"server 127.0.0.1:9001;", "server " + app + ";"},
		{"\nhttp {\n", "\nhttp {" + nginxLocalFiles(bin, dir)},
	})
}

// exampleConfig returns the file at path with each replacement made. Every replaced
// text must be in the file exactly once, so that the example cannot drift from what is
// tested.
func exampleConfig(t testing.TB, path string, replace [][2]string) string {
	t.Helper()
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	conf := string(text)
	for _, r := range replace {
		if n := strings.Count(conf, r[0]); n != 1 {
			t.Fatalf("%s has %q %d times, want once", path, r[0], n)
		}
		conf = strings.Replace(conf, r[0], r[1], 1)
	}
	return conf
}

// nginxLocalFiles returns directives for the top of an http block that keep the access
// log and the temporary files of each module built into bin in dir, so that nothing is
// written under /var/lib/nginx.
func nginxLocalFiles(bin, dir string) string {
	built, _ := exec.Command(bin, "-V").CombinedOutput()
	local := "\n    access_log " + filepath.Join(dir, "access.log") + ";\n" +
		"    client_body_temp_path " + filepath.Join(dir, "body") + ";\n"
	for _, m := range []string{"proxy", "fastcgi", "uwsgi", "scgi"} {
		if !strings.Contains(string(built), "--without-http_"+m+"_module") {
			local += "    " + m + "_temp_path " + filepath.Join(dir, m) + ";\n"
		}
	}
	return local
}

// startNginx runs nginx with the example's config in front of gateway and app (host:port
// each) until the test ends, and returns its base URL. It listens on a free loopback
// port, keeps its files in a temporary folder and is stopped by its PID.
func startNginx(t *testing.T, bin, gateway, app string) string {
	t.Helper()
	dir := t.TempDir()
	listen := freeAddr(t)
	runNginx(t, bin, dir, nginxConfig(t, bin, dir, listen, gateway, app), listen)
	return "http://" + listen
}

// runNginx runs nginx with the config text conf, from dir, until the test ends, and
// waits until it accepts connections on listen. It is stopped by its PID.
func runNginx(t *testing.T, bin, dir, text, listen string) {
	t.Helper()
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	cmd := exec.Command(bin, "-p", dir, "-c", conf,
		"-g", "daemon off; error_log stderr; pid "+filepath.Join(dir, "nginx.pid")+";")
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting nginx: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		// the master's PID; on SIGTERM it stops its workers and exits
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("nginx output:\n%s", logs.String())
		}
	})

	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", listen, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("nginx exited: %v\n%s", err, logs.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not listen on %s within 5s\n%s", listen, logs.String())
		}
	}
}

// nginxApp is the app behind nginx: it answers with the request headers it received, as
// JSON, and counts the requests that reached it.
type nginxApp struct {
	url  string
	hits atomic.Int64
}

func newNginxApp(t testing.TB) *nginxApp {
	t.Helper()
	a := &nginxApp{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {
		a.hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(r.Header)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	a.url = "http://" + ln.Addr().String()
	return a
}

// identityCopies returns every value the app received under a header whose name,
// lower-cased with "_" read as "-", is name.
func identityCopies(h http.Header, name string) []string {
	var vs []string
	for k, v := range h {
		if strings.ReplaceAll(strings.ToLower(k), "_", "-") == strings.ToLower(name) {
			vs = append(vs, v...)
		}
	}
	return vs
}

// nginxGet sends a GET through c with the header pairs in hdr, and returns the response
// with its body read, and when it is the app's, the headers the app received.
func nginxGet(t testing.TB, c *http.Client, target string, hdr ...string) (*http.Response,
	http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header[hdr[i]] = append(req.Header[hdr[i]], hdr[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var seen http.Header
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.NewDecoder(res.Body).Decode(&seen); err != nil {
			t.Fatalf("app's answer: %v", err)
		}
	}
	return res, seen
}

// spoofs are identity headers a client makes up, in the spellings apps have been fooled
// by: repeated, in lower case, with underscores.
var spoofs = []string{"X-Forwarded-User", "mallory", "X-Forwarded-User", "eve",
	"x-forwarded-user", "trudy", "X_Forwarded_User", "mallory",
	"X-Forwarded-Email", "mallory@evil.test", "X-Forwarded-Groups", "admins"}

func TestNginxForwardAuth(t *testing.T) {
	bin := nginxBinary(t)
	app := newNginxApp(t)
	path := writeConfig(t, app.url,
		"  - path: /admin/\n    upstream: \""+app.url+"\"\n    allow:\n      users: [bob]\n",
		"trusted_proxies: [\"127.0.0.1/32\"]\nsession:\n  store: memory\n")
	gw := startGateway(t, path)
	base := startNginx(t, bin, strings.TrimPrefix(gw, "http://"),
		strings.TrimPrefix(app.url, "http://"))
	noFollow := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	anon := &http.Client{CheckRedirect: noFollow}
	browser := []string{"Accept", "text/html,application/xhtml+xml,*/*;q=0.8"}

	// an anonymous browser is sent to sign in, with the path and query it asked for
	res, _ := nginxGet(t, anon, base+"/app/x?a=1&b=2", append(browser, spoofs...)...)
	want := base + "/.gateway/login?next=%2Fapp%2Fx%3Fa%3D1%26b%3D2"
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != want {
		t.Errorf("anonymous browser: status %d, Location %q; want 302 to %q",
			res.StatusCode, res.Header.Get("Location"), want)
	}
	// a script, or a browser's form post, gets the 401
	res, _ = nginxGet(t, anon, base+"/app/x", "Accept", "application/json")
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous script: status %d, want 401", res.StatusCode)
	}
	res, err := anon.Post(base+"/app/form", "application/x-www-form-urlencoded",
		strings.NewReader("a=1"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous form post: status %d, want 401", res.StatusCode)
	}
	// the auth endpoint is nginx's alone
	res, _ = nginxGet(t, anon, base+"/.gateway/auth", "X-Original-URI", "/public/")
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("/.gateway/auth through nginx: status %d, want 404", res.StatusCode)
	}

	// a public path passes anonymously, and none of the client's identity with it
	res, seen := nginxGet(t, anon, base+"/public/x", spoofs...)
	if res.StatusCode != http.StatusOK || seen == nil {
		t.Fatalf("public path: status %d, want 200 from the app", res.StatusCode)
	}
	for _, name := range []string{"X-Forwarded-User", "X-Forwarded-Email",
		"X-Forwarded-Groups"} {
		if got := identityCopies(seen, name); len(got) != 0 {
			t.Errorf("public path: app received %s %q, want none", name, got)
		}
	}

	// signed in through nginx, the app gets the gateway's identity and nothing else
	alice := signIn(t, base, "alice", "pw")
	res, seen = nginxGet(t, alice, base+"/app/whoami", append(browser, spoofs...)...)
	if res.StatusCode != http.StatusOK || seen == nil {
		t.Fatalf("signed in: status %d, want 200 from the app", res.StatusCode)
	}
	if got := identityCopies(seen, "X-Forwarded-User"); len(got) != 1 || got[0] != "alice" {
		t.Errorf("signed in: app received X-Forwarded-User %q, want only alice", got)
	}
	for _, name := range []string{"X-Forwarded-Email", "X-Forwarded-Groups"} {
		if got := identityCopies(seen, name); len(got) != 0 {
			t.Errorf("signed in: app received %s %q; alice has none", name, got)
		}
	}

	// nginx clears method overrides, so the app runs the method nginx asked about
	res, seen = nginxGet(t, alice, base+"/app/whoami", "X-HTTP-Method-Override", "DELETE",
		"X-HTTP-Method", "DELETE", "X-Method-Override", "DELETE")
	if res.StatusCode != http.StatusOK || seen == nil {
		t.Fatalf("signed in with overrides: status %d, want 200 from the app", res.StatusCode)
	}
	for _, name := range []string{"X-HTTP-Method-Override", "X-HTTP-Method",
		"X-Method-Override"} {
		if got := identityCopies(seen, name); len(got) != 0 {
			t.Errorf("app received %s %q, want none", name, got)
		}
	}

	// a route whose allow rule leaves alice out
	res, _ = nginxGet(t, alice, base+"/admin/", browser...)
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("admin route for alice: status %d, want 403", res.StatusCode)
	}

	// after sign-out, the old cookie is sent to sign in again
	u, _ := url.Parse(base)
	var old string
	for _, c := range alice.Jar.Cookies(u) {
		if c.Name == "gateway_session" {
			old = c.Value
		}
	}
	if old == "" {
		t.Fatal("no session cookie after signing in through nginx")
	}
	logoutAt(t, alice, base)
	res, _ = nginxGet(t, anon, base+"/app/", append(browser, "Cookie",
		"gateway_session="+old)...)
	want = base + "/.gateway/login?next=%2Fapp%2F"
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != want {
		t.Errorf("old cookie after sign-out: status %d, Location %q; want 302 to %q",
			res.StatusCode, res.Header.Get("Location"), want)
	}

	// only the public page and alice's two pages reached the app
	if n := app.hits.Load(); n != 3 {
		t.Errorf("app received %d requests, want 3", n)
	}
}

// TestForwardAuthExamplesLoad checks the gateway configs of the front-proxy examples: each
// loads, with its users file, and trusts the proxy on loopback.
func TestForwardAuthExamplesLoad(t *testing.T) {
	for _, proxy := range []string{"nginx", "traefik", "caddy"} {
		t.Run(proxy, func(t *testing.T) {
			cfg, err := Check(filepath.Join("../../examples", proxy, "gateway.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			loopback := netip.MustParseAddr("127.0.0.1")
			ok := false
			for _, p := range cfg.Trusted {
				ok = ok || p.Contains(loopback)
			}
			if !ok {
				t.Errorf("trusted_proxies: got %v, want 127.0.0.1 in it", cfg.Trusted)
			}
		})
	}
}
