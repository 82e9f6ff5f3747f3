package server

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/frontgate/gateway/authn/password"
	"github.com/frontgate/gateway/authn/session/redisstore/redistest"
	"github.com/frontgate/gateway/authn/totp"
)

// get fetches path from base with c's cookies for base, and returns status and body.
func get(t *testing.T, c *http.Client, from, base, path string) (int, string) {
	t.Helper()
	fu, _ := url.Parse(from)
	bu, _ := url.Parse(base)
	c.Jar.SetCookies(bu, c.Jar.Cookies(fu))
	res, err := c.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res.StatusCode, string(body)
}

// redisConfig writes a config whose sessions live in the Redis at addr, with extra
// top-level YAML after it.
func redisConfig(t *testing.T, up, addr string, extra ...string) string {
	return writeConfig(t, up, append([]string{"session:\n  store: redis\n" +
		"  secrets: [\"0123456789abcdef0123456789abcdef-shared\"]\n" +
		"  redis:\n    addresses: [\"" + addr + "\"]\n    key_prefix: \"gw-test:\"\n"},
		extra...)...)
}

// shareUsersFile makes the config at to read the users file of the config at from.
func shareUsersFile(t *testing.T, from, to string) {
	t.Helper()
	users := filepath.Join(filepath.Dir(to), "users.yaml")
	os.Remove(users)
	if err := os.Symlink(filepath.Join(filepath.Dir(from), "users.yaml"), users); err != nil {
		t.Fatal(err)
	}
}

func TestTwoGatewaysShareOneRedis(t *testing.T) {
	srv := redistest.Start(t)
	up := newUpstream(t)
	pathA := redisConfig(t, up, srv.Addr())
	pathB := redisConfig(t, up, srv.Addr())
	// Both gateways read the same users file, as two instances behind one name would.
	shareUsersFile(t, pathA, pathB)
	usersA := filepath.Join(filepath.Dir(pathA), "users.yaml")
	a, b := startGateway(t, pathA), startGateway(t, pathB)

	// Signed in at the first, recognised at the second.
	alice := signIn(t, a, "alice", "pw")
	if code, body := get(t, alice, a, b, "/app/"); code != 200 || body != "upstream alice" {
		t.Fatalf("second gateway: status %d, body %q; want alice", code, body)
	}

	// Signed out at the second, rejected at the first.
	logoutAt(t, alice, b)
	if code, _ := get(t, alice, b, a, "/app/"); code != http.StatusUnauthorized {
		t.Errorf("first gateway after sign-out at the second: status %d, want 401", code)
	}

	// A password change in the users file ends the session at both.
	alice = signIn(t, a, "alice", "pw")
	if code, _ := get(t, alice, a, b, "/app/"); code != 200 {
		t.Fatalf("second gateway: status %d", code)
	}
	h, _ := password.Generate("new-pw", password.Argon2Params{Memory: 64, Time: 1,
		Threads: 1, SaltLen: 16, KeyLen: 32})
	os.WriteFile(usersA, []byte("users:\n  alice:\n    password: \""+h+"\"\n"), 0o600)
	deadline := time.Now().Add(10 * time.Second)
	for _, base := range []string{a, b} {
		for {
			code, _ := get(t, alice, a, base, "/app/")
			if code == http.StatusUnauthorized {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: session still valid %v after the password changed", base,
					10*time.Second)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

func TestTwoGatewaysShareFailedSignIns(t *testing.T) {
	srv := redistest.Start(t)
	up := newUpstream(t)
	pathA := redisConfig(t, up, srv.Addr())
	pathB := redisConfig(t, up, srv.Addr())
	shareUsersFile(t, pathA, pathB)
	a, b := startGateway(t, pathA), startGateway(t, pathB)

	// Five wrong passwords for one user from one address, spread over both gateways: the
	// limit of one gateway, reached at neither alone.
	for i := range 5 {
		if got := trySignIn([]string{a, b}[i%2], "alice", "wrong"); got !=
			http.StatusUnauthorized {
			t.Fatalf("wrong password %d: status %d, want 401", i+1, got)
		}
	}
	for _, gw := range []string{a, b} {
		if got := trySignIn(gw, "alice", "pw"); got != http.StatusTooManyRequests {
			t.Errorf("the right password at %s after five wrong ones spread over both: "+
				"status %d, want 429", gw, got)
		}
	}
	// Refused attempts are not failures: once the second's wait is over, alice signs in.
	time.Sleep(1100 * time.Millisecond)
	if got := trySignIn(b, "alice", "pw"); got != http.StatusSeeOther {
		t.Errorf("the right password after the wait: status %d, want 303", got)
	}
	// Her sign-in cleared the counts both gateways share: none is left in Redis for her
	// address and name, nor for her name alone.
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	keys, err := rdb.Keys(t.Context(), "gw-test:{throttle}:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || !strings.HasPrefix(keys[0], "gw-test:{throttle}:addr:") {
		t.Errorf("shared counts after alice signed in: %q, want her address's alone", keys)
	}

	// Twenty wrong passwords at the same moment, spread over both: five are checked.
	statuses := make(chan int, 20)
	var wg sync.WaitGroup
	for i := range 20 {
		gw := []string{a, b}[i%2]
		wg.Go(func() { statuses <- trySignIn(gw, "alice", "wrong") })
	}
	wg.Wait()
	close(statuses)
	got := map[int]int{}
	for code := range statuses {
		got[code]++
	}
	if got[http.StatusUnauthorized] != 5 || got[http.StatusTooManyRequests] != 15 {
		t.Errorf("twenty wrong passwords at once over two gateways: %v; want five 401 and "+
			"fifteen 429", got)
	}
}

func logoutAt(t *testing.T, c *http.Client, base string) {
	t.Helper()
	res, err := c.Get(base + "/.gateway/logout")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := csrfField.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no sign-out form at %s:\n%s", base, body)
	}
	res, err = c.PostForm(base+"/.gateway/logout", url.Values{"csrf_token": {string(m[1])}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out at %s: status %d", base, res.StatusCode)
	}
}

func TestRedisDownFailsClosedAndRecovers(t *testing.T) {
	srv := redistest.Start(t)
	up := newUpstream(t)
	base, logs := runLogged(t, redisConfig(t, up, srv.Addr(), "log:\n  format: json\n"))
	alice := signIn(t, base, "alice", "pw")

	srv.Stop()
	// No password is checked while the shared counts of failed sign-ins cannot be read.
	if got := trySignIn(base, "alice", "pw"); got != http.StatusServiceUnavailable {
		t.Errorf("sign-in with Redis down: status %d, want 503", got)
	}
	code, body := get(t, alice, base, base, "/app/")
	if code != http.StatusServiceUnavailable || strings.Contains(body, "upstream") {
		t.Errorf("protected path with Redis down: status %d, body %q; want 503, not "+
			"forwarded", code, body)
	}
	if code, body := get(t, alice, base, base, "/public/x"); code != 200 ||
		body != "upstream " {
		t.Errorf("public path with Redis down: status %d, body %q; want 200, anonymous",
			code, body)
	}
	// The log says what failed: Redis, at its address.
	events := storeEvents(t, logs.String())
	if len(events) == 0 {
		t.Fatalf("Redis down: no %q record; log:\n%s", msgStoreDown, logs.String())
	}
	for _, rec := range events {
		if rec["msg"] != msgStoreDown || rec["level"] != "ERROR" ||
			!strings.Contains(fmt.Sprint(rec["error"]), srv.Addr()) {
			t.Errorf("Redis down: record %v, want %q at ERROR naming %s", rec,
				msgStoreDown, srv.Addr())
		}
	}

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	// The data is gone with the killed server (no persistence in tests), so the old
	// session is unknown; what matters is that the gateway works again by itself.
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _ := get(t, alice, base, base, "/app/")
		if code == http.StatusUnauthorized {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway did not recover after Redis came back: status %d", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
	alice = signIn(t, base, "alice", "pw")
	if code, body := get(t, alice, base, base, "/app/"); code != 200 ||
		body != "upstream alice" {
		t.Errorf("after recovery: status %d, body %q", code, body)
	}
	// The recovery is logged once, after the failures, and nothing failed since.
	events = storeEvents(t, logs.String())
	var back int
	for i, rec := range events {
		if rec["msg"] != msgStoreBack {
			continue
		}
		back++
		if rec["level"] != "INFO" || i == 0 || events[i-1]["msg"] != msgStoreDown {
			t.Errorf("record %d of %v: want %q at INFO, after a failure", i, events,
				msgStoreBack)
		}
	}
	if back == 0 || events[len(events)-1]["msg"] != msgStoreBack {
		t.Errorf("Redis back: store records %v, want them to end with %q", events,
			msgStoreBack)
	}
}

const (
	msgStoreDown = "session store unavailable"
	msgStoreBack = "session store available again"
)

// storeEvents returns, in order, the records of log (JSON lines) that say the session
// store failed or came back.
func storeEvents(t *testing.T, log string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(log), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if rec["msg"] == msgStoreDown || rec["msg"] == msgStoreBack {
			out = append(out, rec)
		}
	}
	return out
}

// TestRedisEvictionPolicyWarned: a Redis that may evict keys to make room would sign
// users out early; the gateway says so at start, and says nothing of one that may not.
func TestRedisEvictionPolicyWarned(t *testing.T) {
	for _, tt := range []struct {
		conf, policy string
		warned       bool
	}{
		{"", "noeviction", false},
		{"maxmemory-policy allkeys-lru", "allkeys-lru", true},
	} {
		t.Run(tt.policy, func(t *testing.T) {
			srv := redistest.StartWith(t, tt.conf)
			up := newUpstream(t)
			_, logs := runLogged(t, redisConfig(t, up, srv.Addr(), "log:\n  format: json\n"))
			var warned bool
			for line := range strings.SplitSeq(logs.String(), "\n") {
				var rec map[string]any
				if json.Unmarshal([]byte(line), &rec) != nil ||
					!strings.HasPrefix(fmt.Sprint(rec["msg"]), "redis may evict") {
					continue
				}
				warned = true
				if rec["level"] != "WARN" || rec["maxmemory_policy"] != tt.policy {
					t.Errorf("record %v, want a WARN naming %s", rec, tt.policy)
				}
			}
			if warned != tt.warned {
				t.Errorf("warned %v, want %v; log:\n%s", warned, tt.warned, logs.String())
			}
		})
	}
}

// TestRedisTLSMismatchHinted: with session.redis.tls on before a Redis that speaks no
// TLS, the start's record of the store down says what to check, as the error alone is a
// wait that ran out.
func TestRedisTLSMismatchHinted(t *testing.T) {
	srv := redistest.Start(t)
	up := newUpstream(t)
	_, logs := runLogged(t, redisConfig(t, up, srv.Addr(), "    tls: true\n",
		"log:\n  format: json\n"))
	for line := range strings.SplitSeq(logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msgStoreDown {
			if !strings.Contains(fmt.Sprint(rec["hint"]), "session.redis.tls is on") {
				t.Errorf("record %v, want a hint at session.redis.tls", rec)
			}
			return
		}
	}
	t.Errorf("no %q record; log:\n%s", msgStoreDown, logs.String())
}

// TestTwoGatewaysShareOneTimeCodes: gateways that share one Redis accept each one-time
// code once between them and count wrong codes together, so that a guesser gains
// nothing by spreading codes over them; while Redis is down, no code is taken.
func TestTwoGatewaysShareOneTimeCodes(t *testing.T) {
	srv := redistest.Start(t)
	up := newUpstream(t)
	pathA := redisConfig(t, up, srv.Addr())
	pathB := redisConfig(t, up, srv.Addr())
	const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	writeUsersFile(t, pathA, map[string]string{}, map[string]string{
		"erin": "    totp_secret: " + secret + "\n"})
	shareUsersFile(t, pathA, pathB)
	a, b := startGateway(t, pathA), startGateway(t, pathB)
	key, _ := totp.ParseSecret(secret)
	now := time.Now()

	code := key.Code(now)
	if got, _ := codeSignIn(t, a, "erin", code); got != http.StatusSeeOther {
		t.Fatalf("erin's code at the first gateway: status %d, want 303", got)
	}
	if got, page := codeSignIn(t, b, "erin", code); got != http.StatusUnauthorized ||
		!strings.Contains(page, "Invalid code") {
		t.Errorf("the same code at the second gateway: status %d, want 401", got)
	}

	// a code no period near now shows
	wrong := "000000"
	for n := 0; ; n++ {
		wrong = fmt.Sprintf("%06d", n)
		if _, ok := key.Verify(wrong, now, 0); !ok {
			break
		}
	}
	for i := range totp.FreeWrong - 1 { // one wrong code was the replayed one
		if got, _ := codeSignIn(t, []string{a, b}[i%2], "erin", wrong); got !=
			http.StatusUnauthorized {
			t.Fatalf("wrong code %d: status %d, want 401", i+2, got)
		}
	}
	for _, gw := range []string{a, b} {
		if got, _ := codeSignIn(t, gw, "erin", wrong); got != http.StatusTooManyRequests {
			t.Errorf("a wrong code at %s after %d spread over both: status %d, want 429", gw,
				totp.FreeWrong, got)
		}
	}

	next := key.Code(now.Add(totp.Period))
	if got, page := codeSignIn(t, a, "erin", next, srv.Stop); got !=
		http.StatusServiceUnavailable || !strings.Contains(page, `name="code"`) {
		t.Errorf("a code while Redis is down: status %d, want 503 and the code page again",
			got)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	// Redis came back empty: the wrong codes it counted are gone with the sessions
	if got, _ := codeSignIn(t, b, "erin", next); got != http.StatusSeeOther {
		t.Errorf("a code once Redis is back: status %d, want 303", got)
	}
}

// TestRollingSecretRotationOverRedis changes the secret of two gateways that share a
// Redis, one gateway at a time, as the README says: the new secret last everywhere,
// then first, then the old one removed. A user who keeps coming stays signed in at both
// throughout; a session nobody used since the new secret came first ends when the old
// one goes. A third gateway started with secrets of its own refuses their cookies but
// ends none of their sessions.
func TestRollingSecretRotationOverRedis(t *testing.T) {
	pollConfigFast(t)
	const (
		s1 = "0123456789abcdef0123456789abcdef-shared" // redisConfig's
		s2 = "rolling-rotation-secret-2-0123456789abcdef"
	)
	srv := redistest.Start(t)
	up := newUpstream(t)
	pathA, pathB := redisConfig(t, up, srv.Addr()), redisConfig(t, up, srv.Addr())
	shareUsersFile(t, pathA, pathB)
	setSecrets := func(path string, secrets ...string) {
		t.Helper()
		text, _ := os.ReadFile(path)
		lines := strings.Split(string(text), "\n")
		for i, l := range lines {
			if strings.HasPrefix(l, "  secrets: ") {
				lines[i] = fmt.Sprintf("  secrets: [%q]", strings.Join(secrets, `", "`))
				lines[i] = strings.ReplaceAll(lines[i], `\"`, `"`)
			}
		}
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	a, logsA := runLogged(t, pathA)
	b, logsB := runLogged(t, pathB)
	reloads := map[*syncBuffer]int{}
	reload := func(path string, logs *syncBuffer, secrets ...string) {
		t.Helper()
		setSecrets(path, secrets...)
		reloads[logs]++
		waitReloads(t, logs, reloads[logs])
	}
	kept, idle := signIn(t, a, "alice", "pw"), signIn(t, a, "alice", "pw")
	check := func(step string) {
		t.Helper()
		for _, base := range []string{a, b} {
			if code, _ := get(t, kept, a, base, "/app/"); code != http.StatusOK {
				t.Fatalf("%s: status %d at %s, want 200", step, code, base)
			}
		}
	}
	check("before")
	reload(pathA, logsA, s1, s2)
	reload(pathB, logsB, s1, s2)
	check("the new secret last at both")
	reload(pathA, logsA, s2, s1)
	check("the new secret first at one")
	reload(pathB, logsB, s2, s1)
	check("the new secret first at both")
	reload(pathA, logsA, s2)
	cfg := mustLoad(t, pathA)
	waitSessions(t, cfg, 1, logsA)
	reload(pathB, logsB, s2)
	check("the old secret removed at both")
	if code, _ := get(t, idle, a, a, "/app/"); code != http.StatusUnauthorized {
		t.Errorf("a session sealed under the removed secret alone: %d, want 401", code)
	}
	if n := strings.Count(logsA.String()+logsB.String(), `reason="secret removed"`); n != 1 {
		t.Errorf("%d sessions ended as secret removed, want 1; logs:\n%s%s", n,
			logsA.String(), logsB.String())
	}

	pathC := redisConfig(t, up, srv.Addr())
	shareUsersFile(t, pathA, pathC)
	setSecrets(pathC, "someone-elses-secret-0123456789abcdef-0123")
	c, logsC := runLogged(t, pathC)
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logsC.String(),
		"stored sessions checked"); {
		if time.Now().After(deadline) {
			t.Fatalf("the third gateway checked no sessions; log:\n%s", logsC.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(logsC.String(), `msg="stored sessions checked" ended=0`) {
		t.Errorf("the third gateway ended sessions; log:\n%s", logsC.String())
	}
	if code, _ := get(t, kept, a, c, "/app/"); code != http.StatusUnauthorized {
		t.Errorf("the third gateway took a cookie of other secrets: %d, want 401", code)
	}
	waitSessions(t, cfg, 1, logsA)
	check("after a gateway with other secrets started")

	// Asked to sign out, that gateway has the browser let go of the cookie it cannot
	// read, which would still sign the user in where it can be read.
	cu, _ := url.Parse(c)
	au, _ := url.Parse(a)
	kept.Jar.SetCookies(cu, kept.Jar.Cookies(au))
	res, err := kept.PostForm(c+"/.gateway/logout", url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	cleared := false
	for _, sc := range res.Cookies() {
		cleared = cleared || sc.Name == "gateway_session" && sc.MaxAge < 0
	}
	if res.StatusCode != http.StatusSeeOther || !cleared {
		t.Errorf("sign-out at the third gateway: %d, cookie cleared %v; want 303, true",
			res.StatusCode, cleared)
	}
}
