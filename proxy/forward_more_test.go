package proxy_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontgate/gateway/proxy"
)

// TestPreflightBodyStaysWithTheGateway sends an anonymous CORS preflight that carries a
// body, then a second request on the same connection: the upstream gets the preflight
// without its body, and the connection goes on to answer the next request, rather than
// reading the leftover body as one.
func TestPreflightBodyStaysWithTheGateway(t *testing.T) {
	up := newEcho(t)
	e := newEnvWithUpstream(t, up, "  - path: /cors/\n    upstream: \""+up.URL+"\"\n"+
		"    cors_preflight: pass\n    public: [/cors/open/]\n")
	c, err := net.Dial("tcp", e.gw.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "OPTIONS /cors/x HTTP/1.1\r\nHost: gw.example.test\r\n"+
		"Origin: https://o.example\r\nAccess-Control-Request-Method: DELETE\r\n"+
		"Content-Length: 5\r\n\r\nhello"+
		"GET /cors/open/y HTTP/1.1\r\nHost: gw.example.test\r\n\r\n")
	br := bufio.NewReader(c)
	want := []struct{ method, uri string }{{"OPTIONS", "/cors/x"}, {"GET", "/cors/open/y"}}
	for i, w := range want {
		res, err := http.ReadResponse(br, &http.Request{Method: w.method})
		if err != nil {
			t.Fatalf("answer %d: %v", i+1, err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("answer %d: status %d, want 200", i+1, res.StatusCode)
		}
	}
	up.mu.Lock()
	got := slices.Clone(up.reqs)
	up.mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("upstream got %d requests, want %d", len(got), len(want))
	}
	for i, w := range want {
		if g := got[i]; g.Method != w.method || g.RequestURI != w.uri || g.Body != 0 {
			t.Errorf("upstream request %d: %s %s with %d body bytes; want %s %s, none",
				i+1, g.Method, g.RequestURI, g.Body, w.method, w.uri)
		}
	}
}

// TestPreflightAnswerCarriesCORSAlone: the answer to a preflight let through without a
// session reaches the client as a browser reads it, status and CORS headers, however
// much more an app that treats OPTIONS as GET puts in it; a signed-in user's OPTIONS is
// answered whole.
func TestPreflightAnswerCarriesCORSAlone(t *testing.T) {
	var mu sync.Mutex
	var seen []http.Header // what the app received
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
		h := w.Header()
		if r.URL.Path == "/cors/early" {
			h.Set("Link", "</secret.css>; rel=preload")
			h.Set("Set-Cookie", "app_session=early")
			w.WriteHeader(http.StatusEarlyHints)
			h.Del("Link")
			h.Del("Set-Cookie")
		}
		h.Set("Access-Control-Allow-Origin", "https://o.example")
		h.Set("Access-Control-Allow-Methods", "GET, DELETE")
		h.Set("Vary", "Origin")
		h.Set("Content-Type", "text/html")
		h.Set("Set-Cookie", "app_session=s3cret")
		h.Set("X-Account-Balance", "1000")
		w.Write([]byte("<h1>Private page of " + r.Header.Get("X-Forwarded-User") + "</h1>"))
		if r.URL.Path == "/cors/stream" {
			// an answer that goes on: the preflight's must not wait for its end
			for i := 0; r.Context().Err() == nil && i < 300; i++ { // 30 s at most
				w.(http.Flusher).Flush()
				time.Sleep(100 * time.Millisecond)
				w.Write([]byte("more\n"))
			}
		}
	}))
	t.Cleanup(app.Close)
	e := newEnvWithUpstream(t, newEcho(t), "  - path: /cors/\n    upstream: \""+app.URL+
		"\"\n    cors_preflight: pass\n")
	alice := e.session("alice", alicePass)
	preflight := http.Header{"Origin": {"https://o.example"},
		"Access-Control-Request-Method": {"DELETE"}}

	// with a session cookie too: a preflight is passed on as one without it
	r := e.raw("OPTIONS", "/cors/private", alice, preflight)
	if r.StatusCode != http.StatusOK || r.body != "" {
		t.Errorf("preflight: status %d, body %q; want 200 and none", r.StatusCode, r.body)
	}
	mu.Lock()
	if len(seen) != 1 || seen[0].Get("X-Forwarded-User") != "" ||
		strings.Contains(seen[0].Get("Cookie"), "gateway_session") {
		t.Errorf("the app received %v, want one preflight without identity", seen)
	}
	mu.Unlock()
	var names []string
	for name := range r.Header {
		names = append(names, name)
	}
	slices.Sort(names)
	want := []string{"Access-Control-Allow-Methods", "Access-Control-Allow-Origin",
		"Content-Length", "Date", "Vary"}
	if !slices.Equal(names, want) || r.Header.Get("Access-Control-Allow-Origin") !=
		"https://o.example" || r.Header.Get("Content-Length") != "0" {
		t.Errorf("preflight answer's headers %v, want only %v, CORS as the app set them",
			r.Header, want)
	}

	// neither an answer that streams on, nor one with an interim answer first, gives
	// more, nor keeps the preflight waiting
	for _, path := range []string{"/cors/stream", "/cors/early"} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		interim := 0
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			Got1xxResponse: func(int, textproto.MIMEHeader) error { interim++; return nil }})
		req, _ := http.NewRequestWithContext(ctx, "OPTIONS", e.gw.URL+path, nil)
		req.Header = preflight.Clone()
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatalf("preflight of %s: %v", path, err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		cancel()
		if err != nil || len(body) != 0 || interim != 0 || res.Header.Get("Set-Cookie") != "" {
			t.Errorf("preflight of %s: body %q (%v), %d interim answers, headers %v; want "+
				"none but CORS", path, body, err, interim, res.Header)
		}
	}

	r = e.raw("OPTIONS", "/cors/private", alice, nil)
	if r.StatusCode != http.StatusOK || r.body != "<h1>Private page of alice</h1>" ||
		r.Header.Get("X-Account-Balance") != "1000" {
		t.Errorf("signed-in OPTIONS: status %d, body %q, headers %v; want the app's answer",
			r.StatusCode, r.body, r.Header)
	}
}

// TestBasicCredentialsNeverForwarded sends Basic credentials on a basic_auth route in
// every copy and spelling of Authorization: none reaches the app.
func TestBasicCredentialsNeverForwarded(t *testing.T) {
	up := newEcho(t)
	e := newEnvWithUpstream(t, up, "  - path: /api/\n    upstream: \""+up.URL+"\"\n"+
		"    basic_auth: true\n    public: [/api/public/]\n")
	alice := e.session("alice", alicePass)
	basicBob := "Basic Ym9iOmJvYi1wYXNzd29yZC0xMjM="
	for _, tt := range []struct {
		name, path, cookie string
		values             []string
	}{
		{"second copy, public", "/api/public/x", "", []string{"Bearer abc", basicBob}},
		{"second copy, signed in", "/api/x", alice, []string{"Bearer abc", basicBob}},
		{"tab after the scheme", "/api/public/x", "", []string{"Basic\tYTpi"}},
		{"upper case", "/api/public/x", "", []string{"BASIC YTpi"}},
		{"leading blank", "/api/public/x", "", []string{" basic YTpi"}},
		{"scheme alone", "/api/public/x", "", []string{"Basic"}},
		{"in a list", "/api/public/x", "", []string{"Bearer abc, " + basicBob}},
		{"in a list, no blank", "/api/x", alice, []string{"Bearer abc,basic YTpi"}},
		// apps that split on Unicode spaces read these as Basic credentials too
		{"no-break space after the scheme", "/api/x", alice, []string{"Basic\xa0YTpi"}},
		{"no-break space in UTF-8 before it", "/api/x", alice,
			[]string{"\xc2\xa0Basic YTpi"}},
		{"no-break space in UTF-8 after it", "/api/x", alice, []string{"Basic\u00a0YTpi"}},
		{"long s", "/api/x", alice, []string{"Baſic YTpi"}},
		{"dotless i", "/api/x", alice, []string{"Basıc YTpi"}},
		{"dotted capital I", "/api/x", alice, []string{"BASİC YTpi"}},
		{"full width", "/api/x", alice, []string{"ｂａｓｉｃ YTpi"}},
		{"soft hyphen inside", "/api/x", alice, []string{"Ba\u00adsic YTpi"}},
		{"semicolon list", "/api/x", alice, []string{"Bearer x; Basic YTpi"}},
		// many apps take any value that starts with "basic", blank or not
		{"no blank after the scheme", "/api/x", alice, []string{"BasicYTpi"}},
		{"upper case, no blank", "/api/x", alice, []string{"BASICYTpi"}},
		{"invisible character, no blank", "/api/x", alice, []string{"Basic\u200bYTpi"}},
		{"mathematical B", "/api/x", alice, []string{"\U0001d401asic YTpi"}},
		{"circled B", "/api/x", alice, []string{"\u24b7asic YTpi"}},
		{"modifier B", "/api/x", alice, []string{"\u1d2easic YTpi"}},
		{"accented a", "/api/x", alice, []string{"B\u00e1sic YTpi"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.raw("GET", tt.path, tt.cookie, http.Header{"Authorization": tt.values})
			if up.count() == 0 {
				t.Fatal("nothing reached the upstream")
			}
			if v := up.last(t).Header.Values("Authorization"); len(v) != 0 {
				t.Errorf("upstream got Authorization %q, want none", v)
			}
		})
	}
	// Another scheme alone is the app's own business, and passes.
	e.raw("GET", "/api/public/x", "", http.Header{"Authorization": {"Bearer abc"}})
	if v := up.last(t).Header.Values("Authorization"); len(v) != 1 || v[0] != "Bearer abc" {
		t.Errorf("a bearer token alone: upstream got %q, want it passed", v)
	}
}

// TestGatewayAnswersCarrySecurityHeaders checks the exact security headers on answers
// the gateway writes itself besides its pages: the redirect to sign in, the 401 for
// scripts, the Basic challenge and forward-auth's answers.
func TestGatewayAnswersCarrySecurityHeaders(t *testing.T) {
	up := newEcho(t)
	e := newEnvWithUpstream(t, up, "  - path: /api/\n    upstream: \""+up.URL+"\"\n"+
		"    basic_auth: true\n"+"trusted_proxies: [\"10.0.0.2/32\"]\n")
	page := e.raw("GET", "/.gateway/login", "", nil)
	// The whole policy: no script at all (default-src 'none' covers script-src), the
	// page's own stylesheet and logo, forms back to the gateway only, and no framing.
	const csp = "default-src 'none'; style-src 'self'; img-src 'self'; " +
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	want := map[string]string{"Content-Security-Policy": csp, "Cache-Control": "no-store",
		"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
		"X-Frame-Options": "DENY"}
	for _, tt := range []struct {
		name   string
		res    *http.Response
		status int
	}{
		{"sign-in page", page.Response, 200},
		{"redirect to sign in", e.raw("GET", "/x?a=1", "", http.Header{
			"Accept": {"text/html"}}).Response, 302},
		{"401 for a script", e.raw("GET", "/x", "", nil).Response, 401},
		{"Basic challenge", e.raw("GET", "/api/x", "", http.Header{
			"Authorization": {"Basic " +
				base64.StdEncoding.EncodeToString([]byte("alice:wrong"))}}).Response, 401},
		{"forward-auth, no session", askForwardAuth(t, e, "/.gateway/auth?redirect=1",
			faProxy, "", "X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/x",
			"Accept", "text/html"), 302},
		{"forward-auth, untrusted", askForwardAuth(t, e, "/.gateway/auth", faDirect, "",
			"X-Forwarded-Uri", "/x"), 401},
	} {
		if tt.res.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d", tt.name, tt.res.StatusCode, tt.status)
		}
		for name, v := range want {
			if got := tt.res.Header.Get(name); got != v {
				t.Errorf("%s: %s = %q, want %q", tt.name, name, got, v)
			}
		}
	}
}

// TestRequestTrailersNotForwarded sends a chunked request that announces trailers named
// like identity headers, and sends them: neither the announcement nor the trailers
// reach the upstream.
func TestRequestTrailersNotForwarded(t *testing.T) {
	e := newSecEnv(t, secOptions{})
	alice := e.session(t, "alice", alicePass)
	for _, path := range []string{"/public/echo", "/app/echo"} {
		got := e.send(t, "POST "+path+" HTTP/1.1\r\nHost: "+secHost+"\r\n"+
			"Cookie: gateway_session="+alice+"\r\nTransfer-Encoding: chunked\r\n"+
			"Trailer: X-Forwarded-User, X_Forwarded_Groups, Remote-User\r\n\r\n"+
			"5\r\nhello\r\n0\r\nX-Forwarded-User: root\r\nX_Forwarded_Groups: admins\r\n"+
			"Remote-User: root\r\n\r\n")
		if got.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d, want 200", path, got.StatusCode)
		}
		s := e.up.last(t)
		if f := s.like("Trailer", "Remote-User"); len(f) != 0 {
			t.Errorf("%s: upstream got %v", path, f)
		}
		if v := s.like("X-Forwarded-Groups"); len(v) != 1 || v[0].Value != "staff" {
			t.Errorf("%s: X-Forwarded-Groups upstream: %v, want exactly staff", path, v)
		}
		if s.Body != 5 {
			t.Errorf("%s: upstream got %d body bytes, want 5", path, s.Body)
		}
		if v := s.like("X-Forwarded-User"); len(v) != 1 || v[0].Value != "alice" {
			t.Errorf("%s: X-Forwarded-User upstream: %v, want exactly alice", path, v)
		}
	}
}

// TestExpectContinueWithEarlyAnswer: a client that waits for "100 Continue" before it
// sends its body gets one from the gateway, whatever the app would say, so that an app
// that answers before it reads the body has its answer passed on at once, not held until
// the client gives up waiting.
func TestExpectContinueWithEarlyAnswer(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/public/early" {
			io.WriteString(w, "early")
			return
		}
		body, _ := io.ReadAll(r.Body)
		w.Write(body)
	}))
	t.Cleanup(app.Close)
	e := newEnv(t, "  - path: /public/\n    upstream: \""+app.URL+"\"\n    public: [/public/]\n"+
		"  - path: /cors/\n    upstream: \""+app.URL+"\"\n    cors_preflight: pass\n"+
		"    max_body: 1KB\n"+
		"timeouts:\n  body_idle: 30s\n")
	for _, tt := range []struct{ method, path, extra, want string }{
		{"POST", "/public/early", "", "early"},
		{"POST", "/public/echo", "", "0123456789"},
		// a preflight's body goes nowhere: the answer comes without asking for it
		{"OPTIONS", "/cors/x", "Origin: https://o.example\r\n" +
			"Access-Control-Request-Method: PUT\r\n", ""},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			c := e.dial(t, 10*time.Second) // far under body_idle
			fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: gw.example.test\r\n%s"+
				"Content-Length: 10\r\nExpect: 100-continue\r\n\r\n", tt.method, tt.path,
				tt.extra)
			br := bufio.NewReader(c)
			for {
				res, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("no final answer: %v", err)
				}
				if res.StatusCode == http.StatusContinue {
					io.WriteString(c, "0123456789")
					continue
				}
				body, err := io.ReadAll(res.Body)
				if res.StatusCode != http.StatusOK || string(body) != tt.want || err != nil {
					t.Errorf("got %d %q (%v), want 200 %q", res.StatusCode, body, err,
						tt.want)
				}
				return
			}
		})
	}
}

// TestPreflightBodyThatNeverComes: a preflight whose announced body never arrives is
// answered once body_idle has passed, as a request whose body stalls is, and its
// connection closed.
func TestPreflightBodyThatNeverComes(t *testing.T) {
	up := newEcho(t)
	e := newEnvWithUpstream(t, up, "  - path: /cors/\n    upstream: \""+up.URL+"\"\n"+
		"    cors_preflight: pass\ntimeouts:\n  body_idle: 500ms\n")
	c := e.dial(t, 10*time.Second)
	io.WriteString(c, "OPTIONS /cors/x HTTP/1.1\r\nHost: gw.example.test\r\n"+
		"Origin: https://o.example\r\nAccess-Control-Request-Method: PUT\r\n"+
		"Content-Length: 100\r\n\r\n")
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !res.Close {
		t.Errorf("status %d, close %v; want the preflight's 200, closing", res.StatusCode,
			res.Close)
	}
}

// TestRefusalKeepsHTTP2Connection: a request with a body that the gateway refuses closes
// an HTTP/1 connection, whose next bytes could be the rest of the body, but not an
// HTTP/2 one, where the body ends with its stream and other requests share the
// connection.
func TestRefusalKeepsHTTP2Connection(t *testing.T) {
	e := newEnv(t, "")
	gw := httptest.NewUnstartedServer(e.h)
	gw.EnableHTTP2 = true
	gw.StartTLS()
	t.Cleanup(gw.Close)
	c := gw.Client()
	reused := func(method string, body io.Reader) (int, bool) {
		t.Helper()
		var again bool
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) { again = info.Reused }})
		req, _ := http.NewRequestWithContext(ctx, method, gw.URL+"/private", body)
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.ProtoMajor != 2 {
			t.Fatalf("answered over %s, want HTTP/2", res.Proto)
		}
		return res.StatusCode, again
	}
	reused("GET", nil)
	if code, _ := reused("POST", strings.NewReader("a=b")); code != http.StatusUnauthorized {
		t.Fatalf("POST without a session: %d, want 401", code)
	}
	if _, again := reused("GET", nil); !again {
		t.Error("the connection was closed after a refused request with a body")
	}
}

// TestGatewayPagesAskForTheFormLast: a sign-in or sign-out whose refusal the headers
// decide (another origin, no pre-login cookie, no session) is answered at once, without
// "100 Continue": the form is not asked for; one that needs the form gets it asked for.
func TestGatewayPagesAskForTheFormLast(t *testing.T) {
	e := newEnv(t, "")
	b := e.browser()
	b.get(proxy.LoginPath)
	prelogin := "gateway_login=" + b.cookie("gateway_login")
	for _, tt := range []struct {
		name, path, hdr string
		want            int
	}{
		{"sign-in without a pre-login cookie", proxy.LoginPath, "", http.StatusForbidden},
		{"sign-in from another origin", proxy.LoginPath,
			"Cookie: " + prelogin + "\r\nOrigin: https://evil.example\r\n",
			http.StatusForbidden},
		{"sign-out without a session", proxy.LogoutPath, "", http.StatusSeeOther},
		{"sign-in with its pre-login cookie", proxy.LoginPath, "Cookie: " + prelogin + "\r\n",
			http.StatusContinue},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := e.dial(t, 10*time.Second)
			fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: gw.example.test\r\nContent-Type: "+
				"application/x-www-form-urlencoded\r\nContent-Length: 10\r\n"+
				"Expect: 100-continue\r\n%s\r\n", tt.path, tt.hdr)
			res, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tt.want {
				t.Errorf("first answer %d, want %d", res.StatusCode, tt.want)
			}
		})
	}
}

// dial opens a connection to the gateway, for requests written byte by byte, that gives
// up on reads and writes after timeout.
func (e *env) dial(t testing.TB, timeout time.Duration) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", e.gw.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(timeout))
	return c
}
