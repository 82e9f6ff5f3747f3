package proxy_test

import (
	"net/http"
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
`)
	alice := e.session("alice", alicePass)
	bob := e.session("bob", bobPass)
	tests := []struct {
		who, cookie, method, path string
		want                      int
	}{
		{"alice", alice, "GET", "/admin/", 403},
		{"alice", alice, "GET", "/admin", 403},
		{"alice", alice, "POST", "/admin/x", 403},
		{"alice", alice, "GET", "/administrator", 200}, // not under /admin/
		{"bob", bob, "GET", "/admin/x", 200},
		{"alice", alice, "GET", "/reports/q", 200},
		{"alice", alice, "get", "/reports/q", 200},
		{"alice", alice, "HEAD", "/reports/q", 200},
		{"alice", alice, "POST", "/reports/q", 403},
		{"alice", alice, "DELETE", "/reports/q", 403},
		{"bob", bob, "GET", "/reports/q", 403},
		{"anonymous", "", "GET", "/reports/open/x", 200},
		{"bob", bob, "POST", "/reports/open/x", 200},
		{"anonymous", "", "GET", "/admin/", 401},
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
			if contacted := up.count() != before; contacted != (tt.want == 200) {
				t.Errorf("upstream contacted: %v", contacted)
			}
		})
	}
}
