package config

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseValidationErrors(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef"
	route := "routes:\n  - upstream: http://app:3000\n"
	users := "users:\n  file: users.yml\n"
	tests := []errorCase{
		{
			name: "listen without port", data: "listen: localhost\n" + minimal,
			line: 1, key: "listen", msg: "listen must be host:port, such as 127.0.0.1:8080",
		},
		{
			name: "listen with service name", data: "listen: localhost:http\n" + minimal,
			line: 1, key: "listen", msg: "listen port must be a number from 0 to 65535",
		},
		{
			name: "listen port too big", data: "listen: :65536\n" + minimal,
			line: 1, key: "listen", msg: "listen port must be a number from 0 to 65535",
		},
		{
			name: "no room for one browser", data: "limits:\n  client_connections: 6\n" + minimal,
			line: 2, key: "limits.client_connections",
			msg: "6 would leave a browser, which opens six connections to a host, or a few " +
				"users behind one address, without room; it must be at least 16 (a trusted " +
				"proxy's connections are not counted)",
		},
		{
			name: "trusted proxy not an address",
			data: "trusted_proxies:\n  - 10.0.0.0/8\n  - proxy.local\n" + minimal,
			line: 3, key: "trusted_proxies[1]",
			msg: `trusted proxy "proxy.local" is not an IP address or CIDR prefix`,
		},
		{
			name: "trusted proxy with host bits",
			data: "trusted_proxies: [10.0.0.1/8]\n" + minimal,
			line: 1, key: "trusted_proxies[0]",
			msg: "trusted proxy 10.0.0.1/8 has bits set past its prefix length; " +
				"write 10.0.0.0/8",
		},
		{
			name: "trusted proxy bad length", data: "trusted_proxies: [10.0.0.0/33]\n" + minimal,
			line: 1, key: "trusted_proxies[0]",
			msg: `trusted proxy "10.0.0.0/33" is not a CIDR prefix`,
		},
		{
			name: "redirect host URL",
			data: "allowed_redirect_hosts:\n  - https://app.example.com\n" + minimal,
			line: 2, key: "allowed_redirect_hosts[0]",
			msg: "redirect host must be a host name, not a URL",
		},
		{
			name: "redirect host wildcard",
			data: "allowed_redirect_hosts: [ok.example.com, '*.example.com']\n" + minimal,
			line: 1, key: "allowed_redirect_hosts[1]",
			msg: "redirect host must not contain *; write .example.com for the " +
				"subdomains of example.com",
		},
		{
			name: "redirect host port",
			data: "allowed_redirect_hosts: [app.example.com:443]\n" + minimal,
			line: 1, key: "allowed_redirect_hosts[0]",
			msg: "redirect host must not contain a port",
		},
		{
			name: "redirect host path",
			data: "allowed_redirect_hosts: [app.example.com/x]\n" + minimal,
			line: 1, key: "allowed_redirect_hosts[0]",
			msg: "redirect host must not contain a path",
		},
		{
			name: "users missing", data: route, line: 1, key: "users.file",
			msg: "value is required", wantErr: ErrRequired,
		},
		{
			name: "users file missing", data: "log: {}\nusers:\n  other: {}\n" + route,
			line: 3, key: "users.other", msg: "unknown key", wantErr: ErrUnknownKey,
		},
		{
			name: "users file empty", data: "log: {}\nusers:\n  file: ''\n" + route,
			line: 3, key: "users.file", msg: "value is required", wantErr: ErrRequired,
		},
		{
			name: "users without file", data: "log: {}\nusers: {}\n" + route,
			line: 2, key: "users.file", msg: "value is required", wantErr: ErrRequired,
		},
		{
			name: "session store", data: "session:\n  store: etcd\n" + minimal,
			line: 2, key: "session.store",
			msg: `session store "etcd" is not supported; use one of: memory, bolt, redis`,
		},
		{
			name: "redis address", data: "session:\n  redis:\n    addresses: [localhost]\n" +
				minimal,
			line: 3, key: "session.redis.addresses[0]",
			msg: `address "localhost" must be host:port`,
		},
		{
			name: "cookie domain tld", data: "session:\n  cookie_domain: com\n" + minimal,
			line: 2, key: "session.cookie_domain",
			msg: `cookie domain "com" is not a valid domain`,
		},
		{
			name: "cookie domain public suffix", data: "session:\n  cookie_domain: co.uk\n" +
				minimal,
			line: 2, key: "session.cookie_domain",
			msg: `cookie domain "co.uk" is a public suffix, shared by unrelated sites`,
		},
		{
			name: "cookie domain ip", data: "session:\n  cookie_domain: 127.0.0.1\n" +
				minimal,
			line: 2, key: "session.cookie_domain",
			msg: `cookie domain "127.0.0.1" is not a valid domain`,
		},
		{
			name: "redis port too big",
			data: "session:\n  redis:\n    addresses: [\"127.0.0.1:99999\"]\n" + minimal,
			line: 3, key: "session.redis.addresses[0]",
			msg: `address "127.0.0.1:99999" must be host:port`,
		},
		{
			name: "cookie domain dot", data: "session:\n  cookie_domain: .example.com\n" +
				minimal,
			line: 2, key: "session.cookie_domain",
			msg: `cookie domain ".example.com" must be a bare domain such as example.com`,
		},
		{
			name: "session secure", data: "session:\n  secure: always\n" + minimal,
			line: 2, key: "session.secure",
			msg: `secure must be one of auto, true, false, not "always"`,
		},
		{
			name: "short secret",
			data: "session:\n  secrets:\n    - " + secret + "\n    - hunter2\n" + minimal,
			line: 4, key: "session.secrets[1]", msg: "secret must be at least 32 bytes",
		},
		{
			name: "secret of spaces",
			data: "session:\n  secrets:\n    - \"" + strings.Repeat(" ", 34) + "\"\n" + minimal,
			line: 3, key: "session.secrets[0]", msg: "secret holds fewer than 8 different " +
				"characters, so it is no secret; make one with openssl rand -hex 32",
		},
		{
			name: "secret of three characters of many bytes",
			data: "session:\n  secrets: [\"" + strings.Repeat("𝄞😀€", 4) + "\"]\n" + minimal,
			line: 2, key: "session.secrets[0]", msg: "secret holds fewer than 8 different " +
				"characters, so it is no secret; make one with openssl rand -hex 32",
		},
		{
			name: "secret of one word over and over",
			data: "session:\n  secrets: [" + strings.Repeat("secret", 6) + "]\n" + minimal,
			line: 2, key: "session.secrets[0]", msg: "secret holds fewer than 8 different " +
				"characters, so it is no secret; make one with openssl rand -hex 32",
		},
		{
			name: "upstream written as a shell variable",
			data: "users: {file: u}\nroutes:\n  - upstream: $UPSTREAM\n",
			line: 3, key: "routes[0].upstream", msg: "upstream must be an http:// or " +
				"https:// URL, as in http://127.0.0.1:9001; to read the environment " +
				"variable UPSTREAM, write ${UPSTREAM}",
		},
		{
			name: "secret written as a shell variable",
			data: "session:\n  secrets: [$GATEWAY_SECRET]\n" + minimal,
			line: 2, key: "session.secrets[0]", msg: "secret must be at least 32 bytes; " +
				"to read the environment variable GATEWAY_SECRET, write ${GATEWAY_SECRET}",
		},
		{
			name: "idle longer than lifetime",
			data: "session:\n  idle_timeout: 2h\n  lifetime: 1h\n" + minimal,
			line: 2, key: "session.idle_timeout",
			msg: "idle_timeout (2h0m0s) must not be longer than lifetime (1h0m0s)",
		},
		{
			name: "lifetime shorter than default idle",
			data: "session:\n  lifetime: 10m\n" + minimal,
			line: 2, key: "session.lifetime",
			msg: "idle_timeout (30m0s) must not be longer than lifetime (10m0s)",
		},
		{
			name: "lifetime past 2262",
			data: "session:\n  lifetime: 2200000h\n" + minimal,
			line: 2, key: "session.lifetime",
			msg: "lifetime (2200000h0m0s) must not be longer than 87600h (10 years)",
		},
		{
			name: "remember_for over ten years",
			data: "session:\n  remember_for: 87601h\n" + minimal,
			line: 2, key: "session.remember_for",
			msg: "remember_for (87601h0m0s) must not be longer than 87600h (10 years)",
		},
		{
			name: "idle_timeout over ten years",
			data: "session:\n  lifetime: 87600h\n  idle_timeout: 100000h\n" + minimal,
			line: 3, key: "session.idle_timeout",
			msg: "idle_timeout (100000h0m0s) must not be longer than 87600h (10 years)",
		},
		{
			name: "header not a token",
			data: "identity_headers:\n  user: X User\n" + minimal,
			line: 2, key: "identity_headers.user",
			msg: `header name "X User" is not a valid HTTP header name`,
		},
		{
			name: "header with colon",
			data: "identity_headers:\n  groups: 'X-Groups:'\n" + minimal,
			line: 2, key: "identity_headers.groups",
			msg: `header name "X-Groups:" is not a valid HTTP header name`,
		},
		{
			name: "header reserved",
			data: "identity_headers:\n  email: authorization\n" + minimal,
			line: 2, key: "identity_headers.email",
			msg: "header authorization is reserved and cannot carry identity",
		},
		{
			name: "header reserved in another spelling",
			data: "identity_headers:\n  user: Content_Length\n" + minimal,
			line: 2, key: "identity_headers.user",
			msg: "header Content_Length is reserved and cannot carry identity",
		},
		{
			name: "headers same",
			data: "identity_headers:\n  user: Remote-User\n  email: remote_user\n" + minimal,
			line: 3, key: "identity_headers.email",
			msg: "header remote_user is the same header as identity_headers.user (Remote-User)",
		},
		{
			name: "header same as a default",
			data: "identity_headers:\n  user: X-Forwarded.Groups\n" + minimal,
			line: 2, key: "identity_headers.user",
			msg: "header X-Forwarded.Groups is the same header as identity_headers.groups " +
				"(X-Forwarded-Groups)",
		},
		{
			name: "route header reserved",
			data: users + "routes:\n  - upstream: http://a\n    identity_headers:\n" +
				"      user: Cookie\n",
			line: 6, key: "routes[0].identity_headers.user",
			msg: "header Cookie is reserved and cannot carry identity",
		},
		{
			name: "route header same as an inherited one",
			data: users + "routes:\n  - upstream: http://a\n    identity_headers:\n" +
				"      email: x_forwarded_user\n",
			line: 6, key: "routes[0].identity_headers.email",
			msg: "header x_forwarded_user is the same header as identity_headers.user " +
				"(X-Forwarded-User)",
		},
		{
			name: "route header same as an inherited one written later",
			data: users + "routes:\n  - upstream: http://a\n    identity_headers:\n" +
				"      user: X-Forwarded-Groups\n",
			line: 6, key: "routes[0].identity_headers.user",
			msg: "header X-Forwarded-Groups is the same header as identity_headers.groups " +
				"(X-Forwarded-Groups)",
		},
		{
			name: "route headers same",
			data: users + "routes:\n  - upstream: http://a\n  - path: /b\n" +
				"    upstream: http://b\n    identity_headers:\n      user: Remote-User\n" +
				"      groups: REMOTE-USER\n",
			line: 9, key: "routes[1].identity_headers.groups",
			msg: "header REMOTE-USER is the same header as routes[1].identity_headers.user " +
				"(Remote-User)",
		},
		{
			name: "no routes", data: users, line: 1, key: "routes",
			msg: "at least one route is required",
		},
		{
			name: "empty routes", data: users + "routes: []\n", line: 3, key: "routes",
			msg: "at least one route is required",
		},
		{
			name: "upstream missing",
			data: users + "routes:\n  - upstream: http://a\n  - path: /b\n",
			line: 5, key: "routes[1].upstream", msg: "value is required", wantErr: ErrRequired,
		},
		{
			name: "upstream scheme", data: users + "routes:\n  - upstream: ftp://a\n",
			line: 4, key: "routes[0].upstream", msg: errUpstreamScheme.Error(),
		},
		{
			name: "upstream relative", data: users + "routes:\n  - upstream: /app\n",
			line: 4, key: "routes[0].upstream", msg: errUpstreamScheme.Error(),
		},
		{
			name: "upstream no host", data: users + "routes:\n  - upstream: 'http:///x'\n",
			line: 4, key: "routes[0].upstream",
			msg: "upstream must name a host, as in http://app:3000",
		},
		{
			name: "upstream user info",
			data: users + "routes:\n  - upstream: http://u:pw@app\n",
			line: 4, key: "routes[0].upstream", msg: "upstream must not contain user info",
		},
		{
			name: "throttle window past 2262",
			data: users + "throttle:\n  window: 2100000h\nroutes:\n  - upstream: http://a\n",
			line: 4, key: "throttle.window",
			msg: "window (2100000h0m0s) must not be longer than 87600h (10 years)",
		},
		{
			name: "page timeout whose parts overflow",
			data: users + "timeouts:\n  page: 1300000h\nroutes:\n  - upstream: http://a\n",
			line: 4, key: "timeouts.page",
			msg: "page (1300000h0m0s) must not be longer than 87600h (10 years)",
		},
		{
			name: "upstream dot-dot segment",
			data: users + "routes:\n  - upstream: http://app/x/../admin\n",
			line: 4, key: "routes[0].upstream",
			msg: `upstream path must not hold a "." or ".." segment or a backslash`,
		},
		{
			name: "upstream encoded dot segment",
			data: users + "routes:\n  - upstream: http://app/x/%2e/admin\n",
			line: 4, key: "routes[0].upstream",
			msg: `upstream path must not hold a "." or ".." segment or a backslash`,
		},
		{
			name: "upstream parameter on a dot-dot segment",
			data: users + "routes:\n  - upstream: http://app/x/..;/admin\n",
			line: 4, key: "routes[0].upstream",
			msg: "upstream path must not contain ..",
		},
		{
			name: "upstream segment ending in a space",
			data: users + "routes:\n  - upstream: http://app/x%20/a\n",
			line: 4, key: "routes[0].upstream",
			msg: `upstream path must not have a segment ending in ' '`,
		},
		{
			name: "upstream encoded slash",
			data: users + "routes:\n  - upstream: http://app/x%2Fadmin\n",
			line: 4, key: "routes[0].upstream",
			msg: "upstream path must not hold an encoded /",
		},
		{
			name: "upstream ideographic full stops",
			data: users + "routes:\n  - upstream: http://app/x/%E3%80%82%E3%80%82/a\n",
			line: 4, key: "routes[0].upstream",
			msg: lookAlikeMsg("upstream path"),
		},
		{
			name: "upstream over-long dots",
			data: users + "routes:\n  - upstream: http://app/x/%C0%AE%C0%AE/a\n",
			line: 4, key: "routes[0].upstream", msg: lookAlikeMsg("upstream path"),
		},
		{
			name: "upstream division slash",
			data: users + "routes:\n  - upstream: http://app/x/%E2%88%95a\n",
			line: 4, key: "routes[0].upstream", msg: lookAlikeMsg("upstream path"),
		},
		{
			name: "upstream line separator",
			data: users + "routes:\n  - upstream: http://app/x/%E2%80%A8\n",
			line: 4, key: "routes[0].upstream", msg: lookAlikeMsg("upstream path"),
		},
		{
			name: "route path with a yen sign", data: users + "routes:\n  - path: /a\u00a5b/\n" +
				"    upstream: http://app\n",
			line: 4, key: "routes[0].path", msg: lookAlikeMsg("path"),
		},
		{
			name: "upstream backslash",
			data: users + "routes:\n  - upstream: http://app/x%5C..\n",
			line: 4, key: "routes[0].upstream",
			msg: `upstream path must not hold a "." or ".." segment or a backslash`,
		},
		{
			name: "upstream query", data: users + "routes:\n  - upstream: http://app/?a=1\n",
			line: 4, key: "routes[0].upstream",
			msg: "upstream must not have a query or fragment",
		},
		{
			name: "upstream fragment", data: users + "routes:\n  - upstream: 'http://app/#'\n",
			line: 4, key: "routes[0].upstream",
			msg: "upstream must not have a query or fragment",
		},
		{
			name: "upstream port too big",
			data: users + "routes:\n  - upstream: http://127.0.0.1:99999\n",
			line: 4, key: "routes[0].upstream",
			msg: "upstream port must be a number from 1 to 65535",
		},
		{
			name: "upstream port zero",
			data: users + "routes:\n  - upstream: https://app:0/\n",
			line: 4, key: "routes[0].upstream",
			msg: "upstream port must be a number from 1 to 65535",
		},
		{
			name: "http_listen port too big", data: "http_listen: \":80000\"\n" + minimal,
			line: 1, key: "http_listen",
			msg: "http_listen must be host:port, such as :80, with a port from 0 to 65535",
		},
		{
			name: "admin.listen port too big",
			data: "admin:\n  listen: 127.0.0.1:65536\n" + minimal,
			line: 2, key: "admin.listen",
			msg: "admin.listen port must be a number from 0 to 65535",
		},
		{
			name: "upstream unparsable",
			data: users + "routes:\n  - upstream: 'http://app:port'\n",
			line: 4, key: "routes[0].upstream",
			msg: `upstream is not a valid URL: invalid port ":port" after host`,
		},
		{
			name: "upstream without a scheme", data: "users:\n  file: u\nroutes:\n" +
				"  - upstream: 127.0.0.1:9001\n", line: 4, key: "routes[0].upstream",
			msg: "upstream must be an http:// or https:// URL, as in " +
				"http://127.0.0.1:9001",
		},
		{
			name: "route path relative",
			data: users + "routes:\n  - path: app\n    upstream: http://a\n",
			line: 4, key: "routes[0].path", msg: "path must start with /",
		},
		{
			name: "route path dot dot",
			data: users + "routes:\n  - path: /a/../b\n    upstream: http://a\n",
			line: 4, key: "routes[0].path", msg: "path must not contain ..",
		},
		{
			name: "route path escaped",
			data: users + "routes:\n  - path: /%61dmin\n    upstream: http://a\n",
			line: 4, key: "routes[0].path", msg: `path must not contain '%'`,
		},
		{
			name: "duplicate route paths",
			data: users + "routes:\n  - path: /a\n    upstream: http://a\n" +
				"  - path: /a/\n    upstream: http://b\n",
			line: 6, key: "routes[1].path",
			msg: "route path /a/ is already covered by routes[0]",
		},
		{
			name: "duplicate default paths",
			data: users + "routes:\n  - upstream: http://a\n  - upstream: http://b\n",
			line: 5, key: "routes[1].path", msg: "route path / is already covered by routes[0]",
		},
		{
			name: "public path",
			data: users + "routes:\n  - upstream: http://a\n    public:\n" +
				"      - /ok\n      - /x?y\n",
			line: 7, key: "routes[0].public[1]", msg: `path must not contain '?'`,
		},
		{
			name: "admin on the main listener",
			data: "listen: 127.0.0.1:8080\nadmin:\n  listen: 127.0.0.1:8080\n" + minimal,
			line: 3, key: "admin.listen",
			msg: "admin.listen 127.0.0.1:8080 is where listen 127.0.0.1:8080 serves " +
				"already; give it a port of its own",
		},
		{
			name: "admin under a listener on every address",
			data: "listen: :9090\nadmin:\n  listen: localhost:9090\n" + minimal,
			line: 3, key: "admin.listen",
			msg: "admin.listen localhost:9090 is where listen :9090 serves already; " +
				"give it a port of its own",
		},
		{
			name: "http_listen on the main listener",
			data: "listen: \"[::]:443\"\nhttp_listen: \":443\"\n" + minimal,
			line: 2, key: "http_listen",
			msg: "http_listen :443 is where listen [::]:443 serves already; give it a " +
				"port of its own",
		},
		{
			name: "admin on http_listen",
			data: "listen: :443\nhttp_listen: 127.0.0.1:80\nadmin:\n  listen: " +
				"127.0.0.1:80\n" + minimal,
			line: 4, key: "admin.listen",
			msg: "admin.listen 127.0.0.1:80 is where http_listen 127.0.0.1:80 serves " +
				"already; give it a port of its own",
		},
		{
			name: "log level", data: "log:\n  level: verbose\n" + minimal,
			line: 2, key: "log.level",
			msg: `log level must be one of debug, info, warn, error, not "verbose"`,
		},
		{
			name: "log format", data: "log:\n  format: xml\n" + minimal,
			line: 2, key: "log.format", msg: `log format must be text or json, not "xml"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkError(t, tt) })
	}
}

// TestSessionDurationsUpToTenYears checks that the longest session durations allowed
// load as written.
func TestSessionDurationsUpToTenYears(t *testing.T) {
	const tenYears = 87600 * time.Hour
	for _, tt := range []struct {
		name, data                  string
		idle, lifetime, rememberFor time.Duration
	}{
		{"every one ten years", "session:\n  idle_timeout: 87600h\n  lifetime: 87600h\n" +
			"  remember_for: 87600h\n", tenYears, tenYears, tenYears},
		{"remember_for ten years", "session:\n  remember_for: 87600h\n",
			30 * time.Minute, 12 * time.Hour, tenYears},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parse([]byte(tt.data+minimal), "gateway.yaml", fakeEnv, false)
			if err != nil {
				t.Fatal(err)
			}
			s := c.Session
			if s.IdleTimeout != tt.idle || s.Lifetime != tt.lifetime ||
				s.RememberFor != tt.rememberFor {
				t.Errorf("got idle_timeout %v, lifetime %v, remember_for %v; want %v, %v, %v",
					s.IdleTimeout, s.Lifetime, s.RememberFor, tt.idle, tt.lifetime,
					tt.rememberFor)
			}
		})
	}
}

func TestSecretNotInError(t *testing.T) {
	const secret = "hunter2-short"
	data := "session:\n  secrets: [" + secret + "]\n" + minimal
	_, err := parse([]byte(data), "gateway.yaml", fakeEnv, false)
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("got %v, want an error without the secret", err)
	}
}

func TestValidateIsPure(t *testing.T) {
	c := &Config{
		AllowedRedirectHosts: []string{"App.Example.COM"},
		TrustedProxies:       []string{"10.0.0.1"},
		Users:                Users{File: "users.yml"},
		Routes:               []Route{{Upstream: "http://app"}},
	}
	setDefaults(c)
	before := *c
	before.AllowedRedirectHosts = append([]string(nil), c.AllowedRedirectHosts...)
	if err := validate(c, "", nil); err != nil {
		t.Fatalf("validate: %v", err)
	}
	if !reflect.DeepEqual(*c, before) {
		t.Errorf("got %+v after validate, want %+v", *c, before)
	}
}

func TestCheckPath(t *testing.T) {
	tests := []struct {
		path string
		ok   bool
	}{
		{"/", true},
		{"/admin", true},
		{"/admin/", true},
		{"/a.b/c-d_e~f", true},
		{"/.well-known/", true},
		{"", false},
		{"admin", false},
		{"//evil.example", false},
		{"/a//b", false},
		{"/a/../b", false},
		{"/..", false},
		{"/a..b", false},
		{"/a/./b", false},
		{"/a/.", false},
		{"/a?b", false},
		{"/a#b", false},
		{"/%2e%2e/", false},
		{`/a\b`, false},
		{"/a\x00", false},
		{"/a\nb", false},
		{"/a\x7f", false},
		{"/admin;x/", false},
		{"/admin::$DATA/", false},
		{"/admin./", false},
		{"/admin /", false},
		{"/admin+/x", false},
		{"/ａdmin/", false},
		{"/café/", true},
		{"/a+b/", true},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			err := checkPath(tt.path)
			if got := err == nil; got != tt.ok {
				t.Errorf("got ok %v (%v), want %v", got, err, tt.ok)
			}
		})
	}
}

func TestParseProxy(t *testing.T) {
	tests := []struct {
		in   string
		want string // empty when in must be refused
	}{
		{"10.0.0.0/8", "10.0.0.0/8"},
		{"192.168.1.7", "192.168.1.7/32"},
		{"2001:db8::/32", "2001:db8::/32"},
		{"::1", "::1/128"},
		{"0.0.0.0/0", "0.0.0.0/0"},
		{"10.0.0.1/8", ""},
		{"10.0.0.0/33", ""},
		{"::ffff:10.0.0.1", ""},
		{"::ffff:10.0.0.0/104", ""},
		{"fe80::1%eth0", ""},
		{"localhost", ""},
		{"", ""},
		{"10.0.0.0/", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := parseProxy(tt.in)
			if tt.want == "" {
				if err == nil {
					t.Errorf("got %v, want an error", p)
				}
				return
			}
			if err != nil || p != netip.MustParsePrefix(tt.want) {
				t.Errorf("got %v, %v, want %s", p, err, tt.want)
			}
		})
	}
}

func TestCheckRedirectHost(t *testing.T) {
	tests := []struct {
		host string
		ok   bool
	}{
		{"app.example.com", true},
		{".example.com", true},
		{"localhost", true},
		{"xn--bcher-kva.example", true},
		{".com", false},
		{".", false},
		{"", false},
		{"*.example.com", false},
		{"*", false},
		{"https://example.com", false},
		{"//example.com", false},
		{"example.com:443", false},
		{"example.com/path", false},
		{"example.com.", false},
		{"exa mple.com", false},
		{"-bad.example.com", false},
		{"bücher.example", false},
		{"a..b", false},
		{"evil.com\\@example.com", false},
		{"user@example.com", false},
		{"[::1]", false},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			err := checkRedirectHost(tt.host)
			if got := err == nil; got != tt.ok {
				t.Errorf("got ok %v (%v), want %v", got, err, tt.ok)
			}
		})
	}
}

func TestCheckHeaderName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"X-Forwarded-User", true},
		{"Remote-User", true},
		{"X-Auth-Request-Email", true},
		{"", false},
		{"X User", false},
		{"X-User:", false},
		{"X-User\r\nHost", false},
		{"Host", false},
		{"cookie", false},
		{"Authorization", false},
		{"Connection", false},
		{"Content-Length", false},
		{"Transfer-Encoding", false},
		{"transfer_encoding", false},
		{"X-Forwarded-For", false},
		{"X.Forwarded.Proto", false},
		{"Forwarded", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkHeaderName(tt.name)
			if got := err == nil; got != tt.ok {
				t.Errorf("got ok %v (%v), want %v", got, err, tt.ok)
			}
		})
	}
}

func TestParseUpstream(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"http://app:3000", true},
		{"https://app.internal/base/", true},
		{"http://[::1]:8080", true},
		{"HTTP://app", true},
		{"", false},
		{"app:3000", false},
		{"//app", false},
		{"ftp://app", false},
		{"javascript:alert(1)", false},
		{"http:app", false},
		{"http://", false},
		{"http://:80", false},
		{"http://u@app", false},
		{"http://app?x", false},
		{"http://app/?", false},
		{"http://app/#x", false},
		{"http://app\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			u, err := parseUpstream(tt.in)
			if got := err == nil; got != tt.ok {
				t.Errorf("got %v, %v, want ok %v", u, err, tt.ok)
			}
		})
	}
}

// lookAlikeMsg is the message of a path, named by what, that holds a look-alike.
func lookAlikeMsg(what string) string {
	return what + " must not contain characters that look like others (it is not in " +
		"Unicode NFKC form, or holds a look-alike of a dot, slash or colon, or a control " +
		"or space beyond ASCII), nor bytes that are not UTF-8"
}
