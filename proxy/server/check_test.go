package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/frontgate/gateway/authn"
	"github.com/frontgate/gateway/authn/password"
	"github.com/frontgate/gateway/config"
)

// TestCheckFindsWhatRunRefuses checks that Check reports, with file, line and key, the
// problems that would stop the gateway at start, beyond the config's own syntax: the
// files it points to and the mode of state_dir. It must write nothing in state_dir.
func TestCheckFindsWhatRunRefuses(t *testing.T) {
	tests := []struct {
		name, extra string
		prepare     func(dir string)
		want        string // in the error, after the file name
	}{
		{"ok", "", nil, ""},
		{"state_dir writable by others", "state_dir: st\n", func(dir string) {
			os.Mkdir(filepath.Join(dir, "st"), 0o700)
			os.Chmod(filepath.Join(dir, "st"), 0o777)
		}, ":1: state_dir: "},
		{"certificate file missing", "tls:\n  mode: files\n  cert_file: nope.pem\n" +
			"  key_file: nope.key\n", nil, ":3: tls.cert_file: "},
		{"CA root not PEM", "tls:\n  mode: acme\n  domains: [app.example.test]\n" +
			"  ca_root: ca.pem\n", func(dir string) {
			os.WriteFile(filepath.Join(dir, "ca.pem"), []byte("not PEM"), 0o600)
		}, ":4: tls.ca_root: "},
		{"logo missing", "pages:\n  logo: nologo.png\n", nil, ":2: pages.logo: "},
		{"stylesheet missing", "pages:\n  stylesheet: no.css\n", nil,
			":2: pages.stylesheet: "},
		{"templates folder missing", "pages:\n  templates: nodir\n", nil,
			":2: pages.templates: "},
		{"template that does not parse", "pages:\n  templates: tpl\n", func(dir string) {
			os.Mkdir(filepath.Join(dir, "tpl"), 0o700)
			os.WriteFile(filepath.Join(dir, "tpl", "login.html"), []byte("{{ .Nope "),
				0o600)
		}, ":2: pages.templates: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfigHead(t, tt.extra)
			dir := filepath.Dir(path)
			if tt.prepare != nil {
				tt.prepare(dir)
			}
			_, err := Check(path)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
			} else if err == nil || !strings.Contains(err.Error(), path+tt.want) {
				t.Fatalf("Check: got %v, want an error with %q", err, path+tt.want)
			}
			for _, made := range []string{"data", "st/session-secret"} {
				if _, err := os.Stat(filepath.Join(dir, made)); !os.IsNotExist(err) {
					t.Errorf("Check made %s in the config's folder", made)
				}
			}
		})
	}
}

// TestCheckSaysHowToMakeUsersFile: a users file not made yet is named with the command
// that makes it.
func TestCheckSaysHowToMakeUsersFile(t *testing.T) {
	path := writeConfig(t, "http://127.0.0.1:9")
	users := filepath.Join(filepath.Dir(path), "users.yaml")
	if err := os.Remove(users); err != nil {
		t.Fatal(err)
	}
	_, err := Check(path)
	want := path + ":3: users.file: reading users file: stat " + users + ": no such file " +
		"or directory; make it, with a first user, by gateway passwd -config " + path +
		" -add NAME"
	if err == nil || err.Error() != want {
		t.Errorf("Check: got %v, want %s", err, want)
	}
}

// configAndHash writes a config and its users file, and returns their paths and the
// password hash of the file's one user.
func configAndHash(t *testing.T) (path, users, hash string) {
	t.Helper()
	path = writeConfig(t, "http://127.0.0.1:9")
	users = filepath.Join(filepath.Dir(path), "users.yaml")
	text, err := os.ReadFile(users)
	if err != nil {
		t.Fatal(err)
	}
	hash = strings.TrimSuffix(strings.SplitN(string(text), "password: ", 2)[1], "\n")
	return path, users, hash
}

// warningsOf writes cfg to path, checks it and returns its warnings.
func warningsOf(t *testing.T, path, cfg string) []string {
	t.Helper()
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return warningsAt(t, path)
}

// warningsAt checks the config at path and returns its warnings.
func warningsAt(t *testing.T, path string) []string {
	t.Helper()
	c, err := Check(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range Warnings(c) {
		got = append(got, w.Error())
	}
	return got
}

// TestCheckNamesEveryFileProblem: the problems of state_dir and of the TLS files are
// each named, and the first of the files the handler reads after them.
func TestCheckNamesEveryFileProblem(t *testing.T) {
	path := writeConfigHead(t, "state_dir: st\ntls:\n  mode: files\n  cert_file: no.pem\n"+
		"  key_file: no.key\npages:\n  logo: nologo.png\n  stylesheet: no.css\n")
	st := filepath.Join(filepath.Dir(path), "st")
	os.Mkdir(st, 0o700)
	os.Chmod(st, 0o777)
	_, err := Check(path)
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("Check: %v, want every problem", err)
	}
	var got []string
	for _, e := range joined.Unwrap() {
		var ce *config.Error
		if !errors.As(e, &ce) || ce.File != path {
			t.Fatalf("problem %v names no place in %s", e, path)
		}
		got = append(got, fmt.Sprintf("%d %s", ce.Line, ce.Key))
	}
	want := []string{"1 state_dir", "4 tls.cert_file", "5 tls.key_file", "7 pages.logo"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestCheckReadsUsersPastUnsetVariables: a config whose only problem is a variable not
// set in this shell still has its users file checked, so that fixing one does not
// reveal the other.
func TestCheckReadsUsersPastUnsetVariables(t *testing.T) {
	path := writeConfigHead(t, "session:\n  secrets: [\"${GATEWAY_TEST_UNSET_SECRET}\"]\n")
	users := filepath.Join(filepath.Dir(path), "users.yaml")
	os.WriteFile(users, []byte("users:\n  alice:\n    password: \"not a hash\"\n"), 0o600)
	_, err := Check(path)
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok || len(joined.Unwrap()) != 2 {
		t.Fatalf("Check: %v; want the unset variable and the users file's problem", err)
	}
	got := joined.Unwrap()
	if !errors.Is(got[0], config.ErrUnsetEnv) || !strings.Contains(got[0].Error(),
		"GATEWAY_TEST_UNSET_SECRET") {
		t.Errorf("first problem: %v; want the unset variable", got[0])
	}
	if !strings.Contains(got[1].Error(), users+":3: users.alice.password") {
		t.Errorf("second problem: %v; want alice's password in %s", got[1], users)
	}

	// with the users file sound, the variable is the one problem
	os.WriteFile(users, []byte("users: {}\n"), 0o600)
	if _, err := Check(path); err == nil || !errors.Is(err, config.ErrUnsetEnv) ||
		strings.Contains(err.Error(), "users") {
		t.Errorf("Check with a sound users file: %v; want the unset variable alone", err)
	}
}

// sameWarnings reports got unless it is, in order, want, each after the config's path.
func sameWarnings(t *testing.T, got []string, path string, want []string) {
	t.Helper()
	var full []string
	for _, w := range want {
		full = append(full, path+w)
	}
	if strings.Join(got, "\n") != strings.Join(full, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(full, "\n"))
	}
}

// TestWarnings checks what Warnings doubts, and that a sound config gets none.
func TestWarnings(t *testing.T) {
	path, users, hash := configAndHash(t)
	tests := []struct {
		name, users, allow string
		want               []string // after the config's path
	}{
		{"sound", "  alice:\n    password: " + hash + "\n    groups: [ops]\n",
			"users: [alice]\n      groups: [ops]\n", nil},
		{"no users", "", "", []string{":3: users.file: " + users +
			" has no users, so nobody can sign in"}},
		{"all disabled", "  alice:\n    password: " + hash + "\n    disabled: true\n", "",
			[]string{":3: users.file: every user in " + users + " is disabled, so nobody " +
				"can sign in"}},
		{"one-time codes on a basic_auth route", "  alice:\n    password: " + hash +
			"\n    totp_secret: JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n    groups: [ops]\n" +
			"  bob:\n    password: " + hash + "\n    groups: [ops]\n",
			"groups: [ops]\n    basic_auth: true\n", []string{
				":9: routes[0].basic_auth: a one-time code, which Basic credentials " +
					"cannot carry, is needed to sign in as alice: on this route only a " +
					"browser's session lets them in, and a script sending their password " +
					"is counted as a guesser"}},
		{"a colon in a name on a basic_auth route", "  \"c:ol\":\n    password: " + hash +
			"\n  alice:\n    password: " + hash + "\n", "users: [\"c:ol\", alice]\n    " +
			"basic_auth: true\n", []string{
			":9: routes[0].basic_auth: a colon, which ends the name in Basic credentials, " +
				"is in the name of c:ol: on this route they can sign in in a browser only"}},
		{"names nobody", "  alice:\n    password: " + hash + "\n    groups: [ops]\n",
			"users: [alice, Alice]\n      groups: [ops, admins]\n", []string{
				":8: routes[0].allow.users[1]: no user \"Alice\" in " + users,
				":9: routes[0].allow.groups[1]: no user in " + users +
					" is in group \"admins\""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.WriteFile(users, []byte("users:\n"+tt.users), 0o600)
			cfg := "listen: \"127.0.0.1:0\"\nusers:\n  file: users.yaml\nroutes:\n" +
				"  - upstream: http://127.0.0.1:9\n"
			if tt.allow != "" {
				cfg += "    public: [/public/]\n    allow:\n      " + tt.allow
			}
			got := warningsOf(t, path, cfg)
			sameWarnings(t, got, path, tt.want)
		})
	}
}

// TestSecretListedTwiceWarning: a session secret listed twice is most likely a
// rotation gone wrong, and is warned of; two secrets apart are not.
func TestSecretListedTwiceWarning(t *testing.T) {
	path := writeConfig(t, "http://127.0.0.1:9")
	const a, b = "e4a1f09c3b7d2865e4a1f09c3b7d2865", "0f9e8d7c6b5a49382716aabbccddeeff"
	base := "listen: \"127.0.0.1:0\"\nusers:\n  file: users.yaml\nroutes:\n" +
		"  - upstream: http://127.0.0.1:9\nsession:\n  secrets:\n"
	sameWarnings(t, warningsOf(t, path, base+"    - "+a+"\n    - "+b+"\n"), path, nil)
	sameWarnings(t, warningsOf(t, path, base+"    - "+a+"\n    - "+b+"\n    - "+a+"\n"),
		path, []string{":10: session.secrets[2]: the same secret as session.secrets[0]; " +
			"a rotation puts a new one first"})
}

// TestRuleWarnings: an allow rule whose lists name nobody, and a method no standard
// defines, are warned of; a rule that names someone, or none at all, is not.
func TestRuleWarnings(t *testing.T) {
	path, _, _ := configAndHash(t)
	head := "listen: \"127.0.0.1:0\"\nusers:\n  file: users.yaml\nroutes:\n" +
		"  - upstream: http://127.0.0.1:9\n"
	const nobody = "names no user and no group, so any signed-in user may pass: name " +
		"who may, or drop the empty lists to say so plainly"
	tests := []struct {
		name, rule string
		want       []string // after the config's path
	}{
		{"no rule", "", nil},
		{"empty rule", "    allow: {}\n", nil},
		{"methods alone", "    allow:\n      methods: [GET, head, PROPFIND, m-search, purge]\n",
			[]string{":7: routes[0].allow.methods[3]: M-SEARCH is a method no HTTP or " +
				"WebDAV standard defines: only requests that use it pass this rule; did " +
				"you mean SEARCH?"}},
		{"empty groups", "    allow:\n      groups: []\n",
			[]string{":6: routes[0].allow: " + nobody}},
		{"empty users and groups", "    allow:\n      users: []\n      groups: []\n" +
			"      methods: [GETT]\n", []string{":6: routes[0].allow: " + nobody,
			":9: routes[0].allow.methods[0]: GETT is a method no HTTP or WebDAV " +
				"standard defines: only requests that use it pass this rule; did you " +
				"mean GET?"}},
		{"users named", "    allow:\n      users: [alice]\n      groups: []\n", nil},
		{"a script made public", "    public: [/static/, /favicon.ico, /index.php]\n",
			[]string{":6: routes[0].public[2]: /index.php names a PHP script, which may be " +
				"the app's front controller, serving every page of the app: it stays " +
				"protected as those pages are; make public the folders of files the app " +
				"serves as they are"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := warningsOf(t, path, head+tt.rule)
			sameWarnings(t, got, path, tt.want)
		})
	}
}

// TestLiteralVariableWarnings: a value written as $NAME, which the gateway reads as
// those characters, is warned of with the ${NAME} that reads the variable; ${NAME}
// itself, $${ and a $ inside a longer text are not.
func TestLiteralVariableWarnings(t *testing.T) {
	path, _, _ := configAndHash(t)
	t.Setenv("REDIS_PASSWORD", "from-the-environment")
	head := "listen: \"127.0.0.1:0\"\nusers:\n  file: users.yaml\nroutes:\n" +
		"  - upstream: http://127.0.0.1:9\n"
	tests := []struct {
		name, text string
		want       []string // after the config's path
	}{
		{"bare", "session:\n  redis:\n    password: $REDIS_PASSWORD\n",
			[]string{":8: session.redis.password: $REDIS_PASSWORD is read as these very " +
				"characters; to read the environment variable REDIS_PASSWORD, write " +
				"${REDIS_PASSWORD}"}},
		{"two, in file order", "pages:\n  title: $TITLE\nsession:\n  redis:\n" +
			"    username: $USER\n", []string{
			":7: pages.title: $TITLE is read as these very characters; to read the " +
				"environment variable TITLE, write ${TITLE}",
			":10: session.redis.username: $USER is read as these very characters; to " +
				"read the environment variable USER, write ${USER}"}},
		{"braced", "session:\n  redis:\n    password: ${REDIS_PASSWORD}\n", nil},
		{"escaped", "pages:\n  title: $${TITLE}\n", nil},
		{"inside text", "pages:\n  title: costs $5 or $X each\n", nil},
		{"not a name", "pages:\n  title: $1abc\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := warningsOf(t, path, head+tt.text)
			sameWarnings(t, got, path, tt.want)
		})
	}

	// a file written so, which check then fails to open, says how to read the variable
	os.WriteFile(path, []byte(head+"pages:\n  logo: $LOGO\n"), 0o600)
	_, err := Check(path)
	if err == nil || !strings.Contains(err.Error(), ":7: pages.logo: ") ||
		!strings.HasSuffix(err.Error(), "; to read the environment variable LOGO, write "+
			"${LOGO}") {
		t.Errorf("Check of a logo written $LOGO: %v, want the way to read the variable", err)
	}
}

// costlyHashes returns a hash of the cost gateway hash-password gives, and a bcrypt hash
// at cost 5, as htpasswd -B makes it.
func costlyHashes(t *testing.T) (def, bc string) {
	t.Helper()
	def, err := password.Generate("pw", password.DefaultArgon2)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bcrypt.GenerateFromPassword([]byte("pw"), 5)
	if err != nil {
		t.Fatal(err)
	}
	return def, string(b)
}

// entry is the entry of a users file for name with the password hash hash.
func entry(name, hash string) string {
	return "  " + name + ":\n    password: \"" + strings.Trim(hash, `"`) + "\"\n"
}

// TestMixedCostWarning: users whose hashes are of more than one cost are warned of,
// naming those whose hash is not of the cost gateway hash-password gives; one cost for
// all, whichever it is, is not.
func TestMixedCostWarning(t *testing.T) {
	path, users, cheap := configAndHash(t)
	def, bc := costlyHashes(t)
	const warn = ":3: users.file: password hashes of %d costs: a name whose wrong " +
		"password takes as long as a cost few users have can be told from a missing " +
		"user by the odds; give %s a hash from gateway hash-password, so that every " +
		"user's is of one cost"
	cfg, _ := os.ReadFile(path)
	for _, tt := range []struct {
		name, users string
		want        []string
	}{
		{"one cost", entry("alice", def) + entry("bob", def), nil},
		{"one cost, not the default", entry("alice", cheap) + entry("bob", cheap), nil},
		{"bcrypt hashes of one cost, as different implementations write them",
			entry("alice", bc) + entry("bob", "$2y$"+bc[4:]) +
				entry("carol", "$2b$"+bc[4:]), nil},
		{"a bcrypt user among argon2id ones", entry("alice", def) + entry("bob", def) +
			entry("svc", bc), []string{fmt.Sprintf(warn, 2, "svc")}},
		{"three costs", entry("alice", def) + entry("bob", cheap) + entry("svc",
			bc), []string{fmt.Sprintf(warn, 3, "bob, svc")}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(users, []byte("users:\n"+tt.users), 0o600); err != nil {
				t.Fatal(err)
			}
			sameWarnings(t, warningsOf(t, path, string(cfg)), path, tt.want)
		})
	}
}

// TestWeakHashWarning: users whose password hashes are cheap to crack are named, one
// warning for each kind of cheap hash, and hashes of the cost gateway hash-password
// gives pass.
func TestWeakHashWarning(t *testing.T) {
	defer func(f func(map[string]*authn.User) map[string][]string) { weakHashes = f }(
		weakHashes)
	weakHashes = authn.WeakHashes
	path, users, cheap := configAndHash(t)
	def, bc := costlyHashes(t)
	const warn = ":3: users.file: password hashes cheap to crack should the file leak: " +
		"%s (%s); give them hashes from gateway hash-password as they next change " +
		"their passwords"
	const weakArgon = "argon2id at m=64,t=1, below OWASP's least memory for 1 pass, m=47104"
	cfg, _ := os.ReadFile(path)
	for _, tt := range []struct {
		name, users string
		want        []string
	}{
		{"as hash-password makes them", entry("alice", def) + entry("bob", def), nil},
		{"cheap argon2id", entry("alice", cheap) + entry("bob", cheap) + entry("carol", def),
			[]string{fmt.Sprintf(warn, "alice, bob", weakArgon)}},
		{"two kinds", entry("alice", cheap) + entry("svc", bc), []string{
			fmt.Sprintf(warn, "alice", weakArgon),
			fmt.Sprintf(warn, "svc", "bcrypt at cost 5, below 10")}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sameWarnings(t, usersWarnings(t, path, users, tt.users, string(cfg),
				"cheap to crack"), path, tt.want)
		})
	}
}

// usersWarnings writes entries as the users of the users file at users, checks the config
// cfg at path, and returns its warnings that hold about.
func usersWarnings(t *testing.T, path, users, entries, cfg, about string) []string {
	t.Helper()
	if err := os.WriteFile(users, []byte("users:\n"+entries), 0o600); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range warningsOf(t, path, cfg) {
		if strings.Contains(w, about) {
			got = append(got, w)
		}
	}
	return got
}

// TestLookAlikeWarning: users whose names pass for each other at a glance are warned
// of, one warning for each group; names merely similar are not.
func TestLookAlikeWarning(t *testing.T) {
	path, users, h := configAndHash(t)
	cfg, _ := os.ReadFile(path)
	const warn = ":3: users.file: users %s in %s pass for each other at a glance (they " +
		"differ in case, or in letters drawn alike): one may be meant to be taken for " +
		"another; rename or remove all but one"
	for _, tt := range []struct {
		name, users string
		want        []string
	}{
		{"distinct", entry("alice", h) + entry("alicia", h) + entry("bob", h), nil},
		{"case and lookalikes", entry("alice", h) + entry("Alice", h) + entry("ape", h) +
			entry("аре", h) + entry("bob", h), []string{
			fmt.Sprintf(warn, `"Alice", "alice"`, users),
			fmt.Sprintf(warn, `"ape", "аре"`, users)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sameWarnings(t, usersWarnings(t, path, users, tt.users, string(cfg),
				"at a glance"), path, tt.want)
		})
	}
}

// TestSharedStoreWarnings: with the redis store, which gateways share, a generated
// session secret and a generated assertion key are warned of, each gateway's own.
func TestSharedStoreWarnings(t *testing.T) {
	path, _, _ := configAndHash(t)
	const head = "users:\n  file: users.yaml\nroutes:\n  - upstream: http://127.0.0.1:9\n"
	const redis = "session:\n  store: redis\n  redis:\n    addresses: [\"127.0.0.1:1\"]\n"
	const secret = "  secrets: [\"0123456789abcdef0123456789abcdef-x\"]\n"
	secretWarn := ":5: session.secrets: empty with the redis store: each gateway generates " +
		"a secret of its own, and gateways that share the Redis cannot open each other's " +
		"cookies; give them one secret"
	keyWarn := ":1: assertion.key_file: empty with the redis store: each gateway " +
		"generates an assertion key of its own, and an app behind several gets the key " +
		"set of whichever answers; give them one key file"
	for _, tt := range []struct {
		name, cfg string
		want      []string
	}{
		{"bolt, generated both", head + "    assertion: true\n", nil},
		{"redis, generated secret", head + redis, []string{secretWarn}},
		{"redis, one secret", head + redis + secret, nil},
		{"redis, generated assertion key", head + "    assertion: true\n" + redis + secret,
			[]string{keyWarn}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, w := range warningsOf(t, path, tt.cfg) {
				if strings.Contains(w, "with the redis store") {
					got = append(got, w)
				}
			}
			sameWarnings(t, got, path, tt.want)
		})
	}
}

// TestStateDirWarnings: a state_dir, or the folder it would be made in, that the user
// check runs as could not write, or a store or secret file there it could not read and
// write, is warned of.
func TestStateDirWarnings(t *testing.T) {
	path, _, _ := configAndHash(t)
	dir := filepath.Dir(path)
	state := filepath.Join(dir, "state")
	denied := map[string]bool{}
	t.Cleanup(func() { access = syscall.Access })
	access = func(p string, mode uint32) error {
		if denied[p] {
			return syscall.EACCES
		}
		return nil
	}
	cfg := "listen: \"127.0.0.1:0\"\nstate_dir: state/sub\nusers:\n  file: users.yaml\n" +
		"routes:\n  - upstream: http://127.0.0.1:9\n"
	who := fmt.Sprintf("this user (uid %d)", os.Getuid())

	// not made yet: the folder it would be made in is asked
	denied[dir] = true
	sameWarnings(t, warningsOf(t, path, cfg), path, []string{":2: state_dir: " + dir +
		", where state_dir " + state + "/sub would be made, cannot be written by " + who +
		"; the gateway keeps its sessions, secret and control socket there"})
	delete(denied, dir)
	sameWarnings(t, warningsOf(t, path, cfg), path, nil)

	// made, with a store file the user may not write
	os.MkdirAll(filepath.Join(state, "sub"), 0o700)
	db := filepath.Join(state, "sub", "sessions.db")
	os.WriteFile(db, nil, 0o600)
	denied[db] = true
	sameWarnings(t, warningsOf(t, path, cfg), path, []string{":2: state_dir: " + db +
		" cannot be read and written by " + who + ", as the gateway must"})
	denied[filepath.Join(state, "sub")] = true
	sameWarnings(t, warningsOf(t, path, cfg), path, []string{":2: state_dir: " +
		state + "/sub cannot be written by " + who + "; the gateway keeps its sessions, " +
		"secret and control socket there"})
}

// TestSlowHashWarning: a password hash so slow that the wait a sign-in is given for its
// check, two thirds of timeouts.page, holds fewer than four checks is warned of, naming
// the user and the hash's parameters but nothing of the hash itself.
func TestSlowHashWarning(t *testing.T) {
	path, users, cheap := configAndHash(t)
	// 128 MiB, three passes: well over 50 ms on any machine, where the cheap hash takes
	// far less even on a busy one
	slow, err := password.Generate("pw", password.Argon2Params{Memory: 128 << 10, Time: 3,
		Threads: 1, SaltLen: 16, KeyLen: 32})
	if err != nil {
		t.Fatal(err)
	}
	const kind = "$argon2id$v=19$m=131072,t=3,p=1"
	tests := []struct {
		name, users, page string
		warn              bool
	}{
		{"cheap hashes", "  alice:\n    password: " + cheap + "\n", "300ms", false},
		{"slow hash, default page", "  alice:\n    password: " + slow + "\n", "", false},
		{"slow hash, short page", "  alice:\n    password: " + cheap + "\n  bob:\n" +
			"    password: " + slow + "\n", "300ms", true},
		{"slow hash of a disabled user", "  alice:\n    password: " + cheap + "\n" +
			"  bob:\n    password: " + slow + "\n    disabled: true\n", "300ms", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.WriteFile(users, []byte("users:\n"+tt.users), 0o600)
			cfg := "listen: \"127.0.0.1:0\"\nusers:\n  file: users.yaml\nroutes:\n" +
				"  - upstream: http://127.0.0.1:9\n"
			if tt.page != "" {
				cfg += "timeouts:\n  page: " + tt.page + "\n"
			}
			// the mixed costs of these users are TestMixedCostWarning's
			got := slices.DeleteFunc(warningsOf(t, path, cfg), func(w string) bool {
				return strings.Contains(w, "password hashes of 2 costs")
			})
			switch {
			case !tt.warn && len(got) > 0:
				t.Errorf("got %q, want no warning", got)
			case tt.warn && (len(got) != 1 ||
				!strings.HasPrefix(got[0], path+":7: timeouts.page: a password check "+
					"against a hash like bob's ("+kind+") took ") ||
				!strings.Contains(got[0], "waits at most 200ms") ||
				strings.Contains(got[0], slow[len(kind):])):
				t.Errorf("got %q, want one warning of bob's hash at timeouts.page", got)
			}
		})
	}
}

// TestTLSWarnings checks what Warnings doubts of TLS settings that serve, but not as
// meant, and that a sound files-mode config gets none.
func TestTLSWarnings(t *testing.T) {
	const files = "tls:\n  mode: files\n  cert_file: cert.pem\n  key_file: key.pem\n"
	for _, tt := range []struct {
		name, extra string
		cert        testCert
		keyMode     os.FileMode
		want        []string // after the config's path
	}{
		{"sound", files, testCert{}, 0o600, nil},
		{"no subjectAltName", files, testCert{noSANs: true}, 0o600,
			[]string{":3: tls.cert_file: "}},
		{"key readable by others", files, testCert{}, 0o644, []string{":4: tls.key_file: "}},
		{"expired", files, testCert{notBefore: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
			notAfter: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}, 0o600,
			[]string{":3: tls.cert_file: %DIR%/cert.pem expired on 2025-01-02T03:04:05Z: " +
				"browsers refuse it"}},
		{"not valid yet", files, testCert{notBefore: time.Date(2099, 1, 2, 3, 4, 5, 0,
			time.UTC), notAfter: time.Date(2100, 1, 2, 3, 4, 5, 0, time.UTC)}, 0o600,
			[]string{":3: tls.cert_file: %DIR%/cert.pem is not valid before " +
				"2099-01-02T03:04:05Z: browsers refuse it"}},
		{"RSA key of 1024 bits", files, testCert{rsaBits: 1024}, 0o600,
			[]string{":4: tls.key_file: %DIR%/key.pem holds a 1024-bit RSA key: under 2048 " +
				"bits it is within reach of factoring, and no public CA signs it any more; " +
				"make a new key of 2048 bits or more, or an ECDSA one, and a certificate " +
				"for it"}},
		{"RSA key of 2048 bits", files, testCert{rsaBits: 2048}, 0o600, nil},
		{"cookies without Secure", files + "session:\n  secure: \"false\"\n", testCert{},
			0o600, []string{":6: session.secure: "}},
		{"Secure cookies over plain HTTP", "session:\n  secure: \"true\"\n", testCert{},
			0o600, []string{":2: session.secure: true while tls.mode is off"}},
		{"Secure cookies behind a trusted proxy", "trusted_proxies: [10.0.0.0/8]\n" +
			"session:\n  secure: \"true\"\n", testCert{}, 0o600, nil},
		{"http_listen without TLS", "http_listen: \"127.0.0.1:0\"\n", testCert{}, 0o600,
			[]string{":1: http_listen: "}},
		{"acme keys in files mode", files + "  domains: [localhost]\n" +
			"  email: ops@example.com\n  ca: staging\n  ca_root: root.pem\n  storage: file\n",
			testCert{}, 0o600,
			[]string{":5: tls.domains: set while tls.mode is files: only acme mode",
				":6: tls.email: ", ":7: tls.ca: ", ":8: tls.ca_root: ", ":9: tls.storage: "}},
		{"files keys with TLS off", "tls:\n  cert_file: cert.pem\n  key_file: key.pem\n" +
			"  hsts: false\n", testCert{}, 0o600, []string{
			":2: tls.cert_file: set while tls.mode is off: only files mode",
			":3: tls.key_file: ", ":4: tls.hsts: set while tls.mode is off"}},
		{"files keys in acme mode", "tls:\n  mode: acme\n  domains: [localhost]\n" +
			"  key_file: key.pem\n", testCert{}, 0o600,
			[]string{":4: tls.key_file: set while tls.mode is acme"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfigHead(t, tt.extra)
			dir := filepath.Dir(path)
			tt.cert.serial = 1
			writeCertAs(t, dir, tt.cert)
			os.Chmod(filepath.Join(dir, "key.pem"), tt.keyMode)
			cfg, err := Check(path)
			if err != nil {
				t.Fatal(err)
			}
			got := Warnings(cfg)
			if len(got) != len(tt.want) {
				t.Fatalf("warnings %v, want %d", got, len(tt.want))
			}
			for i, w := range tt.want {
				w = path + strings.ReplaceAll(w, "%DIR%", dir)
				if !strings.HasPrefix(got[i].Error(), w) {
					t.Errorf("warning %q, want it to start %q", got[i], w)
				}
			}
		})
	}
}

// TestMissingKeyFileNamed: a missing key file is named by its own key and line.
func TestMissingKeyFileNamed(t *testing.T) {
	extra := "tls:\n  mode: files\n  cert_file: cert.pem\n  key_file: nokey.pem\n"
	path := writeConfigHead(t, extra)
	writeCert(t, filepath.Dir(path), 1)
	if _, err := Check(path); err == nil || !strings.Contains(err.Error(),
		path+":4: tls.key_file: ") {
		t.Errorf("Check: %v, want the error at line 4, tls.key_file", err)
	}
}

// writeConfigHead is writeConfig with an upstream no test reaches and head, the keys
// under test, first in the file, so that their lines are known.
func writeConfigHead(t *testing.T, head string) string {
	t.Helper()
	path := writeConfig(t, "http://127.0.0.1:9")
	text, _ := os.ReadFile(path)
	os.WriteFile(path, append([]byte(head), text...), 0o600)
	return path
}

// TestLoopWarnings: a route whose upstream is the gateway's own address is doubted, in
// the spellings that reach it; one on another port or address is not.
func TestLoopWarnings(t *testing.T) {
	path := writeConfig(t, "http://127.0.0.1:9")
	for _, tt := range []struct {
		listen, upstream string
		loop             bool
	}{
		{"127.0.0.1:8080", "http://127.0.0.1:8080", true},
		{"127.0.0.1:8080", "http://localhost:8080/app", true},
		{":8080", "http://127.0.0.1:8080", true},
		{"0.0.0.0:8080", "http://[::1]:8080", true},
		{"[::]:80", "http://localhost", true},
		{"localhost:8080", "http://127.0.0.1:8080", true},
		{":8080", "http://0.0.0.0:8080", true},
		{"127.0.0.1:8080", "http://0.0.0.0:8080", true},
		{"127.0.0.1:8080", "http://127.0.0.1:9001", false},
		{"127.0.0.1:8080", "http://127.0.0.2:8080", false},
		{"127.0.0.1:8080", "http://app.internal:8080", false},
		{":8080", "https://127.0.0.1:443", false},
	} {
		os.WriteFile(path, []byte("listen: \""+tt.listen+"\"\nusers:\n  file: users.yaml\n"+
			"routes:\n  - upstream: \""+tt.upstream+"\"\n"), 0o600)
		c, err := Check(path)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, w := range Warnings(c) {
			got += w.Error()
		}
		want := path + ":5: routes[0].upstream: " + tt.upstream + " is the gateway's own " +
			"listen address (" + tt.listen + ")"
		if strings.Contains(got, want) != tt.loop {
			t.Errorf("listen %s, upstream %s: warnings %q; want a loop warning: %v",
				tt.listen, tt.upstream, got, tt.loop)
		}
	}
}

// TestOverlapWarnings: a route through which requests reach the places of the app that
// another route serves under other rules is doubted; routes that divide one app between
// them by path, or that share their rules, are not.
func TestOverlapWarnings(t *testing.T) {
	path := writeConfig(t, "http://127.0.0.1:9")
	const bob = "    allow:\n      users: [alice]\n"
	for _, tt := range []struct {
		name, routes, want string // want: "" for no warning
	}{
		{"a stripped route under another's reach", "  - path: /app/\n    strip_prefix: " +
			"true\n    upstream: http://app:9001/base\n" + bob + "  - upstream: " +
			"http://APP:9001\n", ":9: routes[1].upstream: /base/ on this route is the " +
			"app's /base/, which routes[0] serves at /app/ under other rules"},
		{"another upstream path", "  - path: /admin/\n    upstream: http://app/internal\n" +
			bob + "  - upstream: http://app:80\n", ":8: routes[1].upstream: /internal/admin/ " +
			"on this route is the app's /internal/admin/, which routes[0] serves at " +
			"/admin/"},
		{"one app divided by path", "  - path: /admin/\n    upstream: http://app:9001\n" +
			bob + "  - upstream: http://app:9001\n", ""},
		{"the same rules", "  - path: /app/\n    strip_prefix: true\n    upstream: " +
			"http://app:9001/base\n" + bob + "  - upstream: http://app:9001\n" + bob, ""},
		{"another app", "  - path: /app/\n    strip_prefix: true\n    upstream: " +
			"http://app:9001/base\n" + bob + "  - upstream: http://app:9002\n", ""},
		{"another host's route", "  - host: a.example.com\n    path: /app/\n    " +
			"strip_prefix: true\n    upstream: http://app/base\n" + bob + "  - host: " +
			"b.example.com\n    upstream: http://app\n", ""},
		// with neither passing the client's Host on, the app cannot tell them apart
		{"another host's route, Host not passed on", "  - host: a.example.com\n    " +
			"path: /app/\n    strip_prefix: true\n    preserve_host: false\n    " +
			"upstream: http://app/base\n" + bob + "  - host: b.example.com\n    " +
			"preserve_host: false\n    upstream: http://app\n", ":13: routes[1].upstream: " +
			"/base/ on this route is the app's /base/, which routes[0] serves at /app/"},
		{"a host's route under one for any host", "  - path: /admin/\n    strip_prefix: " +
			"true\n    preserve_host: false\n    upstream: http://app/base\n" + bob +
			"  - host: b.example.com\n    preserve_host: false\n    upstream: http://app\n",
			":12: routes[1].upstream: /base/ on this route is the app's /base/, which " +
				"routes[0] serves at /admin/"},
		{"one of them passing the Host on", "  - host: a.example.com\n    path: /app/\n" +
			"    strip_prefix: true\n    preserve_host: false\n    upstream: " +
			"http://app/base\n" + bob + "  - host: b.example.com\n    upstream: http://app\n",
			""},
		// a public site on the app of a protected one: harmless only if the app tells
		// the hosts apart
		{"a public host's route, Host passed on", "  - upstream: http://app:9001\n" + bob +
			"  - host: open.example.com\n    upstream: http://app:9001\n    public: [/]\n",
			":9: routes[1].public: / on this route is public and is the app's /, which " +
				"routes[0] serves at / behind a sign-in, unless the app serves another site " +
				"for open.example.com"},
		{"a host's route public in part, Host passed on", "  - upstream: http://app:9001\n" +
			bob + "  - host: open.example.com\n    upstream: http://app:9001\n" +
			"    public: [/docs/]\n", ":9: routes[1].public: /docs/ on this route is " +
			"public and is the app's /docs/, which routes[0] serves at /docs/ behind a " +
			"sign-in"},
		{"a host's route with rules of its own, Host passed on", "  - upstream: " +
			"http://app:9001\n" + bob + "  - host: open.example.com\n    upstream: " +
			"http://app:9001\n    allow:\n      groups: [staff]\n", ""},
		{"a public host's route over a public place", "  - path: /open/\n    upstream: " +
			"http://app:9001\n    public: [/open/]\n  - host: open.example.com\n    " +
			"upstream: http://app:9001\n    public: [/]\n", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			os.WriteFile(path, []byte("users:\n  file: users.yaml\nroutes:\n"+tt.routes),
				0o600)
			c, err := Check(path)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, w := range Warnings(c) {
				if strings.Contains(w.Error(), "is the app's") {
					got = append(got, w.Error())
				}
			}
			switch {
			case tt.want == "" && len(got) > 0:
				t.Errorf("warnings %q, want none", got)
			case tt.want != "" && (len(got) != 1 || !strings.HasPrefix(got[0], path+tt.want)):
				t.Errorf("warnings %q, want one starting %q", got, path+tt.want)
			}
		})
	}
}

// TestUsersFileModeWarnings: a users file others may write is doubted, and one others
// may read; one its group may read is the operator's choice.
func TestUsersFileModeWarnings(t *testing.T) {
	path := writeConfig(t, "http://127.0.0.1:9")
	users := filepath.Join(filepath.Dir(path), "users.yaml")
	for _, tt := range []struct {
		mode os.FileMode
		want string
	}{
		{0o600, ""},
		{0o640, ""},
		{0o644, "%USERS% may be read by others (mode -rw-r--r--)"},
		{0o660, "someone else could add themselves as a user: %USERS% may be written by " +
			"group or others (mode -rw-rw----); run chmod go-w on it"},
	} {
		if err := os.Chmod(users, tt.mode); err != nil {
			t.Fatal(err)
		}
		c, err := Check(path)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, w := range Warnings(c) {
			got += w.Error() + "\n"
		}
		if tt.want == "" && strings.Contains(got, "users.file") ||
			tt.want != "" && !strings.Contains(got, ":3: users.file: "+
				strings.ReplaceAll(tt.want, "%USERS%", users)) {
			t.Errorf("mode %o: warnings %q, want %q", tt.mode, got, tt.want)
		}
	}
}

// TestUsersReloadWarns: a users file that leaves a rule's group empty is doubted when it
// is read again, not only when the config is.
func TestUsersReloadWarns(t *testing.T) {
	up := newUpstream(t)
	path := writeConfig(t, up, "    allow:\n      groups: [admins]\n")
	hashes := map[string]string{}
	writeUsersFile(t, path, hashes, map[string]string{"alice": "    groups: [admins]\n"})
	_, logs := runLogged(t, path)
	const doubt = `is in group \"admins\"`
	if strings.Contains(logs.String(), doubt) {
		t.Fatalf("warned while alice is in admins:\n%s", logs.String())
	}
	writeUsersFile(t, path, hashes, map[string]string{"alice": ""})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), doubt) {
		if time.Now().After(deadline) {
			t.Fatalf("no warning that nobody is in admins once the users file said so; "+
				"log:\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestNamedFilesNotWaitedOn: a FIFO in the place of a file the config names is refused
// at once, by check as by a start or a reload, never waited on: the wait would hold the
// reload lock, and with it every later reload.
func TestNamedFilesNotWaitedOn(t *testing.T) {
	for _, tt := range []struct {
		name, upstream, extra string
		fifo                  string // the file made a FIFO, relative to the config
	}{
		{"stylesheet", "http://127.0.0.1:9", "pages:\n  stylesheet: style.css\n", "style.css"},
		{"logo", "http://127.0.0.1:9", "pages:\n  logo: logo.png\n", "logo.png"},
		{"template", "http://127.0.0.1:9", "pages:\n  templates: tpl\n", "tpl/error.html"},
		{"upstream_ca", "https://127.0.0.1:9", "    upstream_ca: ca.pem\n", "ca.pem"},
		{"certificate", "http://127.0.0.1:9", "tls:\n  mode: files\n  cert_file: cert.pem\n" +
			"  key_file: key.pem\n", "cert.pem"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.upstream, tt.extra)
			dir := filepath.Dir(path)
			writeCert(t, dir, 1)
			os.Mkdir(filepath.Join(dir, "tpl"), 0o700)
			fifo := filepath.Join(dir, tt.fifo)
			os.Remove(fifo)
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				_, err := Check(path)
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), "not a regular file") {
					t.Errorf("check with %s a FIFO: %v, want it refused as not a regular "+
						"file", tt.fifo, err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("check with %s a FIFO still waits after 10s", tt.fifo)
			}
		})
	}
}

// TestKernelFilesRefused: a file the config names that is one of the kernel's, directly
// or through a link (/proc/self/environ, which holds the secrets given by environment
// variables), is refused: a stylesheet or logo is served to anyone.
func TestKernelFilesRefused(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux's")
	}
	for _, tt := range []struct{ name, extra, link string }{
		{"stylesheet", "pages:\n  stylesheet: style.css\n", "style.css"},
		{"logo", "pages:\n  logo: logo.png\n", "logo.png"},
		{"template", "pages:\n  templates: tpl\n", "tpl/login.html"},
		{"stylesheet under /proc", "pages:\n  stylesheet: /proc/self/environ\n", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, "http://127.0.0.1:9", tt.extra)
			dir := filepath.Dir(path)
			os.Mkdir(filepath.Join(dir, "tpl"), 0o700)
			if tt.link != "" {
				err := os.Symlink("/proc/self/environ", filepath.Join(dir, tt.link))
				if err != nil {
					t.Fatal(err)
				}
			}
			_, err := Check(path)
			if err == nil || !strings.Contains(err.Error(), "a file of the kernel's") {
				t.Errorf("check: %v, want the kernel's file refused", err)
			}
		})
	}
}

// TestSecretFilesNotServed: a branding file that is, or links to, a file holding secrets
// is refused, since the pages are served to anyone.
func TestSecretFilesNotServed(t *testing.T) {
	for _, tt := range []struct{ name, extra, link, to, want string }{
		{"stylesheet as the users file", "pages:\n  stylesheet: users.yaml\n", "", "",
			"which holds secrets"},
		{"logo linked to the config", "pages:\n  logo: logo.png\n", "logo.png",
			"gateway.yaml", "which holds secrets"},
		{"template linked to the users file", "pages:\n  templates: tpl\n",
			"tpl/login.html", "../users.yaml", "which holds secrets"},
		{"stylesheet in state_dir", "state_dir: state\npages:\n  stylesheet: " +
			"state/style.css\n", "", "", "lies in state_dir"},
		{"stylesheet hard-linked to a file in state_dir", "state_dir: state\npages:\n" +
			"  stylesheet: linked.css\n", "", "", "lies in state_dir"},
		{"stylesheet of its own", "pages:\n  stylesheet: style.css\n", "", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, "http://127.0.0.1:9", tt.extra)
			dir := filepath.Dir(path)
			os.Mkdir(filepath.Join(dir, "tpl"), 0o700)
			os.Mkdir(filepath.Join(dir, "state"), 0o700)
			os.WriteFile(filepath.Join(dir, "style.css"), []byte("p{}"), 0o600)
			os.WriteFile(filepath.Join(dir, "state", "style.css"), []byte("p{}"), 0o600)
			if err := os.Link(filepath.Join(dir, "state", "style.css"),
				filepath.Join(dir, "linked.css")); err != nil {
				t.Fatal(err)
			}
			if tt.link != "" {
				if err := os.Symlink(tt.to, filepath.Join(dir, tt.link)); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Check(path)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("check: %v, want the stylesheet taken", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("check: %v, want it refused saying %q", err, tt.want)
			}
		})
	}
}

// TestTrustedProxiesTooWide: a trusted network as wide as the internet, or a large part
// of it, is doubted; a CDN's ranges and private networks are not.
func TestTrustedProxiesTooWide(t *testing.T) {
	for _, tt := range []struct {
		list string
		want []string
	}{
		{"[0.0.0.0/0, \"::/0\"]", []string{
			"trusted_proxies[0]: 0.0.0.0/0 holds every address",
			"trusted_proxies[1]: ::/0 holds every address"}},
		{"[64.0.0.0/2, \"2000::/3\"]", []string{
			"trusted_proxies[0]: 64.0.0.0/2 holds a large part of the internet",
			"trusted_proxies[1]: 2000::/3 holds a large part of the internet"}},
		{"[10.0.0.0/8, 104.16.0.0/13, \"2400:cb00::/32\", 127.0.0.1]", nil},
	} {
		path := writeConfigHead(t, "trusted_proxies: "+tt.list+"\n")
		cfg, err := Check(path)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, w := range Warnings(cfg) {
			if _, after, ok := strings.Cut(w.Error(), ":1: "); ok {
				got = append(got, after)
			}
		}
		if len(got) != len(tt.want) {
			t.Fatalf("%s: warnings %q, want %d", tt.list, got, len(tt.want))
		}
		for i, w := range tt.want {
			if !strings.HasPrefix(got[i], w) {
				t.Errorf("%s: warning %q, want it to start %q", tt.list, got[i], w)
			}
		}
	}
}

// TestVariableValuesHidden: a problem found after loading, with a file or a name read
// from an environment variable, quotes the variable as the config wrote it, never its
// value.
func TestVariableValuesHidden(t *testing.T) {
	const secret = "s3cret-value-of-the-variable"
	t.Setenv("GW_TEST_HIDDEN", secret)
	t.Setenv("GW_TEST_UPPER", "S3CRET-VALUE-IN-CAPITALS")
	t.Setenv("GW_TEST_SHORT", "no")
	for _, tt := range []struct{ name, extra, want string }{
		{"a stylesheet that is not there", "pages:\n  stylesheet: ${GW_TEST_HIDDEN}.css\n",
			"${GW_TEST_HIDDEN}.css"},
		{"a user the users file lacks", "    allow:\n      users: [\"${GW_TEST_HIDDEN}\"]\n",
			`no user "${GW_TEST_HIDDEN}"`},
		{"a public path outside the route's, named by the other key", "    path: " +
			"/a/${GW_TEST_HIDDEN}/\n", "not under the route's path /a/${GW_TEST_HIDDEN}/"},
		{"an overlap derived from an upstream",
			"  - upstream: http://127.0.0.1:9/${GW_TEST_HIDDEN}\n    path: /t/\n" +
				"    strip_prefix: true\n    allow:\n      users: [alice]\n",
			"is the app's /${GW_TEST_HIDDEN}/"},
		{"a cookie domain", "session:\n  cookie_domain: \"${GW_TEST_HIDDEN}..x\"\n",
			`cookie domain "${GW_TEST_HIDDEN}..x" is not a valid domain`},
		{"a redirect host, told in lower case", "allowed_redirect_hosts: [\"" +
			"${GW_TEST_UPPER}..x\"]\n", `redirect host "${GW_TEST_UPPER}..x" is not a valid`},
		{"a short value, hidden where quoted whole alone",
			"    allow:\n      users: [\"${GW_TEST_SHORT}\"]\n",
			`no user "${GW_TEST_SHORT}" in `},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, "http://127.0.0.1:9", tt.extra)
			cfg, err := Check(path)
			var text []string
			if err != nil {
				text = append(text, err.Error())
			}
			if cfg != nil {
				for _, w := range Warnings(cfg) {
					text = append(text, w.Error())
				}
			}
			all := strings.Join(text, "\n")
			if strings.Contains(all, secret) || strings.Contains(strings.ToLower(all),
				"s3cret-value-in-capitals") || !strings.Contains(all, tt.want) {
				t.Errorf("got %q, want %q and never the variable's value", all, tt.want)
			}
		})
	}
}

// TestUsersFileProblemHidesVariable: a problem inside a users file whose path holds a
// variable's value names the file as the config wrote it.
func TestUsersFileProblemHidesVariable(t *testing.T) {
	const secret = "s3cret-in-the-users-path"
	t.Setenv("GW_TEST_HIDDEN", secret)
	path := writeConfig(t, "http://127.0.0.1:9")
	dir := filepath.Dir(path)
	os.WriteFile(filepath.Join(dir, "users-"+secret+".yaml"),
		[]byte("users:\n  bob:\n    password: \"plain\"\n"), 0o600)
	text, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(text), "file: users.yaml",
		"file: users-${GW_TEST_HIDDEN}.yaml", 1)), 0o600)
	_, err := Check(path)
	if err == nil || strings.Contains(err.Error(), secret) ||
		!strings.Contains(err.Error(), "users-${GW_TEST_HIDDEN}.yaml:3: users.bob.password") {
		t.Errorf("check: %v; want the users file named as the config wrote it", err)
	}
}

// TestWarningsInFileOrder: warnings come in the order of the lines they name, whichever
// check found them.
func TestWarningsInFileOrder(t *testing.T) {
	path := writeConfig(t, "http://127.0.0.1:9", "    allow:\n      users: [bob]\n",
		"http_listen: \"127.0.0.1:0\"\n")
	cfg, err := Check(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range Warnings(cfg) {
		_, after, _ := strings.Cut(w.Error(), "gateway.yaml:")
		got = append(got, strings.Join(strings.Fields(after)[:2], " "))
	}
	want := []string{"8: routes[0].allow.users[0]:", "9: http_listen:"}
	if !slices.Equal(got, want) {
		t.Errorf("warnings at %q, want %q", got, want)
	}
}
