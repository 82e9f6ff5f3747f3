package proxy_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestForwardAuth(t *testing.T) {
	e := newEnv(t, "  - path: /api/\n    upstream: \"http://127.0.0.1:1\"\n"+
		"    allow:\n      methods: [GET]\n"+"trusted_proxies: [\"10.0.0.2/32\"]\n")
	alice := e.session("alice", alicePass)
	ask := func(from, cookie string, hdr ...string) *http.Response {
		req := httptest.NewRequest("GET", "http://gw.example.test/.gateway/auth", nil)
		req.RemoteAddr = from + ":5000"
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Add(hdr[i], hdr[i+1])
		}
		if cookie != "" {
			req.Header.Set("Cookie", "gateway_session="+cookie)
		}
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		return rec.Result()
	}
	const proxy, direct = "10.0.0.2", "10.9.9.9"
	tests := []struct {
		name, from, cookie string
		hdr                []string
		want               int
		user               string
	}{
		{"direct client, public claim", direct, "", []string{"X-Forwarded-Uri", "/public/"},
			401, ""},
		{"direct client with a session", direct, alice, []string{"X-Forwarded-Uri", "/app/"},
			401, ""},
		{"no session", proxy, "", []string{"X-Forwarded-Uri", "/app/whoami"}, 401, ""},
		{"public", proxy, "", []string{"X-Forwarded-Uri", "/public/x?y=1"}, 200, ""},
		{"signed in", proxy, alice, []string{"X-Forwarded-Method", "GET",
			"X-Forwarded-Uri", "/app/whoami"}, 200, "alice"},
		{"signed in, public", proxy, alice, []string{"X-Forwarded-Uri", "/public/"}, 200,
			"alice"},
		{"nginx X-Original-URL", proxy, alice, []string{"X-Original-URL",
			"https://gw.example.test/app/x?y"}, 200, "alice"},
		{"garbage cookie", proxy, "AAAA", []string{"X-Forwarded-Uri", "/app/"}, 401, ""},
		{"no target", proxy, alice, nil, 403, ""},
		{"two targets that differ", proxy, "", []string{"X-Forwarded-Uri", "/public/",
			"X-Original-URL", "/app/"}, 403, ""},
		{"target repeated", proxy, "", []string{"X-Forwarded-Uri", "/public/",
			"X-Forwarded-Uri", "/public/"}, 403, ""},
		{"dot segments", proxy, "", []string{"X-Forwarded-Uri", "/public/../app/"}, 403, ""},
		{"encoded dots", proxy, "", []string{"X-Forwarded-Uri", "/public/%2e%2e/app/"}, 403,
			""},
		{"params that change the decision", proxy, "", []string{"X-Forwarded-Uri",
			"/public;x/../app"}, 403, ""},
		{"the gateway's own pages", proxy, alice, []string{"X-Forwarded-Uri",
			"/.gateway/logout"}, 403, ""},
		{"relative target", proxy, "", []string{"X-Forwarded-Uri", "public/x"}, 403, ""},
		{"javascript target", proxy, "", []string{"X-Original-URL", "javascript:x"}, 403,
			""},
		{"bad method", proxy, alice, []string{"X-Forwarded-Method", "GET /x",
			"X-Forwarded-Uri", "/app/"}, 403, ""},
		{"nginx X-Original-URI", proxy, alice, []string{"X-Original-URI", "/app/x"}, 200,
			"alice"},
		{"X-Original-URI disagrees", proxy, alice, []string{"X-Original-URI", "/admin/",
			"X-Forwarded-Uri", "/public/x"}, 403, ""},
		{"methods rule, method given", proxy, alice, []string{"X-Forwarded-Uri", "/api/x",
			"X-Forwarded-Method", "get"}, 200, "alice"},
		{"methods rule, other method", proxy, alice, []string{"X-Forwarded-Uri", "/api/x",
			"X-Forwarded-Method", "DELETE"}, 403, ""},
		{"methods rule, no method", proxy, alice, []string{"X-Forwarded-Uri", "/api/x"},
			403, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := ask(tt.from, tt.cookie, tt.hdr...)
			if res.StatusCode != tt.want {
				t.Errorf("status: got %d, want %d", res.StatusCode, tt.want)
			}
			if got := res.Header.Get("X-Forwarded-User"); got != tt.user {
				t.Errorf("X-Forwarded-User: got %q, want %q", got, tt.user)
			}
			if tt.user != "" && res.Header.Get("X-Forwarded-Groups") != "staff" {
				t.Errorf("X-Forwarded-Groups: got %q, want staff",
					res.Header.Get("X-Forwarded-Groups"))
			}
		})
	}
	if n := e.up.count(); n != 0 {
		t.Errorf("forward-auth contacted the upstream %d times", n)
	}
}
