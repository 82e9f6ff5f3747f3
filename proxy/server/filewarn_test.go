package server

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/frontgate/gateway/authn/password"
)

// TestFilesOthersMayChange: each file the gateway trusts is doubted when someone other
// than its user or root could change it, by its mode, its owner, or a folder on the way
// to it, and not when none could.
func TestFilesOthersMayChange(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, to give files to another user")
	}
	const other = 65534 // nobody
	for _, tt := range []struct {
		name string
		// set up makes the files in dir, next to the config at path, and returns the
		// config's extra lines
		setup func(t *testing.T, dir, path string) string
		want  string // in a warning; empty: no warning of this kind
	}{
		{"all the gateway's", func(t *testing.T, dir, path string) string {
			write(t, filepath.Join(dir, "extra.css"), 0o644)
			return "pages:\n  stylesheet: extra.css\n"
		}, ""},
		{"config its group may write", func(t *testing.T, dir, path string) string {
			chmod(t, path, 0o660)
			return ""
		}, "gateway.yaml: someone else could rewrite every rule of the gateway: " +
			"%DIR%/gateway.yaml may be written by group or others (mode -rw-rw----); run " +
			"chmod go-w on it"},
		{"config of another user", func(t *testing.T, dir, path string) string {
			chown(t, path, other)
			return ""
		}, "gateway.yaml: someone else could rewrite every rule of the gateway: " +
			"%DIR%/gateway.yaml belongs to user 65534, not to this user (0) or root; chown it"},
		{"users file of another user", func(t *testing.T, dir, path string) string {
			chown(t, filepath.Join(dir, "users.yaml"), other)
			return ""
		}, ":3: users.file: someone else could add themselves as a user: %DIR%/users.yaml " +
			"belongs to user 65534, not to this user (0) or root; chown it"},
		{"users file through a link into a folder its group may write", func(t *testing.T,
			dir, path string) string {
			open := filepath.Join(dir, "open")
			os.Mkdir(open, 0o755)
			chmod(t, open, 0o775)
			users := filepath.Join(dir, "users.yaml")
			if err := os.Rename(users, filepath.Join(open, "users.yaml")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join(open, "users.yaml"), users); err != nil {
				t.Fatal(err)
			}
			return ""
		}, "users.file: someone else could add themselves as a user: %DIR%/users.yaml is " +
			"reached through %DIR%/open, which group or others may write to (mode " +
			"drwxrwxr-x), putting a file of their own in its place; run chmod go-w on that " +
			"folder"},
		{"users file in a sticky folder", func(t *testing.T, dir, path string) string {
			sticky := filepath.Join(dir, "sticky")
			os.Mkdir(sticky, 0o755)
			chmod(t, sticky, 0o777|os.ModeSticky)
			if err := os.Rename(filepath.Join(dir, "users.yaml"),
				filepath.Join(sticky, "users.yaml")); err != nil {
				t.Fatal(err)
			}
			replace(t, path, "file: users.yaml", "file: sticky/users.yaml")
			return ""
		}, ""},
		{"stylesheet in another user's folder", func(t *testing.T, dir, path string) string {
			theirs := filepath.Join(dir, "theirs")
			os.Mkdir(theirs, 0o755)
			write(t, filepath.Join(theirs, "extra.css"), 0o644)
			chown(t, theirs, other)
			return "pages:\n  stylesheet: theirs/extra.css\n"
		}, "pages.stylesheet: someone else could change the sign-in page: " +
			"%DIR%/theirs/extra.css is reached through %DIR%/theirs, which belongs to user " +
			"65534"},
		{"a template others may write", func(t *testing.T, dir, path string) string {
			tpl := filepath.Join(dir, "templates")
			os.Mkdir(tpl, 0o755)
			write(t, filepath.Join(tpl, "login.html"), 0o664)
			return "pages:\n  templates: templates\n"
		}, "pages.templates: someone else could change the sign-in page and read the " +
			"passwords typed into it: %DIR%/templates/login.html may be written by group or " +
			"others (mode -rw-rw-r--); run chmod go-w on it"},
		{"assertion key of another user", func(t *testing.T, dir, path string) string {
			key := filepath.Join(dir, "key.pem")
			write(t, key, 0o600)
			chown(t, key, other)
			return "assertion:\n  key_file: key.pem\n"
		}, "assertion.key_file: someone else could sign assertions apps believe: " +
			"%DIR%/key.pem belongs to user 65534"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, "http://127.0.0.1:9")
			dir := filepath.Dir(path)
			if extra := tt.setup(t, dir, path); extra != "" {
				text, _ := os.ReadFile(path)
				os.WriteFile(path, append(text, extra...), 0)
			}
			got := ""
			for _, w := range warningsAt(t, path) {
				got += w + "\n"
			}
			want := strings.ReplaceAll(tt.want, "%DIR%", dir)
			switch {
			case want == "" && strings.Contains(got, "someone else could"):
				t.Errorf("warnings:\n%s\nwant none of others changing a file", got)
			case want != "" && !strings.Contains(got, want):
				t.Errorf("warnings:\n%s\nwant one with %q", got, want)
			}
		})
	}
}

func write(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	chmod(t, path, mode)
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func chown(t *testing.T, path string, uid int) {
	t.Helper()
	if err := os.Lchown(path, uid, -1); err != nil {
		t.Fatal(err)
	}
}

func replace(t *testing.T, path, old, new string) {
	t.Helper()
	text, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(text), old) {
		t.Fatalf("no %q in %s: %v", old, path, err)
	}
	os.WriteFile(path, []byte(strings.Replace(string(text), old, new, 1)), 0o600)
}

// TestFilesOpenToAnyoneRefused: a config or users file that anyone on the machine could
// change, by its mode or a folder on the way, stops check and the start, and a reload
// that finds one keeps the running config; one its group may write is only doubted.
func TestFilesOpenToAnyoneRefused(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup func(t *testing.T, dir, path string)
		want  string
	}{
		{"users file", func(t *testing.T, dir, path string) {
			chmod(t, filepath.Join(dir, "users.yaml"), 0o606)
		}, ":3: users.file: anyone could add themselves as a user: %DIR%/users.yaml may be " +
			"written by anyone (mode -rw----rw-); run chmod 600 on it, or 640 when its group " +
			"is the gateway's alone"},
		{"config", func(t *testing.T, dir, path string) { chmod(t, path, 0o602) },
			"%DIR%/gateway.yaml: anyone could rewrite every rule of the gateway: " +
				"%DIR%/gateway.yaml may be written by anyone (mode -rw-----w-); run chmod " +
				"600 on it"},
		{"users file in an open folder", func(t *testing.T, dir, path string) {
			open := filepath.Join(dir, "open")
			os.Mkdir(open, 0o700)
			chmod(t, open, 0o777)
			if err := os.Rename(filepath.Join(dir, "users.yaml"),
				filepath.Join(open, "users.yaml")); err != nil {
				t.Fatal(err)
			}
			replace(t, path, "file: users.yaml", "file: open/users.yaml")
		}, ":3: users.file: anyone could add themselves as a user: %DIR%/open/users.yaml is " +
			"reached through %DIR%/open, which anyone may write to (mode drwxrwxrwx), and " +
			"so put a file of their own in its place; run chmod o-w on that folder"},
		// the link in the middle of a chain sits in a folder anyone may write: neither
		// the folder of the path as named nor that of the file it ends at is open
		{"a link on the way in an open folder", func(t *testing.T, dir, path string) {
			open := filepath.Join(dir, "open")
			os.Mkdir(open, 0o700)
			chmod(t, open, 0o777)
			real := filepath.Join(dir, "real-users.yaml")
			if err := os.Rename(filepath.Join(dir, "users.yaml"), real); err != nil {
				t.Fatal(err)
			}
			os.Symlink(real, filepath.Join(open, "l2"))
			os.Symlink(filepath.Join(open, "l2"), filepath.Join(dir, "users.yaml"))
		}, ":3: users.file: anyone could add themselves as a user: %DIR%/users.yaml is " +
			"reached through %DIR%/open, which anyone may write to (mode drwxrwxrwx)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, "http://127.0.0.1:9")
			dir := filepath.Dir(path)
			tt.setup(t, dir, path)
			want := strings.ReplaceAll(tt.want, "%DIR%", dir)
			if _, err := Check(path); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("check: got %v, want %q", err, want)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel() // a gateway that starts serves until then, and fails the test
			err := Run(ctx, Options{ConfigPath: path, Stderr: io.Discard})
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("run: got %v, want %q", err, want)
			}
		})
	}

	// a running gateway whose users file is opened to anyone keeps its config and its
	// users
	configPollInterval, usersPollInterval = 20*time.Millisecond, 20*time.Millisecond
	defer func() { configPollInterval, usersPollInterval = 2*time.Second, 2*time.Second }()
	path := writeConfig(t, newUpstream(t))
	base, logs := runLogged(t, path)
	users := filepath.Join(filepath.Dir(path), "users.yaml")
	chmod(t, users, 0o606)
	h, _ := password.Generate("zed-pw", password.Argon2Params{Memory: 64, Time: 1,
		Threads: 1, SaltLen: 16, KeyLen: 32})
	old, _ := os.ReadFile(users)
	os.WriteFile(users, append(old, "  zed:\n    password: \""+h+"\"\n"...), 0)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "users file rejected") {
		if time.Now().After(deadline) {
			t.Fatalf("the users file anyone may write was not refused; log:\n%s",
				logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if c := trySignIn(base, "zed", "zed-pw"); c == http.StatusSeeOther {
		t.Error("a user added to a users file anyone may write signed in")
	}
	// put right by its mode alone, it is read: its mode is part of what is watched
	chmod(t, users, 0o600)
	deadline = time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "users file reloaded") {
		if time.Now().After(deadline) {
			t.Fatalf("the users file put right was not read; log:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if c := trySignIn(base, "zed", "zed-pw"); c != http.StatusSeeOther {
		t.Errorf("zed, in the users file put right: %d, want 303", c)
	}
	chmod(t, users, 0o606)
	text, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(text), "public: [/public/]",
		"public: [/public/, /open/]", 1)), 0o600)
	deadline = time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "config rejected") {
		if time.Now().After(deadline) {
			t.Fatalf("no refusal of the reload; log:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := statusOf(t, http.DefaultClient, base+"/open/x"); got != http.StatusUnauthorized {
		t.Errorf("/open/x after the refused reload: %d, want 401 as before", got)
	}
}
