package proxy_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/frontgate/gateway/proxy"
)

// Resource limits beside S21: the idle deadline on kept-alive connections, and the write
// deadline on the gateway's own pages.

// idleTimeouts make only the idle deadline short: headers, pages and bodies have far
// longer than any step of these tests takes.
const idleTimeouts = "timeouts:\n  read_header: 30s\n  page: 30s\n  body_idle: 30s\n" +
	"  idle: 300ms\n"

// idleBound is how long a test waits for the gateway to close an idle connection; the
// idle deadline is 300ms, and the machine may be busy.
const idleBound = 5 * time.Second

// readAnswer reads one answer from br and its body.
func readAnswer(t *testing.T, br *bufio.Reader, method string) (*http.Response, string) {
	t.Helper()
	res, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatalf("reading the answer's body: %v", err)
	}
	return res, string(b)
}

// wantClosedQuietly checks that the gateway closes c within d, writing nothing more.
func wantClosedQuietly(t *testing.T, c net.Conn, br *bufio.Reader, d time.Duration) {
	t.Helper()
	start := time.Now()
	c.SetReadDeadline(start.Add(d))
	n, err := br.Read(make([]byte, 1))
	var ne net.Error
	switch {
	case n > 0:
		t.Errorf("the gateway wrote more on an idle connection")
	case errors.As(err, &ne) && ne.Timeout():
		t.Errorf("idle connection still open after %s; want it closed after timeouts.idle",
			d)
	case !errors.Is(err, io.EOF):
		t.Errorf("idle connection: %v after %s, want EOF", err, time.Since(start))
	}
}

func TestIdleKeepAliveConnectionClosed(t *testing.T) {
	for _, tt := range []struct {
		name string
		head string   // the first request's head, without the blank line
		body []string // sent after the head, one piece per gap
		gap  time.Duration
		hold time.Duration // how long the upstream holds answers under /slow/
		path string        // the path the upstream must see
		size int64         // the body the upstream must see
	}{
		{name: "after a quick answer", head: "GET /public/x HTTP/1.1", path: "/public/x"},
		{name: "answer held for five idle deadlines", head: "GET /slow/x HTTP/1.1",
			hold: 1500 * time.Millisecond, path: "/slow/x"},
		{name: "upload pausing for two idle deadlines at a time",
			head: "POST /upload HTTP/1.1\r\nContent-Length: 12",
			body: []string{"abcd", "efgh", "ijkl"}, gap: 600 * time.Millisecond,
			path: "/upload", size: 12},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr, up := runGateway(t, idleTimeouts)
			up.Hold.Store(int64(tt.hold))
			cl := newSecClient("http://"+addr, http.DefaultTransport)
			if r := cl.login(t, "alice", alicePass, ""); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("sign-in: status %d, want 303", r.StatusCode)
			}
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			br := bufio.NewReader(c)
			fmt.Fprintf(c, "%s\r\nHost: %s\r\nCookie: %s=%s\r\n\r\n", tt.head, secHost,
				"gateway_session", cl.session())
			for i, piece := range tt.body {
				if i > 0 {
					time.Sleep(tt.gap)
				}
				if _, err := io.WriteString(c, piece); err != nil {
					t.Fatalf("sending the body: %v", err)
				}
			}
			method, _, _ := strings.Cut(tt.head, " ")
			res, _ := readAnswer(t, br, method)
			if res.StatusCode != http.StatusOK || res.Close {
				t.Fatalf("first request: status %d, close %t; want 200 on a kept-alive "+
					"connection", res.StatusCode, res.Close)
			}
			if s := up.last(t); s.Target != tt.path || s.Body != tt.size {
				t.Errorf("upstream got %s with %d body bytes, want %s with %d", s.Target,
					s.Body, tt.path, tt.size)
			}

			// The connection is still good for a request sent at once ...
			fmt.Fprintf(c, "GET /public/again HTTP/1.1\r\nHost: %s\r\n\r\n", secHost)
			if res, body := readAnswer(t, br, http.MethodGet); res.StatusCode !=
				http.StatusOK || !strings.Contains(body, "/public/again") {
				t.Fatalf("second request: status %d, body %q; want 200 from the upstream",
					res.StatusCode, body)
			}
			// ... and closed once it has been left idle.
			wantClosedQuietly(t, c, br, idleBound)
		})
	}
}

// smallBuffers serves connections with a small send buffer, so that a client that does
// not read soon blocks the gateway's writes whatever the kernel's defaults.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4096)
	}
	return c, err
}

// dialSmallWindow connects with a small receive buffer, for the same reason.
func dialSmallWindow(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.(*net.TCPConn).SetReadBuffer(4096); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPageWriteDeadline pipelines requests for the sign-in page and reads none of the
// answers for a while: once the socket buffers are full the gateway's write blocks, and
// the page deadline must end the connection rather than leave it held. Without the
// deadline the gateway would wait, and write every answer once the client reads.
func TestPageWriteDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := runGatewayOn(t, smallBuffers{ln},
		"timeouts:\n  read_header: 30s\n  page: 1s\n  idle: 60s\n")
	const n = 200 // a few kilobytes each, a few of which fit in the buffers
	c := dialSmallWindow(t, addr)
	req := "GET " + proxy.LoginPath + " HTTP/1.1\r\nHost: " + secHost + "\r\n\r\n"
	go func() {
		c.SetWriteDeadline(time.Now().Add(30 * time.Second))
		io.WriteString(c, strings.Repeat(req, n))
	}()
	// Long enough for the gateway to fill the buffers and wait out timeouts.page.
	time.Sleep(5 * time.Second)
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(c)
	got := 0
	for ; got < n; got++ {
		var res *http.Response
		if res, err = http.ReadResponse(br, nil); err != nil {
			break
		}
		_, err = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if err != nil {
			break
		}
	}
	var ne net.Error
	switch {
	case got == n:
		t.Errorf("all %d answers written to a client that did not read; want the "+
			"connection ended after timeouts.page", n)
	case errors.As(err, &ne) && ne.Timeout():
		t.Errorf("after %d answers the connection is still open: want it ended", got)
	}
}
