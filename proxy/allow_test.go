package proxy_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestAllowRulesDecide(t *testing.T) {
	up := newEcho(t)
	e := newEnvWithUpstream(t, up, `  - path: /admin/
    upstream: "`+up.URL+`"
    allow:
      groups: [admins]
  - path: /reports/
    upstream: "`+up.URL+`"
    public: [/reports/open/]
    allow:
      users: [alice]
      methods: [get, HEAD]
  - path: /app2/secret/
    upstream: "`+up.URL+`"
    allow:
      groups: [admins]
`)
	alice := e.session("alice", alicePass)
	bob := e.session("bob", bobPass)
	tests := []struct {
		who, cookie, method, path string
		want                      int
		why                       string // the 403 page's reason, when want is 403
	}{
		{"alice", alice, "GET", "/admin/", 403, "may not open this page"},
		{"alice", alice, "GET", "/admin", 403, "may not open this page"},
		{"alice", alice, "POST", "/admin/x", 403, "may not open this page"},
		{"alice", alice, "GET", "/administrator", 200, ""}, // not under /admin/
		{"bob", bob, "GET", "/admin/x", 200, ""},
		{"alice", alice, "GET", "/reports/q", 200, ""},
		{"alice", alice, "get", "/reports/q", 200, ""},
		{"alice", alice, "HEAD", "/reports/q", 200, ""},
		{"alice", alice, "POST", "/reports/q", 403,
			"may not send a POST request to this page"},
		{"alice", alice, "DELETE", "/reports/q", 403,
			"may not send a DELETE request to this page"},
		{"bob", bob, "GET", "/reports/q", 403, "may not open this page"},
		// Laravel and Symfony read a "_method" query parameter as the method.
		{"alice", alice, "GET", "/reports/q?_method=DELETE", 403,
			"may not send a DELETE request to this page"},
		{"alice", alice, "GET", "/reports/q?a=1&_METHOD=put", 403,
			"may not send a PUT request to this page"},
		{"alice", alice, "GET", "/reports/q?%5Fmethod=PATCH", 403,
			"may not send a PATCH request to this page"},
		{"alice", alice, "GET", "/reports/q?.method=DELETE", 403,
			"may not send a DELETE request to this page"},
		{"alice", alice, "GET", "/reports/q?_method[]=DELETE", 403,
			"may not send a DELETE request to this page"},
		{"alice", alice, "GET", "/reports/q?_method=GET&_method=DELETE", 403,
			"may not send a DELETE request to this page"},
		{"alice", alice, "GET", "/reports/q?%20_method=DELETE", 403,
			"may not send a DELETE request to this page"},
		{"alice", alice, "GET", "/reports/q?_method=head", 200, ""},
		// a method named in the query is shown only when it is a plain method name
		{"alice", alice, "GET", "/reports/q?_method=DELETE.%20CALL%20555%20NOW", 403,
			"may not send this request to this page"},
		{"alice", alice, "GET", "/reports/q?_method=%E2%80%AEETELED", 403,
			"may not send this request to this page"},
		{"alice", alice, "GET", "/reports/q?methodology=x&_method=", 200, ""},
		{"bob", bob, "GET", "/admin/x?_method=DELETE", 200, ""}, // no methods rule
		// Rails reads "/admin.json" as "/admin", a PHP front controller
		// "/index.php/admin/" as "/admin/": the /admin/ rule judges them too.
		{"alice", alice, "GET", "/admin.json", 403, "may not open this page"},
		{"alice", alice, "GET", "/admin.json/", 403, "may not open this page"},
		// IIS reads paths without case: "/ADMIN/" is "/admin/" there.
		{"alice", alice, "GET", "/ADMIN.JSON", 403, "may not open this page"},
		{"alice", alice, "GET", "/Admin/x", 403, "may not open this page"},
		{"alice", alice, "GET", "/adm%C4%B1n/x", 403, "may not open this page"}, // dotless i
		{"alice", alice, "GET", "/index.php/ADMIN/", 403, "may not open this page"},
		{"anonymous", "", "GET", "/public/index.php/Admin/", 401, ""},
		{"bob", bob, "GET", "/ADMIN/x", 200, ""},
		{"bob", bob, "GET", "/REPORTS/q", 403, "may not open this page"},
		{"alice", alice, "GET", "/Reports/q", 200, ""},
		{"alice", alice, "POST", "/Reports/q", 403, "may not send a POST request to this page"},
		{"alice", alice, "GET", "/ADMINISTRATOR", 200, ""},
		{"alice", alice, "GET", "/adm%C4%B0n/x", 403, "may not open this page"}, // İ
		// characters meant to be invisible, which IDNA-style folding drops
		{"alice", alice, "GET", "/admin%C2%AD/x", 403, "may not open this page"},
		{"alice", alice, "GET", "/ad%E2%80%8Bmin/x", 403, "may not open this page"},
		{"alice", alice, "GET", "/%EF%BB%BFadmin/x", 403, "may not open this page"},
		{"alice", alice, "GET", "/admin%E2%81%A0/x", 403, "may not open this page"},
		{"alice", alice, "GET", "/Admin%EF%B8%8F/x", 403, "may not open this page"},
		{"alice", alice, "GET", "/caf%C3%A9%E2%80%8C/x", 200, ""}, // none of them a rule's
		// a segment of nothing but them is no segment at all there
		{"alice", alice, "GET", "/%C2%AD/admin/x", 403, "may not open this page"},
		{"alice", alice, "GET", "/%E2%80%8B%EF%BB%BF/Admin/x", 403, "may not open this page"},
		{"alice", alice, "GET", "/%C2%AD/%E2%80%8B/admin", 403, "may not open this page"},
		// and one that leaves a trailing dot or space is read as Windows reads it
		{"alice", alice, "GET", "/admin.%C2%AD/x", 403, "may not open this page"},
		{"alice", alice, "GET", "/admin%C2%AD./x", 400, ""}, // a dot at the end: refused
		{"alice", alice, "GET", "/Admin%20%E2%80%8B/x", 403, "may not open this page"},
		{"alice", alice, "GET", "/admin.%E2%80%8B", 403, "may not open this page"},
		// spaces and "+" around a name, which apps that trim segments drop
		{"alice", alice, "GET", "/%20admin/x", 403, "may not open this page"},
		{"alice", alice, "GET", "/+admin/x", 403, "may not open this page"},
		{"alice", alice, "GET", "/+%20Admin/x", 403, "may not open this page"},
		{"alice", alice, "GET", "/x/+1234", 200, ""},
		// controls and spaces beyond ASCII, which trimming drops too: refused
		{"alice", alice, "GET", "/admin%C2%85/x", 400, ""},
		{"alice", alice, "GET", "/admin%C2%9F/x", 400, ""},
		{"alice", alice, "GET", "/admin%E2%80%A8/x", 400, ""},
		{"alice", alice, "GET", "/admin%E2%80%A9/x", 400, ""},
		{"alice", alice, "GET", "/%E1%9A%80admin/x", 400, ""},
		// IIS reads these as /admin/ too, in one go with the case
		{"alice", alice, "GET", "/Admin+/x", 403, "may not open this page"},
		{"alice", alice, "GET", "/Admin::$DATA/x", 403, "may not open this page"},
		{"alice", alice, "GET", "/Admin:$I30:$INDEX_ALLOCATION/x", 403,
			"may not open this page"},
		{"alice", alice, "GET", "/(S(abc))/Admin/x", 403, "may not open this page"},
		{"alice", alice, "GET", "/ADMIN;x/", 403, "may not open this page"},
		{"alice", alice, "GET", "/index.php/Admin+/", 403, "may not open this page"},
		{"bob", bob, "GET", "/Admin+/x", 200, ""},
		{"alice", alice, "GET", "/adminx/admin/", 200, ""},
		{"alice", alice, "GET", "/index.php/admin/x", 403, "may not open this page"},
		{"alice", alice, "GET", "/index.PHP/admin.xml", 403, "may not open this page"},
		{"alice", alice, "GET", "/public/index.php/admin/", 403, "may not open this page"},
		{"anonymous", "", "GET", "/public/index.php/admin/", 401, ""},
		{"anonymous", "", "GET", "/public/index.php/public/x", 200, ""},
		{"anonymous", "", "GET", "/public/x.json", 200, ""},
		{"bob", bob, "GET", "/admin.json", 200, ""},
		{"bob", bob, "GET", "/index.php/admin/", 200, ""},
		// other extensions PHP setups run, and Apache's AddHandler, which runs
		// "x.php.txt"
		{"anonymous", "", "GET", "/public/index.phtml/admin/", 401, ""},
		{"alice", alice, "GET", "/public/index.php5/admin/x", 403, "may not open this page"},
		{"alice", alice, "GET", "/public/x.PHAR/admin/", 403, "may not open this page"},
		{"alice", alice, "GET", "/public/x.php.txt/admin/", 403, "may not open this page"},
		{"alice", alice, "GET", "/public/x.phpx/admin/", 200, ""}, // no PHP extension
		{"alice", alice, "GET", "/administrator.json", 200, ""},
		{"alice", alice, "GET", "/a/.php/admin/", 200, ""}, // no script name
		// an app under /app2/ with its front controller there
		{"alice", alice, "GET", "/app2/index.php/secret/x", 403, "may not open this page"},
		{"alice", alice, "GET", "/app2/index.php/secret.json", 403,
			"may not open this page"},
		{"alice", alice, "GET", "/app2/index.php/other", 200, ""},
		{"bob", bob, "GET", "/app2/index.php/secret/x", 200, ""},
		{"alice", alice, "GET", "/reports.csv", 200, ""},
		{"alice", alice, "POST", "/reports.csv", 403,
			"may not send a POST request to this page"},
		{"alice", alice, "GET", "/index.php/reports/q?_method=DELETE", 403,
			"may not send a DELETE request to this page"},
		{"bob", bob, "GET", "/index.php/reports/q", 403, "may not open this page"},
		{"anonymous", "", "GET", "/reports/open/x", 200, ""},
		{"bob", bob, "POST", "/reports/open/x", 200, ""},
		{"anonymous", "", "GET", "/admin/", 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.who+" "+tt.method+" "+tt.path, func(t *testing.T) {
			before := up.count()
			r := e.raw(tt.method, tt.path, tt.cookie, http.Header{
				"X-HTTP-Method-Override": {"GET"}, "X-Forwarded-Groups": {"admins"},
			})
			if r.StatusCode != tt.want {
				t.Errorf("status: got %d, want %d", r.StatusCode, tt.want)
			}
			if tt.why != "" && !strings.Contains(r.body, "signed in as "+tt.who+", who "+tt.why) {
				t.Errorf("403 page does not say %q:\n%s", tt.why, r.body)
			}
			if contacted := up.count() != before; contacted != (tt.want == 200) {
				t.Errorf("upstream contacted: %v", contacted)
			} else if contacted && up.last(t).Method != strings.ToUpper(tt.method) {
				// the method the rule judged, not one an app might read otherwise
				t.Errorf("upstream got method %q, want %q", up.last(t).Method,
					strings.ToUpper(tt.method))
			}
		})
	}
}

// TestCasedRoutePrefix: a route whose path has capitals judges the path in any case, so
// "/reports/x" must pass the "/Reports/" rule on an app that ignores case.
func TestCasedRoutePrefix(t *testing.T) {
	up := newEcho(t)
	e := newEnvWithUpstream(t, up, `  - path: /Reports/
    upstream: "`+up.URL+`"
    allow:
      groups: [admins]
`)
	alice, bob := e.session("alice", alicePass), e.session("bob", bobPass)
	for _, tt := range []struct {
		who, cookie, path string
		want              int
	}{
		{"alice", alice, "/reports/x", 403},
		{"alice", alice, "/REPORTS/x", 403},
		{"alice", alice, "/Reports/x", 403},
		{"alice", alice, "/report/x", 200},
		{"bob", bob, "/reports/x", 200},
	} {
		if r := e.raw("GET", tt.path, tt.cookie, nil); r.StatusCode != tt.want {
			t.Errorf("%s GET %s: status %d, want %d", tt.who, tt.path, r.StatusCode, tt.want)
		}
	}
}

// TestTooManyReadingsRefused: a path whose readings lead on and on is refused, not
// judged in part.
func TestTooManyReadingsRefused(t *testing.T) {
	e := newEnv(t, "")
	alice := e.session("alice", alicePass)
	deep := strings.Repeat("/x.php", 20) + "/y"
	if r := e.raw("GET", deep, alice, nil); r.StatusCode != http.StatusBadRequest {
		t.Errorf("%s: status %d, want 400", deep, r.StatusCode)
	}
	if r := e.raw("GET", strings.Repeat("/x.php", 3)+"/y", alice, nil); r.StatusCode !=
		http.StatusOK {
		t.Errorf("three scripts deep: status %d, want 200", r.StatusCode)
	}
}

// TestStrippedRouteFrontController: behind strip_prefix an app's root is the route's
// prefix, so its front controller's "/admin/" is the gateway's "/app/admin/", and that
// route's rule judges it.
func TestStrippedRouteFrontController(t *testing.T) {
	up := newEcho(t)
	e := newEnvWithUpstream(t, up, `  - path: /app/
    upstream: "`+up.URL+`"
    strip_prefix: true
    public: [/app/public/]
    allow:
      groups: [admins]
`)
	alice, bob := e.session("alice", alicePass), e.session("bob", bobPass)
	for _, tt := range []struct {
		who, cookie, path string
		want              int
		upstream          string // the path the app gets, when it gets the request
	}{
		{"anonymous", "", "/app/public/index.php/admin/", 401, ""},
		{"alice", alice, "/app/public/index.php/admin/", 403, ""},
		{"alice", alice, "/app/public/index.phtml/admin/x", 403, ""},
		{"bob", bob, "/app/public/index.php/admin/", 200, "/public/index.php/admin/"},
		{"anonymous", "", "/app/public/index.php/public/x", 200,
			"/public/index.php/public/x"},
		{"anonymous", "", "/app/public/x", 200, "/public/x"},
		{"alice", alice, "/app/x", 403, ""},
	} {
		t.Run(tt.who+" "+tt.path, func(t *testing.T) {
			before := up.count()
			r := e.raw("GET", tt.path, tt.cookie, nil)
			if r.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", r.StatusCode, tt.want)
			}
			contacted := up.count() != before
			if contacted != (tt.upstream != "") {
				t.Fatalf("upstream contacted: %v", contacted)
			}
			if contacted && up.last(t).RequestURI != tt.upstream {
				t.Errorf("upstream got %q, want %q", up.last(t).RequestURI, tt.upstream)
			}
		})
	}
}

// TestPublicFileOpen: a public entry that names a file, such as /favicon.ico, opens that
// very path, though a framework may read it as /favicon in the format ico, on the same
// route; a reading on another route still meets that route's rule, and other paths
// whose readings are protected still need a sign-in.
func TestPublicFileOpen(t *testing.T) {
	up := newEcho(t)
	e := newEnvFromYAML(t, up, t.TempDir(), fmt.Sprintf("session:\n  secrets: [%q]\n",
		secret)+"routes:\n  - path: /\n    upstream: \""+up.URL+"\"\n"+
		"    public: [/favicon.ico, /robots.txt, /static/, /admin.json, /docs.v2/, "+
		"/index.php]\n"+
		"  - path: /admin/\n    upstream: \""+up.URL+"\"\n    allow:\n      users: [bob]\n")
	alice, bob := e.session("alice", alicePass), e.session("bob", bobPass)
	for _, tt := range []struct {
		who, cookie, path string
		want              int
	}{
		{"anonymous", "", "/favicon.ico", 200},
		{"anonymous", "", "/robots.txt", 200},
		{"anonymous", "", "/static/app.min.js", 200},
		{"anonymous", "", "/favicon.ico/", 401},      // not the path named
		{"anonymous", "", "/favicon.ico/x.ico", 200}, // under the entry, read so too
		{"anonymous", "", "/favicon.png", 401},
		{"anonymous", "", "/FAVICON.ICO", 401},
		{"anonymous", "", "/docs.v2/", 401}, // a folder is not a file
		// a front controller is no file: it serves the app, routed by its query
		{"anonymous", "", "/index.php", 401},
		{"alice", alice, "/index.php", 200},
		// read as /admin, which the /admin/ route keeps for bob
		{"anonymous", "", "/admin.json", 401},
		{"alice", alice, "/admin.json", 403},
		{"bob", bob, "/admin.json", 200},
	} {
		t.Run(tt.who+" "+tt.path, func(t *testing.T) {
			if r := e.raw("GET", tt.path, tt.cookie, nil); r.StatusCode != tt.want {
				t.Errorf("status %d, want %d", r.StatusCode, tt.want)
			}
		})
	}
}
