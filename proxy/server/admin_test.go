package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/frontgate/gateway/authn/session/redisstore/redistest"
)

func TestAdminEndpoints(t *testing.T) {
	up := newUpstream(t)
	admin := freeAddr(t)
	path := writeConfig(t, up, "admin:\n  listen: \""+admin+"\"\n")
	base := startGateway(t, path)
	signIn(t, base, "alice", "pw")
	res, _ := http.Get(base + "/app/")
	res.Body.Close()

	get := func(p string) (int, string) {
		res, err := http.Get("http://" + admin + p)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, body := get("/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("/readyz: %d %q", code, body)
	}
	code, body := get("/metrics")
	for _, want := range []string{
		`gateway_sign_ins_total{result="success"} 1`,
		`gateway_requests_total{code="401",route="/"} 1`,
		`gateway_request_duration_seconds_bucket`,
		"\ngateway_sessions_live 1\n",
		"\ngateway_sessions_count_errors_total 0\n",
		`go_goroutines`,
	} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// The admin listener serves nothing of the gateway's own, and no profiles unless
	// asked to.
	for _, p := range []string{"/.gateway/login", "/debug/pprof/", "/debug/pprof/heap"} {
		if code, _ := get(p); code != http.StatusNotFound {
			t.Errorf("admin listener serves %s: %d", p, code)
		}
	}
	// Only under a loopback name: a page that reached it under a name of its own (DNS
	// rebinding) must not read the answers.
	_, port, _ := net.SplitHostPort(admin)
	for _, tt := range []struct {
		host string
		code int
	}{
		{"localhost:" + port, 200}, {"LOCALHOST", 200}, {"127.0.0.2:" + port, 200},
		{"[::1]:" + port, 200}, {"evil.example:" + port, http.StatusMisdirectedRequest},
		{"localhost.evil.example", http.StatusMisdirectedRequest},
		{"192.0.2.1:" + port, http.StatusMisdirectedRequest},
	} {
		req, _ := http.NewRequest("GET", "http://"+admin+"/metrics", nil)
		req.Host = tt.host
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tt.code {
			t.Errorf("/metrics with Host %q: %d, want %d", tt.host, res.StatusCode, tt.code)
		}
	}
}

// TestAdminPprof serves Go's profiles on the admin listener when admin.pprof is on, and
// never on the gateway's own listener.
func TestAdminPprof(t *testing.T) {
	up := newUpstream(t)
	admin := freeAddr(t)
	path := writeConfig(t, up, "admin:\n  listen: \""+admin+"\"\n  pprof: true\n")
	base := startGateway(t, path)
	for _, c := range []struct {
		url, want string
		code      int
	}{
		{"http://" + admin + "/debug/pprof/", "goroutine", 200},
		{"http://" + admin + "/debug/pprof/heap?debug=1", "heap profile", 200},
		{"http://" + admin + "/debug/pprof/profile?seconds=1", "", 200},
		{base + "/debug/pprof/", "", http.StatusUnauthorized},
	} {
		req, _ := http.NewRequest("GET", c.url, nil)
		req.Header.Set("Accept", "*/*")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.code || !strings.Contains(string(b), c.want) {
			t.Errorf("%s: %d, %d bytes; want %d with %q", c.url, res.StatusCode, len(b),
				c.code, c.want)
		}
	}
}

// scrapeAdmin returns the body of the admin listener's /metrics.
func scrapeAdmin(t *testing.T, admin string) string {
	t.Helper()
	res, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: status %d", res.StatusCode)
	}
	return string(b)
}

var (
	liveSessionsLine = regexp.MustCompile(`(?m)^gateway_sessions_live (\S+)$`)
	countErrorsLine  = regexp.MustCompile(`(?m)^gateway_sessions_count_errors_total (\S+)$`)
)

// metricValue returns the value re finds in body, or "absent".
func metricValue(re *regexp.Regexp, body string) string {
	if m := re.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return "absent"
}

// The live sessions gauge follows sign-ins and sign-outs on every store, through the
// admin listener of a running gateway.
func TestAdminLiveSessions(t *testing.T) {
	// every scrape counts afresh, so that each step sees the one before
	sessionsCountMaxAge = time.Nanosecond
	t.Cleanup(func() { sessionsCountMaxAge = 0 })

	for _, tt := range sessionStores {
		t.Run(tt.store, func(t *testing.T) {
			admin := freeAddr(t)
			path := tt.config(t, newUpstream(t))
			appendConfig(t, path, "admin:\n  listen: \""+admin+"\"\n")
			base := startGateway(t, path)
			live := func(when, want string) {
				t.Helper()
				body := scrapeAdmin(t, admin)
				if got := metricValue(liveSessionsLine, body); got != want {
					t.Errorf("%s: gateway_sessions_live %s, want %s", when, got, want)
				}
				if got := metricValue(countErrorsLine, body); got != "0" {
					t.Errorf("%s: gateway_sessions_count_errors_total %s, want 0", when, got)
				}
			}

			live("before any sign-in", "0")
			first := signIn(t, base, "alice", "pw")
			live("after one sign-in", "1")
			second := signIn(t, base, "alice", "pw")
			live("after two sign-ins", "2")
			logoutAt(t, first, base)
			live("after one sign-out", "1")
			logoutAt(t, second, base)
			live("after both sign-outs", "0")
		})
	}
}

// With the store unreachable, the gauge is left out rather than showing its last value,
// and the failed counts are counted; both recover with the store.
func TestAdminLiveSessionsStoreDown(t *testing.T) {
	sessionsCountMaxAge = time.Nanosecond
	t.Cleanup(func() { sessionsCountMaxAge = 0 })
	srv := redistest.Start(t)
	admin := freeAddr(t)
	path := redisConfig(t, newUpstream(t), srv.Addr())
	appendConfig(t, path, "admin:\n  listen: \""+admin+"\"\n")
	base := startGateway(t, path)
	signIn(t, base, "alice", "pw")
	if got := metricValue(liveSessionsLine, scrapeAdmin(t, admin)); got != "1" {
		t.Fatalf("signed in: gateway_sessions_live %s, want 1", got)
	}

	srv.Stop()
	body := scrapeAdmin(t, admin)
	if got := metricValue(liveSessionsLine, body); got != "absent" {
		t.Errorf("Redis down: gateway_sessions_live %s, want it left out", got)
	}
	if got := metricValue(countErrorsLine, body); got != "1" {
		t.Errorf("Redis down: gateway_sessions_count_errors_total %s, want 1", got)
	}

	// back empty: nothing was saved
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		body = scrapeAdmin(t, admin)
		if metricValue(liveSessionsLine, body) == "0" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Redis back: gateway_sessions_live %s, want 0",
				metricValue(liveSessionsLine, body))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := metricValue(countErrorsLine, body); got == "0" || got == "absent" {
		t.Errorf("Redis back: gateway_sessions_count_errors_total %s, want the failures kept",
			got)
	}
}

// appendConfig adds text, top-level keys, to the end of the config file at path.
func appendConfig(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestAdminConnectionsBounded: the admin listener closes connections left idle, and
// serves at most adminMaxConns at once; one more waits until another closes, so that
// nobody on the machine can run the gateway out of open files through it.
func TestAdminConnectionsBounded(t *testing.T) {
	defer func(n int, d time.Duration) { adminMaxConns, adminIdleTimeout = n, d }(
		adminMaxConns, adminIdleTimeout)
	adminMaxConns, adminIdleTimeout = 2, 300*time.Millisecond
	up := newUpstream(t)
	admin := freeAddr(t)
	startGateway(t, writeConfig(t, up, "admin:\n  listen: \""+admin+"\"\n"))

	ask := func(c net.Conn) (*bufio.Reader, error) {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
		r := bufio.NewReader(c)
		res, err := http.ReadResponse(r, nil)
		if err != nil {
			return nil, err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return r, nil
	}
	dial := func() net.Conn {
		c, err := net.Dial("tcp", admin)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	// an idle connection is closed by the listener
	c := dial()
	r, err := ask(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadByte(); err != io.EOF {
		t.Errorf("idle admin connection: read %v, want it closed (EOF)", err)
	}

	// two held open, a third is served only once one of them closes (on a gateway
	// that leaves them open long enough to tell)
	adminIdleTimeout = time.Minute
	admin = freeAddr(t)
	startGateway(t, writeConfig(t, up, "admin:\n  listen: \""+admin+"\"\n"))
	first, second := dial(), dial()
	for _, c := range []net.Conn{first, second} {
		if _, err := ask(c); err != nil {
			t.Fatal(err)
		}
	}
	third := dial()
	third.SetDeadline(time.Now().Add(300 * time.Millisecond))
	io.WriteString(third, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
	if n, err := third.Read(make([]byte, 1)); n > 0 || err == nil {
		t.Fatalf("a connection past the limit was served at once (%d bytes, %v)", n, err)
	}
	first.Close()
	third.SetDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(third), nil)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("the waiting connection, once another closed: %v, %v", res, err)
	}
	res.Body.Close()
}
