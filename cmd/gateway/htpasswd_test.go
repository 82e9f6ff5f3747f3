package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/frontgate/gateway/authn"
)

// bcryptHash is a valid bcrypt hash as htpasswd -B writes it (cost 5).
const bcryptHash = "$2y$05$uCJ8VBAnzxcTiYCx0UbIl.PJodjJ4FQpyBs.dYcSXCn.86WrEcjWC"

func TestImportHtpasswd(t *testing.T) {
	for _, tt := range []struct {
		name     string
		file     string
		code     int
		users    []string // carried over, when code is 0
		stderr   []string // each must appear
		unwanted []string // none may appear
	}{
		{
			name: "bcrypt carries over, weak hashes are named",
			file: "# users\n" +
				"alice:" + bcryptHash + "\n" +
				"bob:$apr1$1aX9kMZ5$9fT5rLH2Yq2o8wF0G0bbb1\n" +
				"carol:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n",
			users: []string{"alice"},
			stderr: []string{
				`.htpasswd:3: user "bob" not carried over: $apr1$ (Apache MD5`,
				`.htpasswd:4: user "carol" not carried over: {SHA} (unsalted SHA-1`,
				"carried over 1 user; left out 2 (bob, carol)",
				"gateway hash-password",
			},
		},
		{
			name:   "no users at all",
			file:   "# nobody yet\n\n",
			stderr: []string{".htpasswd holds no users"},
		},
		{
			name:     "malformed bcrypt is called malformed",
			file:     "alice:" + bcryptHash + "\nbob:$2y$05$x\n",
			users:    []string{"alice"},
			stderr:   []string{`.htpasswd:2: user "bob" not carried over: malformed bcrypt hash`},
			unwanted: []string{"weak", "MD5", "SHA"},
		},
		{
			name: "SHA crypt and DES crypt are named precisely",
			file: "eve:$6$saltsalt$hash\nfred:$5$saltsalt$hash\nhal:abJnggxhB/yWI\n",
			stderr: []string{
				`.htpasswd:1: user "eve" not carried over: $6$ (SHA-512 crypt)`,
				`.htpasswd:2: user "fred" not carried over: $5$ (SHA-256 crypt)`,
				`.htpasswd:3: user "hal" not carried over: crypt (DES`,
			},
		},
		{
			name:     "a plaintext password is never repeated",
			file:     "gus:Secret-Pa55\n",
			stderr:   []string{`.htpasswd:1: user "gus" not carried over: not a hash`},
			unwanted: []string{"Secret-Pa55"},
		},
		{
			name:   "no hash",
			file:   "jo:\n",
			stderr: []string{`.htpasswd:1: user "jo" not carried over: no password hash`},
		},
		{
			name: "comments, blank lines, CRLF, a byte order mark and a third field",
			file: "\ufeffalice:" + bcryptHash + ":Alice Liddell\r\n\r\n# x\r\n" +
				"  bob:" + bcryptHash + "  \r\n",
			users: []string{"alice", "bob"},
		},
		{
			name: "a name given twice is an error naming both lines",
			file: "alice:" + bcryptHash + "\n# again\nalice:" + bcryptHash + "\n",
			code: 1,
			stderr: []string{
				`.htpasswd:3: user "alice" is also on line 1`,
			},
		},
		{
			name:   "a name given twice is an error even if one hash is refused",
			file:   "bob:$apr1$1aX9kMZ5$9fT5rLH2Yq2o8wF0G0bbb1\nbob:" + bcryptHash + "\n",
			code:   1,
			stderr: []string{`.htpasswd:2: user "bob" is also on line 1`},
		},
		{
			name:     "a control character in a name is named at its htpasswd line",
			file:     "alice:" + bcryptHash + "\nb\x01ob:" + bcryptHash + "\n",
			code:     1,
			stderr:   []string{`.htpasswd:2: username "b\x01ob": contains a control character`},
			unwanted: []string{"imported", "users:"},
		},
		{
			name:   "a name longer than a sign-in sends",
			file:   strings.Repeat("a", authn.MaxUsernameLength+1) + ":" + bcryptHash + "\n",
			code:   1,
			stderr: []string{".htpasswd:1: username", "longer than 256 bytes"},
		},
		{
			name:   "a line that is not name:hash",
			file:   "alice:" + bcryptHash + "\n:" + bcryptHash + "\n",
			code:   1,
			stderr: []string{".htpasswd:2: not a name:hash line"},
		},
		{
			name: "names YAML would read as something else",
			file: "null:" + bcryptHash + "\ntrue:" + bcryptHash + "\n~:" + bcryptHash +
				"\n- x:" + bcryptHash + "\n&a:" + bcryptHash + "\n'q\":" + bcryptHash + "\n",
			users: []string{"null", "true", "~", "- x", "&a", `'q"`},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), ".htpasswd")
			if err := os.WriteFile(file, []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := runCmd(t, "", "import-htpasswd", file)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.code, errOut)
			}
			for _, s := range tt.stderr {
				if !strings.Contains(errOut, s) {
					t.Errorf("stderr lacks %q:\n%s", s, errOut)
				}
			}
			for _, s := range tt.unwanted {
				if strings.Contains(errOut, s) {
					t.Errorf("stderr has %q:\n%s", s, errOut)
				}
			}
			if code != 0 {
				if out != "" {
					t.Errorf("printed a users file on failure:\n%s", out)
				}
				return
			}
			users, err := authn.ParseUsers([]byte(out), "imported")
			if err != nil {
				t.Fatalf("output is not a users file: %v\n%s", err, out)
			}
			var got []string
			for name := range users {
				got = append(got, name)
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tt.users))
			if !slices.Equal(got, want) {
				t.Errorf("carried over %q, want %q", got, want)
			}
			if len(tt.stderr) == 0 && errOut != "" {
				t.Errorf("stderr for a clean import: %q", errOut)
			}
		})
	}
}

func TestImportHtpasswdStdin(t *testing.T) {
	for _, tt := range []struct {
		name, stdin, stderr string
		code                int
	}{
		{"refused entry", "alice:" + bcryptHash + "\nbob:$2y$05$x\n",
			`stdin:2: user "bob" not carried over: malformed bcrypt hash`, 0},
		{"bad name", "b\x01ob:" + bcryptHash + "\n", `stdin:1: username "b\x01ob"`, 1},
		{"duplicate", "a:" + bcryptHash + "\na:" + bcryptHash + "\n",
			`stdin:2: user "a" is also on line 1`, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runCmd(t, tt.stdin, "import-htpasswd", "-")
			if code != tt.code || !strings.Contains(errOut, tt.stderr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errOut, tt.code,
					tt.stderr)
			}
		})
	}
	for _, args := range [][]string{{}, {"a", "b"}} {
		if code, _, _ := runCmd(t, "", append([]string{"import-htpasswd"}, args...)...); code != 2 {
			t.Errorf("import-htpasswd %q: exit %d, want 2", args, code)
		}
	}
	if code, _, errOut := runCmd(t, "", "import-htpasswd", "/nonexistent/.htpasswd"); code != 1 ||
		!strings.Contains(errOut, "/nonexistent/.htpasswd") {
		t.Errorf("missing file: exit %d, stderr %q", code, errOut)
	}
}

// TestHtpasswdExample imports examples/htpasswd/.htpasswd as its README shows, loads the
// users file with the gateway's own loader and signs each migrated user in with the demo
// password the README gives.
func TestHtpasswdExample(t *testing.T) {
	t.Chdir("../../examples/htpasswd")
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCmd(t, "", "import-htpasswd", ".htpasswd")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// The README shows the output as it is.
	if !strings.Contains(string(readme), out) {
		t.Errorf("README.md does not show the users file printed:\n%s", out)
	}
	for _, line := range strings.Split(strings.TrimSuffix(errOut, "\n"), "\n") {
		if !strings.Contains(string(readme), line) {
			t.Errorf("README.md does not show the stderr line %q", line)
		}
	}
	for _, s := range []string{
		`.htpasswd:4: user "carol" not carried over: $apr1$`,
		`.htpasswd:5: user "dave" not carried over: {SHA}`,
		"left out 2 (carol, dave)",
	} {
		if !strings.Contains(errOut, s) {
			t.Errorf("stderr lacks %q:\n%s", s, errOut)
		}
	}

	path := filepath.Join(t.TempDir(), "users.yaml")
	if err := os.WriteFile(path, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	store, err := authn.OpenFileStore(path, nil)
	if err != nil {
		t.Fatalf("loading the imported users file: %v", err)
	}
	auth := authn.NewAuthenticator(store, 1)
	ctx := context.Background()
	for _, tt := range []struct {
		user, password string
		reason         string // "" if the sign-in succeeds
	}{
		{"alice", "alice-demo-pass", ""},
		{"alice", "alice-demo-pass ", "wrong password"},
		{"alice", "bob-demo-pass", "wrong password"},
		{"bob", "bob-demo-pass", ""},
		{"bob", "Bob-demo-pass", "wrong password"},
		{"carol", "carol-demo-pass", "unknown user"},
		{"dave", "dave-demo-pass", "unknown user"},
	} {
		if !strings.Contains(string(readme), "`"+tt.password+"`") && tt.reason == "" {
			t.Errorf("README.md does not give %s's password %q", tt.user, tt.password)
		}
		u, err := auth.Authenticate(ctx, tt.user, tt.password)
		if tt.reason == "" {
			if err != nil || u == nil || u.Name != tt.user {
				t.Errorf("%s with %q: %v, want signed in", tt.user, tt.password, err)
			}
			continue
		}
		var ae *authn.AuthError
		if !errors.As(err, &ae) || ae.Reason != tt.reason {
			t.Errorf("%s with %q: %v, want %q", tt.user, tt.password, err, tt.reason)
		}
	}
}
