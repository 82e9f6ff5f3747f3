package authn

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/frontgate/gateway/authn/password"
	"github.com/frontgate/gateway/config/watch"
)

var cheap = password.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func hash(t testing.TB, pw string) string {
	t.Helper()
	h, err := password.Generate(pw, cheap)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestParseUsers(t *testing.T) {
	h := hash(t, "pw")
	data := `users:
  alice:
    displayname: "Alice A"
    password: "` + h + `"
    email: alice@example.test
    groups: [staff, admins, staff]
    given_name: Alice
    address:
      locality: Somewhere
  dave:
    password: "` + h + `"
    disabled: true
  erin:
    password: "` + h + `"
    totp_secret: "jbsw y3dp ehpk 3pxp jbsw y3dp ehpk 3pxp"
`
	users, err := ParseUsers([]byte(data), "users.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a := users["alice"]
	if a == nil || a.DisplayName != "Alice A" || a.Email != "alice@example.test" ||
		strings.Join(a.Groups, ",") != "staff,admins" || a.Disabled {
		t.Errorf("alice: got %+v", a)
	}
	if d := users["dave"]; d == nil || !d.Disabled {
		t.Errorf("dave: got %+v, want disabled", d)
	}
	if a.PasswordHash() != h {
		t.Error("PasswordHash does not return the stored hash")
	}
	// without a secret, sessions are bound to the hash alone, as before secrets existed
	if a.TOTP != nil || a.Binding() != h {
		t.Errorf("alice: TOTP %v, binding %q; want none and the hash", a.TOTP, a.Binding())
	}
	e := users["erin"]
	if e == nil || e.TOTP.String() != "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" {
		t.Fatalf("erin: got %+v", e)
	}
	if e.Binding() == h || !strings.HasPrefix(e.Binding(), h) {
		t.Errorf("erin's binding %q does not hold both the hash and the secret", e.Binding())
	}
}

func TestParseUsersErrors(t *testing.T) {
	h := hash(t, "pw")
	tests := []struct {
		name, data, key string
		line            int
		msg             string
	}{
		{"unknown key", "users:\n  alice:\n    password: \"" + h + "\"\n    pasword: x\n",
			"users.alice.pasword", 4, "unknown key; did you mean password?"},
		{"mistyped key", "users:\n  alice:\n    password: \"" + h + "\"\n    emial: a@x\n",
			"users.alice.emial", 4, "unknown key; did you mean email?"},
		{"short totp secret", "users:\n  alice:\n    password: \"" + h + "\"\n" +
			"    totp_secret: JBSWY3DPEHPK3PXP\n", "users.alice.totp_secret", 4,
			"secret is 80 bits (16 characters); at least 128 are needed; make one with gateway totp-secret"},
		{"totp secret not base32", "users:\n  alice:\n    password: \"" + h + "\"\n" +
			"    totp_secret: JBSWY3DPEHPK3PXP0BSWY3DPEHPK3PXP\n", "users.alice.totp_secret",
			4, "secret is not base32"},
		{"unknown top key", "user:\n  alice: {}\n", "user", 1, "did you mean users?"},
		{"user without users above", "alice:\n  password: \"" + h + "\"\n", "alice", 1,
			"unknown key; a user's entry goes under users:, indented below it"},
		{"user indented under another", "users:\n  alice:\n    password: \"" + h + "\"\n" +
			"    bob:\n      password: \"" + h + "\"\n", "users.alice.bob", 4,
			"unknown key; bob looks like a user of its own, indented under alice: indent " +
				"it as alice is (2 spaces)"},
		{"user indented under another, by four", "users:\n    alice:\n        password: " +
			"\"" + h + "\"\n        bob:\n            groups: [staff]\n", "users.alice.bob",
			4, "indent it as alice is (4 spaces)"},
		{"tab indent", "users:\n  alice:\n\tpassword: x\n", "", 3,
			"users.yaml:3: invalid YAML: found character that cannot start any token " +
				"(a tab indents this line; YAML is indented with spaces only)"},
		{"bad syntax", "users:\n  alice:\n    password: x\n   email: y\n", "", 4,
			"invalid YAML: "},
		{"bad second document", "users: {}\n---\nx: \"\\q\"\n", "", 3,
			"invalid YAML: found unknown escape character"},
		{"unsupported scheme", "users:\n  bob:\n    password: \"$6$salt$abc\"\n",
			"users.bob.password", 3, "$6$ (SHA-512 crypt); make a hash with gateway hash-password"},
		{"plaintext password", "users:\n  bob:\n    password: hunter2\n",
			"users.bob.password", 3, "(plaintext password?); make a hash with gateway " +
				"hash-password"},
		{"no password", "users:\n  bob:\n    email: b@x\n", "users.bob.password", 3, "missing"},
		{"bcrypt cost that takes days", "users:\n  alice:\n    password: \"" + h + "\"\n" +
			"  bob:\n    password: \"$2b$31$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJ" +
			"KvyOeW\"\n",
			"users.bob.password", 5, "users.yaml:5: users.bob.password: parsing bcrypt hash: " +
				"malformed hash: cost must be two digits, 04 to 18; make a hash with gateway " +
				"hash-password"},
		{"control char", "users:\n  bob:\n    password: \"" + h + "\"\n    email: \"b\\x01@x\"\n",
			"users.bob.email", 4, "control"},
		{"comma group", "users:\n  bob:\n    password: \"" + h + "\"\n    groups: [\"a,b\"]\n",
			"users.bob.groups", 4, "comma"},
		{"newline name", "users:\n  \"bo\\nb\":\n    password: \"" + h + "\"\n",
			"users", 2, "control"},
		{"zero-width space in a name", "users:\n  \"ad\\u200bmin\":\n    password: \"" + h +
			"\"\n", "users", 2, "invisible character U+200B"},
		{"byte-order mark in a name", "users:\n  \"\\ufeffbob\":\n    password: \"" + h +
			"\"\n", "users", 2, "invisible character U+FEFF"},
		{"merge key as a name", "users:\n  \"<<\":\n    password: \"" + h + "\"\n",
			"users", 2, "YAML merge key"},
		{"an alias as a name", "users:\n  &n alice:\n    password: \"" + h + "\"\n" +
			"  *n :\n    password: \"" + h + "\"\n", "users", 4, "no alias, tag or null"},
		{"a tagged name", "users:\n  !!binary YWRtaW4=:\n    password: \"" + h + "\"\n",
			"users", 2, "no alias, tag or null"},
		{"a null name", "users:\n  ~:\n    password: \"" + h + "\"\n", "users", 2,
			"no alias, tag or null"},
		{"Hangul filler in a name", "users:\n  \"ali\\u3164ce\":\n    password: \"" + h +
			"\"\n", "users", 2, "invisible character U+3164"},
		{"braille blank as a name", "users:\n  \"\\u2800\":\n    password: \"" + h + "\"\n",
			"users", 2, "invisible character U+2800"},
		{"variation selector in a name", "users:\n  \"alice\\ufe0f\":\n    password: \"" +
			h + "\"\n", "users", 2, "invisible character U+FE0F"},
		{"no-break space in a name", "users:\n  \"al\\u00a0ice\":\n    password: \"" + h +
			"\"\n", "users", 2, "invisible character U+00A0"},
		{"Cyrillic letters among Latin ones", "users:\n  \"p\u0430ypal\":\n    password: \"" +
			h + "\"\n", "users", 2, "mixes Latin and Cyrillic letters"},
		{"fullwidth letters", "users:\n  \"\uff41lice\":\n    password: \"" + h + "\"\n",
			"users", 2, `holds 'ａ' U+FF41, which sign-in reads as "a" (Unicode's NFKC ` +
				`form, as Django reads usernames); write the name as "alice"`},
		{"a ligature", "users:\n  \"\ufb01ona\":\n    password: \"" + h + "\"\n",
			"users", 2, `write the name as "fiona"`},
		{"a decomposed accent", "users:\n  \"jose\\u0301\":\n    password: \"" + h + "\"\n",
			"users", 2, "composed form (NFC)"},
		{"duplicate user", "users:\n  bob:\n    password: \"" + h + "\"\n  bob:\n" +
			"    password: \"" + h + "\"\n", "users.bob", 4, "defined twice"},
		{"empty", "", "", 1, "file is empty; a users file starts with users:"},
		{"yes is not a bool", "users:\n  bob:\n    password: \"" + h + "\"\n    disabled: yes\n",
			"users.bob.disabled", 4, "true or false"},
		{"quoted bool", "users:\n  bob:\n    password: \"" + h + "\"\n    disabled: \"true\"\n",
			"users.bob.disabled", 4, "true or false"},
		{"groups not a list", "users:\n  bob:\n    password: \"" + h + "\"\n    groups: admins\n",
			"users.bob.groups", 4, "must be a list of group names"},
		{"email a list", "users:\n  bob:\n    password: \"" + h + "\"\n    email: [a]\n",
			"users.bob.email", 4, "single value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseUsers([]byte(tt.data), "users.yaml")
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want a *FileError", err)
			}
			if fe.Key != tt.key || fe.Line != tt.line {
				t.Errorf("got key %q line %d, want %q line %d (%v)", fe.Key, fe.Line, tt.key,
					tt.line, err)
			}
			if !strings.Contains(err.Error(), tt.msg) || !strings.HasPrefix(err.Error(),
				"users.yaml") {
				t.Errorf("error %q lacks the file or %q", err, tt.msg)
			}
			if strings.Contains(err.Error(), h) {
				t.Error("error message contains a password hash")
			}
		})
	}
}

func writeStore(t testing.TB, data string) (*FileStore, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "users.yaml")
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := OpenFileStore(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, path
}

func TestAuthenticate(t *testing.T) {
	h := hash(t, "right")
	s, _ := writeStore(t, "users:\n  alice:\n    password: \""+h+"\"\n"+
		"  dave:\n    password: \""+h+"\"\n    disabled: true\n")
	a := NewAuthenticator(s, 2)
	ctx := context.Background()

	if u, err := a.Authenticate(ctx, "alice", "right"); err != nil || u.Name != "alice" {
		t.Fatalf("alice: got %v, %v", u, err)
	}
	tests := []struct {
		user, pw, reason string
		verifies         int64
	}{
		{"alice", "wrong", "wrong password", 1},
		{"nobody", "right", "unknown user", 1}, // the dummy hash is checked
		{"dave", "right", "disabled", 1},       // checked before refusing
		{"alice", strings.Repeat("a", MaxPasswordLength+1), "too long", 0},
		{strings.Repeat("a", MaxUsernameLength+1), "x", "too long", 0},
	}
	for _, tt := range tests {
		before := a.Verifications()
		_, err := a.Authenticate(ctx, tt.user, tt.pw)
		var ae *AuthError
		if !errors.As(err, &ae) || ae.Reason != tt.reason || !errors.Is(err,
			ErrInvalidCredentials) {
			t.Errorf("%s: got %v, want reason %q", tt.user, err, tt.reason)
		}
		if got := a.Verifications() - before; got != tt.verifies {
			t.Errorf("%s: %d password checks, want %d", tt.user, got, tt.verifies)
		}
		if got := Checked(err); got != (tt.verifies == 1) {
			t.Errorf("%s: Checked says %v after %d password checks", tt.user, got,
				tt.verifies)
		}
	}
	// A check that never got a slot did not run.
	ctx, cancel := context.WithCancel(ctx)
	cancel()
	one := NewAuthenticator(s, 1)
	if err := one.slots.acquire(context.Background(), Stranger, ""); err != nil {
		t.Fatal(err)
	}
	_, err := one.AuthenticateWith(ctx, "alice", "right", Known)
	if !errors.Is(err, context.Canceled) || Checked(err) || one.Verifications() != 0 {
		t.Errorf("cancelled while waiting: got %v, Checked %v, %d checks; want "+
			"context.Canceled, false, 0", err, Checked(err), one.Verifications())
	}
}

func TestUnknownUsersCostLikeKnownOnes(t *testing.T) {
	// Most users have bcrypt hashes here, one has argon2id: unknown names must be
	// checked against both kinds, in about those proportions, and always the same one
	// for the same name.
	b := "$2a$04$" + strings.Repeat("a", 53)
	if _, err := password.Parse(b); err != nil {
		t.Fatalf("bcrypt test hash: %v", err)
	}
	s, _ := writeStore(t, "users:\n  a:\n    password: \""+b+"\"\n  b:\n    password: \""+b+
		"\"\n  c:\n    password: \""+b+"\"\n  d:\n    password: \""+hash(t, "x")+"\"\n")
	snap := s.snap.Load()
	counts := map[string]int{}
	for i := 0; i < 4000; i++ {
		name := fmt.Sprintf("unknown-%d", i)
		h := snap.dummy(name)
		if snap.dummy(name) != h {
			t.Fatalf("%s maps to different dummies", name)
		}
		counts[h.Scheme()]++
	}
	if counts["bcrypt"] < 2700 || counts["bcrypt"] > 3300 || counts["argon2id"] < 700 {
		t.Errorf("dummy schemes for 4000 unknown names: %v; want about 3000 bcrypt, "+
			"1000 argon2id", counts)
	}
}

func TestUnknownUsersCostWhatNewHashesCost(t *testing.T) {
	// An unknown name costs one verification with the parameters new hashes use: those
	// of password.DefaultArgon2, 19 MiB, 2 passes, 1 lane.
	const want = "argon2id(m=19456,t=2,p=1)"
	def := func(pw string) string {
		h, err := password.Generate(pw, password.DefaultArgon2)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	for _, tt := range []struct{ name, file string }{
		{"users hashed with the defaults", "users:\n  alice:\n    password: \"" + def("a") +
			"\"\n  bob:\n    password: \"" + def("b") + "\"\n"},
		{"no users", "users: {}\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := writeStore(t, tt.file)
			snap := s.snap.Load()
			for i := 0; i < 200; i++ {
				name := fmt.Sprintf("unknown-%d", i)
				if got := fmt.Sprint(snap.dummy(name)); got != want {
					t.Fatalf("%s is checked against %s, want %s", name, got, want)
				}
			}
		})
	}
}

func TestUnknownUsersCostWhatSomeUserCosts(t *testing.T) {
	// Users of every scheme, and of two argon2id costs: each dummy an unknown name can
	// meet costs what one of their hashes does, and each of their costs has a dummy.
	b64 := func(n int) string { return base64.RawStdEncoding.EncodeToString(make([]byte, n)) }
	hashes := map[string]string{
		"argon2id-cheap": hash(t, "x"),
		"argon2id-other": func() string {
			h, err := password.Generate("x", password.Argon2Params{Memory: 128, Time: 2,
				Threads: 2, SaltLen: 16, KeyLen: 32})
			if err != nil {
				t.Fatal(err)
			}
			return h
		}(),
		"bcrypt":        "$2a$04$" + strings.Repeat("a", 53),
		"bcrypt-5":      "$2b$05$" + strings.Repeat("a", 53),
		"scrypt":        "$scrypt$ln=4,r=8,p=1$" + b64(16) + "$" + b64(32),
		"pbkdf2-sha256": "$pbkdf2-sha256$1000$" + b64(16) + "$" + b64(32),
		"pbkdf2-sha512": "$pbkdf2-sha512$2000$" + b64(16) + "$" + b64(64),
	}
	var file strings.Builder
	file.WriteString("users:\n")
	costs := map[string]bool{}
	for name, h := range hashes {
		p, err := password.Parse(h)
		if err != nil {
			t.Fatalf("%s test hash: %v", name, err)
		}
		costs[fmt.Sprint(p)] = true
		fmt.Fprintf(&file, "  %s:\n    password: %q\n", name, h)
	}
	s, _ := writeStore(t, file.String())
	snap := s.snap.Load()
	seen := map[string]bool{}
	for _, d := range snap.dummies {
		if !costs[fmt.Sprint(d)] {
			t.Errorf("dummy %v costs what no user's hash does; users' costs: %v", d, costs)
		}
		seen[fmt.Sprint(d)] = true
	}
	for i := 0; i < 2000; i++ {
		name := fmt.Sprintf("unknown-%d", i)
		if d := snap.dummy(name); !costs[fmt.Sprint(d)] {
			t.Fatalf("%s is checked against %v, which costs what no user's hash does", name, d)
		}
	}
	for c := range costs {
		if !seen[c] {
			t.Errorf("no dummy costs %s, as a user's hash does", c)
		}
	}
}

func TestReloadKeepsLastGood(t *testing.T) {
	h := hash(t, "pw")
	s, path := writeStore(t, "users:\n  alice:\n    password: \""+h+"\"\n")
	os.WriteFile(path, []byte("users:\n  alice:\n    pasword: x\n"), 0o600)
	if err := s.Reload(); err == nil {
		t.Fatal("broken file reloaded")
	}
	if s.Lookup("alice") == nil {
		t.Fatal("last good users lost")
	}
	os.WriteFile(path, []byte("users:\n  bob:\n    password: \""+h+"\"\n"), 0o600)
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if s.Lookup("alice") != nil || s.Lookup("bob") == nil {
		t.Error("reload did not replace the users")
	}
}

// TestWatchSeesSameSizeAndTime replaces the users file with one of the same size and
// modification time, as cp -p or rsync -a may: the watcher must still pick it up.
func TestWatchSeesSameSizeAndTime(t *testing.T) {
	h := hash(t, "pw")
	s, path := writeStore(t, "users:\n  alice:\n    password: \""+h+"\"\n")
	fixed := time.Unix(1, 0)
	if err := os.Chtimes(path, fixed, fixed); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Watch(ctx, 10*time.Millisecond)
	time.Sleep(50 * time.Millisecond) // let it take the first stamp
	if err := os.WriteFile(path, []byte("users:\n  bobby:\n    password: \""+h+"\"\n"),
		0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, fixed, fixed); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.Lookup("bobby") == nil {
		if time.Now().After(deadline) {
			t.Fatal("a replaced users file of the same size and time was never reloaded")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if s.Lookup("alice") != nil {
		t.Error("the old users are still served")
	}
}

// TestOnChangeNamesEndedUsers checks which users a reload reports: those removed,
// disabled or given another password hash, and no one else.
func TestOnChangeNamesEndedUsers(t *testing.T) {
	h, h2 := hash(t, "pw"), hash(t, "pw") // the same password under another salt
	entry := func(name, hash, extra string) string {
		return "  " + name + ":\n    password: \"" + hash + "\"\n" + extra
	}
	s, path := writeStore(t, "users:\n"+entry("alice", h, "")+entry("bob", h, "")+
		entry("carol", h, "")+entry("dave", h, "    groups: [a]\n")+
		entry("erin", h, "    disabled: true\n"))
	var got [][]string
	s.OnChange(func(names []string) { got = append(got, names) })

	os.WriteFile(path, []byte("users:\n"+entry("alice", h2, "")+
		entry("carol", h, "    disabled: true\n")+entry("dave", h, "    groups: [b]\n")+
		entry("erin", h, "")+entry("frank", h, "")), 0o600)
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	// the same file again, and a broken one, tell nothing
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, []byte("users:\n  alice: {pasword: x}\n"), 0o600)
	if s.Reload() == nil {
		t.Fatal("broken file reloaded")
	}
	want := "[[alice bob carol]]"
	if fmt.Sprint(got) != want {
		t.Errorf("OnChange calls: got %v, want %v", got, want)
	}
}

// lockedBuffer is a bytes.Buffer that a watcher may write while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestWatchSaysWhenARejectedFileIsPutRight: a version rejected by a reload (a SIGHUP)
// is not reported again by the watcher, and when the file goes back to the version in
// use, the watcher says so, so that the last word in the log is not the rejection.
func TestWatchSaysWhenARejectedFileIsPutRight(t *testing.T) {
	h := hash(t, "pw")
	good := "users:\n  alice:\n    password: \"" + h + "\"\n"
	path := filepath.Join(t.TempDir(), "users.yaml")
	os.WriteFile(path, []byte(good), 0o600)
	var logs lockedBuffer
	s, err := OpenFileStore(path, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, []byte("users:\n  alice:\n    pasword: x\n"), 0o600)
	if err := s.Reload(); err == nil {
		t.Fatal("broken file reloaded")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Watch(ctx, 10*time.Millisecond)
	time.Sleep(50 * time.Millisecond) // ticks that see the rejected version
	// replaced whole, so that no tick reads it half written
	os.WriteFile(path+".new", []byte(good), 0o600)
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "users file back to the version in use") {
		if time.Now().After(deadline) {
			t.Fatalf("the file put right was never reported; log:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if strings.Contains(logs.String(), "rejected") {
		t.Errorf("the watcher reported the version a reload had rejected; log:\n%s",
			logs.String())
	}
	if s.Lookup("alice") == nil {
		t.Error("alice is gone")
	}
}

// TestWatchWaitsForTheFileToHoldStill: a change is read only when the next check finds
// the file as the one before did, so a file caught half written, without bob, is not
// taken for the new version; and a missing file is logged once for as long as it is.
func TestWatchWaitsForTheFileToHoldStill(t *testing.T) {
	h := hash(t, "pw")
	alice := "  alice:\n    password: \"" + h + "\"\n"
	bob := "  bob:\n    password: \"" + h + "\"\n"
	path := filepath.Join(t.TempDir(), "users.yaml")
	os.WriteFile(path, []byte("users:\n"+alice+bob), 0o600)
	var logs lockedBuffer
	s, err := OpenFileStore(path, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	var ended []string
	s.OnChange(func(names []string) { ended = append(ended, names...) })
	var w watchState

	// half written: the first check sees it, and waits
	os.WriteFile(path, []byte("users:\n"+alice), 0o600)
	s.check(&w)
	// written whole before the next check: read, and nobody's sessions end
	os.WriteFile(path, []byte("users:\n"+alice+bob+"  carol:\n    password: \""+h+"\"\n"),
		0o600)
	s.check(&w)
	if s.Lookup("carol") != nil || s.Lookup("bob") == nil || len(ended) > 0 {
		t.Fatalf("a version seen by one check was read: carol %v, ended %v",
			s.Lookup("carol") != nil, ended)
	}
	s.check(&w)
	if s.Lookup("carol") == nil || s.Lookup("bob") == nil || len(ended) > 0 {
		t.Errorf("the whole file, seen twice: carol %v, bob %v, ended %v",
			s.Lookup("carol") != nil, s.Lookup("bob") != nil, ended)
	}

	// the same half written again between two checks is no file that held still, even
	// when the writer sets its modification time back, as cp -p does
	half := []byte("users:\n" + alice)
	os.WriteFile(path, half, 0o600)
	s.check(&w)
	before := ChangeTime(path)
	for ChangeTime(path).Equal(before) { // however coarse the file system's clock
		fi, _ := os.Stat(path)
		os.WriteFile(path, half, 0o600)
		os.Chtimes(path, fi.ModTime(), fi.ModTime())
	}
	s.check(&w)
	if s.Lookup("bob") == nil || len(ended) > 0 {
		t.Fatalf("a half written twice was read: bob %v, ended %v", s.Lookup("bob") != nil,
			ended)
	}

	os.Remove(path)
	for range 3 {
		s.check(&w)
	}
	if n := strings.Count(logs.String(), "users file unreadable"); n != 1 {
		t.Errorf("a missing users file logged %d times in three checks, want 1; log:\n%s",
			n, logs.String())
	}
	if s.Lookup("alice") == nil {
		t.Error("the last good version is gone with the file")
	}
}

// TestReloadWhenStillWaitsForTheWholeFile: a reload asked for while the file is being
// written, as by a signal sent too soon, reads it once it holds still, not half of it:
// a user the whole file disables is never enabled on the way.
func TestReloadWhenStillWaitsForTheWholeFile(t *testing.T) {
	h := hash(t, "pw")
	former := "  former:\n    password: \"" + h + "\"\n"
	whole := "users:\n" + former + "    disabled: true\n"
	s, path := writeStore(t, whole)
	if u := s.Lookup("former"); u == nil || !u.Disabled {
		t.Fatal("former not disabled at the start")
	}
	// the line that disables former is yet to be written when the reload is asked for
	os.WriteFile(path, []byte("users:\n"+former), 0o600)
	done := make(chan error, 1)
	go func() { done <- s.ReloadWhenStill() }()
	time.Sleep(watch.DefaultSettle / 4)
	os.WriteFile(path, []byte(whole), 0o600)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if u := s.Lookup("former"); u == nil || !u.Disabled {
		t.Error("former enabled after the reload: half the file was read")
	}
}

// TestReloadReadsTheVersionJudged: a reload of the version a look judged to hold still
// reads that version or none: a file written again since is left for the next look,
// the users in place kept, so that the bytes taken are the bytes judged.
func TestReloadReadsTheVersionJudged(t *testing.T) {
	h := hash(t, "pw")
	whole := "users:\n  alice:\n    password: \"" + h + "\"\n  bob:\n    password: \"" +
		h + "\"\n"
	s, path := writeStore(t, whole)
	judged, err := stampOf(path)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, []byte(whole[:strings.Index(whole, "  bob:")]), 0o600) // half
	if err := s.reloadAs(&judged); !errors.Is(err, errChangedMeanwhile) {
		t.Errorf("reload of the version judged, the file since cut: %v, want "+
			"errChangedMeanwhile", err)
	}
	if s.Lookup("bob") == nil {
		t.Error("bob is gone: the half written since was read")
	}
	half, _ := stampOf(path)
	if err := s.reloadAs(&half); err != nil || s.Lookup("bob") != nil {
		t.Errorf("reload of the version now there: %v, bob %v; want it read",
			err, s.Lookup("bob") != nil)
	}
}

// TestWatchReadsAFileThatNeverHoldsStill: a file seen changed at every check is read,
// once it has changed for maxChurn, in a moment it holds still, so that a script that
// changes passwords without pause cannot keep an old one working.
func TestWatchReadsAFileThatNeverHoldsStill(t *testing.T) {
	const maxChurn = 50 * time.Millisecond
	path := filepath.Join(t.TempDir(), "users.yaml")
	old := hash(t, "old")
	os.WriteFile(path, []byte("users:\n  alice:\n    password: \""+old+"\"\n"), 0o600)
	s, err := OpenFileStore(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := watchState{change: watch.Change{MaxChurn: maxChurn, Settle: 5 * time.Millisecond}}
	start := time.Now()
	for i := 0; s.Lookup("alice").PasswordHash() == old; i++ {
		if time.Since(start) > 5*time.Second {
			t.Fatal("a file that changed at every check was never read")
		}
		// another version before every check, as from a script that never stops
		os.WriteFile(path, []byte(fmt.Sprintf("users:\n  alice:\n    password: \"%s\"\n"+
			"  u%d:\n    password: \"%s\"\n", hash(t, "new"), i, old)), 0o600)
		s.check(&w)
		if time.Since(start) < maxChurn && s.Lookup("alice").PasswordHash() != old {
			t.Fatal("a file seen once was read before it had changed for maxChurn")
		}
	}
}

// TestWatchRefusesUnusableFiles: a users file replaced by one too large, or by something
// that is no regular file, is refused from its status, without reading it, and the last
// good version keeps serving.
func TestWatchRefusesUnusableFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "users.yaml")
	os.WriteFile(path, []byte("users:\n  alice:\n    password: \""+hash(t, "pw")+"\"\n"),
		0o600)
	var logs lockedBuffer
	s, err := OpenFileStore(path, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	f, _ := os.Create(big)
	f.Truncate(1 << 30) // sparse: a gigabyte the disk does not hold
	f.Close()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ from, says string }{
		{big, "file is larger than 64 MiB"},
		{fifo, "not a regular file"},
	} {
		if err := os.Rename(tt.from, path); err != nil {
			t.Fatal(err)
		}
		var w watchState
		done := make(chan struct{})
		go func() { s.check(&w); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("checking a users file that is %s did not return", tt.says)
		}
		if !strings.Contains(logs.String(), tt.says) || s.Lookup("alice") == nil {
			t.Errorf("log %q lacks %q, or alice is gone", logs.String(), tt.says)
		}
		if _, err := ReadUsersFile(path); err == nil || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("ReadUsersFile: %v, want %q", err, tt.says)
		}
	}
}

// TestUsersFileChangeDuringSignIn: a sign-in judges the user as the users file has them
// once its wait for a slot is over, and again once the password is checked, so a change
// that lands during either counts.
func TestUsersFileChangeDuringSignIn(t *testing.T) {
	right, other := hash(t, "right"), hash(t, "other")
	entry := func(pw, extra string) string {
		return "users:\n  alice:\n    password: \"" + pw + "\"\n    groups: [staff]\n" + extra
	}
	tests := []struct {
		name, file string
		// why the sign-in fails when the change lands during the wait and during the
		// check; empty: it succeeds
		waited, checked string
		groups          []string // the groups signed in with
	}{
		{"unchanged", entry(right, ""), "", "", []string{"staff"}},
		{"groups changed", "users:\n  alice:\n    password: \"" + right + "\"\n" +
			"    groups: [ops]\n", "", "", []string{"ops"}},
		{"password changed", entry(other, ""), "wrong password", "password changed", nil},
		{"disabled", entry(right, "    disabled: true\n"), "disabled", "disabled", nil},
		{"removed", "users:\n  bob:\n    password: \"" + right + "\"\n", "unknown user",
			"user removed", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, path := writeStore(t, entry(right, ""))
			a := NewAuthenticator(s, 1)
			change := func() {
				if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := s.Reload(); err != nil {
					t.Fatal(err)
				}
			}
			check := func(when string, u *User, err error, reason string) {
				t.Helper()
				var ae *AuthError
				switch {
				case reason == "" && (err != nil || u == nil ||
					!slices.Equal(u.Groups, tt.groups)):
					t.Errorf("%s: got %v, %v; want alice in %v", when, u, err, tt.groups)
				case reason != "" && (!errors.As(err, &ae) || ae.Reason != reason):
					t.Errorf("%s: got %v, %v; want reason %q", when, u, err, reason)
				}
			}
			// changed while the sign-in waited for a slot
			u, err := a.AuthenticateGated(context.Background(), "alice", "right", Known,
				func(context.Context) error { change(); return nil })
			check("changed during the wait", u, err, tt.waited)

			// changed while the password was checked
			if err := os.WriteFile(path, []byte(entry(right, "")), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := s.Reload(); err != nil {
				t.Fatal(err)
			}
			checked := s.Lookup("alice")
			change()
			u, err = a.current(checked)
			check("changed during the check", u, err, tt.checked)
		})
	}
}

// TestUsersFileDuplicateKeys: a key set twice, for a user or at the top, is an error
// naming both lines, rather than the later one winning without a word.
func TestUsersFileDuplicateKeys(t *testing.T) {
	h := hash(t, "pw")
	for _, tt := range []struct{ name, data, want string }{
		{"a user's key", "users:\n  alice:\n    password: \"" + h + "\"\n" +
			"    disabled: true\n    disabled: false\n",
			"users.yaml:5: users.alice.disabled: duplicate key, first set on line 4"},
		{"the users key", "users:\n  alice:\n    password: \"" + h + "\"\nusers:\n" +
			"  bob:\n    password: \"" + h + "\"\n",
			"users.yaml:4: users: duplicate key, first set on line 1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseUsers([]byte(tt.data), "users.yaml")
			if err == nil || err.Error() != tt.want {
				t.Errorf("got %v, want %s", err, tt.want)
			}
		})
	}
}
