package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/frontgate/gateway/authn/password"
	"github.com/frontgate/gateway/proxy/assertion"
)

func writeConfig(t *testing.T, upstream string, extra ...string) string {
	t.Helper()
	dir := t.TempDir()
	h, _ := password.Generate("pw", password.Argon2Params{Memory: 64, Time: 1, Threads: 1,
		SaltLen: 16, KeyLen: 32})
	os.WriteFile(filepath.Join(dir, "users.yaml"),
		[]byte("users:\n  alice:\n    password: \""+h+"\"\n"), 0o600)
	path := filepath.Join(dir, "gateway.yaml")
	os.WriteFile(path, []byte(fmt.Sprintf("listen: \"127.0.0.1:0\"\nusers:\n  file: users.yaml\n"+
		"routes:\n  - upstream: %q\n    public: [/public/]\n%s", upstream,
		strings.Join(extra, ""))), 0o600)
	return path
}

func TestRunServesAndStops(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello from upstream")
	}))
	defer up.Close()
	path := writeConfig(t, up.URL)

	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{ConfigPath: path, Stderr: io.Discard,
			Ready: func(a net.Addr) { ready <- a }})
	}()
	var addr net.Addr
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("gateway did not start")
	}
	res, err := http.Get("http://" + addr.String() + "/public/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "hello from upstream" {
		t.Errorf("public page: got %q", body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("gateway did not stop")
	}

	// The generated secret is private and reused on the next start.
	secret := filepath.Join(filepath.Dir(path), "data", secretFile)
	fi, err := os.Stat(secret)
	if err != nil {
		t.Fatalf("generated secret: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode %v, want 0600", fi.Mode().Perm())
	}
	first, _ := os.ReadFile(secret)
	again, created, err := readOrCreateSecret(secret, slog.New(slog.DiscardHandler))
	if err != nil || created || string(again)+"\n" != string(first) {
		t.Errorf("second start: created=%v err=%v; want the same secret", created, err)
	}
}

// TestGeneratedSecretOnlyAsMade: the generated secret is read only as the gateway makes
// it: a plain file, not a link (dangling or to another file, which is left as it was),
// holding 64 hex digits or more that are not a run of a few.
func TestGeneratedSecretOnlyAsMade(t *testing.T) {
	good := strings.Repeat("0123456789abcdef", 4)
	for _, tt := range []struct {
		name  string
		setup func(t *testing.T, path string)
		want  string // in the error; empty: read
	}{
		{"as made", func(t *testing.T, path string) {
			os.WriteFile(path, []byte(good+"\n"), 0o600)
		}, ""},
		{"a dangling link", func(t *testing.T, path string) {
			os.Symlink(filepath.Join(filepath.Dir(path), "nowhere"), path)
		}, "is a link: the gateway makes it as a file"},
		{"a link to another file", func(t *testing.T, path string) {
			other := filepath.Join(filepath.Dir(path), "other")
			os.WriteFile(other, []byte(good+"\n"), 0o644)
			os.Symlink(other, path)
		}, "is a link"},
		{"a folder", func(t *testing.T, path string) { os.Mkdir(path, 0o700) },
			"is not a plain file"},
		{"a pipe, which no one writes", func(t *testing.T, path string) {
			if err := syscall.Mkfifo(path, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "is not a plain file"},
		{"zeros", func(t *testing.T, path string) {
			os.WriteFile(path, make([]byte, 65), 0o600)
		}, "does not hold a secret the gateway made"},
		{"a run of one digit", func(t *testing.T, path string) {
			os.WriteFile(path, []byte(strings.Repeat("0", 64)+"\n"), 0o600)
		}, "does not hold a secret the gateway made"},
		{"a secret and much else", func(t *testing.T, path string) {
			os.WriteFile(path, []byte(strings.Repeat(good, 100)), 0o600)
		}, "does not hold a secret the gateway made"},
		{"short", func(t *testing.T, path string) {
			os.WriteFile(path, []byte(good[:62]), 0o600)
		}, "does not hold a secret the gateway made"},
		{"not hex", func(t *testing.T, path string) {
			os.WriteFile(path, []byte(strings.Repeat("correct horse ", 6)), 0o600)
		}, "does not hold a secret the gateway made"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), secretFile)
			tt.setup(t, path)
			got, created, err := readOrCreateSecret(path, slog.New(slog.DiscardHandler))
			switch {
			case tt.want == "" && (err != nil || created || string(got) != good):
				t.Errorf("got %q, created %v, %v; want the secret as written", got,
					created, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got %q, %v; want an error with %q", got, err, tt.want)
			}
		})
	}
	// check finds what the start would refuse
	path := writeConfig(t, "http://127.0.0.1:9")
	data := filepath.Join(filepath.Dir(path), "data")
	os.Mkdir(data, 0o700)
	os.WriteFile(filepath.Join(data, secretFile), []byte(strings.Repeat(good, 100)), 0o600)
	if _, err := Check(path); err == nil ||
		!strings.Contains(err.Error(), "does not hold a secret the gateway made") {
		t.Errorf("check of a secret file the start refuses: %v", err)
	}
	// the file a link led to keeps its mode: nothing was done through the link
	dir := t.TempDir()
	other := filepath.Join(dir, "other")
	os.WriteFile(other, nil, 0o644)
	os.Symlink(other, filepath.Join(dir, secretFile))
	readOrCreateSecret(filepath.Join(dir, secretFile), slog.New(slog.DiscardHandler))
	if fi, _ := os.Stat(other); fi.Mode().Perm() != 0o644 {
		t.Errorf("the file a link led to is mode %v now, want -rw-r--r-- as it was",
			fi.Mode().Perm())
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	path := writeConfig(t, "ftp://nowhere")
	err := Run(context.Background(), Options{ConfigPath: path, Stderr: io.Discard})
	if err == nil {
		t.Fatal("Run accepted a bad config")
	}
}

// TestRunNamesUsersFileFirst: a users file that cannot be read stops the start with
// its own problem, before state_dir is made.
func TestRunNamesUsersFileFirst(t *testing.T) {
	path := writeConfig(t, "http://127.0.0.1:1")
	os.Remove(filepath.Join(filepath.Dir(path), "users.yaml"))
	err := Run(context.Background(), Options{ConfigPath: path, Stderr: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "users.file") {
		t.Errorf("missing users file: got %v, want an error naming users.file", err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(path), "data")); !os.IsNotExist(err) {
		t.Errorf("state_dir was made before the users file was read: %v", err)
	}
}

func TestStateDirWritableByOthersRefused(t *testing.T) {
	path := writeConfig(t, "http://127.0.0.1:1")
	dir := filepath.Join(filepath.Dir(path), "data")
	os.Mkdir(dir, 0o700)
	os.Chmod(dir, 0o777)
	err := Run(context.Background(), Options{ConfigPath: path, Stderr: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "writable by group or others "+
		"(mode drwxrwxrwx)") {
		t.Errorf("state_dir mode 0777: got %v, want a refusal naming the folder's mode", err)
	}
}

// TestStateDirFileRefused: a state_dir that is a file is named as such by check, with
// the session secrets in the config as without them, and stops the start.
func TestStateDirFileRefused(t *testing.T) {
	for _, extra := range []string{"", "session:\n  secrets: [\"" +
		"0123456789abcdefghijklmnopqrstuvwxyz\"]\n"} {
		path := writeConfig(t, "http://127.0.0.1:1", extra)
		os.WriteFile(filepath.Join(filepath.Dir(path), "data"), nil, 0o600)
		const want = "is a file, not a folder"
		if _, err := Check(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("check: got %v, want %q", err, want)
		}
		err := Run(context.Background(), Options{ConfigPath: path, Stderr: io.Discard})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("run: got %v, want %q", err, want)
		}
	}
}

// TestStateFileFIFORefused: a FIFO in the place of a file the gateway makes in
// state_dir is named by check, as by the start, which would otherwise fail on it later.
func TestStateFileFIFORefused(t *testing.T) {
	for _, name := range []string{"sessions.db", "gateway.lock"} {
		path := writeConfig(t, "http://127.0.0.1:1")
		state := filepath.Join(filepath.Dir(path), "data")
		os.Mkdir(state, 0o700)
		if err := syscall.Mkfifo(filepath.Join(state, name), 0o600); err != nil {
			t.Fatal(err)
		}
		const want = "is not a regular file (prw-------)"
		if _, err := Check(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("check with %s a FIFO: got %v, want %q", name, err, want)
		}
		err := Run(context.Background(), Options{ConfigPath: path, Stderr: io.Discard})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("run with %s a FIFO: got %v, want %q", name, err, want)
		}
	}
}

// TestGeneratedAssertionKeyChecked: a generated assertion key that is broken is named
// at state_dir, where it lies, by check as by the start; the config names no key file.
func TestGeneratedAssertionKeyChecked(t *testing.T) {
	path := writeConfig(t, "http://127.0.0.1:1", "    assertion: true\n")
	state := filepath.Join(filepath.Dir(path), "data")
	os.Mkdir(state, 0o700)
	os.WriteFile(filepath.Join(state, assertion.KeyFile), []byte("garbage"), 0o600)
	if _, err := Check(path); err == nil || !strings.Contains(err.Error(), ": state_dir: ") ||
		!strings.Contains(err.Error(), "assertion key") {
		t.Errorf("check: got %v, want the broken key named at state_dir", err)
	}
	err := Run(context.Background(), Options{ConfigPath: path, Stderr: io.Discard})
	if err == nil || !strings.Contains(err.Error(), ": state_dir: ") {
		t.Errorf("run: got %v, want the broken key named at state_dir", err)
	}
}

// TestStateDirOfAnotherUserRefused: a state_dir that belongs to another user than the
// gateway's, who could replace its control socket and store, stops the start; one of
// the gateway's own user serves. check, which may run as another user than the gateway,
// does not judge the owner.
func TestStateDirOfAnotherUserRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("giving a folder to another user needs root")
	}
	path := writeConfig(t, "http://127.0.0.1:1")
	dir := filepath.Join(filepath.Dir(path), "data")
	os.Mkdir(dir, 0o700)
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	err := Run(context.Background(), Options{ConfigPath: path, Stderr: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "state_dir: state_dir "+dir+
		" belongs to user 65534, not to the user the gateway runs as (0) or root") {
		t.Errorf("state_dir of user 65534: got %v, want a refusal naming its owner", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "control.sock")); !os.IsNotExist(err) {
		t.Errorf("the control socket was made in another user's state_dir: %v", err)
	}
	if _, err := Check(path); err != nil {
		t.Errorf("check: %v, want no judgement of the owner", err)
	}
	if err := os.Chown(dir, 0, 0); err != nil {
		t.Fatal(err)
	}
	startGateway(t, path)
}

// TestStateDirFilesOfOthersRefused: a state_dir its owner may hand over still holds
// what was made in it before; a file there that someone else could change, by its owner
// or mode, or a link, which the gateway never makes there, stops the start, check and
// the commands that open the store, and the gateway serves once it is gone.
func TestStateDirFilesOfOthersRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("giving a file to another user needs root")
	}
	for _, tt := range []struct {
		name string
		make func(t *testing.T, dir string) string // returns what it made
		want string
	}{
		{"secret of another user", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, secretFile)
			os.WriteFile(p, []byte(strings.Repeat("0123456789abcdef", 4)+"\n"), 0o600)
			if err := os.Chown(p, 65534, 65534); err != nil {
				t.Fatal(err)
			}
			return p
		}, "session-secret in state_dir belongs to user 65534, not to the user the " +
			"gateway runs as (0), state_dir's owner or root"},
		{"store in a folder of another user", func(t *testing.T, dir string) string {
			sub := filepath.Join(dir, "certificates")
			os.Mkdir(sub, 0o700)
			if err := os.Chown(sub, 65534, 65534); err != nil {
				t.Fatal(err)
			}
			return sub
		}, "certificates in state_dir belongs to user 65534"},
		{"a file group may write", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, boltFile)
			os.WriteFile(p, nil, 0o600)
			os.Chmod(p, 0o620)
			return p
		}, "sessions.db in state_dir may be written by group or others (mode -rw--w----)"},
		{"a link", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, secretFile)
			if err := os.Symlink("/nonexistent", p); err != nil {
				t.Fatal(err)
			}
			return p
		}, "state_dir holds a link, " + "%DIR%/session-secret, which the gateway never " +
			"makes there"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, "http://127.0.0.1:1")
			dir := filepath.Join(filepath.Dir(path), "data")
			os.Mkdir(dir, 0o700)
			made := tt.make(t, dir)
			want := strings.ReplaceAll(tt.want, "%DIR%", dir)
			// a gateway that starts serves until this ends, and fails the test then
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := Run(ctx, Options{ConfigPath: path, Stderr: io.Discard})
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("run: got %v, want a refusal with %q", err, want)
			}
			if _, err := os.Stat(filepath.Join(dir, "control.sock")); !os.IsNotExist(err) {
				t.Errorf("the control socket was made: %v", err)
			}
			if _, err := Check(path); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("check: got %v, want a refusal with %q", err, want)
			}
			if err := os.RemoveAll(made); err != nil {
				t.Fatal(err)
			}
			startGateway(t, path)
		})
	}
}

func TestHangupReloadsUsers(t *testing.T) {
	// Only the signal may reload: the polls of the files are put off for the test.
	usersPollInterval, configPollInterval = time.Hour, time.Hour
	defer func() { usersPollInterval, configPollInterval = 2*time.Second, 2*time.Second }()
	up := newUpstream(t)
	path := writeConfig(t, up)
	base, logs := runLogged(t, path)
	status := func(p string) int { return statusOf(t, http.DefaultClient, base+p) }
	if got := status("/open/x"); got != http.StatusUnauthorized {
		t.Fatalf("/open/ before the change: %d, want 401", got)
	}
	conf, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(conf), "public: [/public/]",
		"public: [/public/, /open/]", 1)), 0o600)
	h, _ := password.Generate("second", password.Argon2Params{Memory: 64, Time: 1,
		Threads: 1, SaltLen: 16, KeyLen: 32})
	users := filepath.Join(filepath.Dir(path), "users.yaml")
	old, _ := os.ReadFile(users)
	os.WriteFile(users, append(old, []byte("  zed:\n    password: \""+h+"\"\n")...), 0o600)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	// The polls wait an hour: only the signal reads the files, once they hold still.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "users file reloaded\" reason=SIGHUP") {
		if time.Now().After(deadline) {
			t.Fatalf("users file not read again within 5 s of SIGHUP; log:\n%s",
				logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if c := trySignIn(base, "zed", "second"); c != http.StatusSeeOther {
		t.Fatalf("user added before SIGHUP signs in: %d, want 303", c)
	}
	// the config was read again by the same signal
	if got := status("/open/x"); got != http.StatusOK {
		t.Errorf("/open/ after SIGHUP: %d, want 200 (public)", got)
	}
}

// trySignIn signs in and returns the status of the POST.
func trySignIn(base, user, pass string) int {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	res, err := c.Get(base + "/.gateway/login")
	if err != nil {
		return 0
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := csrfField.FindSubmatch(body)
	if m == nil {
		return 0
	}
	res, err = c.PostForm(base+"/.gateway/login", url.Values{"username": {user},
		"password": {pass}, "csrf_token": {string(m[1])}})
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

// TestPortInUseNamesKey: a listen address already taken stops the start with the
// config's file, line and key, as a config error does, for each of the three listeners.
func TestPortInUseNamesKey(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	addr := taken.Addr().String()
	dir := t.TempDir()
	writeCert(t, dir, 1)
	crt, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for _, tt := range []struct {
		key, head string
		line      int
	}{
		{"listen", "listen: \"" + addr + "\"\n", 1},
		{"http_listen", "listen: \"127.0.0.1:0\"\nhttp_listen: \"" + addr + "\"\n" +
			"tls:\n  mode: files\n  cert_file: " + crt + "\n  key_file: " + key + "\n", 2},
		{"admin.listen", "listen: \"127.0.0.1:0\"\nadmin:\n  listen: \"" + addr + "\"\n", 3},
	} {
		t.Run(tt.key, func(t *testing.T) {
			path := writeConfig(t, "http://127.0.0.1:9")
			text, _ := os.ReadFile(path)
			text = []byte(tt.head + strings.TrimPrefix(string(text),
				"listen: \"127.0.0.1:0\"\n"))
			os.WriteFile(path, text, 0o600)
			err := Run(context.Background(), Options{ConfigPath: path, Stderr: io.Discard})
			want := fmt.Sprintf("%s:%d: %s: listening on %s: ", path, tt.line, tt.key, addr)
			if err == nil || !strings.HasPrefix(err.Error(), want) ||
				!strings.Contains(err.Error(), "address already in use") {
				t.Errorf("got %v, want %q and the address in use", err, want)
			}
		})
	}
}

// TestOptionsStarIsTheGatewaysToAnswer: "OPTIONS *" reaches the gateway's handler, not
// Go's own answer to it, which would keep an HTTP/1.0 connection open and let what
// follows be read as another request.
func TestOptionsStarIsTheGatewaysToAnswer(t *testing.T) {
	base := startGateway(t, writeConfig(t, newUpstream(t)))
	for _, proto := range []string{"HTTP/1.0", "HTTP/1.1"} {
		c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "OPTIONS * "+proto+"\r\nHost: gw\r\nConnection: keep-alive\r\n"+
			"\r\nGET /public/x HTTP/1.1\r\nHost: gw\r\n\r\n")
		br := bufio.NewReader(c)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: %v", proto, err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("OPTIONS * %s: status %d, want 400 from the gateway", proto,
				res.StatusCode)
		}
		if proto == "HTTP/1.0" {
			if rest, _ := io.ReadAll(br); len(rest) > 0 {
				t.Errorf("after OPTIONS * HTTP/1.0: %q; want the connection closed", rest)
			}
		}
		c.Close()
	}
}

// TestStateDirInFolderOthersMayWriteRefused: a state_dir inside a folder that others
// may write to, where they could put a folder of their own in its place, is refused at
// start and by check; under a sticky folder, as /tmp is, it serves.
func TestStateDirInFolderOthersMayWriteRefused(t *testing.T) {
	path := writeConfig(t, "http://127.0.0.1:1")
	open := filepath.Join(filepath.Dir(path), "open")
	os.Mkdir(open, 0o700)
	os.Chmod(open, 0o777)
	text, _ := os.ReadFile(path)
	os.WriteFile(path, append([]byte("state_dir: open/state\n"), text...), 0o600)
	want := "state_dir: state_dir " + filepath.Join(open, "state") + " is inside " + open +
		", which group or others may write to (mode drwxrwxrwx)"
	err := Run(context.Background(), Options{ConfigPath: path, Stderr: io.Discard})
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("run: got %v, want a refusal holding %q", err, want)
	}
	if _, err := os.Stat(filepath.Join(open, "state")); !os.IsNotExist(err) {
		t.Errorf("state_dir was made in a folder others may write to: %v", err)
	}
	if _, err := Check(path); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("check: got %v, want a refusal holding %q", err, want)
	}
	os.Chmod(open, 0o777|os.ModeSticky)
	startGateway(t, path)
}

// fakeControlEnv names, for the test binary started again as another user, the path of
// the control socket it serves in the gateway's place.
const fakeControlEnv = "GATEWAY_TEST_FAKE_CONTROL"

// serveFakeControl answers on a unix socket at path as a gateway's control socket would,
// saying it runs with the config named by the environment, until it is killed.
func serveFakeControl(path string) {
	ln, err := net.Listen("unix", path)
	if err != nil {
		os.Exit(1)
	}
	config := os.Getenv(fakeControlEnv + "_CONFIG")
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"config":"`+config+`","revoked":1,"read":true}`)
	}))
}

// TestControlSocketOfAnotherUserRefused: a control socket whose other end is a process
// of another user than state_dir's owner, root or the command's own is not believed:
// the commands that talk to the gateway refuse it rather than report what it says.
func TestControlSocketOfAnotherUserRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("serving a socket as another user needs root")
	}
	path := writeConfig(t, "http://127.0.0.1:1")
	cfg := mustLoad(t, path)
	// a place the other user can reach, with a copy of this binary for it to run
	base, err := os.MkdirTemp("", "gateway-control-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755)
	bin, _ := os.ReadFile(os.Args[0])
	exe := filepath.Join(base, "server.test")
	if err := os.WriteFile(exe, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "data")
	os.Mkdir(dir, 0o777) // the stand-in may make its socket there
	os.Chmod(dir, 0o777)
	cfg.StateDir = dir
	sock := filepath.Join(dir, controlSocket)
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), fakeControlEnv+"="+sock,
		fakeControlEnv+"_CONFIG="+cfg.File)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534,
		Gid: 65534}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(5 * time.Second); ; {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the stand-in made no socket within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	os.Chmod(dir, 0o700) // root's again, as a gateway run as root would have it
	os.Chmod(sock, 0o777)
	_, err = RereadUsers(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "is served by user 65534, who owns "+
		"neither state_dir nor this command: not the gateway") {
		t.Errorf("reread through another user's socket: %v, want a refusal", err)
	}
	if _, err := RevokeSessions(context.Background(), cfg, "alice", "", nil); err == nil ||
		!strings.Contains(err.Error(), "not the gateway") {
		t.Errorf("revoke through another user's socket: %v, want a refusal", err)
	}
}

// linkPlayground writes a config and, beside it, a folder anyone may make things in,
// sticky as /tmp is, and a folder of root's for a link to lead to. It needs root.
func linkPlayground(t *testing.T) (path, base, sticky, target string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a link of another user needs root to make")
	}
	path = writeConfig(t, "http://127.0.0.1:1")
	base = filepath.Dir(path)
	sticky = filepath.Join(base, "sticky")
	os.Mkdir(sticky, 0o700)
	os.Chmod(sticky, 0o777|os.ModeSticky)
	target = filepath.Join(base, "target")
	os.Mkdir(target, 0o700)
	return path, base, sticky, target
}

// TestStateDirThroughAnotherUsersLinkRefused: a state_dir reached through a symbolic
// link of another user, who could point it elsewhere while the gateway runs (even in a
// sticky folder, where they may remove what is theirs), is refused at start, by check
// and by the commands that talk to the gateway.
func TestStateDirThroughAnotherUsersLinkRefused(t *testing.T) {
	path, _, sticky, target := linkPlayground(t)
	link := filepath.Join(sticky, "state")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(link, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	text, _ := os.ReadFile(path)
	os.WriteFile(path, append([]byte("state_dir: sticky/state\n"), text...), 0o600)
	want := "passes through " + link + ", a symbolic link of user 65534"
	err := Run(context.Background(), Options{ConfigPath: path, Stderr: io.Discard})
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("run: got %v, want a refusal holding %q", err, want)
	}
	if _, err := Check(path); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("check: got %v, want a refusal holding %q", err, want)
	}
	if _, err := RereadUsers(context.Background(), mustLoad(t, path)); err == nil ||
		!strings.Contains(err.Error(), want) {
		t.Errorf("reread: got %v, want a refusal holding %q", err, want)
	}
	// the same link of root's serves
	os.Lchown(link, 0, 0)
	startGateway(t, path)
}

// TestStateDirLinksJudgedAtEveryDepth: a link of root's that leads through a link of
// another user is refused like that link itself, and a folder of another user right
// inside a sticky folder is not believed by the commands that talk to the gateway.
func TestStateDirLinksJudgedAtEveryDepth(t *testing.T) {
	path, base, sticky, target := linkPlayground(t)
	theirs := filepath.Join(sticky, "theirs")
	os.Symlink(target, theirs)
	os.Lchown(theirs, 65534, 65534)
	os.Symlink("sticky/theirs", filepath.Join(base, "state")) // root's, relative
	text, _ := os.ReadFile(path)
	os.WriteFile(path, append([]byte("state_dir: state\n"), text...), 0o600)
	want := "passes through " + theirs + ", a symbolic link of user 65534"
	err := Run(context.Background(), Options{ConfigPath: path, Stderr: io.Discard})
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("run: got %v, want a refusal holding %q", err, want)
	}
	if _, err := RereadUsers(context.Background(), mustLoad(t, path)); err == nil ||
		!strings.Contains(err.Error(), want) {
		t.Errorf("reread: got %v, want a refusal holding %q", err, want)
	}

	// a link of root's whose target leaves theirs by "..": the system follows theirs
	// first, and so does the gateway, however the text reads without it
	os.Remove(filepath.Join(base, "state"))
	os.Symlink("sticky/theirs/../state", filepath.Join(base, "state"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel() // a gateway that starts serves until then, and fails the test
	if err := Run(ctx, Options{ConfigPath: path, Stderr: io.Discard}); err == nil ||
		!strings.Contains(err.Error(), want) {
		t.Errorf("run through theirs and back by \"..\": got %v, want a refusal holding %q",
			err, want)
	}

	// a folder of theirs right inside the sticky folder, as state_dir
	made := filepath.Join(sticky, "made")
	os.Mkdir(made, 0o700)
	os.Chown(made, 65534, 65534)
	os.WriteFile(path, append([]byte("state_dir: sticky/made\n"), text...), 0o600)
	if _, err := RereadUsers(context.Background(), mustLoad(t, path)); err == nil ||
		!strings.Contains(err.Error(), "anyone could have made it") {
		t.Errorf("reread through another user's folder in a sticky one: %v, want a "+
			"refusal", err)
	}
}

// TestStateDirFollowedOnceAtStart: the gateway uses the folder state_dir led to when
// it started; a link on the way pointed elsewhere later changes nothing, reloads
// included.
func TestStateDirFollowedOnceAtStart(t *testing.T) {
	pollConfigFast(t)
	path := writeConfig(t, newUpstream(t), "session:\n  store: memory\n")
	base := filepath.Dir(path)
	first, second := filepath.Join(base, "first"), filepath.Join(base, "second")
	os.Mkdir(first, 0o700)
	os.Mkdir(second, 0o700)
	// a secret no gateway could use, where the link will point
	os.WriteFile(filepath.Join(second, "session-secret"), []byte("short"), 0o600)
	link := filepath.Join(base, "state")
	os.Symlink(first, link)
	text, _ := os.ReadFile(path)
	os.WriteFile(path, append([]byte("state_dir: state\n"), text...), 0o600)
	gw, logs := runLogged(t, path)
	alice := signIn(t, gw, "alice", "pw")
	if _, err := os.Stat(filepath.Join(first, controlSocket)); err != nil {
		t.Fatalf("no control socket where state_dir led at start: %v", err)
	}

	os.Remove(link)
	os.Symlink(second, link)
	text, _ = os.ReadFile(path)
	os.WriteFile(path, append(text, []byte("timeouts:\n  page: 9s\n")...), 0o600)
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logs.String(),
		"config reloaded"); {
		if time.Now().After(deadline) {
			t.Fatalf("no reload within 5s; log:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if strings.Contains(logs.String(), "rejected") || strings.Contains(logs.String(),
		`keys="[state_dir]"`) {
		t.Errorf("the reload read the new target, or took state_dir for changed:\n%s",
			logs.String())
	}
	if code, _ := get(t, alice, gw, gw, "/app/"); code != http.StatusOK {
		t.Errorf("the session after the link moved: status %d, want 200", code)
	}
}
