package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// The TLS example (examples/nginx-tls) run for real: nginx terminates TLS with a
// certificate made for the test and proxies everything to the gateway, which proxies to
// an app. The example's own nginx.conf and gateway.yaml are used, with only their
// addresses, certificate and users file replaced.

const (
	nginxTLSExample   = "../../examples/nginx-tls/nginx.conf"
	nginxTLSGateway   = "../../examples/nginx-tls/gateway.yaml"
	exampleUsersFile  = "../../examples/users.yaml"
	exampleUser       = "demo"
	examplePassword   = "demo-password"
	spoofedClientAddr = "203.0.113.9"
)

// tlsApp is the app behind nginx and the gateway: at /ws it echoes websocket messages,
// anywhere else it answers with the request headers it received, as JSON. It counts
// the requests that reach it.
type tlsApp struct {
	url  string
	hits atomic.Int64
}

func newTLSApp(t *testing.T) *tlsApp {
	t.Helper()
	a := &tlsApp{}
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		a.hits.Add(1)
		// Accept checks that Origin names the Host the app was asked by
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		typ, msg, err := c.Read(r.Context())
		if err != nil {
			return
		}
		c.Write(r.Context(), typ, append([]byte("echo "), msg...))
		c.Close(websocket.StatusNormalClosure, "")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		a.hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(r.Header)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	a.url = "http://" + ln.Addr().String()
	return a
}

// exampleGateway writes the example's gateway.yaml into a folder of its own, listening on
// a free port, in front of app, with the example users file, and returns its path.
func exampleGateway(t *testing.T, app string) string {
	t.Helper()
	users, err := filepath.Abs(exampleUsersFile)
	if err != nil {
		t.Fatal(err)
	}
	conf := exampleConfig(t, nginxTLSGateway, [][2]string{
		{`listen: "127.0.0.1:8080"`, `listen: "127.0.0.1:0"`},
		{`upstream: "http://127.0.0.1:9001"`, `upstream: "` + app + `"`},
		{`file: "../users.yaml"`, `file: "` + users + `"`},
	})
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startNginxTLS runs nginx with the TLS example's config in front of gateway (host:port)
// until the test ends, with a certificate for 127.0.0.1 and localhost made now. It
// returns the HTTPS and plain-HTTP base URLs and the certificate.
func startNginxTLS(t *testing.T, bin, gateway string) (string, string, *x509.Certificate) {
	t.Helper()
	dir := t.TempDir()
	cert := writeCert(t, dir, 1)
	secure, plain := freeAddr(t), freeAddr(t)
	conf := exampleConfig(t, nginxTLSExample, [][2]string{
		{"listen 443 ssl;", "listen " + secure + " ssl;"},
		{"listen 80;", "listen " + plain + ";"},
		{"server 127.0.0.1:8080;", "server " + gateway + ";"},
		{"ssl_certificate     /etc/nginx/tls/app.example.com.pem;",
			"ssl_certificate " + filepath.Join(dir, "cert.pem") + ";"},
		{"ssl_certificate_key /etc/nginx/tls/app.example.com.key;",
			"ssl_certificate_key " + filepath.Join(dir, "key.pem") + ";"},
		{"\nhttp {\n", "\nhttp {" + nginxLocalFiles(bin, dir)},
	})
	runNginx(t, bin, dir, conf, secure)
	return "https://" + secure, "http://" + plain, cert
}

func TestNginxTLS(t *testing.T) {
	bin := nginxBinary(t)
	app := newTLSApp(t)
	gw := startGateway(t, exampleGateway(t, app.url))
	base, plain, cert := startNginxTLS(t, bin, strings.TrimPrefix(gw, "http://"))
	hostPort := strings.TrimPrefix(base, "https://")
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	transport := func() *http.Transport {
		return &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}
	}
	noFollow := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	anon := &http.Client{Transport: transport(), CheckRedirect: noFollow}
	browser := []string{"Accept", "text/html,application/xhtml+xml,*/*;q=0.8"}
	// what a client claims about itself and the request, which nginx must overwrite
	claims := append([]string{"X-Forwarded-For", spoofedClientAddr,
		"X-Forwarded-Proto", "http", "X-Forwarded-Host", "evil.example"}, spoofs...)

	// plain HTTP is sent to HTTPS
	req, _ := http.NewRequest("GET", plain+"/app/x?a=1", nil)
	req.Host = "app.example.com"
	res, err := (&http.Client{CheckRedirect: noFollow}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if want := "https://app.example.com/app/x?a=1"; res.StatusCode != http.StatusMovedPermanently ||
		res.Header.Get("Location") != want {
		t.Errorf("plain HTTP: status %d, Location %q; want 301 to %q", res.StatusCode,
			res.Header.Get("Location"), want)
	}

	// an anonymous browser is sent to sign in, over HTTPS, with HSTS
	res, _ = proxyGet(t, anon, base+"/app/x?a=1&b=2", append(browser, claims...)...)
	want := "/.gateway/login?next=%2Fapp%2Fx%3Fa%3D1%26b%3D2"
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != want {
		t.Errorf("anonymous browser: status %d, Location %q; want 302 to %q",
			res.StatusCode, res.Header.Get("Location"), want)
	}
	if h := res.Header.Get("Strict-Transport-Security"); h != "max-age=31536000" {
		t.Errorf("Strict-Transport-Security %q, want max-age=31536000", h)
	}

	// a public path passes anonymously: the app learns the real client and scheme from
	// the gateway, and nothing of what the client claimed
	res, seen := proxyGet(t, anon, base+"/public/x", claims...)
	if res.StatusCode != http.StatusOK || seen == nil {
		t.Fatalf("public path: status %d, want 200 from the app", res.StatusCode)
	}
	checkForwarded(t, "public path", seen, hostPort)
	for _, name := range []string{"X-Forwarded-User", "X-Forwarded-Email",
		"X-Forwarded-Groups"} {
		if got := identityCopies(seen, name); len(got) != 0 {
			t.Errorf("public path: app received %s %q, want none", name, got)
		}
	}

	// signing in over HTTPS sets every cookie of the gateway Secure and under the
	// __Host- prefix, though the gateway itself is reached over plain HTTP
	cookies := 0
	demo := signInWith(t, base, exampleUser, examplePassword, transport(),
		func(res *http.Response) {
			for _, c := range res.Cookies() {
				if strings.Contains(c.Name, "gateway_") {
					cookies++
					if !c.Secure || !strings.HasPrefix(c.Name, "__Host-gateway_") {
						t.Errorf("cookie %s set on %s without Secure or the __Host- "+
							"prefix", c.Name, res.Request.URL.Path)
					}
				}
			}
		})
	u, _ := url.Parse(base)
	var session string
	for _, c := range demo.Jar.Cookies(u) {
		if c.Name == "__Host-gateway_session" {
			session = c.Value
		}
	}
	if session == "" || cookies < 2 {
		t.Fatalf("sign-in set %d gateway cookies and no session cookie", cookies)
	}

	// signed in, the app gets the gateway's identity and nothing the client made up
	res, seen = proxyGet(t, demo, base+"/app/whoami", append(browser, claims...)...)
	if res.StatusCode != http.StatusOK || seen == nil {
		t.Fatalf("signed in: status %d, want 200 from the app", res.StatusCode)
	}
	checkForwarded(t, "signed in", seen, hostPort)
	for name, want := range map[string]string{
		"X-Forwarded-User":   exampleUser,
		"X-Forwarded-Email":  "demo@example.com",
		"X-Forwarded-Groups": "staff,admins",
	} {
		if got := identityCopies(seen, name); len(got) != 1 || got[0] != want {
			t.Errorf("signed in: app received %s %q, want only %q", name, got, want)
		}
	}

	// a websocket passes nginx and the gateway, from the site's own origin only
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	wsURL := "wss://" + hostPort + "/ws"
	c, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{
		HTTPClient: &http.Client{Transport: transport(), Jar: demo.Jar},
		HTTPHeader: http.Header{"Origin": {base}},
	})
	if err != nil {
		t.Fatalf("websocket from the site's origin: %v", err)
	}
	if err := c.Write(ctx, websocket.MessageText, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := c.Read(ctx); err != nil || string(msg) != "echo hello" {
		t.Errorf("websocket echo: got %q, %v; want \"echo hello\"", msg, err)
	}
	c.Close(websocket.StatusNormalClosure, "")
	for _, tt := range []struct {
		name   string
		jar    http.CookieJar
		origin string
		status int
	}{
		{"from another origin", demo.Jar, "https://evil.example", http.StatusForbidden},
		{"over http from the site's host", demo.Jar, "http://" + hostPort,
			http.StatusForbidden},
		{"without a session", nil, base, http.StatusUnauthorized},
	} {
		_, res, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{
			HTTPClient: &http.Client{Transport: transport(), Jar: tt.jar},
			HTTPHeader: http.Header{"Origin": {tt.origin}},
		})
		if err == nil || res == nil || res.StatusCode != tt.status {
			code := 0
			if res != nil {
				code = res.StatusCode
			}
			t.Errorf("websocket %s: status %d, %v; want %d", tt.name, code, err, tt.status)
		}
	}

	// after sign-out, the old cookie is sent to sign in again
	logoutAt(t, demo, base)
	res, _ = proxyGet(t, anon, base+"/app/", append(browser, "Cookie",
		"__Host-gateway_session="+session)...)
	if want := "/.gateway/login?next=%2Fapp%2F"; res.StatusCode != http.StatusFound ||
		res.Header.Get("Location") != want {
		t.Errorf("old cookie after sign-out: status %d, Location %q; want 302 to %q",
			res.StatusCode, res.Header.Get("Location"), want)
	}

	// the public page, demo's page and one websocket reached the app
	if n := app.hits.Load(); n != 3 {
		t.Errorf("app received %d requests, want 3", n)
	}
}

// checkForwarded checks the X-Forwarded-* headers the app received, through nginx and
// the gateway, from a client on loopback that claimed to be someone else: the client
// (nginx's $remote_addr) then nginx itself, the host the client asked for, and https.
func checkForwarded(t *testing.T, what string, seen http.Header, hostPort string) {
	t.Helper()
	for name, want := range map[string]string{
		"X-Forwarded-For":   "127.0.0.1, 127.0.0.1",
		"X-Forwarded-Proto": "https",
		"X-Forwarded-Host":  hostPort,
	} {
		if got := identityCopies(seen, name); len(got) != 1 || got[0] != want {
			t.Errorf("%s: app received %s %q, want only %q", what, name, got, want)
		}
	}
	for name, values := range seen {
		for _, v := range values {
			if strings.Contains(v, spoofedClientAddr) || strings.Contains(v, "evil.example") ||
				strings.Contains(v, "mallory") {
				t.Errorf("%s: app received the client's claim %s: %q", what, name, v)
			}
		}
	}
}

// TestNginxTLSExampleLoads checks the example's gateway.yaml as it is: it loads with its
// users file, trusts nginx on loopback only, and sets the cookie's Secure flag from the
// scheme nginx reports.
func TestNginxTLSExampleLoads(t *testing.T) {
	cfg, err := Check(nginxTLSGateway)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(cfg.Trusted); got != 1 || cfg.Trusted[0].String() != "127.0.0.1/32" {
		t.Errorf("trusted_proxies: got %v, want [127.0.0.1/32]", cfg.Trusted)
	}
	if cfg.Session.Secure != "auto" || cfg.TLS.Mode != "off" {
		t.Errorf("session.secure %q, tls.mode %q; want auto, off", cfg.Session.Secure,
			cfg.TLS.Mode)
	}
}
