package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/frontgate/gateway/authn"
	"github.com/frontgate/gateway/authn/password"
	"github.com/frontgate/gateway/proxy/server"
)

// TestPasswd sets passwords in the users file a config names: the file is replaced
// whole, keeps its mode, its comments and its other users, and holds a hash the new
// password verifies against; what cannot be done leaves the file as it was.
func TestPasswd(t *testing.T) {
	path := aliceConfig(t, "")
	users := filepath.Join(filepath.Dir(path), "users.yaml")
	orig, _ := os.ReadFile(users)
	os.WriteFile(users, append([]byte("# the team\n"), orig...), 0o600)
	os.Chmod(users, 0o640) // group-readable, for a gateway that runs in the group

	code, out, errOut := runCmd(t, "new-pass\n", "passwd", "-config", path, "alice")
	if code != 0 || !strings.HasPrefix(out, "password of alice changed in ") ||
		!strings.Contains(out, "No gateway with this config is running here. "+
			"A gateway ends alice's sessions") {
		t.Fatalf("passwd alice: exit %d, %q, %q", code, out, errOut)
	}
	verify := func(name, pw string) bool {
		t.Helper()
		list, err := authn.ReadUsersFile(users)
		if err != nil {
			t.Fatalf("the users file: %v", err)
		}
		if list[name] == nil {
			return false
		}
		h, err := password.Parse(list[name].PasswordHash())
		return err == nil && h.Verify(pw)
	}
	if !verify("alice", "new-pass") || verify("alice", "pw") {
		t.Error("alice's new password does not verify, or her old one still does")
	}
	text, _ := os.ReadFile(users)
	if fi, _ := os.Stat(users); fi.Mode().Perm() != 0o640 ||
		!strings.HasPrefix(string(text), "# the team\n") {
		t.Errorf("mode %v, file\n%s; want 0640 and the comment kept", fi.Mode().Perm(), text)
	}

	if code, _, errOut := runCmd(t, "bob-pass\n", "passwd", "-config", path, "-add",
		"bob"); code != 0 || !verify("bob", "bob-pass") || !verify("alice", "new-pass") {
		t.Errorf("adding bob: exit %d, %q", code, errOut)
	}
	// a password that is the user's name is set, with a warning, and one for its length
	if code, _, errOut := runCmd(t, "Alice\n", "passwd", "-config", path, "alice"); code != 0 ||
		!verify("alice", "Alice") || errOut != "gateway passwd: warning: the password is "+
		"the user's name, the first guess of anyone who tries\ngateway passwd: warning: "+
		"the password is 5 characters long; one of fewer than 8 falls to guessing soonest\n" {
		t.Errorf("alice's name as her password: exit %d, %q", code, errOut)
	}
	// a name that passes for another is added, with a warning naming the other
	if code, _, errOut := runCmd(t, "b0b-pass\n", "passwd", "-config", path, "-add",
		"B0b"); code != 0 || !verify("B0b", "b0b-pass") ||
		!strings.Contains(errOut, `warning: "B0b" passes at a glance for "bob", already in `) {
		t.Errorf("adding B0b beside bob: exit %d, %q", code, errOut)
	}
	before, _ := os.ReadFile(users)
	for _, tt := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"carol"}, 1, `no such user "carol" in ` + users + `; gateway passwd -add ` +
			`carol adds the user`},
		{[]string{"-add", "bob"}, 1, `user exists: "bob"`},
		{[]string{"-add", " bob"}, 1, "space"},
		{[]string{"-add", "аlice"}, 1, "mixes Cyrillic and Latin letters"},
		{[]string{}, 2, "give one user name"},
		{[]string{"-add", ""}, 2, "give one user name"},
		{[]string{""}, 2, "give one user name"},
		{[]string{"alice", "bob"}, 2, "give one user name"},
	} {
		args := append([]string{"passwd", "-config", path}, tt.args...)
		code, _, errOut := runCmd(t, "x-pass\n", args...)
		if code != tt.code || !strings.Contains(errOut, tt.says) {
			t.Errorf("%q: exit %d, %q; want %d saying %q", tt.args, code, errOut, tt.code,
				tt.says)
		}
	}
	if code, _, errOut := runCmd(t, "", "passwd", "-config", path, "alice"); code != 1 ||
		!strings.Contains(errOut, "the password is empty") {
		t.Errorf("an empty password: exit %d, %q", code, errOut)
	}
	if after, _ := os.ReadFile(users); string(after) != string(before) {
		t.Errorf("a refused change touched the file:\n%s", after)
	}
	// a users file anyone may write, which the gateway refuses, is not edited either
	os.Chmod(users, 0o606)
	if code, _, errOut := runCmd(t, "x-pass\n", "passwd", "-config", path, "alice"); code !=
		1 || !strings.Contains(errOut, "gateway passwd: the gateway refuses the users file, "+
		"as anyone could add themselves as a user: "+users+" may be written by anyone") {
		t.Errorf("a users file anyone may write: exit %d, %q", code, errOut)
	}
	if after, _ := os.ReadFile(users); string(after) != string(before) {
		t.Errorf("the users file anyone may write was edited:\n%s", after)
	}
	os.Chmod(users, 0o600)
	// a users file that does not load is not edited, and says why
	os.WriteFile(users, []byte("users:\n  alice:\n\tpassword: x\n"), 0o600)
	if code, _, errOut := runCmd(t, "x-pass\n", "passwd", "-config", path, "alice"); code != 1 ||
		!strings.Contains(errOut, "users.yaml:3: invalid YAML") {
		t.Errorf("a broken users file: exit %d, %q", code, errOut)
	}
	// ... unless all that is wrong is the password of the user named: a hash the
	// gateway cannot take, from an import, is mended by a new password
	os.WriteFile(users, []byte("users:\n  alice:\n    password: \"$apr1$x$y\"\n"), 0o600)
	if code, _, errOut := runCmd(t, "mended\n", "passwd", "alice", "-config", path); code != 0 ||
		!verify("alice", "mended") {
		t.Errorf("mending alice's hash, flags after the name: exit %d, %q", code, errOut)
	}
	// with no users file, the first user added makes it, readable by its owner alone
	os.Remove(users)
	if code, _, errOut := runCmd(t, "x-pass\n", "passwd", "-config", path, "alice"); code != 1 ||
		!strings.Contains(errOut, "there is no users file "+users+"; gateway passwd -add "+
			"alice makes it") {
		t.Errorf("no users file: exit %d, %q", code, errOut)
	}
	if code, _, errOut := runCmd(t, "first\n", "passwd", "-config", path, "-add",
		"alice"); code != 0 || !verify("alice", "first") {
		t.Errorf("the first user: exit %d, %q", code, errOut)
	}
	if fi, err := os.Stat(users); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the users file made: %v, %v; want mode 0600", fi, err)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(users), ".users.yaml.*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestPasswdConcurrent runs passwd for several users at once: each change is in the file
// afterwards, none undone by another run's rename.
func TestPasswdConcurrent(t *testing.T) {
	path := aliceConfig(t, "")
	users := filepath.Join(filepath.Dir(path), "users.yaml")
	names := []string{"alice", "bob", "carol", "dave", "erin", "frank"}
	var wg sync.WaitGroup
	codes := make([]int, len(names))
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := []string{"passwd", "-config", path, "-add", name}
			if name == "alice" {
				args = []string{"passwd", "-config", path, name}
			}
			var out, errb bytes.Buffer
			codes[i] = run(context.Background(), args, strings.NewReader(name+"-new\n"),
				&out, &errb)
		}()
	}
	wg.Wait()
	list, err := authn.ReadUsersFile(users)
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range names {
		ok := false
		if u := list[name]; u != nil {
			h, err := password.Parse(u.PasswordHash())
			ok = err == nil && h.Verify(name+"-new")
		}
		if codes[i] != 0 || !ok {
			t.Errorf("%s: exit %d, new password in the file %v; want 0, true", name,
				codes[i], ok)
		}
	}
}

// TestPasswdTellsRunningGateway changes alice's password while a gateway runs with the
// config: passwd has the gateway read the users file at once, so her session is over
// when passwd returns, not seconds later.
func TestPasswdTellsRunningGateway(t *testing.T) {
	path := aliceConfig(t, "listen: \"127.0.0.1:0\"\nstate_dir: state\n"+
		"session:\n  store: memory\n")
	base := startGateway(t, path)

	c := aliceSignedIn(t, base)
	code, out, errOut := runCmd(t, "new-pass\n", "passwd", "-config", path, "alice")
	if code != 0 || !strings.Contains(out, "The running gateway has read the file and "+
		"ended alice's sessions.") {
		t.Fatalf("passwd alice: exit %d, %q, %q", code, out, errOut)
	}
	if status := statusAt(t, c, base+"/"); status != http.StatusUnauthorized {
		t.Errorf("alice's session right after passwd: status %d, want 401", status)
	}
}

// TestCommandsWhileConfigBroken: a gateway serves on with its config while an edit of
// the file that it refused waits to be mended, and its sessions and users stay within
// reach of the commands meanwhile, which say what is wrong with the file.
func TestCommandsWhileConfigBroken(t *testing.T) {
	path := aliceConfig(t, "listen: \"127.0.0.1:0\"\nstate_dir: state\n"+
		"session:\n  store: memory\n  secrets: [\"${GATEWAY_TEST_SECRET}\"]\n")
	t.Setenv("GATEWAY_TEST_SECRET", "4f1c9e27b8d05a36e4f1c9e27b8d05a3")
	base := startGateway(t, path)
	c := aliceSignedIn(t, base)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("    publc: [/x]\n")
	f.Close()
	// the shell the commands run from lacks the gateway's variable, too
	os.Unsetenv("GATEWAY_TEST_SECRET")
	const warning = "routes[0].publc: unknown key; did you mean public? (a gateway " +
		"would refuse the file; only "

	code, out, errOut := runCmd(t, "", "sessions", "list", "-config", path)
	if code != 0 || !strings.Contains(out, "alice") ||
		!strings.Contains(errOut, "gateway sessions: warning: "+path+":10: "+warning) {
		t.Errorf("sessions list: exit %d, %q, %q; want alice's session and a warning",
			code, out, errOut)
	}
	code, out, errOut = runCmd(t, "new-pass\n", "passwd", "-config", path, "alice")
	if code != 0 || !strings.Contains(out, "ended alice's sessions") ||
		!strings.Contains(errOut, "gateway passwd: warning: "+path+":10: "+warning) {
		t.Errorf("passwd alice: exit %d, %q, %q; want it done, with a warning", code, out,
			errOut)
	}
	if status := statusAt(t, c, base+"/"); status != http.StatusUnauthorized {
		t.Errorf("alice's session after passwd: status %d, want 401", status)
	}
}

// startGateway runs a gateway with the config at path until t ends, and returns the
// base URL it serves at.
func startGateway(t *testing.T, path string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, server.Options{ConfigPath: path, Stderr: io.Discard,
			Ready: func(a net.Addr) { ready <- a }})
	}()
	select {
	case a := <-ready:
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
		})
		return "http://" + a.String()
	case err := <-done:
		cancel()
		t.Fatalf("run: %v", err)
	}
	return ""
}

// aliceSignedIn returns a client signed in as alice (password "pw") at base, which
// follows no redirect.
func aliceSignedIn(t *testing.T, base string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	if code := signInAt(t, c, base, "alice", "pw"); code != http.StatusSeeOther {
		t.Fatalf("sign-in: status %d, want 303", code)
	}
	return c
}

// statusAt returns the status of c's GET of target.
func statusAt(t *testing.T, c *http.Client, target string) int {
	t.Helper()
	res, err := c.Get(target)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// signInAt posts the sign-in form at base as user, with the CSRF token of the form it
// fetched first, and returns the status of the answer.
func signInAt(t *testing.T, c *http.Client, base, user, pass string) int {
	t.Helper()
	res, err := c.Get(base + "/.gateway/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token in the sign-in form:\n%s", body)
	}
	res, err = c.PostForm(base+"/.gateway/login", url.Values{"username": {user},
		"password": {pass}, "csrf_token": {string(m[1])}, "next": {"/"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}
