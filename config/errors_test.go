package config

import (
	"errors"
	"strings"
	"testing"
)

// minimal is the smallest valid config; cases add lines before it, so that their line
// numbers are easy to read.
const minimal = "users:\n  file: users.yml\nroutes:\n  - upstream: http://app:3000\n"

// errorCase is a config text and the *Error that parsing it must give.
type errorCase struct {
	name    string
	data    string
	line    int
	key     string
	msg     string // the text of Err
	wantErr error  // when set, errors.Is(err, wantErr) must hold
}

// checkError fails t unless parsing tt.data under the name "gateway.yaml" gives the
// *Error tt describes.
func checkError(t *testing.T, tt errorCase) {
	t.Helper()
	c, err := parse([]byte(tt.data), "gateway.yaml", fakeEnv, false)
	if err == nil {
		t.Fatalf("got config %+v, want an error", c)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %T %v, want *Error", err, err)
	}
	if e.File != "gateway.yaml" {
		t.Errorf("File: got %q, want %q", e.File, "gateway.yaml")
	}
	if e.Line != tt.line {
		t.Errorf("Line: got %d, want %d (%v)", e.Line, tt.line, err)
	}
	if e.Key != tt.key {
		t.Errorf("Key: got %q, want %q (%v)", e.Key, tt.key, err)
	}
	if got := e.Err.Error(); got != tt.msg {
		t.Errorf("message: got %q, want %q", got, tt.msg)
	}
	if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
		t.Errorf("got %v, want an error wrapping %v", err, tt.wantErr)
	}
}

func TestParseDecodeErrors(t *testing.T) {
	tests := []errorCase{
		{
			name: "empty", data: "", line: 1, msg: "config is empty", wantErr: ErrEmpty,
		},
		{
			name: "only comments", data: "# nothing\n\n", line: 1, msg: "config is empty",
			wantErr: ErrEmpty,
		},
		{
			name: "null document", data: "---\n~\n", line: 1, msg: "config is empty",
			wantErr: ErrEmpty,
		},
		{
			name: "not a mapping", data: "- a\n- b\n", line: 1,
			msg: "config must be a mapping of keys to values, not a list",
		},
		{
			name: "unknown top-level key", data: "listen: :80\nlisten_addr: :80\n" + minimal,
			line: 2, key: "listen_addr", msg: "unknown key", wantErr: ErrUnknownKey,
		},
		{
			name: "unknown nested key",
			data: "session:\n  store: memory\n  secrte: x\n" + minimal,
			line: 3, key: "session.secrte", msg: "unknown key", wantErr: ErrUnknownKey,
		},
		{
			name: "key one level too far out", data: "users:\nfile: u.yaml\n" +
				"routes:\n  - upstream: http://a\n",
			line: 2, key: "file", wantErr: ErrUnknownKey,
			msg: "unknown key here; did you mean users.file? A key's place is set by " +
				"its indentation",
		},
		{
			name: "a users file given as the config", data: "users:\n  alice:\n" +
				"    password: \"$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA\"\n",
			line: 2, key: "users.alice", wantErr: ErrUnknownKey,
			msg: "unknown key; this is a user's entry, and users live in the users file " +
				"that users.file names (is this the users file, given as the config?)",
		},
		{
			name: "session key at the top", data: "remember_me: true\n" + minimal,
			line: 1, key: "remember_me", wantErr: ErrUnknownKey,
			msg: "unknown key here; did you mean session.remember_me? A key's place is " +
				"set by its indentation",
		},
		{
			name: "key of two places", data: "users: {file: u}\nroutes:\n" +
				"  - upstream: http://a\n    users: [alice]\n",
			line: 4, key: "routes[0].users", wantErr: ErrUnknownKey,
			msg: "unknown key here; did you mean routes[].allow.users or users? A key's " +
				"place is set by its indentation",
		},
		{
			name: "key of three places", data: "users: {file: u}\nroutes:\n" +
				"  - upstream: http://a\n    email: X-Mail\n",
			line: 4, key: "routes[0].email", wantErr: ErrUnknownKey,
			msg: "unknown key here; did you mean identity_headers.email, " +
				"routes[].identity_headers.email or tls.email? A key's place is set by " +
				"its indentation",
		},
		{
			name: "a typo before a key elsewhere", data: "user: {file: u}\n" +
				"routes:\n  - upstream: http://a\n",
			line: 1, key: "user", wantErr: ErrUnknownKey,
			msg: "unknown key; did you mean users?",
		},
		{
			name: "unknown key in second route",
			data: "users: {file: u}\nroutes:\n  - upstream: http://a\n  - path: /b\n" +
				"    upstrem: http://b\n",
			line: 5, key: "routes[1].upstrem", msg: "unknown key; did you mean upstream?",
			wantErr: ErrUnknownKey,
		},
		{
			name: "unknown key in another letter case", data: "LISTEN: :80\n" + minimal,
			line: 1, key: "LISTEN", msg: "unknown key; did you mean listen?",
			wantErr: ErrUnknownKey,
		},
		{
			name: "unknown key a letter short", data: "routes:\n  - upstream: http://a\n" +
				"    pat: /x\nusers: {file: u}\n",
			line: 3, key: "routes[0].pat", msg: "unknown key; did you mean path?",
			wantErr: ErrUnknownKey,
		},
		{
			name: "unknown key quoted", data: "log:\n  \"a.b\": 1\n" + minimal,
			line: 2, key: `log."a.b"`, msg: "unknown key", wantErr: ErrUnknownKey,
		},
		{
			name: "not-a-key File", data: "File: x\n" + minimal,
			line: 1, key: "File", msg: "unknown key", wantErr: ErrUnknownKey,
		},
		{
			name: "merge key", data: "log:\n  <<: {level: info}\n" + minimal,
			line: 2, key: `log."<<"`,
			msg: "YAML merge keys (<<) are not supported: write the keys out",
		},
		{
			name: "first problem in file order",
			data: "session:\n  idle_timeout: soon\nbogus: 1\n" + minimal,
			line: 2, key: "session.idle_timeout",
			msg: `invalid duration "soon": write a number and a unit, such as 90s, 30m or 12h`,
		},
		{
			name: "wrong type mapping for string", data: "listen: {host: a}\n" + minimal,
			line: 1, key: "listen", msg: "must be a string, not a mapping",
		},
		{
			name: "wrong type scalar for list", data: "trusted_proxies: 10.0.0.0/8\n" + minimal,
			line: 1, key: "trusted_proxies", msg: "must be a list, not a single value",
		},
		{
			name: "wrong type scalar for struct", data: "session: memory\n" + minimal,
			line: 1, key: "session", msg: "must be a mapping, not a single value",
		},
		{
			name: "wrong type list item",
			data: "session:\n  secrets:\n    - [a, b]\n" + minimal,
			line: 3, key: "session.secrets[0]", msg: "must be a string, not a list",
		},
		{
			name: "wrong type bool",
			data: "users: {file: u}\nroutes:\n  - upstream: http://a\n    preserve_host: yes\n",
			line: 4, key: "routes[0].preserve_host", msg: `must be true or false, not "yes"`,
		},
		{
			name: "bad duration", data: "session:\n  lifetime: 30 minutes\n" + minimal,
			line: 2, key: "session.lifetime",
			msg: `invalid duration "30 minutes": write a number and a unit, ` +
				"such as 90s, 30m or 12h",
		},
		{
			name: "duration in days", data: "session:\n  remember_for: 30d\n" + minimal,
			line: 2, key: "session.remember_for",
			msg: `invalid duration "30d": the longest unit is h, so write days as hours, ` +
				"such as 720h",
		},
		{
			name: "integer duration", data: "session:\n  lifetime: 3600\n" + minimal,
			line: 2, key: "session.lifetime",
			msg: `invalid duration "3600": write a number and a unit, such as 90s, 30m or 12h`,
		},
		{
			name: "zero duration", data: "session:\n  idle_timeout: 0s\n" + minimal,
			line: 2, key: "session.idle_timeout", msg: "duration must be greater than 0",
		},
		{
			name: "negative duration", data: "session:\n  lifetime: -1h\n" + minimal,
			line: 2, key: "session.lifetime", msg: "duration must be greater than 0",
		},
		{
			name: "duplicate key", data: "listen: :80\nlog: {}\nlisten: :81\n" + minimal,
			line: 3, key: "listen", msg: "duplicate key, first set on line 1",
			wantErr: ErrDuplicateKey,
		},
		{
			name: "duplicate nested key",
			data: "users: {file: u}\nroutes:\n  - upstream: http://a\n    upstream: http://b\n",
			line: 4, key: "routes[0].upstream", msg: "duplicate key, first set on line 3",
			wantErr: ErrDuplicateKey,
		},
		{
			name: "syntax error", data: "listen: :80\n  log: x\n" + minimal,
			line: 2, msg: "invalid YAML: mapping values are not allowed in this context " +
				"(line 2 is indented 2 spaces, line 1 above it 0: " + columns + ")",
		},
		{
			// yaml.v3's text says line 1 here, the line of the mapping
			name: "indented key after a quoted value", data: "listen: \":80\"\n  bad: [\n",
			line: 2, msg: "invalid YAML: did not find expected key (line 2 is indented 2 " +
				"spaces, line 1 above it 0: " + columns + ")",
		},
		{
			// and line 3 here, the line before the unclosed list
			name: "unclosed flow list",
			data: "listen: :80\nlog:\n  level: info\nstate_dir: [a, b\n" + minimal,
			line: 4, msg: "invalid YAML: did not find expected ',' or ']' (a list written " +
				"[a, b] lacks its closing ], or a comma between items)",
		},
		{
			name: "syntax error without line in message",
			data: "listen: :80\nlog:\n  level: \"\\q\"\n" + minimal,
			line: 3, msg: "invalid YAML: found unknown escape character",
		},
		{
			name: "syntax error in second document without line in message",
			data: minimal + "---\nlog: \"\\q\"\n",
			line: 6, msg: "invalid YAML: found unknown escape character",
		},
		{
			name: "tab indentation", data: "log:\n\tlevel: info\n" + minimal,
			line: 2, msg: "invalid YAML: found character that cannot start any token " +
				"(a tab indents this line; YAML is indented with spaces only)",
		},
		{
			name: "second document", data: minimal + "---\nlisten: :80\n",
			line: 5, msg: "a second YAML document is not allowed",
		},
		{
			name: "empty second document", data: minimal + "---\n",
			line: 5, msg: "a second YAML document is not allowed",
		},
		{
			name: "problem in first document before second",
			data: "bogus: 1\n" + minimal + "---\n",
			line: 1, key: "bogus", msg: "unknown key", wantErr: ErrUnknownKey,
		},
		{
			name: "anchor", data: "log: &l {level: info}\n" + minimal,
			line: 1, key: "log", msg: "YAML anchors and aliases are not supported",
		},
		{
			name: "alias",
			data: "users: {file: &f u}\nstate_dir: *f\nroutes: [{upstream: http://a}]\n",
			line: 1, key: "users.file", msg: "YAML anchors and aliases are not supported",
		},
		{
			name: "complex key", data: "? [a, b]\n: c\n" + minimal,
			line: 1, msg: "a key must be a plain name, not a list",
		},
		{
			name: "unset env var",
			data: "session:\n  secrets:\n    - ${GATEWAY_UNSET}\n" + minimal,
			line: 3, key: "session.secrets[0]",
			msg: "environment variable GATEWAY_UNSET is not set",
		},
		{
			name: "bad env reference", data: "listen: ${1PORT}\n" + minimal,
			line: 1, key: "listen",
			msg: "invalid environment reference: write ${NAME}, or $${ for a literal ${",
		},
		{
			name: "unclosed env reference", data: "listen: \"${PORT\"\n" + minimal,
			line: 1, key: "listen",
			msg: "invalid environment reference: write ${NAME}, or $${ for a literal ${",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkError(t, tt) })
	}
}

// columns ends the hint for a line indented out of place.
const columns = "the keys of one mapping start in one column, and only a key that ends " +
	"its line with a colon has lines indented under it"

func TestParseEnvValues(t *testing.T) {
	tests := []struct {
		name, value, want string
	}{
		{"structure stays a string", "${STRUCTURE}", "a: b\nc: [d]"},
		{"literal", "$${GATEWAY_SECRET}", "${GATEWAY_SECRET}"},
		{"in the middle", "x-${GATEWAY_SECRET}-y", "x-s3cret-0123456789-abcdefghij-s3cret-y"},
		{"empty value", "a${EMPTY}b", "ab"},
		{"lone dollar", "$HOME $", "$HOME $"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := "users:\n  file: '" + tt.value + "'\nroutes: [{upstream: http://a}]\n"
			c, err := parse([]byte(data), "/etc/gateway.yaml", fakeEnv, false)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if got := strings.TrimPrefix(c.Users.File, "/etc/"); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	cause := errors.New("upstream must be an http or https URL")
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"all", &Error{"gateway.yaml", 12, "routes[0].upstream", cause},
			"gateway.yaml:12: routes[0].upstream: upstream must be an http or https URL"},
		{"no key", &Error{"gateway.yaml", 3, "", cause},
			"gateway.yaml:3: upstream must be an http or https URL"},
		{"no file", &Error{"", 3, "listen", cause},
			"line 3: listen: upstream must be an http or https URL"},
		{"no line", &Error{"gateway.yaml", 0, "listen", cause},
			"gateway.yaml: listen: upstream must be an http or https URL"},
		{"only cause", &Error{Err: cause}, "upstream must be an http or https URL"},
		{"nothing", &Error{}, "invalid config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	if !errors.Is(&Error{Err: ErrUnknownKey}, ErrUnknownKey) {
		t.Error("got errors.Is false for the wrapped sentinel, want true")
	}
}

// TestProblemsHideEnvironmentValues: a problem with a value read from the environment
// quotes it as the file wrote it, never the variable's value, which may be a secret.
func TestProblemsHideEnvironmentValues(t *testing.T) {
	env := map[string]string{"REDIS_URL": "redis://:hunter2pass@10.0.0.5:6379/0",
		"LEVEL": "loud\"secret", "SIZE": "lots-of-secret", "OKSIZE": "10MB"}
	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok }
	config := func(size string) string {
		return "users:\n  file: u.yml\nsession:\n  store: redis\n  redis:\n" +
			"    addresses: [\"${REDIS_URL}\"]\nlog:\n  level: \"${LEVEL}\"\nroutes:\n" +
			"  - upstream: http://a:1\n    max_body: \"${" + size + "}\"\n"
	}
	for _, tt := range []struct {
		size string
		all  bool
		want []string // as written in the file
	}{
		{"SIZE", false, []string{"${SIZE}"}}, // a value that does not decode
		{"SIZE", true, []string{"${SIZE}"}},
		{"OKSIZE", false, []string{"${REDIS_URL}"}}, // values that break rules
		{"OKSIZE", true, []string{"${REDIS_URL}", "${LEVEL}"}},
	} {
		_, err := parse([]byte(config(tt.size)), "gateway.yaml", lookup, tt.all)
		if err == nil {
			t.Fatalf("%s, all %v: no problem found", tt.size, tt.all)
		}
		msg := err.Error()
		if strings.Contains(msg, "hunter2pass") || strings.Contains(msg, "secret") {
			t.Errorf("%s, all %v: a variable's value shows in %q", tt.size, tt.all, msg)
		}
		for _, w := range tt.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s, all %v: %q does not name %s", tt.size, tt.all, msg, w)
			}
		}
	}
}
