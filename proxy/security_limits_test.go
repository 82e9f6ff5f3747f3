package proxy_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/frontgate/gateway/proxy"
	"github.com/frontgate/gateway/proxy/server"
)

// Resource exhaustion: slow requests and oversized input, S21 and S22.

// s21Timeouts are small timeouts, so that slow clients are cut within seconds.
const s21Timeouts = "timeouts:\n  read_header: 1s\n  body_idle: 1s\n  page: 2s\n  idle: 2s\n"

// runGateway starts the whole gateway through server.Run, with its own listener, in front
// of a raw echo, and stops it when the test ends.
func runGateway(t *testing.T, extra string) (addr string, up *rawEcho) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return runGatewayOn(t, ln, extra)
}

// runGatewayOn is runGateway serving ln.
func runGatewayOn(t *testing.T, ln net.Listener, extra string) (addr string, up *rawEcho) {
	t.Helper()
	dir := t.TempDir()
	up = newRawEcho(t)
	secWriteUsers(t, filepath.Join(dir, "users.yaml"), secDefaultUsers())
	path := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(path, []byte(secConfig(secOptions{config: extra}, up.URL)),
		0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, server.Options{ConfigPath: path, Listener: ln,
			Logger: slog.New(slog.DiscardHandler), ShutdownTimeout: time.Second})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("gateway did not stop")
		}
	})
	// Run fails at once on a bad config; give it that moment before the first request.
	select {
	case err := <-done:
		t.Fatalf("gateway stopped: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	return ln.Addr().String(), up
}

// slowConn opens a connection, writes head, then one byte of trickle every interval
// until the connection fails or the test ends.
func slowConn(t *testing.T, addr, head, trickle string, interval time.Duration) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	if trickle != "" {
		go func() {
			for i := 0; ; i++ {
				time.Sleep(interval)
				c.SetWriteDeadline(time.Now().Add(time.Second))
				if _, err := c.Write([]byte{trickle[i%len(trickle)]}); err != nil {
					return
				}
			}
		}()
	}
	return c
}

// closedWithin reports whether the gateway closes c within d. Whatever it writes before
// closing (a 408, say) is read and ignored.
func closedWithin(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 4096)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		return !(errors.As(err, &ne) && ne.Timeout())
	}
}

var s21Kinds = []struct {
	name, head, trickle string
	interval, bound     time.Duration
}{
	{"headers a byte at a time", "GET /app/ HTTP/1.1\r\nHost: " + secHost + "\r\nX-Slow: ",
		"abcdefgh", 300 * time.Millisecond, 6 * time.Second},
	{"a body that never arrives", "GET /public/x HTTP/1.1\r\nHost: " + secHost +
		"\r\nContent-Length: 100\r\n\r\n", "", 0, 10 * time.Second},
	{"a login body a byte at a time", "POST /.gateway/login HTTP/1.1\r\nHost: " + secHost +
		"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n",
		"username=alice&", 250 * time.Millisecond, 20 * time.Second},
}

func TestS21SlowRequests(t *testing.T) {
	for _, k := range s21Kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			addr, up := runGateway(t, s21Timeouts)
			c := slowConn(t, addr, k.head, k.trickle, k.interval)
			if !closedWithin(c, k.bound) {
				t.Errorf("connection still open after %s", k.bound)
			}
			if !waitFor(k.bound, func() bool { return up.Busy.Load() == 0 }) {
				t.Errorf("upstream still tied up after %s: %d requests", k.bound,
					up.Busy.Load())
			}
		})
	}

	t.Run("sign-in while 500 slow connections are held", func(t *testing.T) {
		t.Parallel()
		const held = 500
		// Each held connection takes a file on either side, and one more on each side
		// of the upstream connection while a body is awaited.
		needFiles(t, 4*held+256)
		addr, _ := runGateway(t, s21Timeouts)
		for i := range held {
			k := s21Kinds[i%len(s21Kinds)]
			slowConn(t, addr, k.head, k.trickle, k.interval)
		}
		c := newSecClient("http://"+addr, http.DefaultTransport)
		c.hc.Timeout = 10 * time.Second
		r := c.login(t, "alice", alicePass, "")
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in: status %d, want 303", r.StatusCode)
		}
		if r := c.get(t, "/app/"); r.StatusCode != http.StatusOK {
			t.Errorf("after sign-in: status %d, want 200", r.StatusCode)
		}
	})
}

// needFiles makes sure the test may open n more files, raising the soft limit on open
// files towards the hard one if need be.
func needFiles(t *testing.T, n int) {
	t.Helper()
	open, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		open = nil // no /proc: count on the margin in n
	}
	want := uint64(len(open) + n)
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("reading the open-file limit: %v", err)
	}
	if lim.Cur >= want {
		return
	}
	if lim.Max < want {
		t.Fatalf("the test needs %d open files, and the hard limit is %d: raise it "+
			"(ulimit -Hn)", want, lim.Max)
	}
	lim.Cur = want
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("raising the open-file limit to %d: %v", want, err)
	}
}

func TestS22OversizedLogin(t *testing.T) {
	mb := strings.Repeat("a", 1<<20)
	refused := []int{http.StatusBadRequest, http.StatusRequestEntityTooLarge,
		http.StatusUnauthorized}
	for _, tt := range []struct {
		name, user, pass, extra string
		chunked                 bool
	}{
		{"1 MB password", "alice", mb, "", false},
		{"5000-byte password", "alice", strings.Repeat("a", 5000), "", false},
		{"1025-byte password", "alice", strings.Repeat("a", 1025), "", false},
		{"1200 bytes of é", "alice", strings.Repeat("é", 600), "", false},
		{"1 MB user name", mb, "x", "", false},
		{"5000-byte user name", strings.Repeat("a", 5000), "x", "", false},
		{"100 000 &x= fields", "alice", "wrong", strings.Repeat("&x=", 100000), false},
		{"1 MB password, chunked", "alice", mb, "", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newSecEnv(t, secOptions{byHand: true})
			c := e.client()
			tok := c.form(t)
			before := e.auth.Verifications()
			var body io.Reader = strings.NewReader(loginBody(tt.user, tt.pass, tok, "") +
				tt.extra)
			if tt.chunked {
				body = struct{ io.Reader }{body}
			}
			r := c.do(t, http.MethodPost, proxy.LoginPath, body)
			if !slicesContainsInt(refused, r.StatusCode) {
				t.Errorf("status: got %d, want one of %v", r.StatusCode, refused)
			}
			if n := e.auth.Verifications() - before; n != 0 {
				t.Errorf("password verifications: got %d, want 0", n)
			}
			if c.session() != "" {
				t.Error("a session was set")
			}
		})
	}

	// A length past the limit is refused from the headers alone: a client that never
	// sends the body it announced holds no connection open until a timeout.
	for _, path := range []string{proxy.LoginPath, proxy.LogoutPath} {
		t.Run("announced and never sent, "+path, func(t *testing.T) {
			e := newSecEnv(t, secOptions{byHand: true})
			c := e.client()
			tok := c.form(t)
			before := e.auth.Verifications()
			r := e.send(t, fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: "+
				"application/x-www-form-urlencoded\r\nCookie: gateway_login=%s\r\n"+
				"Content-Length: 20000\r\n\r\ncsrf_token=%s&username=alice&password=",
				path, secHost, c.cookies["gateway_login"], tok))
			if r.StatusCode != http.StatusRequestEntityTooLarge {
				t.Errorf("status: got %d, want 413", r.StatusCode)
			}
			if !r.Close {
				t.Error("the connection is kept open for a body that will not be read")
			}
			if n := e.auth.Verifications() - before; n != 0 {
				t.Errorf("password verifications: got %d, want 0", n)
			}
		})
	}

	t.Run("100 MB body", func(t *testing.T) {
		e := newSecEnv(t, secOptions{byHand: true})
		c := e.client()
		tok := c.form(t)
		const size = 100 << 20
		conn, err := net.Dial("tcp", e.gw.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: "+
			"application/x-www-form-urlencoded\r\nCookie: gateway_login=%s\r\n"+
			"Content-Length: %d\r\n\r\ncsrf_token=%s&username=alice&password=",
			proxy.LoginPath, secHost, c.cookies["gateway_login"], size, tok)
		before := e.auth.Verifications()
		var written int64
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			chunk := []byte(strings.Repeat("a", 64<<10))
			for written < size {
				n, err := conn.Write(chunk)
				written += int64(n)
				if err != nil {
					return
				}
			}
		}()
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("reading the answer: %v", err)
		}
		if !slicesContainsInt(refused, res.StatusCode) {
			t.Errorf("status: got %d, want one of %v", res.StatusCode, refused)
		}
		wg.Wait()
		if written >= size {
			t.Errorf("the gateway read all %d bytes, want the connection closed early", size)
		}
		if n := e.auth.Verifications() - before; n != 0 {
			t.Errorf("password verifications: got %d, want 0", n)
		}
	})

	t.Run("bcrypt 72-byte prefix", func(t *testing.T) {
		pw72 := strings.Repeat("bcrypt-prefix-", 6)[:72]
		h, err := bcrypt.GenerateFromPassword([]byte(pw72), 4)
		if err != nil {
			t.Fatal(err)
		}
		e := newSecEnv(t, secOptions{users: []secUser{
			{name: "alice", hash: string(h), groups: []string{"staff"}},
		}})
		for _, tt := range []struct {
			name, pass string
			want       int
		}{
			{"100 bytes starting with the password", pw72 + strings.Repeat("x", 28),
				http.StatusUnauthorized},
			{"73 bytes starting with the password", pw72 + "x", http.StatusUnauthorized},
			{"the 72-byte password", pw72, http.StatusSeeOther},
		} {
			c := e.client()
			r := c.login(t, "alice", tt.pass, "")
			if r.StatusCode != tt.want {
				t.Errorf("%s: status: got %d, want %d", tt.name, r.StatusCode, tt.want)
			}
			if tt.want != http.StatusSeeOther && c.session() != "" {
				t.Errorf("%s: signed alice in", tt.name)
			}
		}
	})

	t.Run("large upload is streamed", func(t *testing.T) {
		e := newSecEnv(t, secOptions{})
		alice := e.session(t, "alice", alicePass)
		base := e.up.BodyBytes.Load()
		pr, pw := io.Pipe()
		req, _ := http.NewRequest(http.MethodPost, e.gw.URL+"/app/upload", pr)
		req.Host = secHost
		req.AddCookie(&http.Cookie{Name: "gateway_session", Value: alice})
		type result struct {
			res *http.Response
			err error
		}
		done := make(chan result, 1)
		go func() {
			res, err := http.DefaultTransport.RoundTrip(req)
			done <- result{res, err}
		}()
		chunk := make([]byte, 64<<10)
		const chunks, early = 128, 32 // 8 MiB in all; the upstream must see data after 2
		for i := range chunks {
			if i == early && !waitFor(10*time.Second, func() bool {
				return e.up.BodyBytes.Load()-base >= 1<<20
			}) {
				t.Errorf("upstream got %d bytes after %d were sent; want the body streamed",
					e.up.BodyBytes.Load()-base, early*len(chunk))
			}
			if _, err := pw.Write(chunk); err != nil {
				t.Fatalf("writing the body: %v", err)
			}
		}
		pw.Close()
		r := <-done
		if r.err != nil {
			t.Fatal(r.err)
		}
		io.Copy(io.Discard, r.res.Body)
		r.res.Body.Close()
		if r.res.StatusCode != http.StatusOK {
			t.Errorf("status: got %d, want 200", r.res.StatusCode)
		}
		if got := e.up.last(t).Body; got != chunks*int64(len(chunk)) {
			t.Errorf("upstream body: got %d bytes, want %d", got, chunks*len(chunk))
		}
	})
}

func slicesContainsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// TestRefusedRequestsDoNotWaitForTheirBody announces a body and never sends it, on
// requests the gateway answers by itself: the answer comes at once, and the connection
// is closed after it instead of waiting for a body that will not come.
func TestRefusedRequestsDoNotWaitForTheirBody(t *testing.T) {
	e := newSecEnv(t, secOptions{})
	alice := e.session(t, "alice", alicePass)
	for _, tt := range []struct {
		name, target, cookie, framing string
		status                        int
	}{
		{"no session", "/app/x", "", "Content-Length: 100000", 401},
		{"no session, chunked", "/app/x", "", "Transfer-Encoding: chunked", 401},
		{"ambiguous path", "/app;/x/%2e%2e/y", "", "Content-Length: 100000", 400},
		{"refused by a rule", "/admin/x", alice, "Content-Length: 100000", 403},
		// a form small enough to read is waited for, up to timeouts.page
		{"sign-in form too large", proxy.LoginPath, "", "Content-Length: 20000", 413},
		// a body of another type is not read at all
		{"sign-in, not a form", proxy.LoginPath, "",
			"Content-Type: text/plain\r\nContent-Length: 50", 403},
		{"sign-out, no type", proxy.LogoutPath, "", "Content-Length: 50", 303},
		{"gateway page", "/.gateway/nothing", "", "Content-Length: 100000", 404},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := e.up.count()
			conn, err := net.Dial("tcp", e.gw.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			req := "POST " + tt.target + " HTTP/1.1\r\nHost: " + secHost + "\r\n" +
				tt.framing + "\r\n"
			if tt.cookie != "" {
				req += "Cookie: gateway_session=" + tt.cookie + "\r\n"
			}
			io.WriteString(conn, req+"\r\nabc")
			br := bufio.NewReader(conn)
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no answer while the body is pending: %v", err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != tt.status || !res.Close {
				t.Errorf("got %d, closing %v; want %d and the connection closed",
					res.StatusCode, res.Close, tt.status)
			}
			// the gateway hangs up rather than read on
			if _, err := br.ReadByte(); err != io.EOF {
				t.Errorf("after the answer: %v, want the connection closed (EOF)", err)
			}
			wantUntouched(t, e.up, before)
		})
	}
}

// TestEarlyAnswerThenCloseRelayedWhole: an app that answers before the body has come,
// and closes its connection, has its answer relayed whole while the client still holds
// the body back; only a connection closed with no answer is the gateway's 502.
func TestEarlyAnswerThenCloseRelayedWhole(t *testing.T) {
	early := rawUpstream(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil || line == "\r\n" {
				break
			}
		}
		io.WriteString(c, "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 5\r\n"+
			"Connection: close\r\n\r\nnope!")
	})
	e := newEnvWithUpstream(t, newEcho(t), "  - path: /early/\n    upstream: \""+early+
		"\"\n    public: [/early/]\n")
	res := postHeldBack(t, e, "/early/x")
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge || string(body) != "nope!" ||
		err != nil || !res.Close {
		t.Errorf("got %d %q (%v), closing %v; want the app's 413 \"nope!\" whole, and the "+
			"connection closed", res.StatusCode, body, err, res.Close)
	}
}

// TestUpstreamErrorAnsweredBeforeTheBody announces a body to a route whose upstream is
// down and sends none of it: the 502 comes at once, closing the connection, rather than
// after the body the gateway would otherwise wait for.
func TestUpstreamErrorAnsweredBeforeTheBody(t *testing.T) {
	up := newEcho(t)
	e := newEnvWithUpstream(t, up, "  - path: /down/\n    upstream: \""+closedURL(t)+
		"\"\n    public: [/down/]\n")
	res := postHeldBack(t, e, "/down/x")
	res.Body.Close()
	if res.StatusCode != http.StatusBadGateway || !res.Close {
		t.Errorf("got %d, closing %v; want 502 and the connection closed", res.StatusCode,
			res.Close)
	}
}

// postHeldBack sends a POST to path that announces a body of 100 bytes and sends 3 of
// them, and returns the answer that comes meanwhile.
func postHeldBack(t *testing.T, e *env, path string) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", e.gw.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, "POST "+path+" HTTP/1.1\r\nHost: app.example.test\r\n"+
		"Content-Length: 100\r\n\r\nabc")
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer while the body is pending: %v", err)
	}
	return res
}
