package proxy_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestUpstreamCannotSetGatewayCookies checks that an app's answer cannot set the
// gateway's cookies in any form a browser would send back under their names, while the
// app's own cookies pass.
func TestUpstreamCannotSetGatewayCookies(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, l := range r.URL.Query()["sc"] {
			w.Header().Add("Set-Cookie", l)
		}
	}))
	t.Cleanup(app.Close)
	e := newEnvWithUpstream(t, newEcho(t), "  - path: /app/\n    upstream: \""+app.URL+
		"\"\n    public: [/app/]\n")
	alice := e.session("alice", alicePass)

	for _, tt := range []struct {
		line string
		kept bool
	}{
		{"app=1; Path=/", true},
		{"app_session=gateway_session; Path=/", true},
		{"gateway_session=x; Path=/", false},
		{" gateway_session=x", false},
		{"\tgateway_login=x", false},
		{"gateway_device=x; HttpOnly", false},
		{"gateway_session =x", false},
		// browsers read the cookie prefixes in any case
		{"__host-gateway_session=x; Path=/; Secure", false},
		{"__SECURE-Gateway_Session=x; Path=/; Secure", false},
		// nameless cookies: browsers send the value alone
		{"=gateway_session=x; Path=/", false},
		{" =gateway_session=x", false},
		{"gateway_session", false},
		{"=x", false},
		{"justavalue; Path=/", false},
	} {
		for _, who := range []string{"", alice} {
			r := e.raw("GET", "/app/x?sc="+url.QueryEscape(tt.line), who, nil)
			if r.StatusCode != http.StatusOK {
				t.Fatalf("%q: status %d", tt.line, r.StatusCode)
			}
			// leading blanks of a header value do not survive the trip
			got := slices.Contains(r.Header.Values("Set-Cookie"), strings.TrimLeft(tt.line, " \t"))
			if got != tt.kept {
				t.Errorf("Set-Cookie %q (signed in: %v): passed %v, want %v", tt.line,
					who != "", got, tt.kept)
			}
		}
	}
}

// TestUpstreamCannotSetGatewayCookiesEarlyOrLate sends the gateway's cookies in an
// interim 103 answer and in trailers after the body: neither reaches the client, and the
// app's own cookie in the 103 does.
func TestUpstreamCannotSetGatewayCookiesEarlyOrLate(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "gateway_session=early; Path=/")
		w.Header().Add("Set-Cookie", "=gateway_login=early")
		w.Header().Add("Set-Cookie", "app=early")
		w.WriteHeader(http.StatusEarlyHints)
		clear(w.Header())
		w.Header().Set("Trailer", "Set-Cookie")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "body")
		w.Header().Set("Set-Cookie", "gateway_session=announced; Path=/")
		w.Header().Set(http.TrailerPrefix+"Set-Cookie", "gateway_device=unannounced")
	}))
	t.Cleanup(app.Close)
	e := newEnvWithUpstream(t, newEcho(t), "  - path: /app/\n    upstream: \""+app.URL+
		"\"\n    public: [/app/]\n")

	conn, err := net.Dial("tcp", e.gw.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, "GET /app/x HTTP/1.1\r\nHost: app.example.test\r\n"+
		"Connection: close\r\n\r\n")
	raw, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	if !strings.HasPrefix(text, "HTTP/1.1 103 ") || !strings.Contains(text, "HTTP/1.1 200 ") {
		t.Fatalf("want a 103, then a 200; got:\n%s", text)
	}
	if !strings.Contains(text, "Set-Cookie: app=early") {
		t.Errorf("the app's own cookie in the 103 was dropped:\n%s", text)
	}
	for _, bad := range []string{"gateway_session=", "gateway_login=", "gateway_device="} {
		if strings.Contains(text, bad) {
			t.Errorf("the client received %q:\n%s", bad, text)
		}
	}
}

// TestInterimAnswerKeepsGatewayHeaders relays a 103 from the app on a request whose
// session cookie is stale: the final answer still carries the gateway's clearing of that
// cookie, which the relay of the 103 must not wipe, beside the app's own cookie.
func TestInterimAnswerKeepsGatewayHeaders(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		clear(w.Header())
		w.Header().Add("Set-Cookie", "final=ok")
		io.WriteString(w, "body")
	}))
	t.Cleanup(app.Close)
	e := newEnvWithUpstream(t, newEcho(t), "  - path: /app/\n    upstream: \""+app.URL+
		"\"\n    public: [/app/]\n")
	r := e.raw("GET", "/app/x", "stale-value", nil)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("status %d", r.StatusCode)
	}
	var cleared, final bool
	for _, l := range r.Header.Values("Set-Cookie") {
		cleared = cleared || strings.HasPrefix(l, "gateway_session=;") &&
			strings.Contains(l, "Max-Age=0")
		final = final || l == "final=ok"
	}
	if !cleared || !final {
		t.Errorf("Set-Cookie %q: want the gateway's clearing of gateway_session and the "+
			"app's final=ok", r.Header.Values("Set-Cookie"))
	}
}
