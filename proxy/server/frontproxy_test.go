package server

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Helpers shared by the tests that run a front-proxy example (examples/nginx,
// examples/caddy) with the real proxy, in front of the gateway and an app.

// exampleConfig returns the file at path with each replacement made. Every replaced
// text must be in the file exactly once, so that the example cannot drift from what is
// tested.
func exampleConfig(t testing.TB, path string, replace [][2]string) string {
	t.Helper()
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	conf := string(text)
	for _, r := range replace {
		if n := strings.Count(conf, r[0]); n != 1 {
			t.Fatalf("%s has %q %d times, want once", path, r[0], n)
		}
		conf = strings.Replace(conf, r[0], r[1], 1)
	}
	return conf
}

// runServer starts cmd, the server called name in messages, and waits until it accepts
// connections on listen. When the test ends it is sent SIGTERM by its PID, and killed if
// it has not exited 5s later; its output is logged if the test failed.
func runServer(t *testing.T, name, listen string, cmd *exec.Cmd) {
	t.Helper()
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, logs.String())
		}
	})

	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", listen, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("%s exited: %v\n%s", name, err, logs.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen on %s within 5s\n%s", name, listen, logs.String())
		}
	}
}

// echoApp is the app behind the front proxy: it answers with the request headers it
// received, as JSON, and counts the requests that reached it.
type echoApp struct {
	url  string
	hits atomic.Int64
}

func newEchoApp(t testing.TB) *echoApp {
	t.Helper()
	a := &echoApp{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {
		a.hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(r.Header)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	a.url = "http://" + ln.Addr().String()
	return a
}

// identityCopies returns every value the app received under a header whose name,
// lower-cased with "_" read as "-", is name.
func identityCopies(h http.Header, name string) []string {
	var vs []string
	for k, v := range h {
		if strings.ReplaceAll(strings.ToLower(k), "_", "-") == strings.ToLower(name) {
			vs = append(vs, v...)
		}
	}
	return vs
}

// proxyGet sends a GET through c with the header pairs in hdr, and returns the response
// with its body read, and when it is the app's, the headers the app received.
func proxyGet(t testing.TB, c *http.Client, target string, hdr ...string) (*http.Response,
	http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header[hdr[i]] = append(req.Header[hdr[i]], hdr[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var seen http.Header
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.NewDecoder(res.Body).Decode(&seen); err != nil {
			t.Fatalf("app's answer: %v", err)
		}
	}
	return res, seen
}

// spoofs are identity headers a client makes up, in the spellings apps have been fooled
// by: repeated, in lower case, with underscores.
var spoofs = []string{"X-Forwarded-User", "mallory", "X-Forwarded-User", "eve",
	"x-forwarded-user", "trudy", "X_Forwarded_User", "mallory",
	"X-Forwarded-Email", "mallory@evil.test", "X-Forwarded-Groups", "admins",
	"X-Forwarded-Name", "Mallory"}

// sessionCookie returns the session cookie c holds for base, signed in through a front
// proxy.
func sessionCookie(t testing.TB, c *http.Client, base string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "gateway_session" {
			return ck.Value
		}
	}
	t.Fatalf("no session cookie for %s after signing in", base)
	return ""
}

// checkClaimsStopped sends, signed in through the front proxy at base, a client's own
// description of the request, its address and the X-Forwarded- headers other proxies
// set, which the proxy must keep from the app; a Forwarded host, which it must keep from
// the app or the gateway refuse; and forwarding headers no proxy sets, for which the
// gateway refuses the request. It returns how many of these requests reached the app.
func checkClaimsStopped(t *testing.T, c *http.Client, base string) (reached int64) {
	t.Helper()
	described := []string{"X-Original-URL", "/admin/", "X-Original-URI", "/admin/",
		"X-Forwarded-Uri", "/admin/", "X-Forwarded-Method", "DELETE",
		"X-Forwarded-Prefix", "/evil", "X-Forwarded-Port", "1", "X-Forwarded-Server",
		"evil", "X-Forwarded-Scheme", "http", "X-Forwarded-Ssl", "off",
		"Forwarded", "for=192.0.2.7", "X-Real-IP", "192.0.2.7"}
	res, seen := proxyGet(t, c, base+"/app/whoami", described...)
	if res.StatusCode != http.StatusOK || seen == nil {
		t.Fatalf("with a client's description: status %d, want 200 from the app",
			res.StatusCode)
	}
	for i := 0; i < len(described); i += 2 {
		for _, v := range identityCopies(seen, described[i]) {
			if v == described[i+1] {
				t.Errorf("the app received the client's %s %q", described[i], v)
			}
		}
	}
	// a host the app would read: removed on the way, or refused where it is seen
	reached = 1
	claim := "host=evil.example.test;proto=https"
	res, seen = proxyGet(t, c, base+"/app/whoami", "Forwarded", claim)
	if seen != nil {
		reached++
	}
	if res.StatusCode != http.StatusForbidden && !(res.StatusCode == http.StatusOK &&
		seen != nil && len(identityCopies(seen, "Forwarded")) == 0) {
		t.Errorf("with a client's Forwarded %s: status %d (app reached: %v, with %q); "+
			"want 403, or the app without it", claim, res.StatusCode, seen != nil,
			identityCopies(seen, "Forwarded"))
	}
	for _, name := range []string{"X-Forwarded-Preferred-Username", "X-Rewrite-URL"} {
		res, seen = proxyGet(t, c, base+"/app/whoami", name, "/admin/")
		if res.StatusCode != http.StatusForbidden || seen != nil {
			t.Errorf("with a client's %s: status %d (app reached: %v), want 403", name,
				res.StatusCode, seen != nil)
		}
	}
	return reached
}
