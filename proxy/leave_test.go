package proxy_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frontgate/gateway/proxy"
)

// heldUpstream answers each request once release is closed, with size bytes, and
// counts the connections it accepts. Each request is announced on arrived first.
type heldUpstream struct {
	*httptest.Server
	arrived  chan string
	release  chan struct{}
	canceled chan string // the paths whose requests the gateway gave up on
	conns    atomic.Int32
}

func newHeldUpstream(t *testing.T, size int) *heldUpstream {
	u := &heldUpstream{arrived: make(chan string, 8), release: make(chan struct{}),
		canceled: make(chan string, 8)}
	u.Server = httptest.NewUnstartedServer(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			u.arrived <- r.URL.Path
			select {
			case <-u.release:
			case <-r.Context().Done():
				u.canceled <- r.URL.Path
				return
			}
			w.Header().Set("Content-Length", strconv.Itoa(size))
			w.Write([]byte(strings.Repeat("x", size)))
		}))
	u.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			u.conns.Add(1)
		}
	}
	u.Start()
	t.Cleanup(u.Close)
	return u
}

// leaveEarly sends a request for path to the gateway and closes its connection once the
// upstream has the request and the gateway has seen the client go.
func leaveEarly(t *testing.T, e *secEnv, up *heldUpstream, path string) {
	t.Helper()
	var once sync.Once
	left := make(chan struct{})
	t.Cleanup(proxy.OnClientLeft(func() { once.Do(func() { close(left) }) }))
	c, err := net.Dial("tcp", e.gw.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: "+secHost+"\r\n\r\n")
	if got := receive(t, up.arrived, "the request upstream"); got != path {
		t.Fatalf("upstream got %s, want %s", got, path)
	}
	c.Close()
	select {
	case <-left:
	case <-time.After(10 * time.Second):
		t.Fatal("the gateway did not see the client go")
	}
}

// receive returns what comes on ch, failing t if nothing does within 10 s.
func receive(t *testing.T, ch chan string, what string) string {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("no sign of %s", what)
		return ""
	}
}

// leftRecord waits for the access record of path and checks it tells of a client that
// went away before its answer.
func leftRecord(t *testing.T, e *secEnv, path string) {
	t.Helper()
	var rec map[string]any
	if !waitFor(10*time.Second, func() bool { rec = e.logs.lastRequest(path); return rec != nil }) {
		t.Fatalf("no access record of %s", path)
	}
	if rec["status"] != float64(proxy.StatusClientClosed) ||
		rec["reason"] != "client went away" || rec["bytes"] != float64(0) {
		t.Errorf("record %v, want status 499, no bytes and the client gone", rec)
	}
}

// TestClientLeavingKeepsUpstreamConnection: a client that goes away before the answer to
// its GET does not close the upstream connection under the answer. The answer is read
// and dropped, and the next request goes over the same connection; one too long to
// drop is cut, and its connection with it.
func TestClientLeavingKeepsUpstreamConnection(t *testing.T) {
	for _, c := range []struct {
		name      string
		size      int
		wantConns int32
	}{
		{"short answer", 100, 1},
		{"answer of 100 KiB", 100 << 10, 1},
		{"answer past what is dropped", 4 << 20, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			up := newHeldUpstream(t, c.size)
			e := newSecEnv(t, secOptions{config: "  - path: /held/\n    upstream: \"" +
				up.URL + "\"\n    public: [/held/]\n"})
			leaveEarly(t, e, up, "/held/gone")
			close(up.release)
			leftRecord(t, e, "/held/gone")

			res, err := http.Get("http://" + e.gw.Listener.Addr().String() + "/held/next")
			if err != nil {
				t.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK || n != int64(c.size) {
				t.Fatalf("next request: status %d, %d bytes; want 200, %d bytes",
					res.StatusCode, n, c.size)
			}
			if got := up.conns.Load(); got != c.wantConns {
				t.Errorf("the upstream accepted %d connections, want %d", got, c.wantConns)
			}
		})
	}
}

// TestClientLeavingEndsUpstreamExchange: an answer that does not come within the grace
// after the client went away is given up: the upstream sees its request canceled.
func TestClientLeavingEndsUpstreamExchange(t *testing.T) {
	up := newHeldUpstream(t, 100)
	e := newSecEnv(t, secOptions{config: "  - path: /held/\n    upstream: \"" + up.URL +
		"\"\n    public: [/held/]\n"})
	leaveEarly(t, e, up, "/held/slow")
	if got := receive(t, up.canceled, "the upstream request canceled"); got != "/held/slow" {
		t.Fatalf("canceled %s, want /held/slow", got)
	}
	leftRecord(t, e, "/held/slow")
}

// TestHalfClosedClientGetsNoMadeUpAnswer: a client that half-closes its connection is
// taken for gone, but may still read. What it gets is what it would have got had the
// request been canceled: no answer at all when it left before one, and a body that does
// not end properly when it left in the middle, never a 200 standing in for the app's
// status or a cut body passing for whole.
func TestHalfClosedClientGetsNoMadeUpAnswer(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan string, 2)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- r.URL.Path
		if r.URL.Path == "/held/part" {
			w.Write([]byte(strings.Repeat("x", 20000))) // sent chunked, flushed below
			w.(http.Flusher).Flush()
		}
		<-release
		switch r.URL.Path {
		case "/held/moved":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
			return
		case "/held/hinted": // an interim answer, then the final one
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
			return
		case "/held/streamed": // no length: relayed as it comes, flushed each time
			w.WriteHeader(http.StatusNotFound)
			for range 3 {
				w.Write([]byte("piece "))
				w.(http.Flusher).Flush()
			}
			return
		}
		w.Write([]byte(strings.Repeat("y", 20000)))
	}))
	t.Cleanup(up.Close)
	e := newSecEnv(t, secOptions{config: "  - path: /held/\n    upstream: \"" + up.URL +
		"\"\n    public: [/held/]\n"})
	left := make(chan struct{}, 4)
	t.Cleanup(proxy.OnClientLeft(func() {
		select {
		case left <- struct{}{}:
		default:
		}
	}))

	send := func(path string) *net.TCPConn {
		c, err := net.Dial("tcp", e.gw.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(20 * time.Second))
		io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: "+secHost+"\r\n\r\n")
		if got := receive(t, arrived, "the request upstream"); got != path {
			t.Fatalf("upstream got %s, want %s", got, path)
		}
		return c.(*net.TCPConn)
	}
	halfClose := func(c *net.TCPConn) {
		c.CloseWrite()
		select {
		case <-left:
		case <-time.After(10 * time.Second):
			t.Fatal("the gateway did not see the client go")
		}
	}

	// before the answer: nothing, where the app would have answered 302, streamed a 404
	// that the gateway flushes as it comes, or sent 103 first
	for _, path := range []string{"/held/moved", "/held/streamed", "/held/hinted"} {
		c := send(path)
		halfClose(c)
		release <- struct{}{}
		if got, _ := io.ReadAll(c); len(got) != 0 {
			t.Errorf("%s: a client gone before its answer read %q, want nothing", path, got)
		}
		c.Close()
		leftRecord(t, e, path)
	}

	// in the middle of the answer: its start, and no end
	c := send("/held/part")
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(res.Body, make([]byte, 20000)); err != nil {
		t.Fatalf("the answer's start: %v", err)
	}
	halfClose(c)
	release <- struct{}{}
	if n, err := io.Copy(io.Discard, res.Body); err == nil {
		t.Errorf("the rest of a body cut short read whole (%d bytes more), want an error", n)
	}
	c.Close()
}

// TestLingeringBounded: past the most exchanges that may go on after their clients went
// away, a request whose client goes away is canceled at once, and the count goes back
// to none once the exchanges end.
func TestLingeringBounded(t *testing.T) {
	t.Cleanup(proxy.SetLinger(time.Minute, 1))
	up := newHeldUpstream(t, 100)
	e := newSecEnv(t, secOptions{config: "  - path: /held/\n    upstream: \"" + up.URL +
		"\"\n    public: [/held/]\n"})
	leaveEarly(t, e, up, "/held/first") // goes on: the grace is a minute
	leaveEarly(t, e, up, "/held/second")
	if got := receive(t, up.canceled, "a request canceled"); got != "/held/second" {
		t.Fatalf("canceled %s, want /held/second, past the bound", got)
	}
	leftRecord(t, e, "/held/second")
	if n := proxy.Lingering(); n != 1 {
		t.Errorf("%d exchanges counted as going on, want 1", n)
	}
	close(up.release)
	leftRecord(t, e, "/held/first")
	if !waitFor(10*time.Second, func() bool { return proxy.Lingering() == 0 }) {
		t.Errorf("%d exchanges still counted once all ended", proxy.Lingering())
	}
	select {
	case p := <-up.canceled:
		t.Errorf("%s canceled too, want it answered", p)
	default:
	}
}

// TestNoInterimAnswerToHTTP10: HTTP/1.0 has no interim answers; a client speaking it
// gets the app's final answer alone.
func TestNoInterimAnswerToHTTP10(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		io.WriteString(w, "final")
	}))
	t.Cleanup(up.Close)
	e := newSecEnv(t, secOptions{config: "  - path: /hinted/\n    upstream: \"" + up.URL +
		"\"\n    public: [/hinted/]\n"})
	for _, proto := range []string{"HTTP/1.0", "HTTP/1.1"} {
		c, err := net.Dial("tcp", e.gw.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET /hinted/x "+proto+"\r\nHost: "+secHost+
			"\r\nConnection: close\r\n\r\n")
		got, _ := io.ReadAll(c)
		c.Close()
		interim := strings.Contains(string(got), " 103 ")
		if interim != (proto == "HTTP/1.1") || !strings.HasSuffix(string(got), "final") {
			t.Errorf("%s: read %q; want the final answer, after a 103 only over HTTP/1.1",
				proto, got)
		}
	}
}

// TestStrayAnswerReachesNoOne: an app that sends a second answer right after the first,
// on the same connection, has it dropped with the connection: every request, however
// many run at once and whoever made them, gets its own answer, and none fails for
// taking the connection as it closed.
func TestStrayAnswerReachesNoOne(t *testing.T) {
	up := rawUpstream(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			answer := "HTTP/1.1 200 OK\r\nContent-Length: " +
				strconv.Itoa(len(req.URL.Path)) + "\r\n\r\n" + req.URL.Path
			if strings.HasSuffix(req.URL.Path, "/0") {
				answer += "HTTP/1.1 200 OK\r\nSet-Cookie: app=alice\r\n" +
					"Content-Length: 4\r\n\r\nLEAK"
			}
			io.WriteString(c, answer)
		}
	})
	e := newSecEnv(t, secOptions{config: "  - path: /stray/\n    upstream: \"" + up +
		"\"\n    public: [/stray/]\n"})
	base := "http://" + e.gw.Listener.Addr().String()
	var wg sync.WaitGroup
	var wrong atomic.Int32
	for w := range 6 {
		wg.Go(func() {
			for i := range 150 {
				path := "/stray/" + strconv.Itoa(w) + "/" + strconv.Itoa(i%3)
				// a request with a body is not sent again when its connection fails
				var res *http.Response
				var err error
				if i%2 == 1 {
					res, err = http.Post(base+path, "text/plain", strings.NewReader("x"))
				} else {
					res, err = http.Get(base + path)
				}
				if err != nil {
					t.Error(err)
					return
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK || string(body) != path ||
					res.Header.Get("Set-Cookie") != "" {
					if wrong.Add(1) <= 3 {
						t.Errorf("%s: status %d, body %q, cookie %q; want its own answer",
							path, res.StatusCode, body, res.Header.Get("Set-Cookie"))
					}
				}
			}
		})
	}
	wg.Wait()
	if n := wrong.Load(); n > 0 {
		t.Errorf("%d of 900 requests got another's answer", n)
	}
}

// lateStrayApp is an app that sends, after its answer to a request for a path ending in
// /late, bytes that wait for the next request on the connection and go out just before
// its answer: extra, or nil for none. It records whether each request asked for its
// connection to be closed, and says on closed when a connection ends.
type lateStrayApp struct {
	extra  string
	closed chan struct{}
	mu     sync.Mutex
	asked  map[string]bool // by path: the request carried Connection: close
}

func (a *lateStrayApp) serve(c net.Conn) {
	defer func() { a.closed <- struct{}{} }()
	br := bufio.NewReader(c)
	pending := false
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		a.mu.Lock()
		a.asked[req.URL.Path] = req.Close
		a.mu.Unlock()
		answer := "HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(req.URL.Path)) +
			"\r\n\r\n"
		if req.Method != http.MethodHead {
			answer += req.URL.Path
		}
		if pending {
			answer = a.extra + answer
		}
		pending = strings.HasSuffix(req.URL.Path, "/late")
		io.WriteString(c, answer)
	}
}

// TestLateStrayAnswerStopsReuse: an app that sends a second answer after its first,
// which arrives only once the next request is on its way, gets that answer to the next
// request's client: nothing tells the two apart. The answer that follows it is then past
// an answer, and closes the connection; from then on, each of the app's connections
// carries one request, and no second answer reaches anyone.
func TestLateStrayAnswerStopsReuse(t *testing.T) {
	app := &lateStrayApp{closed: make(chan struct{}, 64), asked: map[string]bool{},
		extra: "HTTP/1.1 200 OK\r\nSet-Cookie: app=alice\r\nContent-Length: 4\r\n\r\nLEAK"}
	e := newSecEnv(t, secOptions{config: "  - path: /stray/\n    upstream: \"" +
		rawUpstream(t, app.serve) + "\"\n    public: [/stray/]\n"})
	base := "http://" + e.gw.Listener.Addr().String()
	get := func(path string) (string, string) {
		t.Helper()
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return string(body), res.Header.Get("Set-Cookie")
	}

	if body, _ := get("/stray/first/late"); body != "/stray/first/late" {
		t.Fatalf("first request: body %q", body)
	}
	// the one answer no gateway can tell from the right one
	if body, cookie := get("/stray/second"); body != "LEAK" || cookie != "app=alice" {
		t.Fatalf("second request: body %q, cookie %q; want the app's second answer, which "+
			"this app's timing makes the answer to it", body, cookie)
	}
	select {
	case <-app.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the connection whose answer came after its end was not closed")
	}
	for i := range 4 {
		for _, path := range []string{"/stray/" + strconv.Itoa(i) + "/late",
			"/stray/" + strconv.Itoa(i)} {
			if body, cookie := get(path); body != path || cookie != "" {
				t.Errorf("%s: body %q, cookie %q; want its own answer", path, body, cookie)
			}
			app.mu.Lock()
			closeAsked := app.asked[path]
			app.mu.Unlock()
			if !closeAsked {
				t.Errorf("%s reached the app without Connection: close", path)
			}
		}
	}
}

// TestClientCannotStopStrayAnswersBeingFound: framing cannot follow a request body
// sent in chunks, so such a request goes on a connection closed after it; and a request
// with a header block longer than any answer's that framing follows (a client's 64 KiB,
// and the gateway's copy of its Host) is framed all the same. No client can leave a
// connection unjudged with one: a second answer that an app sends late is still found,
// and reaches one client at most, however often the trick is tried.
func TestClientCannotStopStrayAnswersBeingFound(t *testing.T) {
	pad := strings.Repeat("a", 70<<10)
	for _, tt := range []struct {
		name string
		// trick is the request that would leave the connection unjudged, made before
		// the one the app answers twice; it returns the path it asked for
		trick func(do func(*http.Request) string, base string, i int) string
	}{
		{"a body in chunks", func(do func(*http.Request) string, base string, i int) string {
			path := "/stray/" + strconv.Itoa(i) + "/up"
			// a body of unknown length, which goes on in chunks
			req, _ := http.NewRequest(http.MethodPost, base+path,
				io.MultiReader(strings.NewReader("abc")))
			do(req)
			return path
		}},
		{"a long header block", func(do func(*http.Request) string, base string, i int) string {
			path := "/stray/" + strconv.Itoa(i) + "/pad"
			req, _ := http.NewRequest(http.MethodGet, base+path, nil)
			req.Header.Set("X-Pad", pad)
			do(req)
			return ""
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			app := &lateStrayApp{closed: make(chan struct{}, 64), asked: map[string]bool{},
				extra: "HTTP/1.1 200 OK\r\nSet-Cookie: app=alice\r\nContent-Length: 4\r\n" +
					"\r\nLEAK"}
			e := newSecEnv(t, secOptions{config: "  - path: /stray/\n    upstream: \"" +
				rawUpstream(t, app.serve) + "\"\n    public: [/stray/]\n"})
			base := "http://" + e.gw.Listener.Addr().String()
			do := func(req *http.Request) string {
				t.Helper()
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				return string(b)
			}
			get := func(path string) string {
				req, _ := http.NewRequest(http.MethodGet, base+path, nil)
				return do(req)
			}
			leaks := 0
			for i := range 4 {
				if path := tt.trick(do, base, i); path != "" {
					app.mu.Lock()
					closeAsked := app.asked[path]
					app.mu.Unlock()
					if !closeAsked {
						t.Errorf("%s reached the app without Connection: close", path)
					}
				}
				if get("/stray/"+strconv.Itoa(i)+"/late") == "LEAK" {
					leaks++
				}
				if get("/stray/"+strconv.Itoa(i)+"/next") == "LEAK" {
					leaks++
				}
			}
			if leaks > 1 {
				t.Errorf("the app's second answers reached %d clients, want at most the "+
					"first", leaks)
			}
		})
	}
}

// TestLateHeadBodyIsNoAnswer: the body an app sends after its answer to a HEAD, late
// enough to come once the next request is on its way, cannot start an answer: the
// connection is closed, and the next request, a GET, is sent again over another, and
// gets its own answer rather than a 502. Bytes that cannot pass for an answer are
// found wherever they come, so the app keeps reusing its connections: a client that
// can make an app send them does not take that from everyone.
func TestLateHeadBodyIsNoAnswer(t *testing.T) {
	app := &lateStrayApp{closed: make(chan struct{}, 64), asked: map[string]bool{},
		extra: "/stray/x/late"}
	e := newSecEnv(t, secOptions{config: "  - path: /stray/\n    upstream: \"" +
		rawUpstream(t, app.serve) + "\"\n    public: [/stray/]\n"})
	base := "http://" + e.gw.Listener.Addr().String()
	res, err := http.Head(base + "/stray/x/late")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	res, err = http.Get(base + "/stray/next")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || string(body) != "/stray/next" {
		t.Fatalf("the GET after the HEAD: status %d, body %q; want its own answer",
			res.StatusCode, body)
	}
	res, err = http.Get(base + "/stray/after")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "/stray/after" {
		t.Errorf("the request after: body %q; want its own answer", body)
	}
	app.mu.Lock()
	defer app.mu.Unlock()
	if app.asked["/stray/after"] {
		t.Error("a request after the late body asked the app to close its connection")
	}
}

// TestEarlyAnswerThenStrayBytes: an app that answers an upload before reading its body,
// and sends stray bytes after that answer in the same write, still has its answer
// relayed: the stray bytes end the connection, not the request, whose client is still
// sending its body.
func TestEarlyAnswerThenStrayBytes(t *testing.T) {
	up := rawUpstream(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 413 Too Large\r\nContent-Length: 3\r\n\r\nbigXX")
		io.Copy(io.Discard, br)
	})
	e := newSecEnv(t, secOptions{config: "  - path: /up/\n    upstream: \"" + up +
		"\"\n    public: [/up/]\n"})
	for i := range 30 {
		c, err := net.Dial("tcp", e.gw.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "POST /up/x HTTP/1.1\r\nHost: "+secHost+
			"\r\nContent-Length: 100000\r\n\r\n"+strings.Repeat("a", 10))
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			c.Close()
			t.Fatalf("upload %d: %v", i, err)
		}
		body, _ := io.ReadAll(res.Body)
		c.Close()
		if res.StatusCode != http.StatusRequestEntityTooLarge || string(body) != "big" {
			t.Fatalf("upload %d: status %d, body %q; want the app's 413 and \"big\"", i,
				res.StatusCode, body)
		}
	}
}

// TestClientLeavingMidStream: a client that goes away while a stream is relayed to it
// is recorded with the status that went out and the reason the answer was not whole.
func TestClientLeavingMidStream(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(up.Close)
	e := newSecEnv(t, secOptions{config: "  - path: /stream/\n    upstream: \"" + up.URL +
		"\"\n    public: [/stream/]\n"})
	c, err := net.Dial("tcp", e.gw.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET /stream/x HTTP/1.1\r\nHost: "+secHost+"\r\n\r\n")
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		if strings.Contains(line, "data: first") {
			break
		}
	}
	c.Close()
	var rec map[string]any
	if !waitFor(10*time.Second, func() bool {
		rec = e.logs.lastRequest("/stream/x")
		return rec != nil
	}) {
		t.Fatal("no access record of the stream")
	}
	if rec["status"] != float64(http.StatusOK) || rec["reason"] != "client went away" {
		t.Errorf("record %v, want status 200 and the client gone", rec)
	}
}
