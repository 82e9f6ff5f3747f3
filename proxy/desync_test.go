package proxy_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontgate/gateway/authn/session"
)

// naiveUpstream is an app server of the kind some old ones are: it never reads the body
// of a request it has no use for, so whatever follows the head on the connection is read
// as the next request. It honours Connection: close, as they do.
type naiveUpstream struct {
	URL  string
	mu   sync.Mutex
	seen []naiveSeen
}

type naiveSeen struct {
	conn         int
	method, path string
	user         string // X-Forwarded-User
	close        bool   // the request asked for the connection to be closed after it
}

func newNaiveUpstream(t *testing.T) *naiveUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	u := &naiveUpstream{URL: "http://" + ln.Addr().String()}
	go func() {
		for n := 0; ; n++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go u.serve(n, c)
		}
	}()
	return u
}

func (u *naiveUpstream) serve(n int, c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		u.mu.Lock()
		u.seen = append(u.seen, naiveSeen{n, req.Method, req.URL.Path,
			req.Header.Get("X-Forwarded-User"), req.Close})
		u.mu.Unlock()
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s",
			len(req.URL.Path), req.URL.Path)
		if req.Close {
			// a lingering close, as servers make: what the client still sends is read
			// and dropped, so that closing resets nothing the client has yet to read
			c.(*net.TCPConn).CloseWrite()
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			io.Copy(io.Discard, br)
			return
		}
	}
}

func (u *naiveUpstream) requests() []naiveSeen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]naiveSeen(nil), u.seen...)
}

// TestBodyWhereNoneIsMeantCannotDesync sends requests whose method means no body (GET,
// OPTIONS, DELETE) with one that is a request of its own, to an app that leaves such
// bodies unread. The gateway sends them on a connection it closes after them, so the
// app never reads the body as a request, with a name in it that the gateway never saw,
// and no later request is answered with what was meant for it.
func TestBodyWhereNoneIsMeantCannotDesync(t *testing.T) {
	smuggled := "POST /public/admin/delete HTTP/1.1\r\nHost: app\r\n" +
		"X-Forwarded-User: admin\r\nContent-Length: 0\r\n\r\n"
	for _, tt := range []struct {
		name    string
		method  string
		framing []string
		body    string
	}{
		{"GET, Content-Length", "GET", []string{fmt.Sprintf("Content-Length: %d",
			len(smuggled))}, smuggled},
		{"OPTIONS, Content-Length", "OPTIONS", []string{fmt.Sprintf("Content-Length: %d",
			len(smuggled))}, smuggled},
		{"DELETE, Content-Length", "DELETE", []string{fmt.Sprintf("Content-Length: %d",
			len(smuggled))}, smuggled},
		{"GET, chunked", "GET", []string{"Transfer-Encoding: chunked"},
			fmt.Sprintf("%x\r\n%s\r\n0\r\n", len(smuggled), smuggled)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			app := newNaiveUpstream(t)
			e := newEnvByHand(t, newEcho(t), fmt.Sprintf("routes:\n  - upstream: %q\n"+
				"    public: [/public/]\n", app.URL), handParts{store: session.NewMemory()})
			lines := append([]string{tt.method + " /public/x HTTP/1.1",
				"Host: gw.example.test", "Connection: close"}, tt.framing...)
			lines = append(lines, "", strings.TrimSuffix(tt.body, "\r\n\r\n"))
			if code := e.rawRequest(t, lines...); code != http.StatusOK {
				t.Fatalf("%s with a body: status %d, want 200", tt.method, code)
			}
			// the next request through the gateway would meet the smuggled one on a
			// connection kept open: the app answers that first
			if code := e.rawRequest(t, "GET /public/next HTTP/1.1", "Host: gw.example.test",
				"Connection: close"); code != http.StatusOK {
				t.Fatalf("next request: status %d", code)
			}
			seen := app.requests()
			if len(seen) != 2 || seen[0].method != tt.method || seen[0].path != "/public/x" ||
				!seen[0].close || seen[1].path != "/public/next" || seen[1].close {
				t.Errorf("the app saw %+v; want %s /public/x on a connection closed after "+
					"it, then GET /public/next on one kept open", seen, tt.method)
			}
			for _, s := range seen {
				if s.user != "" {
					t.Errorf("the app saw %s %s as %q", s.method, s.path, s.user)
				}
			}
		})
	}
}
