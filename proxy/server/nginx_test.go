package server

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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
		{"listen 80 default_server;", "listen " + listen + " default_server;"},
		{"server 127.0.0.1:8080;", "server " + gateway + ";"},
		{"server 127.0.0.1:9001;", "server " + app + ";"},
		{"\nhttp {\n", "\nhttp {" + nginxLocalFiles(bin, dir)},
	})
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
	// on SIGTERM, the master process stops its workers and exits
	runServer(t, "nginx", listen, exec.Command(bin, "-p", dir, "-c", conf,
		"-g", "daemon off; error_log stderr; pid "+filepath.Join(dir, "nginx.pid")+";"))
}

func TestNginxForwardAuth(t *testing.T) {
	bin := nginxBinary(t)
	app := newEchoApp(t)
	path := writeConfig(t, app.url,
		"  - path: /admin/\n    upstream: \""+app.url+"\"\n    allow:\n      users: [bob]\n",
		"  - host: open.example.com\n    upstream: \""+app.url+"\"\n    public: [/]\n",
		"trusted_proxies: [\"127.0.0.1/32\"]\nsession:\n  store: memory\n")
	gw := startGateway(t, path)
	base := startNginx(t, bin, strings.TrimPrefix(gw, "http://"),
		strings.TrimPrefix(app.url, "http://"))
	noFollow := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	anon := &http.Client{CheckRedirect: noFollow}
	browser := []string{"Accept", "text/html,application/xhtml+xml,*/*;q=0.8"}

	// an anonymous browser is sent to sign in, with the path and query it asked for
	res, _ := proxyGet(t, anon, base+"/app/x?a=1&b=2", append(browser, spoofs...)...)
	want := base + "/.gateway/login?next=%2Fapp%2Fx%3Fa%3D1%26b%3D2"
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != want {
		t.Errorf("anonymous browser: status %d, Location %q; want 302 to %q",
			res.StatusCode, res.Header.Get("Location"), want)
	}
	// a script, or a browser's form post, gets the 401
	res, _ = proxyGet(t, anon, base+"/app/x", "Accept", "application/json")
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
	res, _ = proxyGet(t, anon, base+"/.gateway/auth", "X-Original-URI", "/public/")
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("/.gateway/auth through nginx: status %d, want 404", res.StatusCode)
	}

	// The gateway judges a request by the host nginx serves it for: a request line that
	// names nginx's own host, with a Host header naming one whose routes are public, is
	// judged by the rules of the first. A request for a host nginx does not serve is
	// refused by nginx.
	addr := strings.TrimPrefix(base, "http://")
	for _, tt := range []struct {
		target, host string
		status       int
	}{
		{base + "/admin/", "open.example.com", http.StatusUnauthorized},
		{base + "/app/x", "open.example.com:80", http.StatusUnauthorized},
		{"/admin/", "open.example.com", http.StatusMisdirectedRequest},
		{"/admin/", addr, http.StatusUnauthorized},
	} {
		if got := rawStatus(t, addr, "GET "+tt.target+" HTTP/1.1\r\nHost: "+tt.host+
			"\r\nConnection: close\r\n\r\n"); got != tt.status {
			t.Errorf("GET %s with Host %s: status %d, want %d", tt.target, tt.host, got,
				tt.status)
		}
	}

	// a public path passes anonymously, and none of the client's identity with it
	res, seen := proxyGet(t, anon, base+"/public/x", spoofs...)
	if res.StatusCode != http.StatusOK || seen == nil {
		t.Fatalf("public path: status %d, want 200 from the app", res.StatusCode)
	}
	for _, name := range []string{"X-Forwarded-User", "X-Forwarded-Email",
		"X-Forwarded-Groups", "X-Forwarded-Name"} {
		if got := identityCopies(seen, name); len(got) != 0 {
			t.Errorf("public path: app received %s %q, want none", name, got)
		}
	}

	// signed in through nginx, the app gets the gateway's identity and nothing else
	alice := signIn(t, base, "alice", "pw")
	res, seen = proxyGet(t, alice, base+"/app/whoami", append(browser, spoofs...)...)
	if res.StatusCode != http.StatusOK || seen == nil {
		t.Fatalf("signed in: status %d, want 200 from the app", res.StatusCode)
	}
	if got := identityCopies(seen, "X-Forwarded-User"); len(got) != 1 || got[0] != "alice" {
		t.Errorf("signed in: app received X-Forwarded-User %q, want only alice", got)
	}
	for _, name := range []string{"X-Forwarded-Email", "X-Forwarded-Groups",
		"X-Forwarded-Name"} {
		if got := identityCopies(seen, name); len(got) != 0 {
			t.Errorf("signed in: app received %s %q; alice has none", name, got)
		}
	}

	// nginx clears method overrides, so the app runs the method nginx asked about, and
	// Proxy, which a CGI app would take for the proxy of its own outgoing requests
	res, seen = proxyGet(t, alice, base+"/app/whoami", "X-HTTP-Method-Override", "DELETE",
		"X-HTTP-Method", "DELETE", "X-Method-Override", "DELETE",
		"Proxy", "http://127.0.0.1:9/")
	if res.StatusCode != http.StatusOK || seen == nil {
		t.Fatalf("signed in with overrides: status %d, want 200 from the app", res.StatusCode)
	}
	for _, name := range []string{"X-HTTP-Method-Override", "X-HTTP-Method",
		"X-Method-Override", "Proxy"} {
		if got := identityCopies(seen, name); len(got) != 0 {
			t.Errorf("app received %s %q, want none", name, got)
		}
	}

	// nginx passes on names apps read as the user that it is not told to clear: the
	// gateway refuses a request that carries one
	for _, name := range []string{"Remote-User", "x-remote-user", "X-Auth-Request-User"} {
		res, seen = proxyGet(t, alice, base+"/app/whoami", name, "bob")
		if res.StatusCode != http.StatusForbidden || seen != nil {
			t.Errorf("signed in, with a client's %s: status %d (app reached: %v), want 403",
				name, res.StatusCode, seen != nil)
		}
	}

	claims := checkClaimsStopped(t, alice, base)

	// a route whose allow rule leaves alice out
	res, _ = proxyGet(t, alice, base+"/admin/", browser...)
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("admin route for alice: status %d, want 403", res.StatusCode)
	}
	// nginx passes the path on as the client wrote it, and many an app reads
	// "//public/admin/" as the host "public" and the path /admin/: refused
	for who, c := range map[string]*http.Client{"anonymous": anon, "alice": alice} {
		res, seen = proxyGet(t, c, base+"//public/admin/", browser...)
		if res.StatusCode != http.StatusForbidden || seen != nil {
			t.Errorf("%s, //public/admin/: status %d (app reached: %v), want 403", who,
				res.StatusCode, seen != nil)
		}
	}

	// after sign-out, the old cookie is sent to sign in again
	old := sessionCookie(t, alice, base)
	logoutAt(t, alice, base)
	res, _ = proxyGet(t, anon, base+"/app/", append(browser, "Cookie",
		"gateway_session="+old)...)
	want = base + "/.gateway/login?next=%2Fapp%2F"
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != want {
		t.Errorf("old cookie after sign-out: status %d, Location %q; want 302 to %q",
			res.StatusCode, res.Header.Get("Location"), want)
	}

	// only the public page, alice's two pages and those of the claims reached the app
	if n, want := app.hits.Load(), 3+claims; n != want {
		t.Errorf("app received %d requests, want %d", n, want)
	}
}

// rawStatus sends the raw request req to addr and returns the status of the answer.
func rawStatus(t *testing.T, addr, req string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the answer to %q: %v", req, err)
	}
	res.Body.Close()
	return res.StatusCode
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
