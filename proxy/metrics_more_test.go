package proxy_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/frontgate/gateway/authn/session"
	"github.com/frontgate/gateway/proxy"
)

// scrapeLines returns the lines of reg's text exposition for the metric name that count
// something (the counters read as zero from the start are left out), sorted as the
// exposition sorts them, one per line; "" when it has none.
func scrapeLines(tb testing.TB, reg *prometheus.Registry, name string) string {
	tb.Helper()
	var lines []string
	for _, l := range strings.Split(scrapeAll(tb, reg, name), "\n") {
		if l != "" && !strings.HasSuffix(l, " 0") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// scrapeAll returns every line of reg's text exposition for the metric name.
func scrapeAll(tb testing.TB, reg *prometheus.Registry, name string) string {
	tb.Helper()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec,
		httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		tb.Fatalf("/metrics: status %d", rec.Code)
	}
	var lines []string
	for _, l := range strings.Split(rec.Body.String(), "\n") {
		if strings.HasPrefix(l, name+" ") || strings.HasPrefix(l, name+"{") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// TestUpstreamErrorsCounted checks that gateway_upstream_errors_total counts each 502 on
// the route whose upstream could not be reached, and nothing else.
func TestUpstreamErrorsCounted(t *testing.T) {
	const name = "gateway_upstream_errors_total"
	up := newEcho(t)
	reg := prometheus.NewRegistry()
	e := newEnvByHand(t, up, fmt.Sprintf(`routes:
  - upstream: %q
    public: [/public/]
  - path: /down/
    upstream: %q
    public: [/down/open/]
  - host: 127.0.0.1
    path: /hosted/
    upstream: %[1]q
    public: [/hosted/]
`, up.URL, closedURL(t)), handParts{store: session.NewMemory(),
		metrics: proxy.NewMetrics(reg)})
	alice := e.session("alice", alicePass)

	for i, tt := range []struct {
		path, cookie string
		status       int
		want         string // the scrape's lines of name afterwards
	}{
		{"/app/", alice, http.StatusOK, ""},
		{"/public/x", "", http.StatusOK, ""},
		{"/down/x", "", http.StatusUnauthorized, ""}, // refused before any upstream
		{"/down/x", alice, http.StatusBadGateway, name + `{route="/down/"} 1`},
		{"/app/", alice, http.StatusOK, name + `{route="/down/"} 1`},
		{"/down/open/y", "", http.StatusBadGateway, name + `{route="/down/"} 2`},
		{"/hosted/x", "", http.StatusOK, name + `{route="/down/"} 2`},
	} {
		r := e.raw("GET", tt.path, tt.cookie, nil)
		if r.StatusCode != tt.status {
			t.Fatalf("request %d, GET %s: status %d, want %d", i, tt.path, r.StatusCode,
				tt.status)
		}
		if got := scrapeLines(t, reg, name); got != tt.want {
			t.Errorf("after request %d, GET %s: got\n%s\nwant\n%s", i, tt.path, got, tt.want)
		}
	}
	// The sign-in form and its POST are the gateway's own, of no route; requests are
	// counted as the exposition sorts them.
	want := strings.Join([]string{
		`gateway_requests_total{code="200",route=""} 1`,
		`gateway_requests_total{code="200",route="/"} 3`,
		// a route of one host is named by its host and path
		`gateway_requests_total{code="200",route="127.0.0.1/hosted/"} 1`,
		`gateway_requests_total{code="303",route=""} 1`,
		`gateway_requests_total{code="401",route="/down/"} 1`,
		`gateway_requests_total{code="502",route="/down/"} 2`,
	}, "\n")
	if got := scrapeLines(t, reg, "gateway_requests_total"); got != want {
		t.Errorf("gateway_requests_total: got\n%s\nwant\n%s", got, want)
	}

	// A body the client garbles is the client's fault: 400, and no upstream error.
	before := scrapeLines(t, reg, name)
	for _, chunks := range [][]string{{"zz", "ab", "0"}, {"ffffffffffffffffff", "ab", "0"},
		{"5", "abc", "0"}} {
		lines := append([]string{"POST /public/x HTTP/1.1", "Host: gw.example.test",
			"Transfer-Encoding: chunked", "Connection: close", ""}, chunks...)
		if code := e.rawRequest(t, lines...); code != http.StatusBadRequest {
			t.Errorf("chunks %q: status %d, want 400", chunks, code)
		}
	}
	if got := scrapeLines(t, reg, name); got != before {
		t.Errorf("after garbled bodies: got\n%s\nwant\n%s", got, before)
	}
}

// TestCountersReadZeroFromTheStart: before anything happened, the counters of sign-ins,
// throttles, password checks and each route's upstream errors read as zero, so that a
// rate or an alert on them works from the first scrape.
func TestCountersReadZeroFromTheStart(t *testing.T) {
	up := newEcho(t)
	reg := prometheus.NewRegistry()
	newEnvByHand(t, up, fmt.Sprintf(`routes:
  - upstream: %q
  - path: /down/
    upstream: %[1]q
`, up.URL), handParts{store: session.NewMemory(), metrics: proxy.NewMetrics(reg)})
	for name, want := range map[string][]string{
		"gateway_sign_ins_total": {`{result="failure"} 0`, `{result="success"} 0`,
			`{result="throttled"} 0`},
		"gateway_throttles_total": {`{reason="address"} 0`, `{reason="user"} 0`,
			`{reason="user and address"} 0`, `{reason="wrong codes, code"} 0`,
			`{reason="user, basic"} 0`},
		"gateway_password_checks_total": {`{queue="known"} 0`, `{queue="quiet"} 0`,
			`{queue="stranger"} 0`},
		"gateway_upstream_errors_total": {`{route="/"} 0`, `{route="/down/"} 0`},
	} {
		got := scrapeAll(t, reg, name)
		for _, w := range want {
			if !strings.Contains(got, name+w) {
				t.Errorf("%s: no %s%s before anything happened; got\n%s", name, name, w, got)
			}
		}
	}
}

// TestThrottlesCounted checks that gateway_throttles_total counts each sign-in the
// throttle refuses with 429, by the limit that refused it, and that failures it lets
// through are not counted there.
func TestThrottlesCounted(t *testing.T) {
	const name = "gateway_throttles_total"
	for _, tt := range []struct {
		name     string
		throttle string   // the config's throttle: section
		users    []string // one failed sign-in each, in order
		allowed  int      // how many of them the throttle lets through
		reason   string
	}{
		{"user and address", "  user_address_failures: 2\n",
			[]string{"alice", "alice", "alice", "alice"}, 2, "user and address"},
		{"address", "  address_failures: 3\n",
			[]string{"alice", "bob", "nobody", "alice", "bob"}, 3, "address"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			up := newEcho(t)
			reg := prometheus.NewRegistry()
			e := newEnvByHand(t, up, "throttle:\n"+tt.throttle+"routes:\n  - upstream: \""+
				up.URL+"\"\n", handParts{store: session.NewMemory(),
				metrics: proxy.NewMetrics(reg)})
			for i, user := range tt.users {
				r := e.browser().login(user, "wrong-password", "/")
				want, lines := http.StatusUnauthorized, ""
				if i >= tt.allowed {
					want = http.StatusTooManyRequests
					lines = fmt.Sprintf("%s{reason=%q} %d", name, tt.reason, i+1-tt.allowed)
				}
				if r.StatusCode != want {
					t.Fatalf("sign-in %d as %s: status %d, want %d", i, user, r.StatusCode,
						want)
				}
				if got := scrapeLines(t, reg, name); got != lines {
					t.Errorf("after sign-in %d as %s: got\n%s\nwant\n%s", i, user, got, lines)
				}
			}
			want := fmt.Sprintf("gateway_sign_ins_total{result=\"failure\"} %d\n"+
				"gateway_sign_ins_total{result=\"throttled\"} %d", tt.allowed,
				len(tt.users)-tt.allowed)
			if got := scrapeLines(t, reg, "gateway_sign_ins_total"); got != want {
				t.Errorf("gateway_sign_ins_total: got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// TestPasswordChecksCounted checks that each password check is counted in the queue it
// waits in under a flood: known for a browser or an address the user signed in from,
// quiet for a network that has failed fewer than two sign-ins, stranger for the rest.
func TestPasswordChecksCounted(t *testing.T) {
	const name = "gateway_password_checks_total"
	up := newEcho(t)
	reg := prometheus.NewRegistry()
	e := newEnvByHand(t, up, fmt.Sprintf(`trusted_proxies: ["127.0.0.1/32"]
routes:
  - upstream: %q
  - path: /api/
    upstream: %[1]q
    basic_auth: true
`, up.URL), handParts{store: session.NewMemory(), metrics: proxy.NewMetrics(reg)})

	alice := e.browser() // keeps its cookies, and so its device cookie, from step to step
	for i, tt := range []struct {
		b          *browser // nil: a new browser
		user, pass string
		from       string
		basic      bool
		status     int
		queue      string
	}{
		{nil, "alice", "wrong", "192.0.2.1", false, http.StatusUnauthorized, "quiet"},
		{nil, "nobody", "wrong", "192.0.2.2", false, http.StatusUnauthorized, "quiet"},
		// two failures in 192.0.2.0/24: its attempts no longer go ahead
		{alice, "alice", alicePass, "192.0.2.3", false, http.StatusSeeOther, "stranger"},
		// a new browser at an address alice signed in from
		{nil, "alice", alicePass, "192.0.2.3", false, http.StatusSeeOther, "known"},
		// alice's browser at a new address
		{alice, "alice", alicePass, "203.0.113.9", false, http.StatusSeeOther, "known"},
		{nil, "bob", "wrong", "203.0.113.10", false, http.StatusUnauthorized, "quiet"},
		{nil, "bob", bobPass, "198.51.100.1", true, http.StatusOK, "quiet"},
		{nil, "bob", "wrong", "192.0.2.4", true, http.StatusUnauthorized, "stranger"},
	} {
		b := tt.b
		if b == nil {
			b = e.browser()
		}
		// a browser with a session would be sent on from the form: sign in anew
		u, _ := url.Parse(e.gw.URL)
		b.jar.SetCookies(u, []*http.Cookie{{Name: "gateway_session", MaxAge: -1}})
		before := scrapeLines(t, reg, name+`{queue="`+tt.queue+`"}`)
		var r resp
		if tt.basic {
			req, _ := http.NewRequest("GET", e.gw.URL+"/api/x", nil)
			req.SetBasicAuth(tt.user, tt.pass)
			req.Header.Set("X-Forwarded-For", tt.from)
			r = b.do(req)
		} else {
			form := b.get(proxy.LoginPath)
			r = b.post(proxy.LoginPath, url.Values{"username": {tt.user},
				"password": {tt.pass}, "csrf_token": {field(t, csrfRe, form.body)}},
				"X-Forwarded-For", tt.from)
		}
		if r.StatusCode != tt.status {
			t.Fatalf("step %d, %s from %s: status %d, want %d", i, tt.user, tt.from,
				r.StatusCode, tt.status)
		}
		n := 0
		if before != "" {
			fmt.Sscanf(before[strings.LastIndexByte(before, ' ')+1:], "%d", &n)
		}
		want := fmt.Sprintf("%s{queue=%q} %d", name, tt.queue, n+1)
		if got := scrapeLines(t, reg, name+`{queue="`+tt.queue+`"}`); got != want {
			t.Errorf("step %d, %s from %s: got %q, want %q", i, tt.user, tt.from, got, want)
		}
	}
	want := name + `{queue="known"} 2` + "\n" + name + `{queue="quiet"} 4` + "\n" +
		name + `{queue="stranger"} 2`
	if got := scrapeLines(t, reg, name); got != want {
		t.Errorf("in all: got\n%s\nwant\n%s", got, want)
	}
}

// TestAnswerCutShortByTheApp: an app that ends its answer before its Content-Length, or
// in the middle of a chunk, is an upstream error, counted and named in the access
// record, though its status has reached the client; a whole answer is not.
func TestAnswerCutShortByTheApp(t *testing.T) {
	const name = "gateway_upstream_errors_total"
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// half of the answer: more than the gateway buffers, so that its status and
		// first bytes reach the client before the end is found missing
		head := "HTTP/1.1 200 OK\r\nContent-Length: 131072\r\n\r\n"
		body := strings.Repeat("x", 65536)
		switch r.URL.Path {
		case "/chunk":
			head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
			body = "20000\r\n" + body
		case "/whole":
			w.Write([]byte(strings.Repeat("x", 131072)))
			return
		case "/duplex/x":
			// answers at once, then reads the body as it comes
			http.NewResponseController(w).EnableFullDuplex()
			w.Write([]byte("reading\n"))
			w.(http.Flusher).Flush()
			io.Copy(io.Discard, r.Body)
			return
		}
		c, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		buf.WriteString(head + body)
		buf.Flush()
		c.Close()
	}))
	t.Cleanup(app.Close)
	reg := prometheus.NewRegistry()
	logs := &secLog{}
	e := newEnvByHand(t, newEcho(t), fmt.Sprintf(`routes:
  - upstream: %q
    public: [/]
  - path: /duplex/
    upstream: %[1]q
    public: [/duplex/]
    max_body: 1KB
`, app.URL), handParts{store: session.NewMemory(), metrics: proxy.NewMetrics(reg),
		log: slog.New(slog.NewJSONHandler(logs, nil))})

	for i, tt := range []struct {
		path, reason string
		want         string
	}{
		{"/whole", "", ""},
		{"/short", "answer cut short", name + `{route="/"} 1`},
		{"/chunk", "answer cut short", name + `{route="/"} 2`},
		{"/whole", "", name + `{route="/"} 2`},
	} {
		r := e.raw("GET", tt.path, "", nil)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("request %d, GET %s: status %d, want the app's 200", i, tt.path,
				r.StatusCode)
		}
		if got := scrapeLines(t, reg, name); got != tt.want {
			t.Errorf("after request %d, GET %s: got\n%s\nwant\n%s", i, tt.path, got, tt.want)
		}
		rec := logs.lastRequest(tt.path)
		if rec == nil {
			t.Fatalf("GET %s: no access record", tt.path)
		}
		if reason, _ := rec["reason"].(string); reason != tt.reason {
			t.Errorf("GET %s: access record's reason %q, want %q", tt.path, reason, tt.reason)
		}
	}

	// A body the client takes past max_body while the app answers ends the answer too:
	// the client's fault, not the app's. Over HTTP/2, where a body and its answer may
	// flow at once.
	gw := httptest.NewUnstartedServer(e.h)
	gw.EnableHTTP2 = true
	gw.StartTLS()
	t.Cleanup(gw.Close)
	before := scrapeLines(t, reg, name)
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", gw.URL+"/duplex/x", pr)
	req.Host = "gw.example.test"
	go pw.Write(make([]byte, 100))
	res, err := gw.Client().Do(req)
	if err != nil || res.StatusCode != http.StatusOK || res.ProtoMajor != 2 {
		t.Fatalf("duplex answer: %v %v", res, err)
	}
	go func() { pw.Write(make([]byte, 2048)); pw.Close() }()
	io.Copy(io.Discard, res.Body) // until the answer ends
	res.Body.Close()
	if got := scrapeLines(t, reg, name); got != before {
		t.Errorf("after a body past max_body during the answer: got\n%s\nwant\n%s", got,
			before)
	}
	if rec := logs.lastRequest("/duplex/x"); rec == nil || rec["reason"] != nil {
		t.Errorf("duplex access record %v, want one without a reason", rec)
	}
}

// TestClientGoneIs499: a client that goes away while the app thinks is recorded with
// nginx's 499, in the access record and the metrics, and counted as no upstream error;
// the app did nothing wrong.
func TestClientGoneIs499(t *testing.T) {
	entered, release := make(chan struct{}, 1), make(chan struct{})
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(app.Close)
	t.Cleanup(func() { close(release) })
	reg := prometheus.NewRegistry()
	logs := &secLog{}
	e := newEnvByHand(t, newEcho(t), fmt.Sprintf("routes:\n  - upstream: %q\n    "+
		"public: [/]\n", app.URL), handParts{store: session.NewMemory(),
		metrics: proxy.NewMetrics(reg), log: slog.New(slog.NewJSONHandler(logs, nil))})
	gw := httptest.NewServer(e.h)
	t.Cleanup(gw.Close)

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", gw.URL+"/think", nil)
	req.Host = "gw.example.test"
	done := make(chan error, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
		}
		done <- err
	}()
	<-entered
	cancel()
	if err := <-done; err == nil {
		t.Fatal("the request was answered after its client went away")
	}
	var rec map[string]any
	for deadline := time.Now().Add(10 * time.Second); rec == nil; {
		if rec = logs.lastRequest("/think"); rec == nil && time.Now().After(deadline) {
			t.Fatal("no access record for the request whose client went away")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if rec["status"] != float64(499) || rec["reason"] != "client went away" {
		t.Errorf("access record %v, want status 499 and reason \"client went away\"", rec)
	}
	if got, want := scrapeLines(t, reg, "gateway_requests_total"),
		`gateway_requests_total{code="499",route="/"} 1`; got != want {
		t.Errorf("requests: got\n%s\nwant\n%s", got, want)
	}
	if got := scrapeLines(t, reg, "gateway_upstream_errors_total"); got != "" &&
		got != `gateway_upstream_errors_total{route="/"} 0` {
		t.Errorf("upstream errors: got\n%s\nwant none", got)
	}

	// A client that only half-closes is taken for gone as well: it gets no answer, and
	// above all not an empty 200 for a request whose fate it cannot know.
	c, err := net.Dial("tcp", strings.TrimPrefix(gw.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "POST /think HTTP/1.1\r\nHost: gw.example.test\r\n"+
		"Content-Length: 1\r\n\r\nx")
	<-entered
	c.(*net.TCPConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	answer, _ := io.ReadAll(c)
	if len(answer) > 0 {
		t.Errorf("a half-closed client got an answer:\n%s", answer)
	}
}
