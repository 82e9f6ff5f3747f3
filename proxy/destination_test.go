package proxy_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/frontgate/gateway/proxy"
)

// TestDestinationJudged: the place a WebDAV COPY or MOVE names in its Destination header
// is judged as the request's own path is, with its method, and the app is sent the
// place the rules judged, as it knows it. Otherwise anyone who may write one path could
// copy or move a file over any other page of the app.
func TestDestinationJudged(t *testing.T) {
	up, other := newEcho(t), newEcho(t)
	e := newEnvFromYAML(t, up, t.TempDir(), fmt.Sprintf("session:\n  secrets: [%q]\n",
		secret)+"routes:\n"+
		"  - path: /\n    upstream: \""+up.URL+"\"\n    public: [/public/]\n"+
		"  - path: /admin/\n    upstream: \""+up.URL+"\"\n    allow: {groups: [admins]}\n"+
		"  - path: /ro/\n    upstream: \""+up.URL+"\"\n    allow: {methods: [GET, HEAD]}\n"+
		"  - path: /app/\n    upstream: \""+up.URL+"/base\"\n    strip_prefix: true\n"+
		"  - path: /other/\n    upstream: \""+other.URL+"\"\n")
	host := e.gw.Listener.Addr().String()
	abs := "http://" + host
	alice := e.session("alice", alicePass) // staff
	bob := e.session("bob", bobPass)       // admins
	for _, tt := range []struct {
		name, who, method, path string
		dest                    []string
		status                  int
		sent                    string // the Destination the app gets, when it is reached
	}{
		{"anonymous, public to protected", "", "MOVE", "/public/a",
			[]string{abs + "/admin/index.html"}, 401, ""},
		{"anonymous, public to a protected path of the same route", "", "COPY", "/public/a",
			[]string{"/private.txt"}, 401, ""},
		{"anonymous, public to public", "", "MOVE", "/public/a", []string{"/public/b"}, 200,
			"/public/b"},
		{"anonymous, public to public, absolute", "", "COPY", "/public/a",
			[]string{abs + "/public/b"}, 200, abs + "/public/b"},
		{"https named, http upstream", "", "COPY", "/public/a",
			[]string{"https://" + host + "/public/b"}, 200, abs + "/public/b"},
		{"with a query", "", "COPY", "/public/a", []string{"/public/b?x=1"}, 400, ""},
		// nginx's dav module takes the path from the first "/" after the host
		{"a path in the query", alice, "COPY", "/notes", []string{abs + "?/admin/x"}, 400,
			""},
		{"no path", alice, "COPY", "/notes", []string{abs}, 400, ""},
		{"a space", alice, "COPY", "/notes", []string{"/x.txt, " + abs + "/admin/y"}, 400,
			""},
		{"a raw quote", alice, "COPY", "/notes", []string{`/x"y`}, 400, ""},
		{"not in the group", alice, "COPY", "/notes", []string{abs + "/admin/index.html"},
			403, ""},
		{"in the group", bob, "COPY", "/notes", []string{abs + "/admin/index.html"}, 200,
			abs + "/admin/index.html"},
		{"a method the rule does not allow there", alice, "MOVE", "/notes",
			[]string{"/ro/x"}, 403, ""},
		{"another reading: case", alice, "MOVE", "/notes", []string{"/Admin/index.html"},
			403, ""},
		{"another reading: PHP path info", alice, "MOVE", "/notes",
			[]string{"/index.php/admin/x"}, 403, ""},
		{"another reading: format suffix", alice, "MOVE", "/notes",
			[]string{"/admin.json"}, 403, ""},
		{"another host", alice, "MOVE", "/notes", []string{"http://evil.example/notes"},
			403, ""},
		{"another app", alice, "MOVE", "/notes", []string{"/other/x"}, 403, ""},
		{"the gateway's own page", alice, "MOVE", "/notes", []string{"/.gateway/login"},
			403, ""},
		{"encoded dot segments", alice, "MOVE", "/notes", []string{"/a/%2e%2e/admin/x"},
			400, ""},
		{"encoded slash", alice, "MOVE", "/notes", []string{"/admin%2fx"}, 400, ""},
		{"scheme-relative", alice, "MOVE", "/notes", []string{"//evil.example/x"}, 400, ""},
		{"a relative path", alice, "MOVE", "/notes", []string{"admin/x"}, 400, ""},
		{"a script", alice, "MOVE", "/notes", []string{"javascript:alert(1)"}, 400, ""},
		{"user info", alice, "MOVE", "/notes", []string{"http://a@" + host + "/x"}, 400, ""},
		{"a fragment", alice, "MOVE", "/notes", []string{"/x#y"}, 400, ""},
		{"empty", alice, "MOVE", "/notes", []string{""}, 400, ""},
		{"twice", bob, "MOVE", "/notes", []string{"/x", "/admin/x"}, 400, ""},
		{"slashes merged, as for the path", alice, "MOVE", "/notes", []string{"/a//b"}, 200,
			"/a/b"},
		{"under strip_prefix", alice, "MOVE", "/app/x", []string{abs + "/app/y"}, 200,
			abs + "/base/y"},
		{"from strip_prefix to a route without", alice, "MOVE", "/app/x",
			[]string{abs + "/notes"}, 200, abs + "/notes"},
		{"any method carrying one", alice, "GET", "/notes", []string{"/admin/x"}, 403, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := up.count()
			r := e.raw(tt.method, tt.path, tt.who, http.Header{"Destination": tt.dest})
			if r.StatusCode != tt.status {
				t.Fatalf("%s %s, Destination %q: status %d, want %d", tt.method, tt.path,
					tt.dest, r.StatusCode, tt.status)
			}
			if tt.status != 200 {
				if up.count() != before {
					t.Errorf("the app was reached: %+v", up.last(t))
				}
				return
			}
			got := up.last(t).Header.Values("Destination")
			if len(got) != 1 || got[0] != tt.sent {
				t.Errorf("the app got Destination %q, want %q", got, tt.sent)
			}
		})
	}
	if other.count() != 0 {
		t.Errorf("the other app was reached %d times", other.count())
	}
}

// TestForwardAuthDestination: behind a front proxy the app gets the client's
// Destination as it was sent, so forward-auth judges it as the gateway does when it
// proxies, with the described method, which must then be given.
func TestForwardAuthDestination(t *testing.T) {
	up := newEcho(t)
	e := newEnvFromYAML(t, up, t.TempDir(), fmt.Sprintf("session:\n  secrets: [%q]\n",
		secret)+"trusted_proxies: [\"10.0.0.2/32\"]\nroutes:\n"+
		"  - path: /\n    upstream: \""+up.URL+"\"\n    public: [/public/]\n"+
		"  - path: /admin/\n    upstream: \""+up.URL+"\"\n    allow: {groups: [admins]}\n"+
		"  - path: /ro/\n    upstream: \""+up.URL+"\"\n    allow: {methods: [GET, HEAD]}\n")
	alice := e.session("alice", alicePass) // staff
	bob := e.session("bob", bobPass)       // admins
	const site = "http://gw.example.test"
	for _, tt := range []struct {
		name, cookie, method, path, dest string
		want                             int
	}{
		{"anonymous, public to protected", "", "MOVE", "/public/a", site + "/admin/x", 401},
		{"anonymous, public to public", "", "MOVE", "/public/a", "/public/b", 200},
		{"not in the group", alice, "COPY", "/notes", site + "/admin/index.html", 403},
		{"in the group", bob, "COPY", "/notes", site + "/admin/index.html", 200},
		{"a method the rule does not allow there", alice, "MOVE", "/notes", "/ro/x", 403},
		{"another reading", alice, "MOVE", "/notes", "/ADMIN/x", 403},
		{"another host", alice, "MOVE", "/notes", "http://other.example.test/notes", 403},
		{"the gateway's own page", alice, "MOVE", "/notes", "/.gateway/logout", 403},
		{"slashes the app reads apart", alice, "MOVE", "/notes", "/a//admin/x", 403},
		{"a path in the query", alice, "COPY", "/notes", site + "?/admin/x", 403},
		{"a query", alice, "COPY", "/notes", "/notes2?/../admin/x", 403},
		{"no path", alice, "COPY", "/notes", site, 403},
		{"no method described", bob, "", "/notes", "/x", 403},
		{"the method in lower case", bob, "move", "/notes", "/x", 403},
		{"allowed", alice, "MOVE", "/notes", site + "/notes2", 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hdr := []string{"X-Forwarded-Uri", tt.path, "Destination", tt.dest}
			if tt.method != "" {
				hdr = append(hdr, "X-Forwarded-Method", tt.method)
			}
			res := askForwardAuth(t, e, proxy.AuthPath, faProxy, tt.cookie, hdr...)
			if res.StatusCode != tt.want {
				t.Errorf("%s %s, Destination %s: status %d, want %d", tt.method, tt.path,
					tt.dest, res.StatusCode, tt.want)
			}
		})
	}
}
