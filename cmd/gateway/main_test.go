package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frontgate/gateway/authn/password"
	"github.com/frontgate/gateway/authn/session/boltstore"
	"golang.org/x/crypto/bcrypt"
)

func runCmd(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestHashPassword(t *testing.T) {
	const short = "gateway hash-password: warning: the password is %d characters long; " +
		"one of fewer than 8 falls to guessing soonest\n"
	for _, tt := range []struct {
		name, stdin, password, warning string
	}{
		{"trailing newline", "s3cret-pass\n", "s3cret-pass", ""},
		{"crlf", "s3cret-pass\r\n", "s3cret-pass", ""},
		{"no newline", "s3cret-pass", "s3cret-pass", ""},
		{"inner spaces kept", " two words \n", " two words ", ""},
		{"tab kept", "tab\there\n", "tab\there", ""},
		{"short, warned of", "x\n", "x", fmt.Sprintf(short, 1)},
		{"7 letters, counted as characters", "ééééééé\n", "ééééééé", fmt.Sprintf(short, 7)},
		{"8 characters", "éééééééé\n", "éééééééé", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, tt.stdin, "hash-password")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if errOut != tt.warning {
				t.Errorf("stderr %q, want %q", errOut, tt.warning)
			}
			enc := strings.TrimSpace(out)
			if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
				t.Errorf("hash %q is not argon2id at the default parameters", enc)
			}
			h, err := password.Parse(enc)
			if err != nil {
				t.Fatal(err)
			}
			if !h.Verify(tt.password) {
				t.Errorf("hash does not verify %q", tt.password)
			}
		})
	}
	for _, stdin := range []string{"", "\n", strings.Repeat("a", password.MaxLength+1),
		"pw\n\n", "a\nb\n", "cr\rhere", "nul\x00"} {
		if code, _, _ := runCmd(t, stdin, "hash-password"); code == 0 {
			t.Errorf("hash-password accepted %d bytes of stdin %.10q", len(stdin), stdin)
		}
	}
}

func TestCheck(t *testing.T) {
	// as another user than root, which this test may be run as
	defer func(f func() int) { effectiveUser = f }(effectiveUser)
	effectiveUser = func() int { return 1000 }
	dir := t.TempDir()
	users := filepath.Join(dir, "users.yaml")
	// a hash of the cost gateway hash-password gives: a cheaper one is warned of
	h, _ := password.Generate("pw", password.DefaultArgon2)
	os.WriteFile(users, []byte("users:\n  alice:\n    password: \""+h+"\"\n"), 0o600)
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("users:\n  file: users.yaml\nroutes:\n"+
		"  - upstream: http://127.0.0.1:9001\n"), 0o600)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("users:\n  file: users.yaml\nroutes:\n"+
		"  - upstream: http://127.0.0.1:9001\n    publik: [/x/]\n"), 0o600)
	badUsers := filepath.Join(dir, "badusers.yaml")
	os.WriteFile(badUsers, []byte("users:\n  file: users2.yaml\nroutes:\n"+
		"  - upstream: http://127.0.0.1:9001\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "users2.yaml"),
		[]byte("users:\n  bob:\n    password: \"$6$x$y\"\n"), 0o600)

	if code, out, errOut := runCmd(t, "", "check", "-config", good); code != 0 {
		t.Errorf("good config: exit %d, %s%s", code, out, errOut)
	}
	if code, out, errOut := runCmd(t, "", "check", "-strict", "-config", good); code != 0 ||
		errOut != "" {
		t.Errorf("good config, -strict: exit %d, %s%s; want 0 and nothing said", code, out,
			errOut)
	}
	// a warning fails the check only with -strict
	warned := filepath.Join(dir, "warned.yaml")
	os.WriteFile(warned, []byte("users:\n  file: users.yaml\nroutes:\n"+
		"  - upstream: http://127.0.0.1:9001\n    allow:\n      users: [alice, bobb]\n"),
		0o600)
	const warning = `:6: routes[0].allow.users[1]: no user "bobb" in `
	if code, out, errOut := runCmd(t, "", "check", "-config", warned); code != 0 ||
		!strings.Contains(errOut, warning) || !strings.Contains(out, ": ok (1 route") {
		t.Errorf("a warning: exit %d, %q, %q; want 0, the warning and ok", code, out, errOut)
	}
	code, out, errOut := runCmd(t, "", "check", "-config", warned, "-strict")
	if code != 1 || out != "" || !strings.Contains(errOut, warning) ||
		!strings.HasSuffix(errOut, warned+": warnings, which -strict counts as problems\n") {
		t.Errorf("a warning, -strict: exit %d, %q, %q; want 1, the warning and why", code,
			out, errOut)
	}
	code, _, errOut = runCmd(t, "", "check", "-config", bad)
	if code == 0 || !strings.Contains(errOut, "bad.yaml:5") ||
		!strings.Contains(errOut, "routes[0].publik") {
		t.Errorf("bad config: exit %d, stderr %q; want file, line 5 and key", code, errOut)
	}
	// every problem of the config, each on a line of its own
	several := filepath.Join(dir, "several.yaml")
	os.WriteFile(several, []byte("users:\n  file: users.yaml\nlistn: x\nroutes:\n"+
		"  - upstream: http://127.0.0.1:9001\n    publik: [/x/]\n"), 0o600)
	code, _, errOut = runCmd(t, "", "check", "-config", several)
	if want := "gateway check: " + several + ":3: listn: unknown key; did you mean " +
		"listen?\ngateway check: " + several + ":6: routes[0].publik: unknown key; did you " +
		"mean public?\n"; code != 1 || errOut != want {
		t.Errorf("config with two problems: exit %d, stderr\n%s\nwant exit 1 and\n%s", code,
			errOut, want)
	}
	code, _, errOut = runCmd(t, "", "check", "-config", badUsers)
	if code == 0 || !strings.Contains(errOut, "users2.yaml:3") ||
		!strings.Contains(errOut, "users.bob.password") {
		t.Errorf("bad users file: exit %d, stderr %q", code, errOut)
	}
	// every problem of the users file's users, each on a line of its own
	users3 := filepath.Join(dir, "users3.yaml")
	os.WriteFile(users3, []byte("users:\n  bob:\n    password: \""+h+"\"\n    grups: [a]\n"+
		"  carol:\n    password: \"$6$x$y\"\n  bob:\n    password: \""+h+"\"\n"), 0o600)
	os.WriteFile(badUsers, []byte("users:\n  file: users3.yaml\nroutes:\n"+
		"  - upstream: http://127.0.0.1:9001\n"), 0o600)
	code, _, errOut = runCmd(t, "", "check", "-config", badUsers)
	if want := "gateway check: " + users3 + ":4: users.bob.grups: unknown key; did you " +
		"mean groups?\ngateway check: " + users3 + ":6: users.carol.password: "; code != 1 ||
		!strings.HasPrefix(errOut, want) || strings.Count(errOut, "\n") != 3 ||
		!strings.HasSuffix(errOut, users3+":7: users.bob: user defined twice\n") {
		t.Errorf("users file with three problems: exit %d, stderr\n%s\nwant exit 1, "+
			"three lines, starting\n%s", code, errOut, want)
	}

	// an unset variable and the users file's problems: each on a line of its own, the
	// users file's in its order
	unset := filepath.Join(dir, "unset.yaml")
	os.WriteFile(unset, []byte("users:\n  file: users3.yaml\nsession:\n"+
		"  secrets: [\"${GATEWAY_TEST_UNSET}\"]\nroutes:\n"+
		"  - upstream: http://127.0.0.1:9001\n"), 0o600)
	code, _, errOut = runCmd(t, "", "check", "-config", unset)
	lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
	if code != 1 || len(lines) != 4 || !strings.Contains(lines[0], "GATEWAY_TEST_UNSET") ||
		!strings.Contains(lines[1], users3+":4:") || !strings.Contains(lines[2], users3+":6:") ||
		!strings.Contains(lines[3], users3+":7:") {
		t.Errorf("unset variable and users file: exit %d, stderr\n%s\nwant exit 1 and four "+
			"lines: the variable, then lines 4, 6 and 7 of %s", code, errOut, users3)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "gateway check: ") {
			t.Errorf("line without the command's name: %q", l)
		}
	}

	// warnings of a config that loads are told beside the problems of its users file
	both := filepath.Join(dir, "both.yaml")
	os.WriteFile(both, []byte("users:\n  file: users3.yaml\nroutes:\n"+
		"  - upstream: http://127.0.0.1:9001\n    allow:\n      methods: [GTE]\n"), 0o600)
	code, _, errOut = runCmd(t, "", "check", "-config", both)
	if code != 1 || !strings.Contains(errOut, users3+":7: users.bob: user defined twice\n") ||
		!strings.Contains(errOut, "gateway check: warning: "+both+":6: "+
			"routes[0].allow.methods[0]:") {
		t.Errorf("users file problems and a doubtful rule: exit %d, stderr\n%s\nwant exit "+
			"1, the problems and the warning", code, errOut)
	}

	// A rule naming nobody is valid, so check passes, but says so.
	doubtful := filepath.Join(dir, "doubtful.yaml")
	os.WriteFile(doubtful, []byte("users:\n  file: users.yaml\nroutes:\n"+
		"  - upstream: http://127.0.0.1:9001\n    allow:\n      users: [alice, bobb]\n"+
		"      groups: [admin]\n"), 0o600)
	code, out, errOut = runCmd(t, "", "check", "-config", doubtful)
	want := "gateway check: warning: " + doubtful + ":6: routes[0].allow.users[1]: " +
		"no user \"bobb\" in " + users + "\n" +
		"gateway check: warning: " + doubtful + ":7: routes[0].allow.groups[0]: " +
		"no user in " + users + " is in group \"admin\"\n"
	if code != 0 || errOut != want || !strings.Contains(out, ": ok (1 route") {
		t.Errorf("exit %d, stdout %q, stderr\n%s\nwant stderr\n%s", code, out, errOut, want)
	}
	if _, _, errOut := runCmd(t, "", "check", "-config", good); errOut != "" {
		t.Errorf("good config: stderr %q", errOut)
	}
	// root can read and write what the gateway's user may not: check says so
	effectiveUser = func() int { return 0 }
	if code, _, errOut := runCmd(t, "", "check", "-config", good); code != 0 ||
		errOut != "gateway check: note: checked as root, who may read every file and "+
			"write every folder; unless the gateway runs as root too, run check as its "+
			"user to know that it can\n" {
		t.Errorf("good config checked as root: exit %d, stderr %q", code, errOut)
	}
	effectiveUser = func() int { return 1000 }

	// Hashes cheap to crack, such as htpasswd -B makes, are warned of, with who has one.
	cheap, _ := bcrypt.GenerateFromPassword([]byte("pw"), 5)
	os.WriteFile(users, []byte("users:\n  alice:\n    password: \""+h+"\"\n"+
		"  bob:\n    password: \""+string(cheap)+"\"\n"), 0o600)
	_, _, errOut = runCmd(t, "", "check", "-config", good)
	if want := "gateway check: warning: " + good + ":2: users.file: password hashes " +
		"cheap to crack should the file leak: bob (bcrypt at cost 5, below 10); give them " +
		"hashes from gateway hash-password as they next change their passwords\n"; !strings.
		Contains(errOut, want) {
		t.Errorf("a cheap hash: stderr\n%s\nwant it to hold\n%s", errOut, want)
	}
}

func TestVersionAndUsage(t *testing.T) {
	if code, out, _ := runCmd(t, "", "version"); code != 0 || !strings.HasPrefix(out, "gateway ") {
		t.Errorf("version: exit %d, %q", code, out)
	}
	if code, out, errOut := runCmd(t, "", "version", "-config", "x.yaml"); code != 2 ||
		out != "" || !strings.Contains(errOut, `unexpected argument "-config"`) {
		t.Errorf("version with an argument: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, _, errOut := runCmd(t, "", "frobnicate"); code != 2 ||
		!strings.Contains(errOut, "usage") {
		t.Errorf("unknown command: exit %d, %q", code, errOut)
	}
	if code, _, _ := runCmd(t, "", "run", "-config", "/nonexistent/gateway.yaml"); code != 1 {
		t.Errorf("run with a missing config: exit %d, want 1", code)
	}
}

// TestExplainCommand runs gateway explain with each of its flags: the request is judged
// as the named user from the given address, and the client's spoofed header is gone.
func TestExplainCommand(t *testing.T) {
	path := aliceConfig(t, "session:\n  store: memory\n")

	code, out, errOut := runCmd(t, "", "explain", "-config", path, "-user", "alice",
		"-from", "198.51.100.7", "-H", "X_Forwarded_User: root", "get", "http://localhost/x")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"request:  GET http://localhost/x as alice\n",
		"decision: allowed", "  GET /x HTTP/1.1\n", "  X-Forwarded-For: 198.51.100.7\n",
		"  X-Forwarded-User: alice\n", "removed:  X_forwarded_user, as the client sent it\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "root") {
		t.Errorf("the spoofed header reached the upstream's request:\n%s", out)
	}
	code, out, errOut = runCmd(t, "", "explain", "-config", path, "-user", "alice",
		"CONNECT", "http://localhost/x")
	if code != 3 || !strings.Contains(out, "decision: not implemented: the gateway is no "+
		"forward proxy") {
		t.Errorf("CONNECT: exit %d, output:\n%s%s\nwant the refusal and its reason", code,
			out, errOut)
	}
	// an h2c offer is ignored: the request is served, the app never sees the offer
	code, out, errOut = runCmd(t, "", "explain", "-config", path, "-user", "alice", "-H",
		"Connection: Upgrade", "-H", "Upgrade: h2c", "GET", "http://localhost/x")
	_, upstream, _ := strings.Cut(out, "upstream receives:")
	if code != 0 || !strings.Contains(out, "decision: allowed") ||
		!strings.Contains(out, "removed:  Upgrade, as the client sent it\n") ||
		strings.Contains(strings.ToLower(upstream), "upgrade") {
		t.Errorf("h2c offer: exit %d, output:\n%s%s\nwant it allowed without the offer",
			code, out, errOut)
	}
	if code, out, _ := runCmd(t, "", "explain", "-config", path, "GET", "/x"); code != 3 ||
		!strings.Contains(out, "decision: sign-in required") {
		t.Errorf("explain of an anonymous request: exit %d, want 3, output:\n%s", code, out)
	}
	// flags after METHOD and URL
	if code, out, errOut := runCmd(t, "", "explain", "GET", "/x", "-config", path, "-user",
		"alice"); code != 0 || !strings.Contains(out, "request:  GET http://localhost/x as "+
		"alice\n") {
		t.Errorf("flags after the URL: exit %d, output:\n%s%s", code, out, errOut)
	}
	if code, _, _ := runCmd(t, "", "explain", "-config", path, "GET"); code != 2 {
		t.Errorf("explain without a URL: exit %d, want 2", code)
	}
	if code, _, errOut := runCmd(t, "", "explain", "-config", path, "-user", "nobody", "GET",
		"/"); code != 1 || !strings.Contains(errOut, "nobody") {
		t.Errorf("explain as an unknown user: exit %d, stderr %q; want 1 naming the user",
			code, errOut)
	}
	// what the server could not read is an error, never a panic
	for _, tt := range []struct{ method, url, from, want string }{
		{"GET", "http://[::1", "", `URL "http://[::1": the gateway answers such a request 400`},
		{"GET", "/%zz", "", `URL "/%zz": the gateway answers such a request 400`},
		{"GET", "", "", `URL "": the gateway answers such a request 400`},
		{"GET", "http://x:80:80/", "", `URL "http://x:80:80/": the gateway answers`},
		{"GET", "ftp://x/", "", `URL "ftp://x/" is neither an http or https URL`},
		{"GE T", "/", "", `method "GE T" is not an HTTP method`},
		{"", "/", "", `method "" is not an HTTP method`},
		{"GET", "/", "nonsense", `client address "nonsense" is not an IP address`},
	} {
		args := []string{"explain", "-config", path, tt.method, tt.url}
		if tt.from != "" {
			args = append(args, "-from", tt.from)
		}
		if code, _, errOut := runCmd(t, "", args...); code != 1 ||
			!strings.Contains(errOut, tt.want) {
			t.Errorf("explain %q %q: exit %d, stderr %q; want 1 saying %q", tt.method, tt.url,
				code, errOut, tt.want)
		}
	}
	// Host names the request's host, once, unless the URL names one
	code, out, errOut = runCmd(t, "", "explain", "-config", path, "-user", "alice", "-H",
		"Host: app.example.com", "GET", "/x")
	if code != 0 || !strings.Contains(out, "request:  GET http://app.example.com/x as alice") ||
		strings.Count(out, "\n  Host: ") != 1 {
		t.Errorf("explain with -H Host: exit %d, output:\n%s%s", code, out, errOut)
	}
	if code, _, errOut := runCmd(t, "", "explain", "-config", path, "-H", "Host: a b",
		"GET", "/x"); code != 1 || !strings.Contains(errOut, "answers a request with a Host") {
		t.Errorf("explain with a Host the server cannot read: exit %d, %q; want 1", code,
			errOut)
	}
	if code, _, errOut := runCmd(t, "", "explain", "-config", path, "-H",
		"X: a\r\nX-Forwarded-User: admin", "GET", "/x"); code != 1 ||
		!strings.Contains(errOut, "holds a character the gateway's server refuses") {
		t.Errorf("explain with a header value holding CR LF: exit %d, %q; want 1", code, errOut)
	}
	if code, out, errOut := runCmd(t, "", "explain", "-config", path, "-from", "2001:db8::7",
		"-user", "alice", "GET", "/x"); code != 0 ||
		!strings.Contains(out, "X-Forwarded-For: 2001:db8::7\n") {
		t.Errorf("explain from an IPv6 address: exit %d, output:\n%s%s", code, out, errOut)
	}
}

// TestSessionsCommand: flags go before or after the command, and revoking the sessions
// of a user the users file does not name says so.
func TestSessionsCommand(t *testing.T) {
	path := aliceConfig(t, "state_dir: state\nsession:\n  store: bolt\n")
	state := filepath.Join(filepath.Dir(path), "state")
	os.Mkdir(state, 0o700)
	// before any gateway has run with this state_dir, there is no store to read
	if code, _, errOut := runCmd(t, "", "sessions", "list", "-config", path); code != 1 ||
		!strings.Contains(errOut, "no gateway has run with it") {
		t.Errorf("a state_dir no gateway has used: exit %d, %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(state, "sessions.db")); err == nil {
		t.Error("listing made a session store")
	}
	st, err := boltstore.Open(filepath.Join(state, "sessions.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()

	for _, args := range [][]string{{"sessions", "list", "-config", path},
		{"sessions", "-config", path, "list"}} {
		// (the first run makes the secret no gateway made here, and warns of it)
		if code, out, errOut := runCmd(t, "", args...); code != 0 || out != "" ||
			!strings.HasSuffix(errOut, "\ngateway sessions: no live sessions\n") &&
				errOut != "gateway sessions: no live sessions\n" {
			t.Errorf("%q: exit %d, %q, %q; want 0 and no live sessions said", args, code,
				out, errOut)
		}
	}
	code, out, errOut := runCmd(t, "", "sessions", "-config", path, "revoke", "-user", "alise")
	if code != 1 || out != "" || !strings.Contains(errOut, `no user "alise" in `) {
		t.Errorf("revoke of an unknown user: exit %d, %q, %q", code, out, errOut)
	}
	code, out, errOut = runCmd(t, "", "sessions", "list", "-config", path, "-user", "alise")
	if code != 1 || out != "" || !strings.Contains(errOut, `no user "alise" in `) {
		t.Errorf("list of an unknown user: exit %d, %q, %q", code, out, errOut)
	}
	if code, _, errOut := runCmd(t, "", "sessions", "list", "-config", path, "-user",
		"alice"); code != 0 || errOut != "gateway sessions: no live sessions of alice\n" {
		t.Errorf("list of a known user without sessions: exit %d, %q", code, errOut)
	}
	_, _, errOut = runCmd(t, "", "sessions", "revoke", "-config", path, "-user", "alice")
	if strings.Contains(errOut, "no user") || !strings.Contains(errOut, "user=alice") {
		t.Errorf("revoke of a known user: stderr %q, want its audit record only", errOut)
	}
	if code, _, errOut := runCmd(t, "", "sessions", "-config", path); code != 2 ||
		!strings.Contains(errOut, "usage") {
		t.Errorf("no command: exit %d, %q", code, errOut)
	}
	for _, args := range [][]string{{"revoke"}, {"revoke", "-user", "alice", "-id", "abcdefgh"},
		{"list", "extra"}, {"list", "-id", "abcdefgh"}, {"list", "-id", ""},
		{"list", "-user", ""}} {
		code, _, errOut := runCmd(t, "", append([]string{"sessions", "-config", path},
			args...)...)
		if code != 2 || !strings.Contains(errOut, "usage") {
			t.Errorf("sessions %q: exit %d, %q; want 2 with the usage", args, code, errOut)
		}
	}
}

// aliceConfig writes, in a folder of its own, a users file with alice (password "pw")
// and a config of one route with the extra top-level keys, and returns the config's path.
func aliceConfig(t *testing.T, extra string) string {
	t.Helper()
	dir := t.TempDir()
	h, _ := password.Generate("pw", password.Argon2Params{Memory: 64, Time: 1, Threads: 1,
		SaltLen: 16, KeyLen: 32})
	os.WriteFile(filepath.Join(dir, "users.yaml"),
		[]byte("users:\n  alice:\n    password: \""+h+"\"\n"), 0o600)
	path := filepath.Join(dir, "gateway.yaml")
	os.WriteFile(path, []byte(extra+"users:\n  file: users.yaml\n"+
		"routes:\n  - upstream: http://127.0.0.1:9001\n"), 0o600)
	return path
}

// TestDrains: serving, and the commands that talk to a gateway or a store or read a
// password from a terminal, handle SIGINT and SIGTERM themselves; the others leave them
// to stop the process at once.
func TestDrains(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want bool
	}{
		{nil, true}, {[]string{"-config", "x.yaml"}, true}, {[]string{"run"}, true},
		{[]string{"sessions", "list"}, true}, {[]string{"explain", "GET", "/"}, true},
		{[]string{"hash-password"}, true},
		{[]string{"check", "-config", "x.yaml"}, false}, {[]string{"import-htpasswd", "-"}, false},
		{[]string{"totp-secret"}, false}, {[]string{"version"}, false},
	} {
		if got := drains(tt.args); got != tt.want {
			t.Errorf("drains(%q) = %v, want %v", tt.args, got, tt.want)
		}
	}
}
