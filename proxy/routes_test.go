package proxy_test

import (
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// named is an upstream that answers with its own name, so a test can tell which route
// served a request.
func named(t *testing.T, name string) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "%s %s user=%s who=%s", name, r.URL.RequestURI(),
			r.Header.Get("X-Forwarded-User"), r.Header.Get("X-Who"))
	}))
	t.Cleanup(s.Close)
	return s
}

func TestHostRouting(t *testing.T) {
	any, wild, exact, admin := named(t, "any"), named(t, "wild"), named(t, "exact"),
		named(t, "admin")
	deep, anyAdmin := named(t, "deep"), named(t, "any-admin")
	dir := t.TempDir()
	e := newEnvFromYAML(t, newEcho(t), dir, "session:\n  secrets: [\""+secret+"\"]\n"+
		"routes:\n"+
		"  - upstream: \""+any.URL+"\"\n    public: [/]\n"+
		"  - host: \"*.example.test\"\n    upstream: \""+wild.URL+"\"\n    public: [/]\n"+
		"  - host: app.example.test\n    upstream: \""+exact.URL+"\"\n    public: [/]\n"+
		"  - host: app.example.test\n    path: /admin/\n    upstream: \""+admin.URL+"\"\n"+
		"  - host: only.example.org\n    path: /x/\n    upstream: \""+any.URL+"\"\n"+
		// ties: a longer wildcard beats a shorter one, and any host beats a longer path
		"  - host: \"*.b.example.test\"\n    upstream: \""+deep.URL+"\"\n"+
		"  - path: /admin/\n    upstream: \""+anyAdmin.URL+"\"\n")
	alice := e.session("alice", alicePass)
	for _, tt := range []struct{ host, path, want string }{
		{"app.example.test", "/", "exact /"},
		{"APP.Example.TEST:8080", "/p", "exact /p"},
		{"app.example.test.", "/p", "exact /p"},
		{"b.example.test", "/p", "wild /p"},
		{"a.b.example.test", "/p", "deep /p"},
		{"x.a.b.example.test", "/p", "deep /p"},
		{"b.example.test", "/p", "wild /p"}, // *.b.example.test covers subdomains only
		{"ab.example.test", "/p", "wild /p"},
		{"other.test", "/admin/x", "any-admin /admin/x"},
		{"other.test", "/administrator", "any /administrator"},
		// the host decides first: a route of the host, however short its path, beats
		// a route of any host with a longer one
		{"app.example.test", "/admin", "admin /admin"},
		{"a.b.example.test", "/admin/x", "deep /admin/x"},
		{"example.test", "/p", "any /p"},
		{"other.test", "/p", "any /p"},
		{"app.example.test", "/admin/x", "admin /admin/x"},
		{"b.example.test", "/admin/x", "wild /admin/x"},
	} {
		t.Run(tt.host+tt.path, func(t *testing.T) {
			req, _ := http.NewRequest("GET", e.gw.URL+tt.path, nil)
			req.Host = tt.host
			req.Header.Set("Cookie", "gateway_session="+alice)
			res, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if !strings.HasPrefix(string(body), tt.want+" ") {
				t.Errorf("got %d %q, want %q", res.StatusCode, body, tt.want)
			}
		})
	}
	// A host no route names gets 404 from the gateway.
	e2 := newEnvFromYAML(t, newEcho(t), t.TempDir(), "session:\n  secrets: [\""+secret+
		"\"]\nroutes:\n  - host: app.example.test\n    upstream: \""+any.URL+"\"\n")
	req, _ := http.NewRequest("GET", e2.gw.URL+"/", nil)
	req.Host = "evil.test"
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown host: status %d, want 404", res.StatusCode)
	}
}

func TestRouteOptionsApply(t *testing.T) {
	app := named(t, "app")
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Second)
	}))
	t.Cleanup(slow.Close)
	e := newEnvFromYAML(t, newEcho(t), t.TempDir(), "session:\n  secrets: [\""+secret+"\"]\n"+
		"routes:\n"+
		"  - upstream: \""+app.URL+"\"\n"+
		"  - path: /app/\n    upstream: \""+app.URL+"/base\"\n    strip_prefix: true\n"+
		"    max_body: 1KB\n    identity_headers:\n      user: X-Who\n"+
		"  - path: /api/\n    upstream: \""+app.URL+"\"\n    cors_preflight: pass\n"+
		"  - path: /slow/\n    upstream: \""+slow.URL+"\"\n    upstream_timeout: 200ms\n")
	alice := e.session("alice", alicePass)

	r := e.raw("GET", "/app/x/y?q=1", alice, nil)
	if r.body != "app /base/x/y?q=1 user= who=alice" {
		t.Errorf("strip_prefix and renamed identity: got %q", r.body)
	}
	if r := e.raw("GET", "/app", alice, nil); !strings.HasPrefix(r.body, "app /base/ ") {
		t.Errorf("strip_prefix of the bare prefix: got %q", r.body)
	}
	// The route's own identity name is removed from clients on every route.
	r = e.raw("GET", "/other", alice, http.Header{"X_Who": {"bob"}})
	if r.body != "app /other user=alice who=" {
		t.Errorf("X-Who from a client on another route: got %q", r.body)
	}

	for name, send := range map[string]func() *http.Response{
		"content-length": func() *http.Response {
			req, _ := http.NewRequest("POST", e.gw.URL+"/app/up", strings.NewReader(
				strings.Repeat("a", 2000)))
			req.Header.Set("Cookie", "gateway_session="+alice)
			res, _ := http.DefaultTransport.RoundTrip(req)
			return res
		},
		"chunked": func() *http.Response {
			pr, pw := io.Pipe()
			go func() { pw.Write([]byte(strings.Repeat("a", 2000))); pw.Close() }()
			req, _ := http.NewRequest("POST", e.gw.URL+"/app/up", pr)
			req.Header.Set("Cookie", "gateway_session="+alice)
			res, _ := http.DefaultTransport.RoundTrip(req)
			return res
		},
	} {
		res := send()
		if res == nil || res.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("%s body over max_body: got %v, want 413", name, res)
		}
		if res != nil {
			res.Body.Close()
		}
	}
	if r := e.raw("POST", "/app/small", alice, nil); r.StatusCode != 200 {
		t.Errorf("small body: status %d", r.StatusCode)
	}

	pre := e.raw("OPTIONS", "/api/items", "", http.Header{"Origin": {"https://other.test"},
		"Access-Control-Request-Method": {"DELETE"}})
	// the app's answer, cut down to what a browser reads of a preflight's
	if pre.StatusCode != 200 || pre.body != "" {
		t.Errorf("preflight pass-through: %d %q, want 200 without a body", pre.StatusCode,
			pre.body)
	}
	if r := e.raw("OPTIONS", "/api/items", "", nil); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("bare OPTIONS without a session: status %d, want 401", r.StatusCode)
	}
	// a "_method" naming another method makes it no preflight
	if r := e.raw("OPTIONS", "/api/items?_method=DELETE", "", http.Header{
		"Origin": {"https://other.test"}, "Access-Control-Request-Method": {"DELETE"},
	}); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("preflight with _method=DELETE: status %d, want 401", r.StatusCode)
	}

	if r := e.raw("GET", "/slow/x", alice, nil); r.StatusCode != http.StatusBadGateway {
		t.Errorf("upstream slower than upstream_timeout: status %d, want 502", r.StatusCode)
	}
}

func TestHTTPSUpstreamWithOwnCA(t *testing.T) {
	up := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {
		fmt.Fprintf(w, "tls upstream user=%s", r.Header.Get("X-Forwarded-User"))
	}))
	t.Cleanup(up.Close)
	dir := t.TempDir()
	ca := filepath.Join(dir, "upstream-ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE",
		Bytes: up.Certificate().Raw}), 0o600)
	e := newEnvFromYAML(t, newEcho(t), dir, "session:\n  secrets: [\""+secret+"\"]\n"+
		"routes:\n  - upstream: \""+up.URL+"\"\n    upstream_ca: upstream-ca.pem\n"+
		"    upstream_server_name: example.com\n"+
		"  - path: /wrong/\n    upstream: \""+up.URL+"\"\n    upstream_ca: upstream-ca.pem\n"+
		"    upstream_server_name: other.test\n")
	alice := e.session("alice", alicePass)
	if r := e.raw("GET", "/x", alice, nil); r.body != "tls upstream user=alice" {
		t.Errorf("https upstream trusted through upstream_ca: %d %q", r.StatusCode, r.body)
	}
	if r := e.raw("GET", "/wrong/x", alice, nil); r.StatusCode != http.StatusBadGateway {
		t.Errorf("https upstream with the wrong server name: status %d, want 502",
			r.StatusCode)
	}
}

func TestNewRouteTricksRefused(t *testing.T) {
	app, admin := named(t, "app"), named(t, "admin")
	e := newEnvFromYAML(t, newEcho(t), t.TempDir(), "session:\n  secrets: [\""+secret+"\"]\n"+
		"routes:\n"+
		"  - upstream: \""+app.URL+"\"\n"+
		"  - path: /app/\n    upstream: \""+app.URL+"\"\n    strip_prefix: true\n"+
		"    cors_preflight: pass\n    basic_auth: true\n    public: [/app/public/]\n"+
		"  - path: /app/admin/\n    upstream: \""+admin.URL+"\"\n    allow:\n"+
		"      users: [bob]\n")
	alice := e.session("alice", alicePass)
	for _, path := range []string{"/app/;x/admin/x", "/;jsessionid=1/app/admin/x",
		"/app/;/admin/"} {
		code := e.rawRequest(t, "GET "+path+" HTTP/1.1", "Host: gw.example.test",
			"Cookie: gateway_session="+alice)
		if code != http.StatusBadRequest {
			t.Errorf("%s as alice: status %d, want 400", path, code)
		}
	}
	for _, host := range []string{"a.example:1.example:80", "a.example:b.example",
		"a.example:", "a b", "[::1", "a.example..", ".a.example", "a..example", ".",
		"a.example..:80", "[::1%25eth0]", "[fe80::1%25lo]:80"} {
		code := e.rawRequest(t, "GET /x HTTP/1.1", "Host: "+host,
			"Cookie: gateway_session="+alice)
		if code != http.StatusBadRequest {
			t.Errorf("Host %q: status %d, want 400", host, code)
		}
	}
	// Basic credentials never reach the app on a basic_auth route, used or not.
	up := newEcho(t)
	e2 := newEnvWithUpstream(t, up, "  - path: /api/\n    upstream: \""+up.URL+"\"\n"+
		"    basic_auth: true\n    public: [/api/public/]\n")
	e2.raw("GET", "/api/public/x", "", http.Header{"Authorization": {"Basic YTpi"}})
	if v := up.last(t).Header.Get("Authorization"); v != "" {
		t.Errorf("Basic credentials forwarded on a public path of a basic_auth route: %q", v)
	}
	// A preflight carries no body and cannot switch protocols.
	code := e.rawRequest(t, "OPTIONS /app/x HTTP/1.1", "Host: gw.example.test",
		"Origin: http://gw.example.test", "Access-Control-Request-Method: GET",
		"Connection: Upgrade", "Upgrade: websocket")
	if code == http.StatusSwitchingProtocols || code == http.StatusOK {
		t.Errorf("preflight with an upgrade: status %d, want it refused", code)
	}
}

// TestUpstreamRedirectToItself: an app that does not know the gateway is in front sends
// browsers to its own address; the gateway turns that into the path the browser reaches
// the same page at through the route, and leaves every other Location alone.
func TestUpstreamRedirectToItself(t *testing.T) {
	var self string // the app's own address, known once it listens
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", strings.ReplaceAll(r.URL.Query().Get("to"), "SELF", self))
		w.WriteHeader(http.StatusFound)
	}))
	t.Cleanup(app.Close)
	self = app.URL
	host := strings.TrimPrefix(app.URL, "http://")
	e := newEnvFromYAML(t, newEcho(t), t.TempDir(), "session:\n  secrets: [\""+secret+"\"]\n"+
		"routes:\n"+
		"  - upstream: \""+app.URL+"\"\n    preserve_host: false\n"+
		"  - path: /app/\n    upstream: \""+app.URL+"/base\"\n    strip_prefix: true\n"+
		"    preserve_host: false\n"+
		"  - path: /keep/\n    upstream: \""+app.URL+"/base/\"\n")
	alice := e.session("alice", alicePass)

	tests := []struct{ path, to, want string }{
		{"/app/x", "SELF/base/login?a=1&b=%2F#top", "/app/login?a=1&b=%2F#top"},
		{"/app/x", "SELF/base", "/app/"},
		{"/app/x", "SELF/base/", "/app/"},
		{"/app/x", "SELF/base/a%20b/c", "/app/a%20b/c"},
		{"/app/x", "HTTP://" + strings.ToUpper(host) + "/base/y", "/app/y"},
		{"/x", "SELF/y?z", "/y?z"},
		{"/x", "SELF", "/"},
		{"/keep/x", "SELF/base/keep/y", "/keep/y"},

		// not the app's own address, or not under the path the route maps
		{"/app/x", "SELF/basement", "SELF/basement"},
		{"/app/x", "SELF/other", "SELF/other"},
		{"/app/x", "/relative", "/relative"},
		{"/app/x", "http://other.example.test/base/y", "http://other.example.test/base/y"},
		{"/x", "https://" + host + "/y", "https://" + host + "/y"},
		{"/x", "http://user@" + host + "/y", "http://user@" + host + "/y"},
		{"/x", "http://" + strings.Split(host, ":")[0] + "/y",
			"http://" + strings.Split(host, ":")[0] + "/y"},
		// a path a browser would read as another host stays as the app wrote it
		{"/x", "SELF//evil.example.test/", "SELF//evil.example.test/"},
		{"/x", "SELF/\\evil.example.test/", "SELF/\\evil.example.test/"},
	}
	for _, tt := range tests {
		t.Run(tt.path+" "+tt.to, func(t *testing.T) {
			res := e.raw("GET", tt.path+"?to="+url.QueryEscape(tt.to), alice, nil)
			want := strings.ReplaceAll(tt.want, "SELF", self)
			if res.StatusCode != http.StatusFound || res.Header.Get("Location") != want {
				t.Errorf("status %d, Location %q; want 302 to %q", res.StatusCode,
					res.Header.Get("Location"), want)
			}
		})
	}
}

// TestStrippedRouteSaysItsPrefix: behind strip_prefix the app learns where it lives from
// X-Forwarded-Prefix, set by the gateway alone; a client's copy never passes.
func TestStrippedRouteSaysItsPrefix(t *testing.T) {
	up := newEcho(t)
	e := newEnvWithUpstream(t, up, "  - path: /app/\n    upstream: \""+up.URL+"\"\n"+
		"    strip_prefix: true\n")
	alice := e.session("alice", alicePass)
	spoof := http.Header{"X-Forwarded-Prefix": {"/evil"}, "X_Forwarded_Prefix": {"/evil"},
		"X-Script-Name": {"/evil"}, "X-Ingress-Path": {"/evil"}}
	for _, tt := range []struct{ path, want string }{
		{"/app/x", "/app"},
		{"/app", "/app"},
		{"/other", ""},
	} {
		if r := e.raw("GET", tt.path, alice, spoof); r.StatusCode != 200 {
			t.Fatalf("%s: status %d", tt.path, r.StatusCode)
		}
		h := up.last(t).Header
		var got []string // every copy, in any spelling
		for _, v := range identityLike(h, "X-Forwarded-Prefix") {
			got = append(got, v...)
		}
		if tt.want == "" && len(got) != 0 || tt.want != "" && (len(got) != 1 ||
			got[0] != tt.want) {
			t.Errorf("%s: upstream saw X-Forwarded-Prefix %q, want %q", tt.path, got, tt.want)
		}
		if kin := identityLike(h, "X-Script-Name", "X-Ingress-Path"); len(kin) != 0 {
			t.Errorf("%s: upstream saw a client's base path: %v", tt.path, kin)
		}
	}
}

// TestGatewayPagesOnlyForServedHosts: the sign-in and sign-out pages answer on the hosts
// the routes serve, and on no other name, which a DNS rebinding attack would give a
// hostile page; with a route for any host, every name is served.
func TestGatewayPagesOnlyForServedHosts(t *testing.T) {
	up := newEcho(t)
	named := newEnvFromYAML(t, up, t.TempDir(), fmt.Sprintf("session:\n  secrets: [%q]\n",
		secret)+"routes:\n  - host: app.example.com\n    upstream: \""+up.URL+"\"\n"+
		"  - host: \"*.apps.example.com\"\n    upstream: \""+up.URL+"\"\n")
	anyHost := newEnv(t, "")
	for _, tt := range []struct {
		e            *env
		method, path string
		host         string
		want         int
	}{
		{named, "GET", "/.gateway/login", "app.example.com", http.StatusOK},
		{named, "GET", "/.gateway/login", "APP.example.com.:8080", http.StatusOK},
		{named, "GET", "/.gateway/logout", "wiki.apps.example.com", http.StatusOK},
		{named, "GET", "/.gateway/login", "rebound.example", http.StatusNotFound},
		{named, "GET", "/.gateway/logout", "rebound.example", http.StatusNotFound},
		{named, "POST", "/.gateway/login", "rebound.example", http.StatusNotFound},
		{named, "POST", "/.gateway/logout", "127.0.0.1", http.StatusNotFound},
		{named, "GET", "/.gateway/login", "apps.example.com", http.StatusNotFound},
		{named, "GET", "/.gateway/style.css", "rebound.example", http.StatusOK},
		{anyHost, "GET", "/.gateway/login", "rebound.example", http.StatusOK},
	} {
		r := tt.e.raw(tt.method, tt.path, "", http.Header{"Host": {tt.host},
			"Content-Type": {"application/x-www-form-urlencoded"}})
		if r.StatusCode != tt.want {
			t.Errorf("%s %s on %s: status %d, want %d", tt.method, tt.path, tt.host,
				r.StatusCode, tt.want)
		}
	}
}
