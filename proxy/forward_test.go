package proxy_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// session signs in as user and returns the session cookie value.
func (e *env) session(user, pass string) string {
	e.t.Helper()
	return e.sessionAt("", user, pass)
}

// sessionAt is session with host sent as Host, when not empty.
func (e *env) sessionAt(host, user, pass string) string {
	e.t.Helper()
	b := e.browser()
	b.host = host
	if r := b.login(user, pass, "/"); r.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("login as %s: status %d", user, r.StatusCode)
	}
	return b.cookie("gateway_session")
}

// rawRequest writes request bytes exactly as given and returns the status code. Ordinary
// clients canonicalise header names, which would hide spelling tricks.
func (e *env) rawRequest(t testing.TB, lines ...string) int {
	t.Helper()
	u, _ := url.Parse(e.gw.URL)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprint(c, strings.Join(lines, "\r\n")+"\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading response: %v", err)
	}
	res.Body.Close()
	return res.StatusCode
}

// identityLike returns every header the upstream saw whose name folds to one of names.
func identityLike(h http.Header, names ...string) map[string][]string {
	out := map[string][]string{}
	for k, v := range h {
		f := strings.NewReplacer("_", "-", ".", "-").Replace(strings.ToLower(k))
		for _, n := range names {
			if f == strings.ToLower(n) {
				out[k] = v
			}
		}
	}
	return out
}

func TestSpoofedIdentityHeadersNeverReachUpstream(t *testing.T) {
	e := newEnv(t, "")
	alice := e.session("alice", alicePass)
	spoof := []string{
		"X-Forwarded-User: bob",
		"x-forwarded-user: bob",
		"X_Forwarded_User: bob",
		"X-FORWARDED-USER: bob",
		"X.Forwarded.User: bob",
		"X~Forwarded~User: bob",
		"X|Forwarded|Groups: admins",
		"Remote!User: bob",
		"X-Forwarded_Email: bob@example.test",
		"X_Forwarded_Email: bob@example.test",
		"X-Forwarded-Groups: admins",
		"x-forwarded-groups: admins",
		"X_Forwarded_Groups: admins",
		"X-Forwarded-User: admin",
		"Remote-User: bob",
		"X-Gateway-User: bob",
		"X-Auth-Request-User: bob",
		"X-Forwarded-Name: Bob",
		"x_forwarded_name: Bob",
	}
	for _, tt := range []struct {
		name, path, cookie string
		wantUser           []string
	}{
		{"signed in", "/app/whoami", alice, []string{"alice"}},
		{"public anonymous", "/public/echo", "", nil},
		{"public signed in", "/public/echo", alice, []string{"alice"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lines := append([]string{"GET " + tt.path + " HTTP/1.1", "Host: gw.example.test"},
				spoof...)
			if tt.cookie != "" {
				lines = append(lines, "Cookie: gateway_session="+tt.cookie)
			}
			if code := e.rawRequest(t, lines...); code != 200 {
				t.Fatalf("status %d, want 200", code)
			}
			h := e.up.last(t).Header
			got := identityLike(h, "X-Forwarded-User", "X-Forwarded-Email",
				"X-Forwarded-Groups", "X-Forwarded-Name", "Remote-User", "X-Gateway-User",
				"X-Auth-Request-User")
			want := map[string][]string{}
			if tt.wantUser != nil {
				want = map[string][]string{
					"X-Forwarded-User":   tt.wantUser,
					"X-Forwarded-Email":  {"alice@example.test"},
					"X-Forwarded-Groups": {"staff"},
					"X-Forwarded-Name":   {"Alice Ærø"},
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("identity headers upstream:\n got %v\nwant %v", got, want)
			}
		})
	}
}

func TestRenamedIdentityHeaders(t *testing.T) {
	e := newEnv(t, "identity_headers:\n  user: Remote-User\n  email: Remote-Email\n"+
		"  groups: Remote-Groups\n")
	alice := e.session("alice", alicePass)
	code := e.rawRequest(t, "GET /x HTTP/1.1", "Host: gw.example.test",
		"Remote_User: bob", "remote-user: bob", "REMOTE.GROUPS: admins",
		"Cookie: gateway_session="+alice)
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	h := e.up.last(t).Header
	got := identityLike(h, "Remote-User", "Remote-Email", "Remote-Groups")
	want := map[string][]string{
		"Remote-User": {"alice"}, "Remote-Email": {"alice@example.test"},
		"Remote-Groups": {"staff"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestConnectionHeaderCannotDropGatewayHeaders(t *testing.T) {
	e := newEnv(t, "")
	alice := e.session("alice", alicePass)
	code := e.rawRequest(t, "GET /app/echo HTTP/1.1", "Host: gw.example.test",
		"Cookie: gateway_session="+alice,
		"Connection: keep-alive, X-Forwarded-User, X-Forwarded-Groups, X-Forwarded-Email",
		"Connection: x-forwarded-for, X-Forwarded-Host, X-Forwarded-Proto")
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	h := e.up.last(t).Header
	for name, want := range map[string]string{
		"X-Forwarded-User": "alice", "X-Forwarded-Groups": "staff",
		"X-Forwarded-Email": "alice@example.test", "X-Forwarded-For": "127.0.0.1",
		"X-Forwarded-Host": "gw.example.test", "X-Forwarded-Proto": "http",
	} {
		if got := h.Values(name); len(got) != 1 || got[0] != want {
			t.Errorf("%s: got %q, want [%s]", name, got, want)
		}
	}
	for _, hop := range []string{"Connection", "Keep-Alive", "Proxy-Connection"} {
		if v := h.Get(hop); v != "" {
			t.Errorf("hop-by-hop %s forwarded: %q", hop, v)
		}
	}
}

func TestForwardedHeadersFromClientReplaced(t *testing.T) {
	e := newEnv(t, "")
	code := e.rawRequest(t, "GET /public/x HTTP/1.1", "Host: gw.example.test",
		"X-Forwarded-For: 6.6.6.6", "X-Forwarded-Host: evil.example",
		"X-Forwarded-Proto: https", "Forwarded: for=6.6.6.6", "X-Real-IP: 6.6.6.6",
		"X-Original-URL: /admin/", "X-Forwarded-Uri: /admin/", "X-HTTP-Method-Override: PUT")
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	h := e.up.last(t).Header
	want := map[string]string{
		"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Host": "gw.example.test",
		"X-Forwarded-Proto": "http",
	}
	for name, v := range h {
		n := strings.ToLower(name)
		if w, ok := want[name]; ok {
			if len(v) != 1 || v[0] != w {
				t.Errorf("%s: got %q, want [%s]", name, v, w)
			}
			continue
		}
		if strings.HasPrefix(n, "x-forwarded") || n == "forwarded" || n == "x-real-ip" ||
			n == "x-original-url" || n == "x-http-method-override" {
			t.Errorf("client header %s: %q reached the upstream", name, v)
		}
	}
}

func TestGatewayCookieNeverReachesUpstream(t *testing.T) {
	e := newEnv(t, "")
	b := e.browser()
	b.login("alice", alicePass, "/")
	alice := b.cookie("gateway_session")
	login := "gateway_login=abc"
	tests := []struct {
		name    string
		cookies []string
		want    []string
	}{
		{"mixed", []string{"theme=dark; gateway_session=" + alice + "; " + login + "; lang=en"},
			[]string{"theme=dark; lang=en"}},
		{"split lines", []string{"theme=dark", "gateway_session=" + alice, "lang=en"},
			[]string{"theme=dark; lang=en"}},
		{"alone", []string{"gateway_session=" + alice}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.raw("GET", "/app/echo", "", http.Header{
				"Cookie": tt.cookies, "Proxy-Authorization": {"Basic dXNlcjpwYXNz"},
			})
			if r.StatusCode != 200 {
				t.Fatalf("status %d", r.StatusCode)
			}
			h := e.up.last(t).Header
			if got := h.Values("Cookie"); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("Cookie upstream: got %q, want %q", got, tt.want)
			}
			if v := h.Get("Proxy-Authorization"); v != "" {
				t.Errorf("Proxy-Authorization forwarded: %q", v)
			}
			if u := h.Get("X-Forwarded-User"); u != "alice" {
				t.Errorf("X-Forwarded-User: got %q, want alice", u)
			}
		})
	}
}

func TestLoginIsNeverForwarded(t *testing.T) {
	e := newEnv(t, "")
	e.browser().login("alice", alicePass, "/")
	e.browser().login("alice", "wrong", "/")
	if n := e.up.count(); n != 0 {
		t.Errorf("upstream saw %d requests during sign-in", n)
	}
}

func TestPathsAreMatchedBySegmentAndNormalised(t *testing.T) {
	e := newEnv(t, "")
	tests := []struct {
		path string
		want int // without a session, Accept: text/html
	}{
		{"/public/x", 200},
		{"/public", 200},
		{"/publicity", 302},
		{"/public/../admin/", 400},
		{"/public/%2e%2e/admin/", 400},
		{"/public/.%2E/admin/", 400},
		{"/public%2F..%2Fadmin/", 400},
		{"/public/..%5Cadmin/", 400},
		{"/public/..;/admin/", 400},
		{"/public/%00/x", 400},
		{"/public;x/y", 400},
		{"/public/%3B/x", 400},
		{"/public/%23/x", 400},
		{"/public/%3F/x", 400},
		{"/public/a;jsessionid=1", 200},
		{"/app/page;jsessionid=1", 302},
		{"/public/%252e%252e/admin/", 400},
		{"/public/100%25/x", 200},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			before := e.up.count()
			code := e.rawRequest(t, "GET "+tt.path+" HTTP/1.1", "Host: gw.example.test",
				"Accept: text/html")
			if code != tt.want {
				t.Errorf("status: got %d, want %d", code, tt.want)
			}
			if tt.want != 200 && e.up.count() != before {
				t.Errorf("upstream contacted")
			}
		})
	}
	// What was judged is what was forwarded.
	e.rawRequest(t, "GET /public//x//y HTTP/1.1", "Host: gw.example.test")
	if got := e.up.last(t).RequestURI; got != "/public/x/y" {
		t.Errorf("forwarded path: got %q, want /public/x/y", got)
	}
	e.rawRequest(t, "GET /public/100%25/x%C3%A9 HTTP/1.1", "Host: gw.example.test")
	if got := e.up.last(t).RequestURI; got != "/public/100%25/x%C3%A9" {
		t.Errorf("forwarded path: got %q, want it still encoded as sent", got)
	}
}

func TestUnreachableUpstreamIs502(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	e := newEnv(t, "  - path: /down/\n    upstream: \"http://"+addr+"\"\n")
	alice := e.session("alice", alicePass)
	r := e.raw("GET", "/down/x", alice, http.Header{"Accept": {"text/html"}})
	if r.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d, want 502", r.StatusCode)
	}
	if strings.Contains(r.body, addr) || strings.Contains(r.body, "dial") {
		t.Errorf("502 page leaks internals:\n%s", r.body)
	}
}

func TestStalledBodiesAreCut(t *testing.T) {
	e := newEnv(t, "timeouts:\n  body_idle: 1s\n  page: 1s\n")
	u, _ := url.Parse(e.gw.URL)
	for _, tt := range []struct{ req, status string }{
		// the upstream was asked, and the body stopped: the client's fault, not the app's
		{"POST /public/upload HTTP/1.1\r\nHost: gw\r\nContent-Length: 100\r\n\r\n" +
			"0123456789", "HTTP/1.1 408 "},
		{"POST /.gateway/login HTTP/1.1\r\nHost: gw\r\nContent-Length: 1000\r\n" +
			"Content-Type: application/x-www-form-urlencoded\r\n\r\nusername=a", ""},
		// an Upgrade header with no "upgrade" token in Connection is no handshake, and its
		// body is watched like any other
		{"POST /public/upload HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\n" +
			"Connection: keep-alive, x-noupgrade\r\nContent-Length: 100\r\n\r\n0123456789",
			"HTTP/1.1 408 "},
	} {
		req := tt.req
		c, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		c.SetDeadline(start.Add(20 * time.Second))
		fmt.Fprint(c, req)
		// Read until the gateway closes the connection.
		got, _ := io.ReadAll(c)
		c.Close()
		if !strings.HasPrefix(string(got), tt.status) {
			t.Errorf("%.20q: answered %.40q, want %q", req, got, tt.status)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%.20q: connection held for %v, want it closed after about 1s", req, d)
		}
	}
}

// TestHandshakeWithBodyRefused: a websocket handshake is a GET without a body; any
// other would open a tunnel whose body no timeout watches.
func TestHandshakeWithBodyRefused(t *testing.T) {
	e := newEnv(t, "")
	for _, lines := range [][]string{
		{"GET /public/ws HTTP/1.1", "Content-Length: 5", "", "hello"},
		{"GET /public/ws HTTP/1.1", "Transfer-Encoding: chunked", "", "5", "hello", "0", ""},
		{"POST /public/ws HTTP/1.1", "Content-Length: 0"},
		{"PUT /public/ws HTTP/1.1", "Content-Length: 0"},
	} {
		before := e.up.count()
		req := append([]string{lines[0], "Host: gw.example.test", "Connection: Upgrade",
			"Upgrade: websocket", "Sec-WebSocket-Version: 13",
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="}, lines[1:]...)
		if code := e.rawRequest(t, req...); code != http.StatusBadRequest ||
			e.up.count() != before {
			t.Errorf("%q: status %d, upstream asked %d times; want 400, none", lines, code,
				e.up.count()-before)
		}
	}
}

// TestUpgradesOtherThanWebsocketDeclined: an offer to switch to another protocol than
// websocket, h2c above all, is ignored: the request is served as plain HTTP/1.1, the app
// never sees the offer, and no tunnel opens.
func TestUpgradesOtherThanWebsocketDeclined(t *testing.T) {
	e := newEnv(t, "")
	alice := e.session("alice", alicePass)
	for _, up := range []string{"h2c", "H2C", "tls/1.0", "foo", "websocket, h2c"} {
		before := e.up.count()
		// HTTP2-Settings not named in Connection, so no hop-by-hop rule removes it
		code := e.rawRequest(t, "GET /public/ws HTTP/1.1", "Host: gw.example.test",
			"Connection: Upgrade", "Upgrade: "+up, "HTTP2-Settings: AAMAAABk",
			"Cookie: gateway_session="+alice)
		if code != http.StatusOK || e.up.count() != before+1 {
			t.Errorf("Upgrade: %s: status %d, upstream asked %d times; want 200, once", up,
				code, e.up.count()-before)
			continue
		}
		if got := e.up.last(t).Header; got.Get("Upgrade") != "" ||
			got.Get("Http2-Settings") != "" {
			t.Errorf("Upgrade: %s: the app got the offer: %v", up, got)
		}
	}
	// HTTP/1.0 has no upgrades, not even to websocket: the header is ignored there
	before := e.up.count()
	code := e.rawRequest(t, "GET /public/ws HTTP/1.0", "Host: gw.example.test",
		"Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13",
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Cookie: gateway_session="+alice)
	if code != http.StatusOK || e.up.count() != before+1 {
		t.Errorf("an HTTP/1.0 websocket handshake: status %d, upstream asked %d times; "+
			"want 200, once", code, e.up.count()-before)
	} else if got := e.up.last(t).Header; got.Get("Upgrade") != "" {
		t.Errorf("an HTTP/1.0 websocket handshake: the app got the offer: %v", got)
	}
}

func TestGatewayPrefixWithParamsRefused(t *testing.T) {
	e := newEnv(t, "")
	alice := e.session("alice", alicePass)
	for _, p := range []string{"/.gateway;x/login", "/.gateway;/logout", "/.gateway;jsessionid=1"} {
		before := e.up.count()
		code := e.rawRequest(t, "GET "+p+" HTTP/1.1", "Host: gw.example.test",
			"Cookie: gateway_session="+alice)
		if code != http.StatusBadRequest || e.up.count() != before {
			t.Errorf("%s: status %d; want 400 and the upstream not contacted", p, code)
		}
	}
}

func TestHopByHopRequestHeadersDropped(t *testing.T) {
	e := newEnv(t, "")
	code := e.rawRequest(t, "GET /public/x HTTP/1.1", "Host: gw.example.test",
		"TE: trailers, deflate", "Trailer: X-Forwarded-User", "Keep-Alive: timeout=5",
		"Proxy-Connection: keep-alive", "X-Remote-Name: bob", "X-Authenticated-Userid: bob",
		"X-Consumer-Username: bob", "X-Preferred-Username: bob", "Proxy-User: bob",
		"PROXY: http://127.0.0.1:9/", "proxy: http://127.0.0.1:9/")
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	for name := range e.up.last(t).Header {
		switch strings.ToLower(name) {
		case "te", "trailer", "keep-alive", "proxy-connection", "x-remote-name",
			"x-authenticated-userid", "x-consumer-username", "x-preferred-username",
			"proxy-user", "proxy":
			t.Errorf("%s reached the upstream", name)
		}
	}
}

// TestLongAnswersToBodiesFlow: once a request's body is all in, body_idle no longer
// bounds the request: an answer that takes longer than it, or streams for longer, is
// passed on whole.
func TestLongAnswersToBodiesFlow(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/public/slow" {
			time.Sleep(2500 * time.Millisecond) // longer than body_idle
			io.WriteString(w, "done")
			return
		}
		// A stream of 2.4 s in all, longer than body_idle, its parts far enough under it
		// apart (a tenth) that a machine busy with other tests, a browser among them, does
		// not stall it.
		for i := range 12 {
			fmt.Fprintf(w, "%d\n", i)
			w.(http.Flusher).Flush()
			time.Sleep(200 * time.Millisecond)
		}
	}))
	t.Cleanup(app.Close)
	e := newEnv(t, "  - path: /public/\n    upstream: \""+app.URL+"\"\n    public: [/public/]\n"+
		"timeouts:\n  body_idle: 2s\n")
	for path, want := range map[string]string{"/public/slow": "done",
		"/public/stream": "0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n"} {
		res, err := http.Post(e.gw.URL+path, "text/plain", strings.NewReader("a=b"))
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || string(body) != want || err != nil {
			t.Errorf("POST %s: %d %q (%v), want 200 %q", path, res.StatusCode, body, err,
				want)
		}
	}
}

// TestHandshakeAnsweredPlainlyIsWatched: a request with the headers of a websocket
// handshake that the app answers with a plain 200 opens no tunnel, and a client that
// stops reading that answer is cut after body_idle like any other.
func TestHandshakeAnsweredPlainlyIsWatched(t *testing.T) {
	cut := make(chan struct{})
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 64<<10)
		for range 1024 { // 64 MiB, far more than the sockets between hold
			if _, err := w.Write(chunk); err != nil {
				close(cut)
				return
			}
		}
	}))
	t.Cleanup(app.Close)
	e := newEnv(t, "  - path: /public/\n    upstream: \""+app.URL+"\"\n    public: [/public/]\n"+
		"timeouts:\n  body_idle: 1s\n")
	u, _ := url.Parse(e.gw.URL)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "GET /public/big HTTP/1.1\r\nHost: gw.example.test\r\nConnection: Upgrade\r\n"+
		"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	select { // the client reads nothing
	case <-cut:
	case <-time.After(15 * time.Second):
		t.Error("the answer was still being relayed 15 s after the client stopped reading")
	}
}

// TestForwardedHostFromTrustedProxy: a trusted proxy's X-Forwarded-Host reaches the app
// only when it is one host and names the host the rules judged; otherwise the app gets
// the request's Host, so an app that takes its host from the header sees that one.
func TestForwardedHostFromTrustedProxy(t *testing.T) {
	e := newEnv(t, "trusted_proxies: [\"127.0.0.1/32\"]\n")
	for _, tt := range []struct {
		name string
		xfh  []string
		want string
	}{
		{"same host, a port of the proxy's", []string{"X-Forwarded-Host: GW.example.test:8443"},
			"GW.example.test:8443"},
		{"another host", []string{"X-Forwarded-Host: admin.example.test"}, "gw.example.test"},
		{"appended to a client's copy", []string{"X-Forwarded-Host: admin.example.test",
			"X-Forwarded-Host: gw.example.test"}, "gw.example.test"},
		{"a list", []string{"X-Forwarded-Host: gw.example.test, admin.example.test"},
			"gw.example.test"},
		{"a name for a port", []string{"X-Forwarded-Host: gw.example.test:admin.example.test"},
			"gw.example.test"},
		{"none", nil, "gw.example.test"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lines := append([]string{"GET /public/x HTTP/1.1", "Host: gw.example.test"},
				tt.xfh...)
			if code := e.rawRequest(t, lines...); code != 200 {
				t.Fatalf("status %d", code)
			}
			if got := e.up.last(t).Header.Values("X-Forwarded-Host"); len(got) != 1 ||
				got[0] != tt.want {
				t.Errorf("app got X-Forwarded-Host %q, want %q", got, tt.want)
			}
		})
	}
}

// TestNoHostNoForwardedHost: an HTTP/1.0 request that names no host is forwarded without
// an X-Forwarded-Host, rather than with an empty one an app would build links from.
func TestNoHostNoForwardedHost(t *testing.T) {
	e := newEnv(t, "")
	if code := e.rawRequest(t, "GET /public/x HTTP/1.0"); code != http.StatusOK {
		t.Fatalf("status %d, want 200", code)
	}
	if vs, ok := e.up.last(t).Header["X-Forwarded-Host"]; ok {
		t.Errorf("X-Forwarded-Host: %q, want none", vs)
	}
}

// TestRequestReadTwoWaysEndsItsConnection: HTTP/1.0 has no chunked bodies, and Go frames
// a 1.0 request by its Content-Length, or as having no body, whatever Transfer-Encoding
// says; in HTTP/1.1 Go reads a chunked body past any Content-Length. A proxy in front
// that framed the body the other way would send what follows as another request, which
// the gateway would read otherwise. Such a request, an HTTP/1.0 one or one with a
// chunked body, is therefore the last on its connection, keep-alive or not (as RFC 9112
// asks of one with both headers), and bytes after it are never read as a request.
func TestRequestReadTwoWaysEndsItsConnection(t *testing.T) {
	e := newEnv(t, "")
	u, _ := url.Parse(e.gw.URL)
	for _, tt := range []struct{ name, raw string }{
		{"keep-alive GET", "GET /public/x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" +
			"GET /public/second HTTP/1.0\r\n\r\n"},
		{"body by length, chunked said", "POST /public/x HTTP/1.0\r\n" +
			"Connection: keep-alive\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n" +
			"\r\n0\r\n\r\nGET /public/second HTTP/1.0\r\nX-Forwarded-User: bob\r\n\r\n"},
		{"chunked said, no length", "POST /public/x HTTP/1.0\r\nConnection: keep-alive\r\n" +
			"Transfer-Encoding: chunked\r\n\r\n" +
			"GET /public/second HTTP/1.0\r\nX-Forwarded-User: bob\r\n\r\n"},
		// in HTTP/1.1 the body is read as chunked, where a proxy in front may have read
		// the five bytes of its length and the GET as the next request
		{"1.1, length and chunked", "POST /public/x HTTP/1.1\r\nHost: a\r\n" +
			"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
			"GET /public/second HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"1.1, chunked", "POST /public/x HTTP/1.1\r\nHost: a\r\n" +
			"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" +
			"GET /public/second HTTP/1.1\r\nHost: a\r\n\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", u.Host)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(c, tt.raw)
			br := bufio.NewReader(c)
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("reading the first answer: %v", err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK || !res.Close {
				t.Errorf("first answer: status %d, close %v; want 200, closing",
					res.StatusCode, res.Close)
			}
			if rest, err := io.ReadAll(br); err != nil || len(rest) > 0 {
				t.Errorf("after the first answer: %q, %v; want the connection closed",
					rest, err)
			}
			if got := e.up.last(t).RequestURI; got != "/public/x" {
				t.Errorf("the app's last request: %s, want /public/x alone", got)
			}
		})
	}
}
