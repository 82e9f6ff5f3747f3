package proxy_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/frontgate/gateway/proxy"
)

// HEAD, OPTIONS, preflights and method overrides: S20.

// headRequest sends a raw request and checks that the answer carries no body: it asks the
// gateway to close the connection and reads to the end.
func headRequest(t testing.TB, e *secEnv, req string) sresp {
	t.Helper()
	c, err := net.Dial("tcp", e.gw.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, req)
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, &http.Request{Method: http.MethodHead})
	if err != nil {
		t.Fatalf("%s: no answer within 5s: %v", firstLine(req), err)
	}
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Errorf("%s: connection not closed after the answer: %v", firstLine(req), err)
	}
	if len(rest) != 0 {
		t.Errorf("%s: %d bytes of body after a HEAD answer", firstLine(req), len(rest))
	}
	return sresp{res, ""}
}

// identityNames are header names that would reveal a user in a response.
var identityNames = []string{"X-Forwarded-User", "X-Forwarded-Email", "X-Forwarded-Groups",
	"Remote-User", "X-Remote-User", "X-Auth-Request-User", "X-Gateway-User"}

func wantNoIdentityInAnswer(t testing.TB, r sresp) {
	t.Helper()
	for name, v := range r.Header {
		for _, n := range identityNames {
			if foldHeader(name) == foldHeader(n) {
				t.Errorf("answer carries %s: %q", name, v)
			}
		}
	}
	if r.Header.Get("Access-Control-Allow-Origin") == "*" &&
		strings.EqualFold(r.Header.Get("Access-Control-Allow-Credentials"), "true") {
		t.Error("answer combines Access-Control-Allow-Origin: * with credentials")
	}
}

func TestS20HeadOptionsPreflight(t *testing.T) {
	e := newSecEnv(t, secOptions{config: "trusted_proxies: [\"127.0.0.1/32\"]\n"})
	alice := e.session(t, "alice", alicePass)

	for _, tt := range []struct {
		path, accept string
		signed       bool
		want         int // 0: whatever GET gets
	}{
		{"/app/", "text/html", false, http.StatusFound},
		{"/app/", "", false, http.StatusUnauthorized},
		{"/app/", "application/json", false, http.StatusUnauthorized},
		{"/app/", "text/html;q=0", false, http.StatusUnauthorized},
		{"/app/page?x=1", "text/html", false, http.StatusFound},
		{"/admin/", "text/html", true, http.StatusForbidden},
		{"/admin/", "text/html", false, http.StatusFound},
		{"/admin/x", "", true, http.StatusForbidden},
		{"/public/x", "", false, http.StatusOK},
		{"/app/", "text/html", true, http.StatusOK},
		{proxy.LoginPath, "text/html", false, http.StatusOK},
		{"/.gateway/logout", "text/html", true, http.StatusOK},
	} {
		name := fmt.Sprintf("HEAD %s accept=%q signed=%t", tt.path, tt.accept, tt.signed)
		t.Run(name, func(t *testing.T) {
			lines := []string{"", "Host: " + secHost, "Connection: close"}
			if tt.accept != "" {
				lines = append(lines, "Accept: "+tt.accept)
			}
			if tt.signed {
				lines = append(lines, "Cookie: gateway_session="+alice)
			}
			lines[0] = "GET " + tt.path + " HTTP/1.1"
			get := e.send(t, rawLines(lines...))
			lines[0] = "HEAD " + tt.path + " HTTP/1.1"
			before := e.up.count()
			head := headRequest(t, e, rawLines(lines...))
			if head.StatusCode != tt.want {
				t.Errorf("HEAD status: got %d, want %d", head.StatusCode, tt.want)
			}
			if head.StatusCode != get.StatusCode {
				t.Errorf("HEAD status %d, GET status %d; want the same", head.StatusCode,
					get.StatusCode)
			}
			if h, g := head.Header.Get("Location"), get.Header.Get("Location"); h != g {
				t.Errorf("HEAD Location %q, GET Location %q; want the same", h, g)
			}
			if head.StatusCode != http.StatusOK || tt.path == proxy.LoginPath ||
				tt.path == "/.gateway/logout" {
				wantUntouched(t, e.up, before)
			}
			wantNoIdentityInAnswer(t, head)
			wantNoIdentityInAnswer(t, get)
		})
	}

	for _, tt := range []struct {
		name, cookie string
		want         int
	}{
		{"without a cookie", "", http.StatusUnauthorized},
		{"as alice", alice, http.StatusForbidden},
	} {
		t.Run("forward-auth "+tt.name, func(t *testing.T) {
			for _, m := range []string{"GET", "HEAD", "head", "OPTIONS"} {
				r := e.forwardAuth(t, tt.cookie, "X-Forwarded-Method", m,
					"X-Forwarded-Uri", "/admin/")
				if r.StatusCode != tt.want {
					t.Errorf("X-Forwarded-Method %s: status: got %d, want %d", m,
						r.StatusCode, tt.want)
				}
				if r.StatusCode/100 != 2 {
					wantNoIdentityInAnswer(t, r)
				}
			}
		})
	}

	preflight := []string{"Origin: https://other.example", "Access-Control-Request-Method: DELETE"}
	for _, tt := range []struct {
		name, target string
		lines        []string
	}{
		{"case", "/app/api/items", preflight},
		{"with Accept: text/html", "/app/api/items", append([]string{"Accept: text/html"},
			preflight...)},
		{"with request headers", "/app/api/items", append([]string{
			"Access-Control-Request-Headers: authorization, x-forwarded-user"}, preflight...)},
		{"to /admin/", "/admin/", preflight},
		{"bare OPTIONS /admin/", "/admin/", nil},
		{"bare OPTIONS /admin/ with Accept: text/html", "/admin/", []string{"Accept: text/html"}},
	} {
		t.Run("OPTIONS "+tt.name, func(t *testing.T) {
			lines := append([]string{"OPTIONS " + tt.target + " HTTP/1.1", "Host: " + secHost},
				tt.lines...)
			before := e.up.count()
			r := e.send(t, rawLines(lines...))
			if r.StatusCode != http.StatusUnauthorized {
				t.Errorf("without a session: status: got %d, want 401", r.StatusCode)
			}
			wantUntouched(t, e.up, before)
			wantNoIdentityInAnswer(t, r)
			if strings.HasPrefix(tt.target, "/admin/") {
				before = e.up.count()
				r = e.send(t, rawLines(append(lines, "Cookie: gateway_session="+alice)...))
				wantForbidden(t, r, e.up, before)
				wantNoIdentityInAnswer(t, r)
			}
		})
	}

	for _, tt := range []struct{ name, target, line string }{
		{"X-HTTP-Method-Override", "/admin/x", "X-HTTP-Method-Override: GET"},
		{"X-HTTP-Method", "/admin/x", "X-HTTP-Method: GET"},
		{"X-Method-Override", "/admin/x", "X-Method-Override: GET"},
		{"x_http_method_override", "/admin/x", "x_http_method_override: GET"},
		{"override to HEAD", "/admin/x", "X-HTTP-Method-Override: HEAD"},
		{"override to OPTIONS", "/admin/x", "X-HTTP-Method-Override: OPTIONS"},
		{"_method in the query", "/admin/x?_method=GET", "Accept: text/html"},
	} {
		t.Run("POST with "+tt.name, func(t *testing.T) {
			lines := []string{"POST " + tt.target + " HTTP/1.1", "Host: " + secHost,
				"Accept: text/html", tt.line, "Content-Length: 0"}
			before := e.up.count()
			r := e.send(t, rawLines(lines...))
			if r.StatusCode != http.StatusUnauthorized {
				t.Errorf("without a session: status: got %d, want 401", r.StatusCode)
			}
			wantUntouched(t, e.up, before)
			before = e.up.count()
			r = e.send(t, rawLines(append(lines, "Cookie: gateway_session="+alice)...))
			wantForbidden(t, r, e.up, before)
		})
	}

	t.Run("override headers not forwarded", func(t *testing.T) {
		r := e.send(t, rawLines("POST /public/x HTTP/1.1", "Host: "+secHost,
			"X-HTTP-Method-Override: DELETE", "X-HTTP-Method: DELETE",
			"X-Method-Override: DELETE", "x_http_method_override: DELETE", "Content-Length: 0"))
		if r.StatusCode != http.StatusOK {
			t.Fatalf("status: got %d, want 200", r.StatusCode)
		}
		if got := e.up.last(t).like("X-HTTP-Method-Override", "X-HTTP-Method",
			"X-Method-Override"); len(got) != 0 {
			t.Errorf("upstream got method overrides: %v", got)
		}
	})
}

// TestConnectRefused: the gateway is no forward proxy, so a CONNECT in any form and
// letter case is answered by the gateway and never reaches an app, signed in or not.
func TestConnectRefused(t *testing.T) {
	e := newSecEnv(t, secOptions{})
	alice := e.session(t, "alice", alicePass)
	for _, tt := range []struct{ method, target string }{
		{"CONNECT", "/app/x"},
		{"CONNECT", "/public/x"},
		{"connect", "/public/x"},
		{"CONNECT", secHost + ":443"},
		{"CONNECT", "127.0.0.1:22"},
	} {
		for _, cookie := range []string{"", alice} {
			t.Run(fmt.Sprintf("%s %s signed=%t", tt.method, tt.target, cookie != ""),
				func(t *testing.T) {
					lines := []string{tt.method + " " + tt.target + " HTTP/1.1",
						"Host: " + secHost}
					if cookie != "" {
						lines = append(lines, "Cookie: gateway_session="+cookie)
					}
					before := e.up.count()
					r := e.send(t, rawLines(lines...))
					if r.StatusCode != http.StatusNotImplemented {
						t.Errorf("status: got %d, want 501", r.StatusCode)
					}
					wantUntouched(t, e.up, before)
				})
		}
	}
}
