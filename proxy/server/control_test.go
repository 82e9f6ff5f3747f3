package server

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/frontgate/gateway/authn/password"
	"github.com/frontgate/gateway/authn/session"
	"github.com/frontgate/gateway/authn/session/redisstore/redistest"
	"github.com/frontgate/gateway/authn/totp"
	"github.com/frontgate/gateway/config"
	bolt "go.etcd.io/bbolt"
)

// startGateway runs the gateway from the config at path until the test ends.
func startGateway(t *testing.T, path string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{ConfigPath: path, Stderr: io.Discard,
			Ready: func(a net.Addr) { ready <- a }})
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	select {
	case a := <-ready:
		return "http://" + a.String()
	case err := <-done:
		done <- err // for the cleanup, which waits for Run's end
		t.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("gateway did not start")
	}
	return ""
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]*)"`)

func signIn(t *testing.T, base, user, pass string) *http.Client {
	t.Helper()
	return signInWith(t, base, user, pass, nil, nil)
}

// signInWith signs in through transport (nil: the default), showing every response to
// check, when set.
func signInWith(t *testing.T, base, user, pass string, transport http.RoundTripper,
	check func(*http.Response)) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	res, err := c.Get(base + "/.gateway/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if check != nil {
		check(res)
	}
	m := csrfField.FindSubmatch(body)
	if m == nil {
		t.Fatal("no csrf token on the sign-in page")
	}
	res, err = c.PostForm(base+"/.gateway/login", url.Values{"username": {user},
		"password": {pass}, "csrf_token": {string(m[1])}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if check != nil {
		check(res)
	}
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: status %d", res.StatusCode)
	}
	return c
}

// sessionStores lists the session stores, each with a function writing a config that
// uses it for the upstream up.
var sessionStores = []struct {
	store  string
	config func(t *testing.T, up string) string
}{
	{"memory", func(t *testing.T, up string) string {
		return writeConfig(t, up, "session:\n  store: memory\n")
	}},
	{"bolt", func(t *testing.T, up string) string { return writeConfig(t, up) }},
	{"redis", func(t *testing.T, up string) string {
		return redisConfig(t, up, redistest.Start(t).Addr())
	}},
}

// TestSessionsThroughControlSocket lists and revokes sessions through the control
// socket of a running gateway, on every store: the revokes end the sessions in that
// gateway, and are audit records in its log.
func TestSessionsThroughControlSocket(t *testing.T) {
	for _, tt := range sessionStores {
		t.Run(tt.store, func(t *testing.T) {
			path := tt.config(t, newUpstream(t))
			base, logs := runLogged(t, path)
			first := signIn(t, base, "alice", "pw")
			second := signIn(t, base, "alice", "pw")

			cfg := mustLoad(t, path)
			sock := filepath.Join(cfg.StateDir, controlSocket)
			if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("control socket: %v; want one of mode 0600", err)
			}
			ctx := context.Background()
			list, err := ListSessions(ctx, cfg, "alice", nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 2 || list[0].User != "alice" || list[0].ClientIP != "127.0.0.1" ||
				len(list[0].ID) != session.ListedIDLength {
				t.Fatalf("listing: got %+v, want two sessions of alice from 127.0.0.1", list)
			}
			n, err := RevokeSessions(ctx, cfg, "", list[0].ID[:8], nil)
			if err != nil || n != 1 {
				t.Fatalf("revoke by id: %d, %v; want 1", n, err)
			}
			after, err := ListSessions(ctx, cfg, "", nil)
			if err != nil || len(after) != 1 || after[0].ID != list[1].ID {
				t.Fatalf("after the revoke by id: %+v, %v; want only %s", after, err,
					list[1].ID)
			}
			n, err = RevokeSessions(ctx, cfg, "alice", "", nil)
			if err != nil || n != 1 {
				t.Fatalf("revoke by user: %d, %v; want 1", n, err)
			}
			for i, c := range []*http.Client{first, second} {
				if code, _ := get(t, c, base, base, "/app/"); code != http.StatusUnauthorized {
					t.Errorf("revoked session %d: status %d, want 401", i+1, code)
				}
			}
			// the gateway itself did the revokes, so its log has them, each with its user
			if got := strings.Count(logs.String(), `msg="sessions revoked" log=audit `+
				`user=alice`); got != 2 {
				t.Errorf("gateway log: %d revoke records of alice, want 2; log:\n%s", got,
					logs.String())
			}
			// the one by id names the session by its whole listed id, not the part given
			if want := "user=alice session=" + list[0].ID + " count=1"; !strings.Contains(
				logs.String(), want) {
				t.Errorf("gateway log lacks %q:\n%s", want, logs.String())
			}
		})
	}
}

// TestSessionsWithoutGatewayReportDamage lists the bolt store with no gateway running
// when it holds a record that does not decode: the listing deletes the record, as a
// gateway would, and says so on the log writer rather than unsaid.
func TestSessionsWithoutGatewayReportDamage(t *testing.T) {
	path := writeConfig(t, newUpstream(t))
	ctx, cancel := context.WithCancel(context.Background())
	base, done := startUntil(t, ctx, path)
	signIn(t, base, "alice", "pw")
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	cfg := mustLoad(t, path)
	db, err := bolt.Open(filepath.Join(cfg.StateDir, boltFile), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	damaged := binary.BigEndian.AppendUint64(nil, uint64(time.Now().Add(time.Hour).UnixNano()))
	damaged = append(damaged, "{not json"...)
	err = db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("sessions")).Put([]byte("damaged-record"), damaged)
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}

	var logs strings.Builder
	list, err := ListSessions(context.Background(), cfg, "", &logs)
	if err != nil || len(list) != 1 || list[0].User != "alice" {
		t.Fatalf("listing: %+v, %v; want alice's one session", list, err)
	}
	for _, want := range []string{"level=ERROR", `"session record does not decode; deleting it"`,
		"key=damaged-record"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log %q lacks %s", logs.String(), want)
		}
	}
	logs.Reset()
	if list, err := ListSessions(context.Background(), cfg, "", &logs); err != nil ||
		len(list) != 1 || logs.Len() != 0 {
		t.Errorf("listing again: %+v, %v, log %q; want alice's session and no log", list,
			err, logs.String())
	}
}

// TestSessionsWithoutGatewayOnMemoryStore: with the memory store and no gateway running,
// listing says that there is nothing to list, whether the config was loaded whole or only
// located, without the environment its secrets come from.
func TestSessionsWithoutGatewayOnMemoryStore(t *testing.T) {
	path := writeConfig(t, "http://127.0.0.1:1", "session:\n  store: memory\n"+
		"  secrets: [\"${GATEWAY_TEST_SECRET_NEVER_SET}\"]\n")
	t.Setenv("GATEWAY_TEST_SECRET_NEVER_SET", "0123456789abcdef0123456789abcdef")
	loaded, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	os.Unsetenv("GATEWAY_TEST_SECRET_NEVER_SET")
	located, err := config.Locate(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []*config.Config{loaded, located} {
		if _, err := ListSessions(t.Context(), cfg, "", nil); !errors.Is(err, ErrNoGateway) {
			t.Errorf("got %v, want ErrNoGateway", err)
		}
	}
}

func newUpstream(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {
		io.WriteString(w, "upstream "+strings.TrimSpace(r.Header.Get("X-Forwarded-User")))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

func TestBoltSessionsSurviveRestart(t *testing.T) {
	up := newUpstream(t)
	path := writeConfig(t, up) // bolt is the default store
	ctx, cancel := context.WithCancel(context.Background())
	base, done := startUntil(t, ctx, path)
	alice := signIn(t, base, "alice", "pw")
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("first run: %v", err)
	}

	// No gateway runs: the command opens the store itself.
	cfg, _ := config.Load(path)
	list, err := ListSessions(context.Background(), cfg, "alice", nil)
	if err != nil || len(list) != 1 {
		t.Fatalf("listing without a gateway: %v, %v; want alice's session", list, err)
	}

	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	base2, _ := startUntil(t, ctx2, path)
	u, _ := url.Parse(base)
	u2, _ := url.Parse(base2)
	// The browser's cookie for the first address goes to the second.
	alice.Jar.SetCookies(u2, alice.Jar.Cookies(u))
	res, err := alice.Get(base2 + "/app/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != "upstream alice" {
		t.Errorf("after restart: status %d, body %q; want alice still signed in",
			res.StatusCode, body)
	}
}

// TestBoltCodesSurviveRestart: with the bolt store, a one-time code that signed a user
// in before a restart does not sign anyone in after it.
func TestBoltCodesSurviveRestart(t *testing.T) {
	up := newUpstream(t)
	path := writeConfig(t, up) // bolt is the default store
	const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	writeUsersFile(t, path, map[string]string{}, map[string]string{
		"erin": "    totp_secret: " + secret + "\n"})
	key, _ := totp.ParseSecret(secret)
	code := key.Code(time.Now())

	base2 := restarted(t, path, func(base string) {
		if got, _ := codeSignIn(t, base, "erin", code); got != http.StatusSeeOther {
			t.Fatalf("erin's code: status %d, want 303", got)
		}
	})
	if got, _ := codeSignIn(t, base2, "erin", code); got != http.StatusUnauthorized {
		t.Errorf("erin's code again after a restart: status %d, want 401", got)
	}
}

// TestBoltThrottleSurvivesRestart: wrong passwords before a restart hold the next
// attempt back after it.
func TestBoltThrottleSurvivesRestart(t *testing.T) {
	up := newUpstream(t)
	path := writeConfig(t, up) // bolt is the default store
	base2 := restarted(t, path, func(base string) {
		// Five wrong passwords, then two more, each after the wait the ones before gave:
		// the next attempt waits 4 s, time enough for the restart.
		for i, wait := range []time.Duration{0, 0, 0, 0, 0, time.Second, 2 * time.Second} {
			time.Sleep(wait + wait/20)
			if got := trySignIn(base, "alice", "wrong"); got != http.StatusUnauthorized {
				t.Fatalf("wrong password %d: status %d, want 401", i+1, got)
			}
		}
	})
	if got := trySignIn(base2, "alice", "pw"); got != http.StatusTooManyRequests {
		t.Errorf("the right password at once after a restart: status %d, want 429", got)
	}
}

// restarted runs the gateway of the config at path, calls before with its address, stops
// it, and starts it again, until the test ends; it returns the new address.
func restarted(t *testing.T, path string, before func(base string)) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // also when before fails the test
	base, done := startUntil(t, ctx, path)
	before(base)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("first run: %v", err)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	t.Cleanup(cancel2)
	base2, _ := startUntil(t, ctx2, path)
	return base2
}

// startUntil runs the gateway until ctx ends; done reports Run's result.
func startUntil(t *testing.T, ctx context.Context, path string) (string, <-chan error) {
	t.Helper()
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{ConfigPath: path, Stderr: io.Discard,
			Ready: func(a net.Addr) { ready <- a }})
	}()
	select {
	case a := <-ready:
		return "http://" + a.String(), done
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("gateway did not start")
	}
	return "", done
}

func TestSecondGatewayOnOneStateDirRefused(t *testing.T) {
	up := newUpstream(t)
	path := writeConfig(t, up, "session:\n  store: memory\n")
	startGateway(t, path)
	other := filepath.Join(filepath.Dir(path), "other.yaml")
	text, _ := os.ReadFile(path)
	os.WriteFile(other, text, 0o600)
	err := Run(context.Background(), Options{ConfigPath: other, Stderr: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "another gateway is running") {
		t.Errorf("second gateway on the same state_dir: got %v", err)
	}
	// The command, given the other config, refuses to act on the running gateway.
	cfg, _ := config.Load(other)
	if _, err := ListSessions(context.Background(), cfg, "", nil); err == nil ||
		!strings.Contains(err.Error(), "not "+cfg.File) {
		t.Errorf("listing through another config: got %v, want a refusal", err)
	}
	if _, err := RevokeSessions(context.Background(), mustLoad(t, path), "", "nosuchid1",
		nil); err == nil {
		t.Error("revoking an unknown id succeeded")
	}
}

func mustLoad(t *testing.T, path string) *config.Config {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestSessionsWithoutGateway lists and revokes sessions in the bolt and Redis stores
// themselves, with no gateway running: the sessions end, a gateway started afterwards
// does not take their cookies, and each revoke is an audit record all the same.
func TestSessionsWithoutGateway(t *testing.T) {
	for _, tt := range sessionStores {
		if tt.store == "memory" {
			continue // nothing outlives the gateway; see TestSessionsWithoutGatewayOnMemoryStore
		}
		t.Run(tt.store, func(t *testing.T) {
			path := tt.config(t, newUpstream(t))
			ctx, cancel := context.WithCancel(context.Background())
			base, done := startUntil(t, ctx, path)
			first := signIn(t, base, "alice", "pw")
			second := signIn(t, base, "alice", "pw")
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("run: %v", err)
			}

			cfg := mustLoad(t, path)
			list, err := ListSessions(context.Background(), cfg, "alice", nil)
			if err != nil || len(list) != 2 || list[0].ClientIP != "127.0.0.1" {
				t.Fatalf("listing without a gateway: %+v, %v; want alice's two sessions",
					list, err)
			}
			var audit strings.Builder
			n, err := RevokeSessions(context.Background(), cfg, "", list[0].ID[:8], &audit)
			if err != nil || n != 1 {
				t.Fatalf("revoke by id without a gateway: %d, %v; want 1", n, err)
			}
			after, err := ListSessions(context.Background(), cfg, "", nil)
			if err != nil || len(after) != 1 || after[0].ID != list[1].ID {
				t.Fatalf("after the revoke by id: %+v, %v; want only %s", after, err,
					list[1].ID)
			}
			n, err = RevokeSessions(context.Background(), cfg, "alice", "", &audit)
			if err != nil || n != 1 {
				t.Fatalf("revoke by user without a gateway: %d, %v; want 1", n, err)
			}
			// the revoke by id names whose session it was, by its whole listed id
			for _, want := range []string{`msg="sessions revoked"`, "log=audit",
				"user=alice session=" + list[0].ID + " ", "count=1", "reason=revoke"} {
				if !strings.Contains(audit.String(), want) {
					t.Errorf("audit records %q lack %s", audit.String(), want)
				}
			}
			if got := strings.Count(audit.String(), `msg="sessions revoked"`); got != 2 {
				t.Errorf("audit: %d revoke records, want 2:\n%s", got, audit.String())
			}
			if list, err := ListSessions(context.Background(), cfg, "alice", nil); err != nil ||
				len(list) != 0 {
				t.Errorf("after the revokes: %v, %v; want no sessions", list, err)
			}

			// A gateway started on the same store does not take the revoked cookies.
			again := startGateway(t, path)
			for i, c := range []*http.Client{first, second} {
				if code, _ := get(t, c, base, again, "/app/"); code != http.StatusUnauthorized {
					t.Errorf("revoked session %d: status %d, want 401", i+1, code)
				}
			}
		})
	}
}

// TestSessionsWithoutTheEnvironment: a config whose secret comes from the environment
// still reaches the running gateway from a shell that lacks the variable, and with no
// gateway running it says which variable the store needs rather than guessing.
func TestSessionsWithoutTheEnvironment(t *testing.T) {
	const name = "GATEWAY_TEST_CONTROL_SECRET"
	t.Setenv(name, "e4a1f09c3b7d2865e4a1f09c3b7d2865")
	path := writeConfig(t, newUpstream(t), "session:\n  secrets: [\"${"+name+"}\"]\n")
	base, _ := runLogged(t, path)
	signIn(t, base, "alice", "pw")
	os.Unsetenv(name)

	if _, err := config.Load(path); !errors.Is(err, config.ErrUnsetEnv) {
		t.Fatalf("Load without the variable: %v, want ErrUnsetEnv", err)
	}
	cfg, err := config.Locate(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Partial(); err == nil ||
		!strings.Contains(err.Error(), "session.secrets[0] reads "+name) {
		t.Errorf("Partial: %v, want it to name the key and the variable", err)
	}
	ctx := context.Background()
	list, err := ListSessions(ctx, cfg, "alice", nil)
	if err != nil || len(list) != 1 {
		t.Fatalf("listing through the control socket: %+v, %v; want alice's session", list,
			err)
	}
	if n, err := RevokeSessions(ctx, cfg, "alice", "", nil); err != nil || n != 1 {
		t.Errorf("revoke through the control socket: %d, %v; want 1", n, err)
	}

	// the same config with no gateway running: its store is not opened half-configured
	idle := filepath.Join(t.TempDir(), "gateway.yaml")
	text, _ := os.ReadFile(path)
	os.WriteFile(idle, text, 0o600)
	os.WriteFile(filepath.Join(filepath.Dir(idle), "users.yaml"), nil, 0o600)
	cfg, err = config.Locate(idle)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ListSessions(ctx, cfg, "", nil)
	if !errors.Is(err, config.ErrUnsetEnv) || !strings.Contains(err.Error(), name) {
		t.Errorf("no gateway running: %v, want an error naming %s", err, name)
	}
	if _, err := os.Stat(filepath.Join(cfg.StateDir, "sessions.db")); err == nil {
		t.Error("the store was opened without its secrets")
	}
}

// TestControlRevokeTakesOneTarget: the control socket refuses a revoke that names both a
// user and a session id, rather than act on one of them and pass over the other.
func TestControlRevokeTakesOneTarget(t *testing.T) {
	path := writeConfig(t, newUpstream(t), "session:\n  store: memory\n")
	base := startGateway(t, path)
	signIn(t, base, "alice", "pw")
	cfg := mustLoad(t, path)
	list, err := ListSessions(context.Background(), cfg, "", nil)
	if err != nil || len(list) != 1 {
		t.Fatalf("listing: %v, %v", list, err)
	}
	c, err := controlClient(context.Background(), cfg)
	if err != nil || c == nil {
		t.Fatalf("control client: %v", err)
	}
	var out struct{ Revoked int }
	err = control(context.Background(), c, http.MethodPost, "/revoke",
		url.Values{"user": {"bob"}, "id": {list[0].ID}}, &out)
	if err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("revoke of a user and an id: %v, %+v; want a refusal", err, out)
	}
	if after, err := ListSessions(context.Background(), cfg, "", nil); err != nil ||
		len(after) != 1 {
		t.Errorf("after the refused revoke: %v, %v; want alice's session", after, err)
	}

	// a query that does not parse whole is refused, not read without its bad part
	for _, tt := range []struct{ method, target string }{
		{http.MethodGet, "/sessions?user=%ZZ"},
		{http.MethodPost, "/revoke?user=%ZZ&id=" + list[0].ID},
	} {
		req, _ := http.NewRequest(tt.method, "http://gateway"+tt.target, nil)
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest ||
			!strings.HasPrefix(string(body), "malformed query") {
			t.Errorf("%s %s: %d %q, want 400 naming the malformed query", tt.method,
				tt.target, res.StatusCode, body)
		}
	}
	if after, err := ListSessions(context.Background(), cfg, "", nil); err != nil ||
		len(after) != 1 {
		t.Errorf("after the malformed revoke: %v, %v; want alice's session", after, err)
	}
}

// TestRereadUsersThroughControlSocket changes a password in the users file of a running
// gateway that would not look at the file for an hour, and asks it to read the file
// through the control socket: the user's session ends before the call returns. A file
// that does not load is refused, and the last good version keeps serving.
func TestRereadUsersThroughControlSocket(t *testing.T) {
	usersPollInterval = time.Hour
	defer func() { usersPollInterval = 2 * time.Second }()
	path := writeConfig(t, newUpstream(t))
	cfg := mustLoad(t, path)
	ctx := context.Background()
	if read, err := RereadUsers(ctx, cfg); read || err != nil {
		t.Fatalf("with no gateway running: %v, %v; want false, nil", read, err)
	}

	base, logs := runLogged(t, path)
	alice := signIn(t, base, "alice", "pw")
	if code, _ := get(t, alice, base, base, "/app/"); code != http.StatusOK {
		t.Fatalf("signed in: status %d, want 200", code)
	}

	// a file that does not load: refused, and alice still signed in
	good, err := os.ReadFile(cfg.Users.File)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg.Users.File, []byte("users:\n  alice: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if read, err := RereadUsers(ctx, cfg); read || err == nil ||
		!strings.Contains(err.Error(), "users.yaml") {
		t.Fatalf("broken file: %v, %v; want false and an error naming the file", read, err)
	}
	if code, _ := get(t, alice, base, base, "/app/"); code != http.StatusOK {
		t.Fatalf("after a refused file: status %d, want 200", code)
	}

	// a new password for alice
	h, err := password.Generate("new", password.Argon2Params{Memory: 64, Time: 1,
		Threads: 1, SaltLen: 16, KeyLen: 32})
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(good), hashOf(t, good), h, 1)
	if err := os.WriteFile(cfg.Users.File, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	if read, err := RereadUsers(ctx, cfg); !read || err != nil {
		t.Fatalf("asking to read the file: %v, %v; want true, nil", read, err)
	}
	if code, _ := get(t, alice, base, base, "/app/"); code != http.StatusUnauthorized {
		t.Fatalf("after the new password was read: status %d, want 401", code)
	}
	if !strings.Contains(logs.String(), `msg="users file reloaded" reason="asked on the `+
		`control socket"`) {
		t.Errorf("gateway log lacks the reload record:\n%s", logs.String())
	}
}

// hashOf returns the one password hash in a users file's text.
func hashOf(t *testing.T, users []byte) string {
	t.Helper()
	m := regexp.MustCompile(`\$argon2id\$[^"]+`).Find(users)
	if m == nil {
		t.Fatalf("no argon2id hash in %s", users)
	}
	return string(m)
}

// TestStateDirLockedWhileServing: a gateway holds its state_dir locked while it runs, so
// that of two started at once on one state_dir, which could both miss the other's
// control socket, one is refused.
func TestStateDirLockedWhileServing(t *testing.T) {
	path := writeConfig(t, newUpstream(t), "session:\n  store: memory\n")
	cfg := mustLoad(t, path)
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	lock, err := lockStateDir(cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	err = Run(context.Background(), Options{ConfigPath: path, Stderr: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "another gateway is running with it") {
		t.Errorf("run on a locked state_dir: %v, want a refusal", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.StateDir, controlSocket)); !os.IsNotExist(err) {
		t.Errorf("the refused gateway made a control socket: %v", err)
	}
	lock.Close()
	startGateway(t, path)
	if _, err := lockStateDir(cfg.StateDir); err == nil {
		t.Error("a running gateway's state_dir could be locked again")
	}
}
