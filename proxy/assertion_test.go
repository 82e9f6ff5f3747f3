package proxy_test

import (
	"io"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// TestAssertionVerifiesAgainstJWKS checks the gateway's assertion with an independent
// JOSE implementation, against the keys the gateway publishes.
func TestAssertionVerifiesAgainstJWKS(t *testing.T) {
	up := newEcho(t)
	e := newEnvWithUpstream(t, up, "  - host: 127.0.0.1\n    path: /signed/\n"+
		"    upstream: \""+up.URL+"\"\n    public: [/signed/open/]\n    assertion: true\n"+
		"  - path: /loose/\n    upstream: \""+up.URL+"\"\n    assertion: true\n"+
		"  - host: \"*.example.test\"\n    upstream: \""+up.URL+"\"\n    assertion: true\n")
	alice := e.session("alice", alicePass)

	res, err := http.Get(e.gw.URL + "/.gateway/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	set, err := jwk.Parse(body)
	if err != nil {
		t.Fatalf("JWKS %q: %v", body, err)
	}

	r := e.raw("GET", "/signed/x", alice, http.Header{"X-Gateway-Assertion": {"forged"}})
	if r.StatusCode != 200 {
		t.Fatalf("status %d", r.StatusCode)
	}
	got := up.last(t).Header.Values("X-Gateway-Assertion")
	if len(got) != 1 || got[0] == "forged" {
		t.Fatalf("upstream got assertions %q, want exactly the gateway's", got)
	}
	// On a route for one host, the audience is that host and the upstream the token was
	// sent to, so that an app on another host, or on the same host by another path, can
	// refuse it.
	gwURL, _ := url.Parse(e.gw.URL)
	host := gwURL.Hostname()
	tok, err := jwt.Parse([]byte(got[0]), jwt.WithKeySet(set), jwt.WithValidate(true),
		jwt.WithIssuer("gateway"), jwt.WithAudience(host), jwt.WithAcceptableSkew(time.Second))
	if err != nil {
		t.Fatalf("assertion does not verify: %v", err)
	}
	if aud, _ := tok.Audience(); !slices.Equal(aud, []string{host, up.URL}) {
		t.Errorf("aud: got %q, want [%q %q]", aud, host, up.URL)
	}
	if _, err := jwt.Parse([]byte(got[0]), jwt.WithKeySet(set), jwt.WithValidate(true),
		jwt.WithAudience("other.example.test")); err == nil {
		t.Error("assertion verifies for another audience")
	}
	// A route for any host, or for a wildcard, takes the host the client names: its
	// tokens name the upstream alone, never a host the client chose.
	for _, host := range []string{"payroll.internal", "payroll.example.test"} {
		path := "/loose/x"
		if host == "payroll.example.test" {
			path = "/x"
		}
		r := e.raw("GET", path, alice, http.Header{"Host": {host}})
		if r.StatusCode != 200 {
			t.Fatalf("%s on %s: status %d", path, host, r.StatusCode)
		}
		tok, err := jwt.Parse([]byte(up.last(t).Header.Get("X-Gateway-Assertion")),
			jwt.WithKeySet(set), jwt.WithValidate(true), jwt.WithAudience(up.URL))
		if err != nil {
			t.Fatalf("%s on %s: assertion does not verify for the upstream: %v", path,
				host, err)
		}
		if aud, _ := tok.Audience(); !slices.Equal(aud, []string{up.URL}) {
			t.Errorf("%s on %s: aud %q, want only %q", path, host, aud, up.URL)
		}
	}

	if sub, _ := tok.Subject(); sub != "alice" {
		t.Errorf("sub: got %q, want alice", sub)
	}
	var groups []any
	if err := tok.Get("groups", &groups); err != nil || len(groups) != 1 ||
		groups[0] != "staff" {
		t.Errorf("groups: got %v, %v", groups, err)
	}

	// Anonymous on a public path of the route, and signed in on a route without
	// assertion: none, and the client's copy is gone.
	for _, c := range []struct{ path, cookie string }{{"/signed/open/x", ""},
		{"/other", alice}} {
		if r := e.raw("GET", c.path, c.cookie, http.Header{
			"X-Gateway-Assertion": {"forged"}}); r.StatusCode != 200 {
			t.Fatalf("%s: status %d", c.path, r.StatusCode)
		}
		if v := up.last(t).Header.Values("X-Gateway-Assertion"); len(v) != 0 {
			t.Errorf("%s: upstream got %q, want no assertion", c.path, v)
		}
	}
}
