package config

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// fullConfig sets every key. Its secrets come from the environment given by fakeEnv.
const fullConfig = `listen: 0.0.0.0:9090
state_dir: /var/lib/gateway
trusted_proxies:
  - 10.0.0.0/8
  - 192.168.1.7
  - 2001:db8::/32
  - ::1
allowed_redirect_hosts: [app.example.com, .Example.ORG]
users:
  file: users.yml
session:
  secrets:
    - ${GATEWAY_SECRET}
    - "0123456789abcdef0123456789abcdef-old"
  store: memory
  secure: true
  idle_timeout: 15m
  lifetime: 8h
identity_headers:
  user: Remote-User
  email: Remote-Email
  groups: Remote-Groups
  name: Remote-Name
routes:
  - path: /
    upstream: http://app:3000
    public: [/health, /static/]
  - path: /admin/
    upstream: https://admin.internal:8443/base
    preserve_host: false
log:
  level: debug
  format: json
`

// fakeEnv is the environment the tests parse with, unless a case gives its own.
func fakeEnv(name string) (string, bool) {
	switch name {
	case "GATEWAY_SECRET":
		return "s3cret-0123456789-abcdefghij-s3cret", true
	case "EMPTY":
		return "", true
	case "STRUCTURE":
		return "a: b\nc: [d]", true
	}
	return "", false
}

func TestParseFull(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "gateway.yaml")
	c, err := parse([]byte(fullConfig), file, fakeEnv, false)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}

	no := false
	want := &Config{
		Listen:               "0.0.0.0:9090",
		StateDir:             "/var/lib/gateway",
		TrustedProxies:       []string{"10.0.0.0/8", "192.168.1.7", "2001:db8::/32", "::1"},
		AllowedRedirectHosts: []string{"app.example.com", ".example.org"},
		Users:                Users{File: filepath.Join(dir, "users.yml")},
		Session: Session{
			Secrets: []string{
				"s3cret-0123456789-abcdefghij-s3cret",
				"0123456789abcdef0123456789abcdef-old",
			},
			Store:       "memory",
			Secure:      "true",
			IdleTimeout: 15 * time.Minute,
			Lifetime:    8 * time.Hour,
			RememberFor: 720 * time.Hour,
			Redis:       Redis{Addresses: []string{"127.0.0.1:6379"}, KeyPrefix: "gateway:"},
		},
		IdentityHeaders: IdentityHeaders{
			User: "Remote-User", Email: "Remote-Email", Groups: "Remote-Groups",
			Name: "Remote-Name",
		},
		Routes: []Route{
			{Path: "/", Upstream: "http://app:3000", Public: []string{"/health", "/static/"}},
			{Path: "/admin/", Upstream: "https://admin.internal:8443/base", PreserveHost: &no},
		},
		Timeouts: Timeouts{ReadHeader: 10 * time.Second, Idle: 2 * time.Minute,
			Page: 30 * time.Second, BodyIdle: time.Minute, Shutdown: 10 * time.Second},
		Throttle: Throttle{AddressFailures: 20, UserAddressFailures: 5, UserFailures: 10,
			Window: 15 * time.Minute, MaxEntries: 100000},
		Limits: Limits{ClientConnections: DefaultClientConnections},
		Log:    Log{Level: "debug", Format: "json"},
		File:   file,
		Trusted: []netip.Prefix{
			netip.MustParsePrefix("10.0.0.0/8"),
			netip.MustParsePrefix("192.168.1.7/32"),
			netip.MustParsePrefix("2001:db8::/32"),
			netip.MustParsePrefix("::1/128"),
		},
	}

	// the typed and defaulted route fields are checked apart, then cleared
	if got := c.Routes[0].PreserveHost; got == nil || !*got {
		t.Errorf("routes[0].PreserveHost: got %v, want true", got)
	}
	want.Routes[0].PreserveHost = c.Routes[0].PreserveHost
	if got := c.IdentityAliases.Builtin; got == nil || !*got {
		t.Errorf("identity_aliases.builtin: got %v, want true", got)
	}
	want.IdentityAliases.Builtin = c.IdentityAliases.Builtin
	if got := c.Session.RememberMe; got == nil || !*got {
		t.Errorf("session.remember_me: got %v, want true", got)
	}
	want.Session.RememberMe = c.Session.RememberMe
	if got := c.TLS; got.Mode != "off" || got.Storage != "file" || got.HSTS == nil || !*got.HSTS {
		t.Errorf("tls defaults: got %+v", got)
	}
	want.TLS = c.TLS
	if c.Assertion.TTL != time.Minute {
		t.Errorf("assertion.ttl: got %v, want 1m", c.Assertion.TTL)
	}
	want.Assertion = c.Assertion
	want.Pages = Pages{Title: "Gateway"}
	for i, wantURL := range []string{"http://app:3000", "https://admin.internal:8443/base"} {
		u := c.Routes[i].UpstreamURL
		if u == nil || u.String() != wantURL {
			t.Errorf("routes[%d].UpstreamURL: got %v, want %s", i, u, wantURL)
		}
		c.Routes[i].UpstreamURL = nil
	}
	if c.lines["routes[1].path"] == 0 {
		t.Errorf("no line recorded for routes[1].path")
	}
	if got := c.expanded["session.secrets[0]"][1]; got != "${GATEWAY_SECRET}" {
		t.Errorf("session.secrets[0] recorded as written %q, want ${GATEWAY_SECRET}", got)
	}
	c.lines, c.expanded, c.vars = nil, nil, nil
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got\n%+v\nwant\n%+v", c, want)
	}
}

func TestParseDefaults(t *testing.T) {
	const data = "users:\n  file: users.yml\nroutes:\n  - upstream: http://app:3000\n"
	c, err := parse([]byte(data), "", fakeEnv, false)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		got, want any
	}{
		{"listen", c.Listen, "127.0.0.1:8080"},
		{"state_dir", c.StateDir, filepath.Join(wd, "data")},
		{"users.file", c.Users.File, filepath.Join(wd, "users.yml")},
		{"trusted_proxies", len(c.TrustedProxies), 0},
		{"trusted", len(c.Trusted), 0},
		{"allowed_redirect_hosts", len(c.AllowedRedirectHosts), 0},
		{"session.secrets", len(c.Session.Secrets), 0},
		{"session.store", c.Session.Store, "bolt"},
		{"session.secure", c.Session.Secure, "auto"},
		{"session.idle_timeout", c.Session.IdleTimeout, 30 * time.Minute},
		{"session.lifetime", c.Session.Lifetime, 12 * time.Hour},
		{"identity_headers.user", c.IdentityHeaders.User, "X-Forwarded-User"},
		{"identity_headers.email", c.IdentityHeaders.Email, "X-Forwarded-Email"},
		{"identity_headers.groups", c.IdentityHeaders.Groups, "X-Forwarded-Groups"},
		{"identity_headers.name", c.IdentityHeaders.Name, "X-Forwarded-Name"},
		{"routes[0].path", c.Routes[0].Path, "/"},
		{"routes[0].preserve_host", *c.Routes[0].PreserveHost, true},
		{"routes[0].upstream", c.Routes[0].UpstreamURL.String(), "http://app:3000"},
		{"log.level", c.Log.Level, "info"},
		{"log.format", c.Log.Format, "text"},
		{"File", c.File, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestParseNullMeansDefault(t *testing.T) {
	const data = "listen:\nsession:\n  secure: ~\n" +
		"users: {file: u}\nroutes: [{upstream: http://a}]\n"
	c, err := parse([]byte(data), "", fakeEnv, false)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if c.Listen != "127.0.0.1:8080" || c.Session.Secure != "auto" {
		t.Errorf("got listen %q, secure %q, want the defaults", c.Listen, c.Session.Secure)
	}
}

// TestParseNamesInLowerCase: host names are compared as the gateway reads a request's
// Host, in lower case without a trailing dot, however the config writes them.
func TestParseNamesInLowerCase(t *testing.T) {
	const data = "listen: \":443\"\nhttp_listen: \":80\"\ntls:\n  mode: acme\n" +
		"  domains: [App.Example.COM, LOCALHOST, b.example.org]\n" +
		"allowed_redirect_hosts: [Docs.Example.com]\n" +
		"users: {file: u}\nroutes: [{host: Wiki.Example.com., upstream: http://a}]\n"
	c, err := parse([]byte(data), "", fakeEnv, false)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if want := []string{"app.example.com", "localhost", "b.example.org"}; !slices.Equal(
		c.TLS.Domains, want) {
		t.Errorf("tls.domains %q, want %q", c.TLS.Domains, want)
	}
	if c.AllowedRedirectHosts[0] != "docs.example.com" || c.Routes[0].Host != "wiki.example.com" {
		t.Errorf("allowed_redirect_hosts %q, route host %q; want them in lower case",
			c.AllowedRedirectHosts, c.Routes[0].Host)
	}
}

func TestParseResolvesPaths(t *testing.T) {
	tests := []struct {
		name, file, users, stateDir string
		wantUsers, wantStateDir     string
	}{
		{"relative", "/etc/gateway/gateway.yaml", "users.yml", "state",
			"/etc/gateway/users.yml", "/etc/gateway/state"},
		{"dot and parent", "/etc/gateway/gateway.yaml", "./sub/../users.yml", "../state",
			"/etc/gateway/users.yml", "/etc/state"},
		{"absolute unchanged", "/etc/gateway/gateway.yaml", "/srv/users.yml", "/var/gw",
			"/srv/users.yml", "/var/gw"},
		{"default state dir", "/etc/gateway/gateway.yaml", "users.yml", "",
			"/etc/gateway/users.yml", "/etc/gateway/data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := "users: {file: " + tt.users + "}\nstate_dir: " + tt.stateDir +
				"\nroutes: [{upstream: http://a}]\n"
			c, err := parse([]byte(data), tt.file, fakeEnv, false)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if c.Users.File != tt.wantUsers {
				t.Errorf("users.file: got %q, want %q", c.Users.File, tt.wantUsers)
			}
			if c.StateDir != tt.wantStateDir {
				t.Errorf("state_dir: got %q, want %q", c.StateDir, tt.wantStateDir)
			}
		})
	}
}

func TestParseRelativeFile(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("users: {file: users.yml}\nroutes: [{upstream: http://a}]\n")
	c, err := parse(data, filepath.Join("conf", "gateway.yaml"), fakeEnv, false)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if want := filepath.Join(wd, "conf", "gateway.yaml"); c.File != want {
		t.Errorf("File: got %q, want %q", c.File, want)
	}
	if want := filepath.Join(wd, "conf", "users.yml"); c.Users.File != want {
		t.Errorf("users.file: got %q, want %q", c.Users.File, want)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "gateway.yaml")
	data := "users: {file: users.yml}\nroutes: [{upstream: http://a}]\n"
	if err := os.WriteFile(file, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(file)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.File != file {
		t.Errorf("File: got %q, want %q", c.File, file)
	}
	if want := filepath.Join(dir, "users.yml"); c.Users.File != want {
		t.Errorf("users.file: got %q, want %q", c.Users.File, want)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(file, []byte("users: {file: u}\nbogus: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("invalid", func(t *testing.T) {
		_, err := Load(file)
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("got %T %v, want *Error", err, err)
		}
		if e.File != file || e.Line != 2 || e.Key != "bogus" {
			t.Errorf("got %q line %d key %q, want %q line 2 key bogus",
				e.File, e.Line, e.Key, file)
		}
	})
	t.Run("too large", func(t *testing.T) {
		// a valid config padded with comments just past the limit
		big := filepath.Join(dir, "big.yaml")
		text := "users: {file: u}\nroutes: [{upstream: http://a}]\n"
		pad := "# " + strings.Repeat("x", 77) + "\n"
		text += strings.Repeat(pad, (MaxFileSize-len(text))/len(pad)+1)
		if err := os.WriteFile(big, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		for name, load := range map[string]func(string) (*Config, error){
			"Load": Load, "LoadAll": LoadAll, "Locate": Locate} {
			_, err := load(big)
			var e *Error
			if !errors.As(err, &e) || e.File != big ||
				!strings.Contains(e.Error(), "larger than 4 MiB") {
				t.Errorf("%s: got %v, want an *Error naming %s as larger than 4 MiB",
					name, err, big)
			}
		}
		if err := os.WriteFile(big, []byte(text[:MaxFileSize]), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(big); err != nil {
			t.Errorf("a file of exactly %d bytes: %v", MaxFileSize, err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		_, err := Load(filepath.Join(dir, "missing.yaml"))
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("got %v, want an error wrapping os.ErrNotExist", err)
		}
	})
}

// TestParseEnvironment reads the real environment, which Parse uses.
func TestParseEnvironment(t *testing.T) {
	t.Setenv("GATEWAY_TEST_UPSTREAM", "http://from-env:3000")
	data := []byte("users: {file: u}\nroutes: [{upstream: '${GATEWAY_TEST_UPSTREAM}'}]\n")
	c, err := Parse(data, "gateway.yaml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got, want := c.Routes[0].UpstreamURL.String(), "http://from-env:3000"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestLocate(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GATEWAY_TEST_STATE", "state")
	tests := []struct {
		name, text string
		stateDir   string // relative to dir; empty when Locate must fail
		wantErr    string
		broken     string // the problem Partial names; empty when it must name none
	}{
		{"secret unset", "state_dir: ${GATEWAY_TEST_STATE}\nusers:\n  file: u.yaml\n" +
			"session:\n  secrets: [\"${GATEWAY_TEST_UNSET}\"]\n", "state", "", ""},
		{"defaults", "users:\n  file: u.yaml\n", "data", "", ""},
		{"state_dir unset", "state_dir: ${GATEWAY_TEST_UNSET}\nusers:\n  file: u.yaml\n", "",
			":1: state_dir: environment variable GATEWAY_TEST_UNSET is not set", ""},
		{"users file unset", "users:\n  file: ${GATEWAY_TEST_UNSET}/u.yaml\n", "",
			":2: users.file: environment variable GATEWAY_TEST_UNSET is not set", ""},
		{"unknown key", "users:\n  file: u.yaml\nstat_dir: x\n", "", ":3: stat_dir: unknown",
			""},
		{"unknown key indented", "users:\n  fiel: u.yaml\n", "",
			":2: users.fiel: unknown key; did you mean file?", ""},
		{"misplaced key", "file: u.yaml\n", "", ":1: file: unknown key here", ""},
		{"state_dir twice", "state_dir: a\nusers:\n  file: u.yaml\nstate_dir: b\n", "",
			":4: state_dir: duplicate key, first set on line 1", ""},
		{"state_dir not text", "state_dir: [a]\nusers:\n  file: u.yaml\n", "",
			":1: state_dir:", ""},
		{"users not a mapping", "users: u.yaml\n", "", ":1: users:", ""},
		{"session not a mapping", "users:\n  file: u.yaml\nsession: bolt\n", "",
			":3: session:", ""},
		{"not YAML", "users:\n  file: u.yaml\n bad: [\n", "", "invalid YAML", ""},
		// a broken edit elsewhere leaves the gateway's state within reach
		{"route key unknown", "users:\n  file: u.yaml\nroutes:\n  - upstream: " +
			"http://127.0.0.1:9\n    publc: [/x]\n", "data", "",
			":5: routes[0].publc: unknown key; did you mean public?"},
		{"bad duration", "state_dir: state\nusers:\n  file: u.yaml\nsession:\n" +
			"  lifetime: 7d\n", "state", "", ":5: session.lifetime: invalid duration"},
		{"secret unset and key unknown", "users:\n  file: u.yaml\nsession:\n" +
			"  secrets: [\"${GATEWAY_TEST_UNSET}\"]\nlisen: :8080\n", "data", "",
			":5: lisen: unknown key; did you mean listen?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "gateway.yaml")
			os.WriteFile(path, []byte(tt.text), 0o600)
			c, err := Locate(path)
			if tt.stateDir == "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Locate: %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.File != path || c.StateDir != filepath.Join(dir, tt.stateDir) ||
				c.Users.File != filepath.Join(dir, "u.yaml") {
				t.Errorf("got file %s, state_dir %s, users %s", c.File, c.StateDir,
					c.Users.File)
			}
			if c.Partial() == nil {
				t.Error("Partial of a located config is nil; it must never pass for a loaded one")
			}
			if p := c.Partial().Error(); tt.broken == "" && strings.Contains(p, "problem") ||
				tt.broken != "" && !strings.Contains(p, tt.broken) {
				t.Errorf("Partial() = %v, want it to name %q", p, tt.broken)
			}
		})
	}
	c, err := Parse([]byte("users:\n  file: u.yaml\nroutes:\n  - upstream: http://127.0.0.1:9\n"),
		"")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Partial(); err != nil {
		t.Errorf("Partial of a parsed config: %v, want nil", err)
	}
}

// TestLoadAllReportsEveryProblem: LoadAll names every problem of a file's keys and
// values, in file order; once those decode, every broken rule, one for each part of the
// config; and nothing for a valid file, which it loads as Load does.
func TestLoadAllReportsEveryProblem(t *testing.T) {
	const head = "users:\n  file: u.yml\n"
	for _, tt := range []struct {
		name, data string
		want       []string // file:line: key: problem, of each
	}{
		{"valid", head + "routes:\n  - upstream: http://a:1\n", nil},
		{"not YAML", head + "routes: [\n", []string{
			"gateway.yaml:3: invalid YAML: did not find expected node content"}},
		{"keys and values", head + "listn: x\nsession:\n  idle_timeout: soon\n" +
			"  idle_timeout: 5m\nroutes:\n  - upstream: http://a:1\n    publik: [/x/]\n" +
			"  - upstream: [http://b:1]\n", []string{
			"gateway.yaml:3: listn: unknown key; did you mean listen?",
			"gateway.yaml:5: session.idle_timeout: invalid duration \"soon\": write a " +
				"number and a unit, such as 90s, 30m or 12h",
			"gateway.yaml:6: session.idle_timeout: duplicate key, first set on line 5",
			"gateway.yaml:9: routes[0].publik: unknown key; did you mean public?",
			"gateway.yaml:10: routes[1].upstream: must be a string, not a list"}},
		{"unknown keys, then rules", head + "lisen: x\nroutes:\n  - upstream: ftp://a\n" +
			"    path: /a/\n    pubic: [/a/b/]\n    public: [/c/]\n", []string{
			"gateway.yaml:3: lisen: unknown key; did you mean listen?",
			"gateway.yaml:7: routes[0].pubic: unknown key; did you mean public?",
			"gateway.yaml:5: routes[0].upstream: upstream must be an http:// or https:// " +
				"URL, as in http://127.0.0.1:9001",
			"gateway.yaml:8: routes[0].public[0]: public path /c/ is not under the " +
				"route's path /a/"}},
		{"a merge key, and no rule judged without its keys", head + "routes:\n" +
			"  - upstream: http://a:1\n  - <<: {upstream: \"http://b:1\"}\n", []string{
			"gateway.yaml:5: routes[1].\"<<\": YAML merge keys (<<) are not supported: " +
				"write the keys out"}},
		{"each key of a route", head + "routes:\n  - path: admin\n    upstream: " +
			"127.0.0.1:9\n    host: a/b\n    public: [/x/, p]\n    cors_preflight: yes\n",
			[]string{
				"gateway.yaml:4: routes[0].path: path must start with /",
				"gateway.yaml:5: routes[0].upstream: upstream must be an http:// or " +
					"https:// URL, as in http://127.0.0.1:9001",
				"gateway.yaml:6: routes[0].host: host \"a/b\" must be a name such as " +
					"app.example.com or *.example.com",
				"gateway.yaml:7: routes[0].public[1]: path must start with /",
				"gateway.yaml:8: routes[0].cors_preflight: cors_preflight must be pass " +
					"or empty, not \"yes\""}},
		{"every entry and key, in file order", "log:\n  level: loud\n  format: xml\n" +
			head + "trusted_proxies: [10.0.0.1/8, nope]\nlisten: here\n" +
			"routes:\n  - upstream: http://a:1\n", []string{
			"gateway.yaml:2: log.level: log level must be one of debug, info, warn, error, " +
				"not \"loud\"",
			"gateway.yaml:3: log.format: log format must be text or json, not \"xml\"",
			"gateway.yaml:6: trusted_proxies[0]: trusted proxy 10.0.0.1/8 has bits set " +
				"past its prefix length; write 10.0.0.0/8",
			"gateway.yaml:6: trusted_proxies[1]: trusted proxy \"nope\" is not an IP " +
				"address or CIDR prefix",
			"gateway.yaml:7: listen: listen must be host:port, such as 127.0.0.1:8080"}},
		{"listeners, assertion and TLS apart", head + "http_listen: x\nadmin:\n" +
			"  listen: 10.0.0.1:9\nassertion:\n  ttl: 2h\ntls:\n  mode: files\n" +
			"routes:\n  - upstream: http://a:1\n", []string{
			"gateway.yaml:3: http_listen: http_listen must be host:port, such as :80, " +
				"with a port from 0 to 65535",
			"gateway.yaml:5: admin.listen: admin.listen must be a loopback host:port, " +
				"such as 127.0.0.1:9090: metrics are not for the internet",
			"gateway.yaml:7: assertion.ttl: ttl must be at most 1h: an assertion is " +
				"meant to be short-lived",
			"gateway.yaml:8: tls.cert_file: value is required",
			"gateway.yaml:8: tls.key_file: value is required"}},
		{"a misspelled key is not missing too", "usres:\n  file: u.yml\n" +
			"routes:\n  - upstream: http://a:1\n", []string{
			"gateway.yaml:1: usres: unknown key; did you mean users?"}},
		{"a key out of its place is not missing in its place too", "file: u.yml\n" +
			"routes:\n  - upstream: http://a:1\n", []string{
			"gateway.yaml:1: file: unknown key here; did you mean users.file? A key's " +
				"place is set by its indentation"}},
		{"each of the session's rules", head + "session:\n  store: boltdb\n" +
			"  secure: maybe\n  secrets: [short]\n  idle_timeout: 2h\n  lifetime: 1h\n" +
			"routes:\n  - upstream: http://a:1\n", []string{
			"gateway.yaml:4: session.store: session store \"boltdb\" is not supported; " +
				"use one of: memory, bolt, redis",
			"gateway.yaml:5: session.secure: secure must be one of auto, true, false, " +
				"not \"maybe\"",
			"gateway.yaml:6: session.secrets[0]: secret must be at least 32 bytes",
			"gateway.yaml:7: session.idle_timeout: idle_timeout (2h0m0s) must not be " +
				"longer than lifetime (1h0m0s)"}},
		{"session durations past ten years", head + "session:\n  idle_timeout: 100000h\n" +
			"  lifetime: 90000h\n  remember_for: 2200000h\nroutes:\n  - upstream: http://a:1\n",
			[]string{
				"gateway.yaml:4: session.idle_timeout: idle_timeout (100000h0m0s) must not " +
					"be longer than 87600h (10 years)",
				"gateway.yaml:5: session.lifetime: lifetime (90000h0m0s) must not be " +
					"longer than 87600h (10 years)",
				"gateway.yaml:6: session.remember_for: remember_for (2200000h0m0s) must not " +
					"be longer than 87600h (10 years)"}},
		{"rules", head + "session:\n  store: postgres\nroutes:\n  - upstream: ftp://a\n" +
			"  - path: /b/\n    upstream: http://b:1\n    public: [/c/]\n" +
			"  - path: /d/\n    upstream: http://d:1\n", []string{
			"gateway.yaml:4: session.store: session store \"postgres\" is not supported; " +
				"use one of: memory, bolt, redis",
			"gateway.yaml:6: routes[0].upstream: upstream must be an http:// or https:// " +
				"URL, as in http://127.0.0.1:9001",
			"gateway.yaml:9: routes[1].public[0]: public path /c/ is not under the " +
				"route's path /b/"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "gateway.yaml")
			if err := os.WriteFile(path, []byte(tt.data), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := LoadAll(path)
			var got []string
			all, joined := err.(interface{ Unwrap() []error })
			switch {
			case err == nil && c == nil:
				t.Fatal("no config and no error")
			case err == nil:
			case joined:
				for _, p := range all.Unwrap() {
					var e *Error
					if !errors.As(p, &e) {
						t.Errorf("problem %v is a %T, not an *Error", p, p)
					}
					got = append(got, strings.TrimPrefix(p.Error(), filepath.Dir(path)+"/"))
				}
			default:
				got = []string{strings.TrimPrefix(err.Error(), filepath.Dir(path)+"/")}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"),
					strings.Join(tt.want, "\n"))
			}
			// Load reports the first of them alone
			_, first := Load(path)
			if len(tt.want) > 0 && (first == nil || !strings.HasSuffix(first.Error(),
				strings.TrimPrefix(tt.want[0], "gateway.yaml"))) {
				t.Errorf("Load: got %v, want the first problem", first)
			}
		})
	}
}
