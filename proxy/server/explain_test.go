package server

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frontgate/gateway/authn/password"
)

func TestExplain(t *testing.T) {
	dir := t.TempDir()
	cheap := password.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	h, _ := password.Generate("pw", cheap)
	os.WriteFile(filepath.Join(dir, "users.yaml"), []byte("users:\n"+
		"  alice:\n    password: \""+h+"\"\n    email: alice@example.test\n"+
		"    groups: [staff]\n"+
		"  bob:\n    password: \""+h+"\"\n    groups: [admins]\n"+
		"  carol:\n    password: \""+h+"\"\n    groups: [admins]\n    disabled: true\n"), 0o600)
	path := filepath.Join(dir, "gateway.yaml")
	os.WriteFile(path, []byte("users:\n  file: users.yaml\nsession:\n  store: memory\n"+
		"routes:\n  - upstream: http://127.0.0.1:9001\n    public: [/public/]\n"+
		"  - host: app.example.test\n    path: /admin/\n    upstream: http://127.0.0.1:9002\n"+
		"    strip_prefix: true\n    allow:\n      groups: [admins]\n"+
		"  - path: /api/\n    upstream: http://127.0.0.1:9003\n    basic_auth: true\n"+
		"  - path: /cors/\n    upstream: http://127.0.0.1:9004\n    cors_preflight: pass\n"+
		"  - path: /own/\n    upstream: http://127.0.0.1:9005\n    preserve_host: false\n"),
		0o600)
	basic := func(user, pass string) http.Header {
		r, _ := http.NewRequest("GET", "/", nil)
		r.SetBasicAuth(user, pass)
		return r.Header
	}

	for _, tt := range []struct {
		name string
		req  ExplainRequest
		want string
	}{
		{"the upstream's own host", ExplainRequest{User: "alice", Method: "GET",
			URL: "/own/x"}, `
request:  GET http://localhost/own/x as alice
route:    any host, path /own/, upstream http://127.0.0.1:9005
decision: allowed: any signed-in user may pass
upstream receives:
  GET /own/x HTTP/1.1
  Host: 127.0.0.1:9005
  X-Forwarded-Email: alice@example.test
  X-Forwarded-For: 192.0.2.1
  X-Forwarded-Groups: staff
  X-Forwarded-Host: localhost
  X-Forwarded-Proto: http
  X-Forwarded-User: alice
  X-Gateway-Hop: (the gateway process's token)
`},
		{"allowed, spoofed header removed", ExplainRequest{User: "bob", Method: "get",
			URL:    "http://app.example.test/admin/users?page=2",
			Header: http.Header{"X_forwarded_user": {"alice"}}}, `
request:  GET http://app.example.test/admin/users?page=2 as bob
route:    host app.example.test, path /admin/, upstream http://127.0.0.1:9002
decision: allowed: bob is in group admins
removed:  X_forwarded_user, as the client sent it
upstream receives:
  GET /users?page=2 HTTP/1.1
  Host: app.example.test
  X-Forwarded-For: 192.0.2.1
  X-Forwarded-Groups: admins
  X-Forwarded-Host: app.example.test
  X-Forwarded-Prefix: /admin
  X-Forwarded-Proto: http
  X-Forwarded-User: bob
  X-Gateway-Hop: (the gateway process's token)
`},
		// public on its own route, but an app may read it as a path the route protects:
		// a signed-in user passes by the rule, not as the public do
		{"public, and read as protected", ExplainRequest{User: "bob", Method: "GET",
			URL: "http://localhost/public/x.php/y"}, `
request:  GET http://localhost/public/x.php/y as bob
route:    any host, path /, upstream http://127.0.0.1:9001
decision: allowed: any signed-in user may pass (an app may read the path as one under /)
upstream receives:
  GET /public/x.php/y HTTP/1.1
  Host: localhost
  X-Forwarded-For: 192.0.2.1
  X-Forwarded-Groups: admins
  X-Forwarded-Host: localhost
  X-Forwarded-Proto: http
  X-Forwarded-User: bob
  X-Gateway-Hop: (the gateway process's token)
`},
		{"HTTP Basic", ExplainRequest{Method: "GET", URL: "/api/v1",
			Header: basic("bob", "pw")}, `
request:  GET http://localhost/api/v1 as bob (by HTTP Basic)
route:    any host, path /api/, upstream http://127.0.0.1:9003
decision: allowed: any signed-in user may pass
removed:  Authorization, as the client sent it
upstream receives:
  GET /api/v1 HTTP/1.1
  Host: localhost
  X-Forwarded-For: 192.0.2.1
  X-Forwarded-Groups: admins
  X-Forwarded-Host: localhost
  X-Forwarded-Proto: http
  X-Forwarded-User: bob
  X-Gateway-Hop: (the gateway process's token)
`},
		{"HTTP Basic, a wrong password", ExplainRequest{Method: "GET", URL: "/api/v1",
			Header: basic("bob", "nope")}, `
request:  GET http://localhost/api/v1 anonymous
route:    any host, path /api/, upstream http://127.0.0.1:9003
decision: sign-in required: the HTTP Basic credentials are refused ` +
			`(invalid credentials: wrong password)
answer:   401 from the gateway; nothing reaches the upstream
          WWW-Authenticate: Basic realm="gateway", charset="UTF-8"
`},
		{"HTTP Basic where the route takes none", ExplainRequest{Method: "GET",
			URL: "/x", Header: basic("bob", "pw")}, `
request:  GET http://localhost/x anonymous
route:    any host, path /, upstream http://127.0.0.1:9001
decision: sign-in required: the path is protected and nobody is signed in ` +
			`(the route does not take HTTP Basic credentials: basic_auth is off)
answer:   401 from the gateway; nothing reaches the upstream
`},
		{"CORS preflight", ExplainRequest{User: "alice", Method: "OPTIONS", URL: "/cors/x",
			Header: http.Header{"Origin": {"https://other.example"},
				"Access-Control-Request-Method": {"PUT"}}}, `
request:  OPTIONS http://localhost/cors/x as alice
route:    any host, path /cors/, upstream http://127.0.0.1:9004
decision: preflight: a CORS preflight, which cors_preflight: pass lets through without ` +
			`a session or identity; the app's answer comes back as its status and CORS ` +
			`headers alone
upstream receives:
  OPTIONS /cors/x HTTP/1.1
  Host: localhost
  Access-Control-Request-Method: PUT
  Origin: https://other.example
  X-Forwarded-For: 192.0.2.1
  X-Forwarded-Host: localhost
  X-Forwarded-Proto: http
  X-Gateway-Hop: (the gateway process's token)
`},
		{"forbidden", ExplainRequest{User: "alice", Method: "POST",
			URL: "http://app.example.test/admin/"}, `
request:  POST http://app.example.test/admin/ as alice
route:    host app.example.test, path /admin/, upstream http://127.0.0.1:9002
decision: forbidden: alice is in no group of allow.groups [admins]
answer:   403 from the gateway; nothing reaches the upstream
`},
		{"disabled user", ExplainRequest{User: "carol", Method: "GET",
			URL: "http://app.example.test/admin/"}, `
request:  GET http://app.example.test/admin/ as carol (disabled)
route:    host app.example.test, path /admin/, upstream http://127.0.0.1:9002
decision: sign-in required: the user is disabled, which ends their sessions at once
answer:   401 from the gateway; nothing reaches the upstream
`},
		{"other host", ExplainRequest{Method: "GET", URL: "http://other.test/admin/"}, `
request:  GET http://other.test/admin/ anonymous
route:    any host, path /, upstream http://127.0.0.1:9001
decision: sign-in required: the path is protected and nobody is signed in
answer:   401 from the gateway; nothing reaches the upstream
`},
		{"a framework's reading", ExplainRequest{User: "alice", Method: "GET",
			URL: "http://app.example.test/index.php/admin/"}, `
request:  GET http://app.example.test/index.php/admin/ as alice
route:    any host, path /, upstream http://127.0.0.1:9001
decision: forbidden: alice is in no group of allow.groups [admins] ` +
			`(an app may read the path as one under /admin/)
answer:   403 from the gateway; nothing reaches the upstream
`},
		{"a case-blind reading", ExplainRequest{User: "alice", Method: "GET",
			URL: "http://app.example.test/Admin/"}, `
request:  GET http://app.example.test/Admin/ as alice
route:    any host, path /, upstream http://127.0.0.1:9001
decision: forbidden: alice is in no group of allow.groups [admins] ` +
			`(an app may read the path as one under /admin/)
answer:   403 from the gateway; nothing reaches the upstream
`},
		{"a browser sent to sign in", ExplainRequest{Method: "GET",
			URL: "http://other.test/x?a=1", Header: http.Header{"Accept": {"text/html"}}}, `
request:  GET http://other.test/x?a=1 anonymous
route:    any host, path /, upstream http://127.0.0.1:9001
decision: sign-in required: the path is protected and nobody is signed in
answer:   302 from the gateway; nothing reaches the upstream
          Location: /.gateway/login?next=%2Fx%3Fa%3D1
`},
		{"a Destination in a protected place", ExplainRequest{Method: "MOVE",
			URL:    "http://other.test/public/a",
			Header: http.Header{"Destination": {"http://other.test/private/a"}}}, `
request:  MOVE http://other.test/public/a anonymous
route:    any host, path /, upstream http://127.0.0.1:9001
decision: sign-in required: the Destination header names a protected place and nobody ` +
			`is signed in
answer:   401 from the gateway; nothing reaches the upstream
`},
		{"a Destination the user may write", ExplainRequest{User: "alice", Method: "COPY",
			URL:    "http://other.test/public/a",
			Header: http.Header{"Destination": {"http://other.test/notes//a"}}}, `
request:  COPY http://other.test/public/a as alice
route:    any host, path /, upstream http://127.0.0.1:9001
decision: allowed: any signed-in user may pass (at the place the Destination header ` +
			`names, under /)
replaced: Destination, as the client sent it
upstream receives:
  COPY /public/a HTTP/1.1
  Host: other.test
  Destination: http://other.test/notes/a
  X-Forwarded-Email: alice@example.test
  X-Forwarded-For: 192.0.2.1
  X-Forwarded-Groups: staff
  X-Forwarded-Host: other.test
  X-Forwarded-Proto: http
  X-Forwarded-User: alice
  X-Gateway-Hop: (the gateway process's token)
`},
		{"a Destination that passes too", ExplainRequest{User: "alice", Method: "MOVE",
			URL:    "http://other.test/notes",
			Header: http.Header{"Destination": {"/notes-old"}}}, `
request:  MOVE http://other.test/notes as alice
route:    any host, path /, upstream http://127.0.0.1:9001
decision: allowed: any signed-in user may pass; the place the Destination header names ` +
			`passes too, under /
upstream receives:
  MOVE /notes HTTP/1.1
  Host: other.test
  Destination: /notes-old
  X-Forwarded-Email: alice@example.test
  X-Forwarded-For: 192.0.2.1
  X-Forwarded-Groups: staff
  X-Forwarded-Host: other.test
  X-Forwarded-Proto: http
  X-Forwarded-User: alice
  X-Gateway-Hop: (the gateway process's token)
`},
		{"a public Destination", ExplainRequest{Method: "COPY",
			URL:    "http://other.test/public/a",
			Header: http.Header{"Destination": {"/public/b"}}}, `
request:  COPY http://other.test/public/a anonymous
route:    any host, path /, upstream http://127.0.0.1:9001
decision: public: the path is under a public prefix; the place the Destination header ` +
			`names is public, under /
upstream receives:
  COPY /public/a HTTP/1.1
  Host: other.test
  Destination: /public/b
  X-Forwarded-For: 192.0.2.1
  X-Forwarded-Host: other.test
  X-Forwarded-Proto: http
  X-Gateway-Hop: (the gateway process's token)
`},
		{"a Destination on another host", ExplainRequest{User: "bob", Method: "MOVE",
			URL:    "http://other.test/public/a",
			Header: http.Header{"Destination": {"http://app.example.test/admin/x"}}}, `
request:  MOVE http://other.test/public/a as bob
route:    any host, path /, upstream http://127.0.0.1:9001
decision: forbidden: Destination names another host
answer:   403 from the gateway; nothing reaches the upstream
`},
		{"ambiguous", ExplainRequest{Method: "GET", URL: "/public/%2e%2e/admin/"}, `
request:  GET http://localhost/public/%2e%2e/admin/ anonymous
decision: bad request: the path could be read two ways
answer:   400 from the gateway; nothing reaches the upstream
`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			forwarded, err := Explain(context.Background(), path, tt.req, &out)
			if err != nil {
				t.Fatal(err)
			}
			if want := strings.Contains(tt.want, "upstream receives:"); forwarded != want {
				t.Errorf("forwarded: got %v, want %v", forwarded, want)
			}
			if got, want := out.String(), strings.TrimPrefix(tt.want, "\n"); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
	if _, err := Explain(context.Background(), path, ExplainRequest{User: "nobody",
		Method: "GET", URL: "/"}, &strings.Builder{}); err == nil {
		t.Error("explain for an unknown user succeeded")
	}
}

// TestExplainSecureCookies: with cookies forced Secure, a request is signed in under the
// __Host- cookie name the gateway then reads.
func TestExplainSecureCookies(t *testing.T) {
	path := writeConfig(t, "http://127.0.0.1:9001", "session:\n  store: memory\n"+
		"  secure: \"true\"\n")
	var out strings.Builder
	forwarded, err := Explain(context.Background(), path, ExplainRequest{User: "alice",
		Method: "GET", URL: "https://localhost/x"}, &out)
	if err != nil || !forwarded || !strings.Contains(out.String(), "decision: allowed") {
		t.Errorf("forwarded %v, error %v, output:\n%s", forwarded, err, out.String())
	}
}
