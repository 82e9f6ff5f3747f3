package config

import (
	"errors"
	"testing"
	"time"
)

func TestLimitErrors(t *testing.T) {
	for _, tt := range []errorCase{
		{name: "zero throttle", data: minimal + "throttle:\n  address_failures: 0\n",
			line: 6, key: "throttle.address_failures",
			msg: `must be a whole number from 1 to 1073741824, not "0"`},
		{name: "text throttle", data: minimal + "throttle:\n  user_failures: ten\n",
			line: 6, key: "throttle.user_failures",
			msg: `must be a whole number from 1 to 1073741824, not "ten"`},
		{name: "throttle past the largest", data: minimal + "throttle:\n  max_entries: " +
			"2147483648\n", line: 6, key: "throttle.max_entries",
			msg: `must be a whole number from 1 to 1073741824, not "2147483648"`},
		{name: "duration past the longest", data: minimal + "timeouts:\n  page: 3000000h\n",
			line: 6, key: "timeouts.page",
			msg: `duration "3000000h" is longer than the longest there is, 2562047h`},
		{name: "durations that add past the longest", data: minimal + "timeouts:\n  page: " +
			"2562047h59m\n", line: 6, key: "timeouts.page",
			msg: `duration "2562047h59m" is longer than the longest there is, 2562047h`},
		{name: "bad timeout", data: minimal + "timeouts:\n  body_idle: soon\n",
			line: 6, key: "timeouts.body_idle",
			msg: `invalid duration "soon": write a number and a unit, such as 90s, 30m or 12h`},
		{name: "alias with space", data: minimal + "identity_aliases:\n  extra: [\"X Y\"]\n",
			line: 6, key: "identity_aliases.extra[0]",
			msg: `"X Y" is not a header name, or a prefix ending in *`},
		{name: "alias star inside", data: minimal + "identity_aliases:\n  extra: [\"X-*-Y\"]\n",
			line: 6, key: "identity_aliases.extra[0]",
			msg: `"X-*-Y" is not a header name, or a prefix ending in *`},
	} {
		t.Run(tt.name, func(t *testing.T) { checkError(t, tt) })
	}
}

func TestLimitsParse(t *testing.T) {
	c, err := parse([]byte(minimal+"timeouts:\n  page: 5s\nthrottle:\n  window: 1h\n"+
		"identity_aliases:\n  builtin: false\n  extra: [X-App-User, X-App-*]\n"),
		"gateway.yaml", fakeEnv, false)
	if err != nil {
		t.Fatal(err)
	}
	if c.Timeouts.Page != 5*time.Second || c.Timeouts.ReadHeader != 10*time.Second {
		t.Errorf("timeouts: got %+v", c.Timeouts)
	}
	if c.Throttle.Window != time.Hour || c.Throttle.UserAddressFailures != 5 {
		t.Errorf("throttle: got %+v", c.Throttle)
	}
	if a := c.IdentityAliases; a.Builtin == nil || *a.Builtin || len(a.Extra) != 2 {
		t.Errorf("identity_aliases: got %+v", a)
	}
}

func TestRoutePlacementErrors(t *testing.T) {
	users := "users:\n  file: users.yml\n"
	for _, tt := range []errorCase{
		{name: "route under /.gateway",
			data: users + "routes:\n  - path: /.gateway/x/\n    upstream: http://a:1\n",
			line: 4, key: "routes[0].path",
			msg: "route path /.gateway/x/ is under /.gateway, where the gateway serves its " +
				"own pages"},
		{name: "public outside its route",
			data: users + "routes:\n  - path: /app/\n    upstream: http://a:1\n" +
				"    public: [/app/pub/, /other/]\n",
			line: 6, key: "routes[0].public[1]",
			msg: "public path /other/ is not under the route's path /app/"},
		{name: "public over a whole route with an allow rule",
			data: users + "routes:\n  - path: /app/\n    upstream: http://a:1\n" +
				"    public: [/app/]\n    allow:\n      groups: [admins]\n",
			line: 6, key: "routes[0].public[0]",
			msg: "public path /app/ covers the whole route, so its allow rule would never " +
				"apply"},
	} {
		t.Run(tt.name, func(t *testing.T) { checkError(t, tt) })
	}
}

func TestErrorfNamesTheKeysLine(t *testing.T) {
	c, err := parse([]byte("routes:\n  - upstream: http://a:1\nusers:\n  file: u.yml\n"),
		"gateway.yaml", fakeEnv, false)
	if err != nil {
		t.Fatal(err)
	}
	e := c.Errorf("users.file", errors.New("no such file"))
	if e.Line != 4 || e.Key != "users.file" {
		t.Errorf("got line %d key %q, want line 4 key users.file", e.Line, e.Key)
	}
}

func TestAllowErrorsAndMethods(t *testing.T) {
	users := "users:\n  file: users.yml\n"
	for _, tt := range []errorCase{
		{name: "bad method",
			data: users + "routes:\n  - upstream: http://a:1\n    allow:\n" +
				"      methods: [\"GE T\"]\n",
			line: 6, key: "routes[0].allow.methods[0]", msg: `"GE T" is not an HTTP method`},
		{name: "group with comma",
			data: users + "routes:\n  - upstream: http://a:1\n    allow:\n" +
				"      groups: [\"a,b\"]\n",
			line: 6, key: "routes[0].allow.groups[0]", msg: `"a,b" is not a plain name`},
	} {
		t.Run(tt.name, func(t *testing.T) { checkError(t, tt) })
	}
	c, err := parse([]byte(users+"routes:\n  - upstream: http://a:1\n    allow:\n"+
		"      methods: [get, Post]\n"), "gateway.yaml", fakeEnv, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Routes[0].Allow.Methods; len(got) != 2 || got[0] != "GET" || got[1] != "POST" {
		t.Errorf("methods: got %q, want [GET POST]", got)
	}
}

func TestRedisDB(t *testing.T) {
	checkError(t, errorCase{name: "negative db",
		data: minimal + "session:\n  redis:\n    db: -1\n", line: 7, key: "session.redis.db",
		msg: `must be a database number from 0, not "-1"`})
	c, err := parse([]byte(minimal+"session:\n  redis:\n    db: 0\n"), "gateway.yaml", fakeEnv, false)
	if err != nil || c.Session.Redis.DB != 0 {
		t.Errorf("db: 0: got %v, %v", c, err)
	}
	c, err = parse([]byte(minimal+"session:\n  redis:\n    db: 3\n"), "gateway.yaml", fakeEnv, false)
	if err != nil || c.Session.Redis.DB != 3 {
		t.Errorf("db: 3: got %v", err)
	}
}

func TestTLSErrors(t *testing.T) {
	for _, tt := range []errorCase{
		{name: "unknown mode", data: minimal + "tls:\n  mode: on\n", line: 6,
			key: "tls.mode", msg: `tls mode "on" is not supported; use off, files or acme`},
		{name: "files without cert", data: minimal + "tls:\n  mode: files\n", line: 5,
			key: "tls.cert_file", msg: "value is required", wantErr: ErrRequired},
		{name: "acme without domains", data: minimal + "tls:\n  mode: acme\n", line: 5,
			key: "tls.domains", msg: "acme mode needs at least one domain"},
		{name: "acme wildcard", data: minimal + "tls:\n  mode: acme\n  domains: [\"*.a.b\"]\n",
			line: 7, key: "tls.domains[0]", msg: `"*.a.b" is not a domain name`},
		{name: "acme domain twice", data: minimal + "tls:\n  mode: acme\n  domains: " +
			"[a.example, A.Example.]\n", line: 7, key: "tls.domains[1]",
			msg: `"A.Example." is tls.domains[0] again`},
		{name: "acme email without @", data: minimal + "tls:\n  mode: acme\n  domains: " +
			"[a.example]\n  email: ops\n", line: 8, key: "tls.email",
			msg: `"ops" is not an email address, such as ops@example.com`},
		{name: "acme email with a name", data: minimal + "tls:\n  mode: acme\n  domains: " +
			"[a.example]\n  email: \"Ops <ops@a.example>\"\n", line: 8, key: "tls.email",
			msg: `"Ops <ops@a.example>" is not an email address, such as ops@example.com`},
		{name: "plain http CA", data: minimal + "tls:\n  mode: acme\n  domains: [a.example]\n" +
			"  ca: http://ca.example/dir\n", line: 8, key: "tls.ca",
			msg: "ca must be an https URL of an ACME directory, or staging"},
		{name: "redis storage without redis", data: minimal + "tls:\n  storage: redis\n",
			line: 6, key: "tls.storage",
			msg: "tls storage redis uses the session store's Redis: set session.store to redis"},
	} {
		t.Run(tt.name, func(t *testing.T) { checkError(t, tt) })
	}
}

func TestRouteOptions(t *testing.T) {
	users := "users:\n  file: users.yml\n"
	for _, tt := range []errorCase{
		{name: "bad host", data: users + "routes:\n  - host: \"a b\"\n    upstream: http://a:1\n",
			line: 4, key: "routes[0].host",
			msg: `host "a b" must be a name such as app.example.com or *.example.com`},
		{name: "star inside host",
			data: users + "routes:\n  - host: \"a.*.com\"\n    upstream: http://a:1\n",
			line: 4, key: "routes[0].host",
			msg: `host "a.*.com" must be a name such as app.example.com or *.example.com`},
		{name: "bad size", data: users + "routes:\n  - upstream: http://a:1\n" +
			"    max_body: lots\n", line: 5, key: "routes[0].max_body",
			msg: `invalid size "lots": write a number and a unit, such as 512KB, 10MB or 1GiB`},
		{name: "bad preflight", data: users + "routes:\n  - upstream: http://a:1\n" +
			"    cors_preflight: allow\n", line: 5, key: "routes[0].cors_preflight",
			msg: `cors_preflight must be pass or empty, not "allow"`},
		{name: "same host and path twice", data: users + "routes:\n" +
			"  - host: A.example.com\n    upstream: http://a:1\n" +
			"  - host: a.example.com.\n    upstream: http://a:1\n",
			line: 6, key: "routes[1].path",
			msg: "route path / is already covered by routes[0]"},
	} {
		t.Run(tt.name, func(t *testing.T) { checkError(t, tt) })
	}
	c, err := parse([]byte(users+"routes:\n  - upstream: http://a:1\n    host: \"*.Example.com\"\n"+
		"    max_body: 1.5MiB\n  - upstream: http://a:1\n    host: b.example.com\n"+
		"    max_body: 512\n"), "gateway.yaml", fakeEnv, false)
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Routes[0]; r.Host != "*.example.com" || r.MaxBody != 1572864 {
		t.Errorf("route 0: host %q, max_body %d", r.Host, r.MaxBody)
	}
	if c.Routes[1].MaxBody != 512 {
		t.Errorf("route 1: max_body %d, want 512", c.Routes[1].MaxBody)
	}
}
