package proxy_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/frontgate/gateway/config"
	"github.com/frontgate/gateway/proxy/server"
)

// loopGateway serves, on ln, a gateway whose one public route leads to upstream and
// which logs to logs, and counts the requests it is asked.
func loopGateway(t *testing.T, ln net.Listener, upstream string,
	logs *secLog) *atomic.Int64 {
	t.Helper()
	dir := t.TempDir()
	writeUsers(t, filepath.Join(dir, "users.yaml"), map[string]string{"alice": alicePass}, "")
	cfg, err := config.Parse([]byte("users:\n  file: users.yaml\nsession:\n  store: memory\n"+
		"routes:\n  - upstream: \""+upstream+"\"\n    public: [/]\n"),
		filepath.Join(dir, "gateway.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	h, err := server.Build(ctx, cfg, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	var asked atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		h.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return &asked
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// TestRouteBackToTheGatewayStops configures routes that lead back to the gateway,
// directly and through a second gateway: a request goes round once and is answered 508,
// rather than passed round until the gateways run out of connections. Tokens a client
// sends in the header that marks forwarded requests neither cause nor hide a loop.
func TestRouteBackToTheGatewayStops(t *testing.T) {
	self := listen(t)
	selfLogs, aLogs := &secLog{}, &secLog{}
	selfAsked := loopGateway(t, self, "http://"+self.Addr().String(), selfLogs)
	a, b := listen(t), listen(t)
	aAsked := loopGateway(t, a, "http://"+b.Addr().String(), aLogs)
	bAsked := loopGateway(t, b, "http://"+a.Addr().String(), &secLog{})
	forged := strings.Repeat("A", 26)

	for _, tt := range []struct {
		name   string
		ln     net.Listener
		hdr    []string
		asked  []*atomic.Int64
		rounds int64 // requests each gateway is asked
	}{
		{"to itself", self, nil, []*atomic.Int64{selfAsked}, 2},
		{"to itself, with a client's tokens", self, []string{forged + ", x"},
			[]*atomic.Int64{selfAsked}, 2},
		{"through another gateway", a, nil, []*atomic.Int64{aAsked, bAsked}, 2},
		{"through another, with a client's token", a, []string{forged},
			[]*atomic.Int64{aAsked, bAsked}, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var before []int64
			for _, c := range tt.asked {
				before = append(before, c.Load())
			}
			req, _ := http.NewRequest("GET", "http://"+tt.ln.Addr().String()+"/x", nil)
			req.Header["X-Gateway-Hop"] = tt.hdr
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusLoopDetected {
				t.Errorf("status %d, want 508", res.StatusCode)
			}
			for i, c := range tt.asked {
				if n := c.Load() - before[i]; n > tt.rounds {
					t.Errorf("gateway %d was asked %d times, want at most %d", i, n,
						tt.rounds)
				}
			}
		})
	}

	// the gateway whose own route leads to itself says so as an error
	if n := countLoops(selfLogs, "ERROR", "a route leads back to the gateway itself"); n == 0 {
		t.Error("no ERROR record of the route leading back to the gateway itself")
	}

	// a client's padding of tokens is refused before it is passed on, and logged as a
	// warning: no route of this gateway is at fault
	aLogs.mu.Lock()
	aLogs.b.Reset()
	aLogs.mu.Unlock()
	req, _ := http.NewRequest("GET", "http://"+a.Addr().String()+"/x", nil)
	req.Header["X-Gateway-Hop"] = []string{strings.Repeat(forged+",", 8)}
	before := bAsked.Load()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusLoopDetected || bAsked.Load() != before {
		t.Errorf("eight tokens: status %d, passed on %d times; want 508, none",
			res.StatusCode, bAsked.Load()-before)
	}
	if countLoops(aLogs, "WARN", "request came through too many gateways") != 1 ||
		countLoops(aLogs, "ERROR", "a route leads back to the gateway itself") != 0 {
		t.Errorf("eight tokens from a client: want one WARN record and no ERROR, got:\n%s",
			aLogs.b.String())
	}
	// which a client can send on every request: the records are thinned
	for range 5 {
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	if n := countLoops(aLogs, "WARN", "request came through too many gateways"); n != 1 {
		t.Errorf("six requests with eight tokens: %d WARN records, want 1", n)
	}
}

// countLoops counts the records of logs at level with message msg.
func countLoops(logs *secLog, level, msg string) int {
	n := 0
	for _, r := range logs.records() {
		if r["level"] == level && r["msg"] == msg {
			n++
		}
	}
	return n
}

// TestLoopRecordsThinnedByRoute: a client that learned the gateway's hop token (an app
// that echoes request headers shows it) and sends it on one route cannot hide another
// route that really leads back to the gateway: the records are thinned for each route.
func TestLoopRecordsThinnedByRoute(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Header.Get("X-Gateway-Hop"))
	}))
	t.Cleanup(echo.Close)
	ln := listen(t)
	dir := t.TempDir()
	writeUsers(t, filepath.Join(dir, "users.yaml"), map[string]string{"alice": alicePass}, "")
	cfg, err := config.Parse([]byte("users:\n  file: users.yaml\nsession:\n  store: memory\n"+
		"routes:\n  - upstream: \""+echo.URL+"\"\n    public: [/]\n"+
		"  - path: /loop/\n    upstream: \"http://"+ln.Addr().String()+"\"\n"+
		"    public: [/loop/]\n"), filepath.Join(dir, "gateway.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	logs := &secLog{}
	h, err := server.Build(ctx, cfg, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	base := "http://" + ln.Addr().String()

	get := func(path, token string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		if token != "" {
			req.Header.Set("X-Gateway-Hop", token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if token == "" && res.StatusCode == http.StatusOK {
			return len(b)
		}
		return res.StatusCode
	}
	// the app shows the token; the client sends it back on the app's route
	res, err := http.Get(base + "/x")
	if err != nil {
		t.Fatal(err)
	}
	token, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if len(token) == 0 {
		t.Fatal("the app was sent no hop token")
	}
	for range 5 {
		if s := get("/x", string(token)); s != http.StatusLoopDetected {
			t.Fatalf("the token sent back: status %d, want 508", s)
		}
	}
	if s := get("/loop/x", ""); s != http.StatusLoopDetected {
		t.Fatalf("the route that loops: status %d, want 508", s)
	}
	byRoute := map[any]int{}
	for _, r := range logs.records() {
		if r["level"] == "ERROR" && r["msg"] == "a route leads back to the gateway itself" {
			byRoute[r["route"]]++
		}
	}
	if len(byRoute) != 2 || byRoute["/loop/"] != 1 {
		t.Errorf("ERROR records by route: %v; want one for /loop/, and one for the route "+
			"the token was sent on", byRoute)
	}
}
