package proxy_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
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
