package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/frontgate/gateway/authn/password"
	"github.com/frontgate/gateway/config"
	"github.com/frontgate/gateway/proxy/server"
)

// upstreamBody is what the upstream answers: about 100 bytes.
var upstreamBody = []byte(strings.Repeat("0123456789", 10))

// benchUser and benchPassword sign in to the gateway.
const (
	benchUser     = "bench"
	benchPassword = "bench-password"
)

// target is one server under load, with its own upstream so that the upstream
// connections it opens are counted apart from the others'.
type target struct {
	name   string
	url    string // base URL, without a final slash
	cookie string // Cookie header to send, or empty
	accept *atomic.Int64
}

// targets holds the running servers and what stops them.
type targets struct {
	list    []*target
	closers []func()
}

// close stops every server, last started first.
func (ts *targets) close() {
	for i := len(ts.closers) - 1; i >= 0; i-- {
		ts.closers[i]()
	}
}

// startTargets starts the bare proxy and the gateway on the memory and bolt stores, each
// in front of its own upstream. On error, everything started so far is stopped.
func startTargets(ctx context.Context) (ts *targets, err error) {
	ts = &targets{}
	defer func() {
		if err != nil {
			ts.close()
		}
	}()

	up, accepts, err := ts.startUpstream()
	if err != nil {
		return nil, err
	}
	bare, err := ts.startBare(up)
	if err != nil {
		return nil, err
	}
	ts.list = append(ts.list, &target{name: "bare", url: bare, accept: accepts})

	for _, store := range []string{"memory", "bolt"} {
		up, accepts, err := ts.startUpstream()
		if err != nil {
			return nil, err
		}
		t, err := ts.startGateway(ctx, store, up)
		if err != nil {
			return nil, fmt.Errorf("gateway-%s: %w", store, err)
		}
		t.accept = accepts
		ts.list = append(ts.list, t)
	}
	return ts, nil
}

// serve serves h on a new loopback listener, wrapped to count accepted connections when
// accepts is set, and returns the base URL.
func (ts *targets) serve(h http.Handler, accepts *atomic.Int64) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listening: %w", err)
	}
	if accepts != nil {
		ln = countingListener{ln, accepts}
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	ts.closers = append(ts.closers, func() { srv.Close() })
	return "http://" + ln.Addr().String(), nil
}

// startUpstream starts an upstream answering 200 with upstreamBody.
func (ts *targets) startUpstream() (string, *atomic.Int64, error) {
	accepts := new(atomic.Int64)
	u, err := ts.serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(upstreamBody)
	}), accepts)
	return u, accepts, err
}

// startBare starts an httputil.ReverseProxy in front of upstream: the floor.
func (ts *targets) startBare(upstream string) (string, error) {
	u, err := url.Parse(upstream)
	if err != nil {
		return "", fmt.Errorf("parsing upstream url: %w", err)
	}
	tr := &http.Transport{
		Proxy:               nil, // never an environment proxy: loopback only
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
	}
	ts.closers = append(ts.closers, tr.CloseIdleConnections)
	rp := &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(u) },
		Transport: tr,
	}
	return ts.serve(rp, nil)
}

// startGateway builds the real gateway handler for store in a temporary state_dir,
// serves it and signs in once.
func (ts *targets) startGateway(ctx context.Context, store, upstream string) (*target, error) {
	dir, err := os.MkdirTemp("", "gateway-bench-")
	if err != nil {
		return nil, fmt.Errorf("making state dir: %w", err)
	}
	ts.closers = append(ts.closers, func() { os.RemoveAll(dir) })
	cfg, err := writeConfig(dir, store, upstream)
	if err != nil {
		return nil, err
	}

	// the handler's store closes when gctx ends
	gctx, cancel := context.WithCancel(ctx)
	ts.closers = append(ts.closers, cancel)
	h, err := server.Build(gctx, cfg, server.NewLogger(os.Stderr, cfg.Log))
	if err != nil {
		return nil, fmt.Errorf("building gateway: %w", err)
	}
	base, err := ts.serve(h, nil)
	if err != nil {
		return nil, err
	}
	cookie, err := signIn(base)
	if err != nil {
		return nil, err
	}
	return &target{name: "gateway-" + store, url: base, cookie: cookie}, nil
}

// writeConfig writes a users file with one cheaply hashed user to dir and returns the
// parsed config for store. The cheap hash only makes the one sign-in fast; requests
// with a session never verify a password.
func writeConfig(dir, store, upstream string) (*config.Config, error) {
	h, err := password.Generate(benchPassword, password.Argon2Params{Memory: 64, Time: 1,
		Threads: 1, SaltLen: 16, KeyLen: 32})
	if err != nil {
		return nil, fmt.Errorf("hashing password: %w", err)
	}
	users := fmt.Sprintf("users:\n  %s:\n    password: %q\n", benchUser, h)
	if err := os.WriteFile(filepath.Join(dir, "users.yaml"), []byte(users), 0o600); err != nil {
		return nil, fmt.Errorf("writing users file: %w", err)
	}
	text := fmt.Sprintf("listen: \"127.0.0.1:0\"\nstate_dir: %q\nusers:\n  file: users.yaml\n"+
		"session:\n  store: %s\nlog:\n  level: error\nroutes:\n  - upstream: %q\n",
		dir, store, upstream)
	return config.Parse([]byte(text), filepath.Join(dir, "gateway.yaml"))
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]*)"`)

// signIn signs in at base as benchUser, checks that GET /app/x then reaches the
// upstream, and returns the Cookie header that carries the session.
func signIn(base string) (string, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		Transport: &http.Transport{Proxy: nil},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	defer c.CloseIdleConnections()

	// fetch the form for its csrf token
	res, err := c.Get(base + "/.gateway/login")
	if err != nil {
		return "", fmt.Errorf("fetching sign-in page: %w", err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := csrfField.FindSubmatch(body)
	if m == nil {
		return "", errors.New("signing in: no csrf token on the sign-in page")
	}

	// post the credentials
	res, err = c.PostForm(base+"/.gateway/login", url.Values{"username": {benchUser},
		"password": {benchPassword}, "csrf_token": {string(m[1])}})
	if err != nil {
		return "", fmt.Errorf("signing in: %w", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		return "", fmt.Errorf("signing in: status %d, want 303", res.StatusCode)
	}

	// build the Cookie header and check it reaches the upstream
	u, _ := url.Parse(base)
	var parts []string
	for _, ck := range jar.Cookies(u) {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	cookie := strings.Join(parts, "; ")
	req, _ := http.NewRequest("GET", base+"/app/x", nil)
	req.Header.Set("Cookie", cookie)
	res, err = (&http.Client{Transport: c.Transport, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return "", fmt.Errorf("checking session: %w", err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("checking session: status %d, want 200", res.StatusCode)
	}
	return cookie, nil
}

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}
