package proxy

import (
	"net/http"
	"strings"
	"testing"
)

func TestHeaderFilter(t *testing.T) {
	f := newHeaderFilter([]string{"X-Forwarded-User", "Remote-Email", "X-Team"}, true,
		[]string{"X-App-User", "X-Legacy-*"})
	for _, tt := range []struct {
		name string
		want bool
	}{
		{"X-Forwarded-User", true},
		{"x_forwarded_user", true},
		{"X.FORWARDED.USER", true},
		{"X-forwarded_User", true},
		{"Remote-Email", true},
		{"remote_email", true},
		{"X_Team", true},
		{"X-Gateway-Anything", true},
		{"x_gateway_assertion", true},
		{"X-Auth-Request-Groups", true},
		{"X-Webauth-User", true},
		{"Remote-User", true},
		{"X-Real-IP", true},
		{"X-Original-URL", true},
		{"X-HTTP-Method-Override", true},
		{"Forwarded", true},
		{"Session", true},
		{"Impersonate-User", true},
		{"Impersonate-Extra-Scopes", true},
		{"X-SSL-Client-DN", true},
		{"Gateway_Login", true},
		{"gateway.device", true},
		{strings.Repeat("x", 100), false},
		{"X-Forwarded-" + strings.Repeat("a", 100), true},
		{"Accept", false},
		{"User-Agent", false},
		{"Cookie", false},
		{"X-Teams", false},
		{"x_app_user", true},
		{"X-App-Users", false},
		{"X.Legacy.Anything", true},
		{"X-Requested-With", false},
		// client-address claims that common app stacks read
		{"X-Originating-IP", true},
		{"Proxy-Client-IP", true},
		{"WL_Proxy_Client_IP", true},
		{"X-ARR-ClientIP", true},
		{"CloudFront-Viewer-Address", true},
		{"Fly-Client-IP", true},
		{"Forwarded-For", true},
		{"Via", true},
		// identity claims of other gateways and platforms
		{"X-Vouch-User", true},
		{"X-Vouch-Idp-Claims-Email", true},
		{"Tailscale-User-Login", true},
		{"X-Userinfo", true},
		{"X-Jwt-Assertion", true},
		{"X-Iap-User", true},
		{"X-Auth-Token", true},
		{"Authenticated-User", true},
		{"X-Kubernetes-Remote-User", true},
		{"X-Viewport", false},
	} {
		if got := f.blocked(tt.name); got != tt.want {
			t.Errorf("blocked(%q): got %v, want %v", tt.name, got, tt.want)
		}
	}
}

// FuzzHeaderFilter checks that the allocation-free fast path agrees with the plain
// definition, and that no spelling of a configured name gets through.
func FuzzHeaderFilter(f *testing.F) {
	for _, s := range []string{"X-Forwarded-User", "x_forwarded_user", "X.Gateway.A", "Accept"} {
		f.Add(s)
	}
	fl := newHeaderFilter([]string{"X-Forwarded-User", "X-Forwarded-Email", "X-Team"}, true,
		nil)
	f.Fuzz(func(t *testing.T, name string) {
		folded := foldName(name)
		if got, want := fl.blocked(name), fl.blockedFolded(folded); got != want {
			t.Fatalf("blocked(%q) = %v, but its folded form says %v", name, got, want)
		}
		for _, id := range []string{"x-forwarded-user", "x-forwarded-email", "x-team"} {
			if folded == id && !fl.blocked(name) {
				t.Fatalf("%q folds to %q but is not blocked", name, id)
			}
		}
		h := http.Header{name: {"v"}, "Accept": {"a"}}
		fl.strip(h)
		if _, ok := h[name]; ok == fl.blocked(name) && name != "Accept" {
			t.Fatalf("strip kept=%v for %q, blocked=%v", ok, name, fl.blocked(name))
		}
	})
}

func TestStripCookies(t *testing.T) {
	for _, tt := range []struct {
		in   []string
		want []string
	}{
		{[]string{"a=1; gateway_session=x; b=2"}, []string{"a=1; b=2"}},
		{[]string{"gateway_session=x"}, nil},
		{[]string{"gateway_session=x; gateway_login=y"}, nil},
		{[]string{"a=1", "gateway_login=y", "b=2"}, []string{"a=1; b=2"}},
		{[]string{"a=1;gateway_session=x;b=2"}, []string{"a=1; b=2"}},
		{[]string{"my_gateway_session=1"}, []string{"my_gateway_session=1"}},
		{[]string{"a=1;  b=2"}, []string{"a=1;  b=2"}}, // untouched without ours
		{nil, nil},
	} {
		h := http.Header{}
		if tt.in != nil {
			h["Cookie"] = tt.in
		}
		stripCookies(h, "gateway_session", "gateway_login")
		if got := h["Cookie"]; strings.Join(got, "|") != strings.Join(tt.want, "|") ||
			(tt.want == nil && got != nil) {
			t.Errorf("stripCookies(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzStripCookies(f *testing.F) {
	f.Add("a=1; gateway_session=x; b=2", "gateway_login=1")
	f.Add(" gateway_session =x", ";;")
	f.Fuzz(func(t *testing.T, l1, l2 string) {
		h := http.Header{"Cookie": {l1, l2}}
		stripCookies(h, "gateway_session", "gateway_login")
		r := &http.Request{Header: h}
		for _, c := range r.Cookies() {
			if c.Name == "gateway_session" || c.Name == "gateway_login" {
				t.Fatalf("cookie %s survived in %q", c.Name, h["Cookie"])
			}
		}
	})
}

func TestHeaderFilterWithoutBuiltinAliases(t *testing.T) {
	f := newHeaderFilter([]string{"X-Forwarded-User"}, false, nil)
	for name, want := range map[string]bool{
		"Remote-User": false, "X-Webauth-User": false, "X_Forwarded_User": true,
		"X-Forwarded-Anything": true, "X-Gateway-Assertion": true, "X-Real-IP": true,
	} {
		if got := f.blocked(name); got != want {
			t.Errorf("blocked(%q) without built-in aliases: got %v, want %v", name, got, want)
		}
	}
}
