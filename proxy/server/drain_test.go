package server

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// closeNotifier is a listener that tells when it is closed, as a shutdown closes it
// first of all; wrap, when set, wraps each connection it accepts.
type closeNotifier struct {
	net.Listener
	once   sync.Once
	closed chan struct{}
	wrap   atomic.Pointer[func(net.Conn) net.Conn]
}

func (l *closeNotifier) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if w := l.wrap.Load(); err == nil && w != nil {
		c = (*w)(c)
	}
	return c, err
}

// bodyWatch is a connection that tells when the server asks it for more after a
// request's headers have come: the handler reads the body, so the request is past the
// point where a shutdown would drop it unserved.
type bodyWatch struct {
	net.Conn
	headers  atomic.Bool
	once     sync.Once
	handling chan struct{}
}

func (c *bodyWatch) Read(b []byte) (int, error) {
	if c.headers.Load() {
		c.once.Do(func() { close(c.handling) })
	}
	n, err := c.Conn.Read(b)
	if strings.Contains(string(b[:n]), "\r\n\r\n") {
		c.headers.Store(true)
	}
	return n, err
}

func (l *closeNotifier) Close() error {
	err := l.Listener.Close()
	l.once.Do(func() { close(l.closed) })
	return err
}

// slowUpstream is an upstream whose /public/slow answers "finished" once release is
// closed; entered receives a value when such a request arrives.
type slowUpstream struct {
	url     string
	entered chan struct{}
	free    func() // closes release, once
}

func newSlowUpstream(t *testing.T) *slowUpstream {
	t.Helper()
	release := make(chan struct{})
	var once sync.Once
	s := &slowUpstream{entered: make(chan struct{}, 1),
		free: func() { once.Do(func() { close(release) }) }}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/public/slow" {
			s.entered <- struct{}{}
			<-release
		}
		io.WriteString(w, "finished")
	}))
	t.Cleanup(up.Close)
	t.Cleanup(s.free) // first: the upstream's Close waits for its handlers
	s.url = up.URL
	return s
}

// drainRun is a gateway run by Run until cancel, serving on ln.
type drainRun struct {
	base   string
	ln     *closeNotifier
	logs   *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

func startDrain(t *testing.T, path string) *drainRun {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &drainRun{ln: &closeNotifier{Listener: inner, closed: make(chan struct{})},
		logs: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	ready := make(chan net.Addr, 1)
	go func() {
		d.done <- Run(ctx, Options{ConfigPath: path, Stderr: d.logs, Listener: d.ln,
			Ready: func(a net.Addr) { ready <- a }})
	}()
	t.Cleanup(cancel)
	select {
	case a := <-ready:
		d.base = "http://" + a.String()
	case err := <-d.done:
		t.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("gateway did not start")
	}
	return d
}

// stop ends the run and waits for Run to return, which must be nil, as a stop that
// went as configured is; the test fails if it does not return within 30 s, when it
// describes what was in flight.
func (d *drainRun) stop(t *testing.T, when string) {
	t.Helper()
	d.cancel()
	select {
	case err := <-d.done:
		if err != nil {
			t.Errorf("Run: %v, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return " + when)
	}
}

// answer is what a client got for a request.
type answer struct {
	status int
	body   string
	err    error
}

// getAlone sends GET url on a connection of its own and reports the answer on the channel.
func getAlone(url string) <-chan answer {
	c := make(chan answer, 1)
	go func() {
		tr := &http.Transport{DisableKeepAlives: true}
		defer tr.CloseIdleConnections()
		res, err := (&http.Client{Transport: tr}).Get(url)
		if err != nil {
			c <- answer{err: err}
			return
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		c <- answer{res.StatusCode, string(b), err}
	}()
	return c
}

// inFlight sends a request for the slow page and returns once the upstream holds it.
func inFlight(t *testing.T, d *drainRun, up *slowUpstream) <-chan answer {
	t.Helper()
	a := getAlone(d.base + "/public/slow")
	select {
	case <-up.entered:
	case r := <-a:
		t.Fatalf("answered before the upstream was released: %+v", r)
	case <-time.After(10 * time.Second):
		t.Fatal("the request did not reach the upstream")
	}
	return a
}

// TestShutdownDrainsInFlightRequests stops the gateway while a request is in flight: it
// stops taking connections at once, lets the request finish, and then returns.
func TestShutdownDrainsInFlightRequests(t *testing.T) {
	up := newSlowUpstream(t)
	d := startDrain(t, writeConfig(t, up.url, "timeouts:\n  shutdown: 1m\n"))
	a := inFlight(t, d, up)

	d.cancel()
	select {
	case <-d.ln.closed:
	case err := <-d.done:
		t.Fatalf("Run returned %v with a request in flight", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the listener was not closed after shutdown began")
	}
	if c, err := net.Dial("tcp", d.ln.Addr().String()); err == nil {
		c.Close()
		t.Error("a new connection was accepted after shutdown began")
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("new connection after shutdown began: %v, want it refused", err)
	}
	select {
	case err := <-d.done:
		t.Fatalf("Run returned %v before the request in flight finished", err)
	case r := <-a:
		t.Fatalf("request in flight answered before the upstream was released: %+v", r)
	default:
	}

	up.free()
	select {
	case r := <-a:
		if r.err != nil || r.status != http.StatusOK || r.body != "finished" {
			t.Errorf("request in flight: %d %q %v; want 200 \"finished\"", r.status,
				r.body, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the request in flight was not answered after the upstream was")
	}
	select {
	case err := <-d.done:
		if err != nil {
			t.Errorf("Run after draining: %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return once the last request finished")
	}
	if logs := d.logs.String(); !strings.Contains(logs, "gateway stopped") {
		t.Errorf("log lacks \"gateway stopped\":\n%s", logs)
	}
}

// TestShutdownDeadlineEndsTheWait stops the gateway while a request waits on an
// upstream that does not answer: Run gives up after timeouts.shutdown, says so with the
// count of requests cut, records the request cut as its client's gone, and returns nil:
// a stop at the deadline is what the deadline is for, not a failure.
func TestShutdownDeadlineEndsTheWait(t *testing.T) {
	up := newSlowUpstream(t)
	d := startDrain(t, writeConfig(t, up.url, "timeouts:\n  shutdown: 200ms\n"))
	a := inFlight(t, d, up)

	d.stop(t, "while a request waited on its upstream")
	logs := d.logs.String()
	for _, want := range []string{`requests still in flight at the shutdown deadline ` +
		`were cut" deadline=200ms requests=1`, `path=/public/slow status=499`,
		`reason="cut at the shutdown deadline"`,
		`msg="gateway stopped"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	// The deadline was the configured one, not the default of 10s.
	if logs := d.logs.String(); !strings.Contains(logs, `msg="gateway stopping" `+
		`deadline=200ms`) {
		t.Errorf("log lacks the stop with deadline=200ms:\n%s", logs)
	}
	// Past the deadline the request still in flight is cut, not left to run on.
	select {
	case r := <-a:
		if r.err == nil {
			t.Errorf("request in flight answered while its upstream was silent: %+v", r)
		}
	case <-time.After(10 * time.Second):
		t.Error("the request in flight was not cut at the shutdown deadline")
	}
	if c, err := net.Dial("tcp", d.ln.Addr().String()); err == nil {
		c.Close()
		t.Error("a new connection was accepted after Run returned")
	}
}

// TestShutdownKeepsTheStore stops the gateway while a sign-in's form is still arriving:
// the session store stays open through the drain, so the sign-in completes.
func TestShutdownKeepsTheStore(t *testing.T) {
	up := newSlowUpstream(t)
	d := startDrain(t, writeConfig(t, up.url, "timeouts:\n  shutdown: 1m\n"))
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	res, err := c.Get(d.base + "/.gateway/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := csrfField.FindSubmatch(page)
	if m == nil {
		t.Fatal("no csrf token on the sign-in page")
	}

	// on a connection of its own, watched: one idle between requests is closed by the
	// shutdown, and so is one whose request's headers come after it began
	c.Transport = &http.Transport{DisableKeepAlives: true}
	handling := make(chan struct{})
	wrap := func(nc net.Conn) net.Conn { return &bodyWatch{Conn: nc, handling: handling} }
	d.ln.wrap.Store(&wrap)
	body, w := io.Pipe()
	a := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest("POST", d.base+"/.gateway/login", body)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := c.Do(req)
		if err != nil {
			a <- answer{err: err}
			return
		}
		res.Body.Close()
		a <- answer{status: res.StatusCode}
	}()
	form := url.Values{"username": {"alice"}, "password": {"pw"},
		"csrf_token": {string(m[1])}}.Encode()
	io.WriteString(w, form[:len(form)/2])
	select {
	case <-handling:
	case <-time.After(10 * time.Second):
		t.Fatal("the sign-in's body was not asked for")
	}

	d.cancel()
	select {
	case <-d.ln.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the listener was not closed after shutdown began")
	}
	io.WriteString(w, form[len(form)/2:])
	w.Close()
	select {
	case r := <-a:
		if r.err != nil || r.status != http.StatusSeeOther {
			t.Errorf("sign-in during the drain: %d %v, want 303; log:\n%s", r.status,
				r.err, d.logs.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the sign-in during the drain was not answered")
	}
	select {
	case err := <-d.done:
		if err != nil {
			t.Errorf("Run after draining: %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return once the sign-in finished")
	}
	if logs := d.logs.String(); strings.Contains(logs, "database not open") {
		t.Errorf("the store was closed during the drain:\n%s", logs)
	}
}

// TestShutdownDeadlineClosesWebsockets stops the gateway with a websocket open: the
// server does not track a connection it handed over, so at the deadline the gateway
// closes it itself, says why, and records it, rather than leave it to the process's
// exit.
func TestShutdownDeadlineClosesWebsockets(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		// the accept value of the key the client sends below (RFC 6455, 1.3)
		rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" +
			"Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
		rw.Flush()
		io.Copy(io.Discard, c) // until the gateway closes its side
	}))
	t.Cleanup(up.Close)
	d := startDrain(t, writeConfig(t, up.URL, "timeouts:\n  shutdown: 200ms\n"))

	c, err := net.Dial("tcp", strings.TrimPrefix(d.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /public/ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"+
		"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("websocket handshake: %v, %v; want 101", res, err)
	}

	d.stop(t, "with a websocket open")
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("the websocket after the shutdown deadline: read %v, want it closed (EOF)",
			err)
	}
	logs := d.logs.String()
	for _, want := range []string{`msg="websocket closed" reason="cut at the shutdown ` +
		`deadline" path=/public/ws`, `path=/public/ws status=101`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}
