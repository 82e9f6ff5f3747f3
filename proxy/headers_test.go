package proxy

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
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
		{"X~Forwarded~User", true},
		{"X|Forwarded|User", true},
		{"X!Forwarded*User", true},
		{"x#forwarded$user", true},
		{"X%Forwarded&User", true},
		{"X'Forwarded+User", true},
		{"X^Forwarded`User", true},
		{"Remote~User", true},
		{"X~HTTP~Method~Override", true},
		{"X~Gateway~Anything", true},
		{"XForwardedUser", false},
		{"X-Forwarded-User2", true}, // under the x-forwarded- prefix
		{"Remoteuser", false},
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
		{"X-SSL-Cert", true},
		{"x_ssl_verify", true},
		{"X-Client-Certificate", true},
		{"OIDC_access_token", true},
		{"oidc_id_token", true},
		{"OIDC_CLAIM_email", true},
		{"X-SSL", false},
		{"Cf-Cert-Verified", true},
		{"Cf-Client-Cert-Sha256", true},
		{"Oidcx", false},
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
		{"X-Custom-IP-Authorization", true},
		// the original request's host or address, as frameworks and caches may read it
		{"X-HTTP-Host-Override", true},
		{"x_host_override", true},
		{"Proxy-Host", true},
		{"X-Proxy-Url", true},
		{"Base-Url", true},
		{"Base-Urls", false},
		// identity claims of other gateways and platforms
		{"iv-user", true},
		{"IV_GROUPS", true},
		{"SM_USER", true},
		{"smuser", true},
		{"Sm-Universalid", true},
		{"Shib-Identity-Provider", true},
		{"x_shib_user", true},
		{"X-Ldap-User", true},
		{"eppn", true},
		{"Http_Remote_User", true},
		{"Ivory", false},
		{"Smart", false},
		{"X-Vouch-User", true},
		{"X-Vouch-Idp-Claims-Email", true},
		{"Tailscale-User-Login", true},
		{"X-Userinfo", true},
		{"X-Jwt-Assertion", true},
		{"X-Iap-User", true},
		{"X-Auth-Token", true},
		{"Authenticated-User", true},
		{"X-Kubernetes-Remote-User", true},
		{"Ssl-Client-S-Dn", true},
		{"X-Ssl-User", true},
		{"x_impersonate_user", true},
		{"X-Act-As", true},
		{"X-Roles", true},
		{"x_role", true},
		{"X-Roleplay", false},
		{"X-Actor", false},
		{"X-Viewport", false},
		// Louketo, caddy-security, client certificates, Sandstorm and the like
		{"X-Auth-Userid", true},
		{"X-Auth-Subject", true},
		{"x_auth_roles", true},
		{"X-Token-User-Email", true},
		{"X-Token-User-Roles", true},
		{"Client-Cert", true},
		{"Client-Cert-Chain", true},
		{"X-Arr-ClientCert", true},
		{"X-Amzn-Mtls-Clientcert-Leaf", true},
		{"X-Tls-Client-Cert", true},
		{"Es-Security-Runas-User", true},
		{"X-Sandstorm-Username", true},
		{"X-Ms-Token-Aad-Id-Token", true},
		{"X-Goog-Iap-Jwt-Assertion", true},
		{"Teleport-Jwt-Assertion", true},
		{"X-Anonymous-Consumer", true},
		{"Client-Hints", false},
		{"X-Token", false},
		// app servers' and platforms' own identity and address headers
		{"$WSRU", true},
		{"$wsra", true},
		{"_WSIS", true},
		{"$WSSC", true},
		{"WS", false},
		{"Wsdl", false},
		{"OAM_REMOTE_USER", true},
		{"Oam-Identity-Assertion", true},
		{"WL-Proxy-Client-Cert", true},
		{"X-Auth-CouchDB-Roles", true},
		{"X-Proxy-Roles", true},
		{"X-Proxy-Ext-Department", true},
		{"X-Iisnode-Auth_user", true},
		{"X-Endpoint-API-UserInfo", true},
		{"X-AppEngine-User-IsAdmin", true},
		{"X-Appengine-Cron", true},
		{"CT_REMOTE_USER", true},
		{"AuthUser", true},
		{"X-Scope-OrgID", true},
		{"Incap-Client-IP", true},
		{"CF-Connecting-IPv6", true},
		{"DO-Connecting-IP", true},
		{"X-Nf-Client-Connection-Ip", true},
		{"X-Azure-FDID", true},
	} {
		if got := f.blocked(tt.name); got != tt.want {
			t.Errorf("blocked(%q): got %v, want %v", tt.name, got, tt.want)
		}
	}
}

// headerRule is the header filter's contract, written apart from its code: a client
// header is removed when its folded name equals one of names or starts with one of
// prefixes, and passes otherwise.
type headerRule struct {
	names, prefixes []string
}

// alwaysRemovedPrefixes are the name families removed whatever the configuration: the
// gateway's reserved headers, the forwarding headers it writes itself, names like its
// cookies', and the original-request and Envoy families.
var alwaysRemovedPrefixes = []string{
	"x-gateway-", "x-forwarded-", "gateway-", "x-original-", "x-envoy-", "$ws",
}

// newHeaderRule states the contract for a filter built from the same arguments as
// newHeaderFilter.
func newHeaderRule(identity []string, builtin bool, extra []string) headerRule {
	r := headerRule{prefixes: slices.Clone(alwaysRemovedPrefixes)}
	r.names = slices.Concat(identity, forwardedHeaders, methodOverrideHeaders)
	if builtin {
		r.names = append(r.names, identityAliases...)
		r.prefixes = append(r.prefixes, identityAliasPrefixes...)
	}
	for _, n := range extra {
		if p, ok := strings.CutSuffix(n, "*"); ok {
			r.prefixes = append(r.prefixes, p)
		} else {
			r.names = append(r.names, n)
		}
	}
	return r
}

// ruleFold reads a name as the contract does, byte by byte: ASCII letters in lower case,
// ASCII digits as they are, and every other byte as "-", as CGI reads "X~User" as
// HTTP_X_USER.
func ruleFold(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		r := rune(name[i])
		switch {
		case r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(unicode.ToLower(r))
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}

// removes reports whether the contract removes a client header called name.
func (r headerRule) removes(name string) bool {
	n := ruleFold(name)
	for _, c := range r.names {
		if n == ruleFold(c) {
			return true
		}
	}
	for _, p := range r.prefixes {
		if strings.HasPrefix(n, ruleFold(p)) {
			return true
		}
	}
	return false
}

// FuzzHeaderFilter checks the filter against its contract, for any header name: removed
// when it folds to a configured identity header, a built-in alias or forwarding header,
// or a configured extra, or starts with a removed prefix; passed on otherwise.
func FuzzHeaderFilter(f *testing.F) {
	identity := []string{"X-Forwarded-User", "Remote-Email", "X_Team"}
	extra := []string{"X-App-User", "X.Legacy.*"}
	for _, s := range []string{
		"X-Forwarded-User", "x_forwarded_user", "X.Gateway.A", "Accept", "X-Team", "x.team",
		"X-Teams", "X-App-User", "x_legacy_a", "X-Legacy", "X-Gateway", "x-gatewayx",
		"X-Real-IP", "x.real_ip", "Session", "Sessions", "Remote-User", "X-Auth-Request-Email",
		"Gateway_Session", "X-Envoy-Peer", "X-Original-Url", "Proxy-Authorization",
		"X-Forwarded-" + strings.Repeat("a", 100), strings.Repeat("x", 100),
		"X_Kubernetes_Remote_User" + strings.Repeat("z", 50), "X-\u212aubernetes-Remote-User",
		"x-gateway-\xff", "User-Agent", "", "X~Forwarded|User", "Remote!User", "X*Team",
	} {
		f.Add(s)
	}
	// every listed name and prefix, as written and in another spelling, so that a name
	// the filter leaves out is found at once
	lists := slices.Concat(identity, extra, forwardedHeaders, methodOverrideHeaders,
		identityAliases)
	for _, p := range slices.Concat(alwaysRemovedPrefixes, identityAliasPrefixes) {
		lists = append(lists, p+"x")
	}
	for _, s := range lists {
		f.Add(s)
		f.Add(strings.ToUpper(strings.ReplaceAll(s, "-", "_")))
	}
	type filterRule struct {
		builtin bool
		filter  *headerFilter
		rule    headerRule
	}
	var cases []filterRule
	for _, builtin := range []bool{true, false} {
		cases = append(cases, filterRule{builtin, newHeaderFilter(identity, builtin, extra),
			newHeaderRule(identity, builtin, extra)})
	}
	f.Fuzz(func(t *testing.T, name string) {
		for _, c := range cases {
			want := c.rule.removes(name)
			if got := c.filter.blocked(name); got != want {
				t.Fatalf("builtin=%v: blocked(%q) = %v, want %v", c.builtin, name, got, want)
			}
			h := http.Header{name: {"v"}, "Accept": {"a"}}
			c.filter.strip(h)
			if _, kept := h[name]; kept == want && name != "Accept" {
				t.Fatalf("builtin=%v: strip kept %q: %v, want %v", c.builtin, name, kept, !want)
			}
			if h.Get("Accept") != "a" && name != "Accept" {
				t.Fatalf("builtin=%v: strip of %q removed Accept", c.builtin, name)
			}
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
		// spellings a lenient parser reads as the gateway's
		{[]string{`a=1; "gateway_session"=x`}, []string{"a=1"}},
		{[]string{`" gateway_login "=x; b=2`}, []string{"b=2"}},
		{[]string{"GATEWAY_SESSION=x; Gateway_Login=y; a=1"}, []string{"a=1"}},
		{[]string{"__Secure-gateway_login=y; __host-GATEWAY_SESSION=x"}, nil},
		{[]string{"gateway_sessions=1; __Host-=2; x__Host-gateway_login=3"},
			[]string{"gateway_sessions=1; __Host-=2; x__Host-gateway_login=3"}},
		// as PHP reads names: decoded, "." " " "[" as "_", array keys cut off
		{[]string{"app=1; gateway.session=x"}, []string{"app=1"}},
		{[]string{"gateway session=x; gateway+login=y; b=2"}, []string{"b=2"}},
		{[]string{"gateway%5Fsession=x; %67ateway_login=y; b=2"}, []string{"b=2"}},
		{[]string{"gateway[session=x; gateway_session[]=y; gateway_login[a]=z"}, nil},
		{[]string{"gateway_sessionx[]=1; app%5B=2"},
			[]string{"gateway_sessionx[]=1; app%5B=2"}},
		// Latin-1 blanks, which Django strips, and a NUL, where PHP cuts a name
		{[]string{"app=1; \xa0gateway_session=x"}, []string{"app=1"}},
		{[]string{"\x85gateway_login\xa0=x; app=1"}, []string{"app=1"}},
		{[]string{"\u00a0gateway_session\u3000=x; app=1"}, []string{"app=1"}},
		{[]string{"gateway_session%00=x; gateway_login%00x=y; app=1"}, []string{"app=1"}},
		// parts that parsers split on "," or blanks
		{[]string{"app=1, gateway_session=x; b=2"}, []string{"b=2"}},
		{[]string{"app=1 gateway_session=x; b=2"}, []string{"b=2"}},
		{[]string{"app=a,b; c=d e"}, []string{"app=a,b; c=d e"}},
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

// TestCookieStem: stripCookies looks for the stem before it parses the header, so every
// cookie of the gateway's must hold it.
func TestCookieStem(t *testing.T) {
	for _, n := range gatewayCookies {
		if !strings.Contains(strings.ToLower(n), cookieStem) {
			t.Errorf("cookie %q does not hold %q", n, cookieStem)
		}
	}
}

func FuzzStripCookies(f *testing.F) {
	f.Add("a=1; gateway_session=x; b=2", "gateway_login=1")
	f.Add(" gateway_session =x", ";;")
	f.Add(`"GATEWAY_SESSION"=x`, "__Host-gateway_login=y")
	f.Add("a=1, gateway%2Esession=x", "b=2 gateway_login[]=y")
	f.Add("\xa0gateway_session=x", "gateway_login%00=y")
	f.Fuzz(func(t *testing.T, l1, l2 string) {
		h := http.Header{"Cookie": {l1, l2}}
		stripCookies(h, "gateway_session", "gateway_login")
		r := &http.Request{Header: h}
		for _, c := range r.Cookies() {
			if name := strings.ToLower(cookieName(c.Name)); name == "gateway_session" ||
				name == "gateway_login" {
				t.Fatalf("cookie %s survived in %q", c.Name, h["Cookie"])
			}
		}
		// nor does a name any piece of what is left reads as
		for _, l := range h["Cookie"] {
			for piece := range strings.FieldsFuncSeq(l, func(r rune) bool {
				return r == ';' || r == ',' || r == ' ' || r == '\t'
			}) {
				name, _, _ := strings.Cut(piece, "=")
				if n := strings.ToLower(cookieName(name)); n == "gateway_session" ||
					n == "gateway_login" {
					t.Fatalf("%q survived in %q", piece, h["Cookie"])
				}
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

// TestForwardedClaimAllocates: forward-auth reads every header of every request
// it is asked about; names of ordinary length are folded without allocating.
func TestForwardedClaimAllocates(t *testing.T) {
	h := http.Header{"Accept": {"*/*"}, "Cookie": {"a=b"}, "X-Forwarded-For": {"192.0.2.1"},
		"X-Forwarded-Host": {"app.example.test"}, "User-Agent": {"curl"}}
	identity := map[string]bool{"x-forwarded-user": true}
	if n := testing.AllocsPerRun(100, func() { forwardedClaim(h, identity) }); n != 0 {
		t.Errorf("%v allocations, want none", n)
	}
	if got := forwardedClaim(http.Header{"X-Forwarded-Roles": {"admin"}}, identity); got !=
		"X-Forwarded-Roles" {
		t.Errorf("X-Forwarded-Roles: got %q, want it named", got)
	}
}
