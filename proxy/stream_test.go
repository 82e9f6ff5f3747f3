package proxy_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/frontgate/gateway/authn"
	"github.com/frontgate/gateway/authn/session"
	"github.com/frontgate/gateway/config"
	"github.com/frontgate/gateway/proxy"
)

func TestWebsocketThroughGateway(t *testing.T) {
	ws := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		for {
			_, msg, err := c.Read(ctx)
			if err != nil {
				return
			}
			reply := fmt.Sprintf("%s says %s", r.Header.Get("X-Forwarded-User"), msg)
			if c.Write(ctx, websocket.MessageText, []byte(reply)) != nil {
				return
			}
		}
	}))
	t.Cleanup(ws.Close)
	e := newEnvWithUpstream(t, newEcho(t), "  - path: /ws/\n    upstream: \""+ws.URL+"\"\n"+
		"timeouts:\n  body_idle: 1s\n")
	alice := e.session("alice", alicePass)
	url := strings.Replace(e.gw.URL, "http://", "ws://", 1) + "/ws/chat"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	hdr := http.Header{"Cookie": {"gateway_session=" + alice}}
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		t.Fatalf("signed-in handshake: %v", err)
	}
	defer c.CloseNow()
	for i, msg := range []string{"hello", "still here"} {
		if i == 1 {
			time.Sleep(1500 * time.Millisecond) // longer than body_idle: not cut
		}
		c.Write(ctx, websocket.MessageText, []byte(msg))
		_, got, err := c.Read(ctx)
		if err != nil || string(got) != "alice says "+msg {
			t.Fatalf("message %d: got %q, %v", i, got, err)
		}
	}

	if _, res, err := websocket.Dial(ctx, url, nil); err == nil ||
		res == nil || res.StatusCode != http.StatusUnauthorized {
		t.Errorf("handshake without a session: %v, want 401", err)
	}
	cross := http.Header{"Cookie": {"gateway_session=" + alice},
		"Origin": {"https://evil.example"}}
	for _, origin := range []string{"https://evil.example", "null",
		"https://" + strings.TrimPrefix(e.gw.URL, "http://")} {
		cross["Origin"] = []string{origin}
		_, res, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: cross})
		if err == nil || res == nil || res.StatusCode != http.StatusForbidden {
			t.Errorf("handshake with Origin %s: %v, want 403", origin, err)
		}
	}
	// the gateway's own origin, then another: which would the app check?
	cross["Origin"] = []string{e.gw.URL, "https://evil.example"}
	_, res, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: cross})
	if err == nil || res == nil || res.StatusCode != http.StatusForbidden {
		t.Errorf("handshake with two Origins: %v, want 403", err)
	}
}

func TestServerSentEventsFlushAsTheyCome(t *testing.T) {
	release := make(chan struct{})
	sse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprintf(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		<-release
		fmt.Fprintf(w, "data: second\n\n")
	}))
	t.Cleanup(sse.Close)
	e := newEnvWithUpstream(t, newEcho(t), "  - path: /events/\n    upstream: \""+sse.URL+
		"\"\n")
	alice := e.session("alice", alicePass)
	req, _ := http.NewRequest("GET", e.gw.URL+"/events/feed", nil)
	req.Header.Set("Cookie", "gateway_session="+alice)
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(res.Body).ReadString('\n')
		got <- line
	}()
	select {
	case line := <-got:
		if line != "data: first\n" {
			t.Errorf("first event: got %q", line)
		}
	case <-time.After(10 * time.Second):
		t.Error("the first event was held back until the stream ended")
	}
	close(release)
}

// TestStreamCutWhenSignInEnds reads server-sent events, ends the sign-in behind them,
// and checks that the gateway cuts the stream; one whose sign-in goes on keeps flowing.
func TestStreamCutWhenSignInEnds(t *testing.T) {
	defer proxy.SetTunnelCheck(50 * time.Millisecond)()
	sse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		if r.URL.Query().Has("length") {
			// a long download announces its length: it is watched all the same
			w.Header().Set("Content-Length", "100000000")
		}
		for i := 0; r.Context().Err() == nil && i < 3000; i++ { // 30 s at most
			fmt.Fprintf(w, "data: %d\n\n", i)
			w.(http.Flusher).Flush()
			time.Sleep(10 * time.Millisecond)
		}
	}))
	t.Cleanup(sse.Close)
	for _, tt := range []struct {
		name, query string
		end         bool
	}{
		{"signed out", "", true}, {"still signed in", "", false},
		{"signed out, length announced", "?length", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnvWithUpstream(t, newEcho(t), "  - path: /events/\n    upstream: \""+
				sse.URL+"\"\n")
			alice := e.session("alice", alicePass)
			req, _ := http.NewRequest("GET", e.gw.URL+"/events/feed"+tt.query, nil)
			req.Header.Set("Cookie", "gateway_session="+alice)
			res, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			br := bufio.NewReader(res.Body)
			if line, err := br.ReadString('\n'); err != nil || line != "data: 0\n" {
				t.Fatalf("first event: %q, %v", line, err)
			}
			if tt.end {
				if _, err := e.h.Sessions().Revoke(context.Background(), "alice"); err != nil {
					t.Fatal(err)
				}
			}
			// signed out, the stream must end long before the app stops; signed in, it
			// must still flow after twenty checks
			wait := time.Second
			if tt.end {
				wait = 20 * time.Second
			}
			deadline := time.Now().Add(wait)
			var readErr error
			for time.Now().Before(deadline) && readErr == nil {
				_, readErr = br.ReadString('\n')
			}
			if tt.end && readErr == nil {
				t.Errorf("the stream still flows %v after the sign-in ended", wait)
			}
			if !tt.end && readErr != nil {
				t.Errorf("the stream of a live sign-in was cut: %v", readErr)
			}
		})
	}
}

// TestWebsocketClosedWhenSignInEnds opens a websocket, ends the sign-in behind it in each
// way one ends, and checks that the gateway closes it; one left alone stays open.
func TestWebsocketClosedWhenSignInEnds(t *testing.T) {
	defer proxy.SetTunnelCheck(50 * time.Millisecond)()
	ws := httptest.NewServer(http.HandlerFunc(echoWebsocket))
	t.Cleanup(ws.Close)
	// reload replaces e's handler, as a config reload does, by one whose route to the
	// websocket allows as allow says, on the same users file and sessions
	reload := func(e *env, allow string) {
		supersede(t, e, "  - upstream: \""+ws.URL+"\"\n    allow:\n      "+allow+"\n")
	}
	for _, c := range []struct {
		name   string
		end    func(e *env)
		closed bool
	}{
		{"nothing changes", func(*env) {}, false},
		{"revoked", func(e *env) {
			if _, err := e.h.Sessions().Revoke(context.Background(), "alice"); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"password changed", func(e *env) {
			writeUsers(t, e.usersFile, map[string]string{"alice": "alice-new-pass",
				"bob": bobPass}, "")
			if err := e.h.ReloadUsers(); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"user removed", func(e *env) {
			writeUsers(t, e.usersFile, map[string]string{"bob": bobPass}, "")
			if err := e.h.ReloadUsers(); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"user left the allowed group", func(e *env) {
			text, err := os.ReadFile(e.usersFile)
			if err != nil {
				t.Fatal(err)
			}
			// alice's entry comes first; her password stays as it was
			os.WriteFile(e.usersFile, []byte(strings.Replace(string(text),
				"groups: [staff]", "groups: [others]", 1)), 0o600)
			if err := e.h.ReloadUsers(); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"a reload's rule leaves her out", func(e *env) { reload(e, "users: [bob]") }, true},
		{"a reload that changes nothing for her", func(e *env) {
			reload(e, "groups: [staff]")
		}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnvWithUpstream(t, newEcho(t), "  - path: /ws/\n    upstream: \""+
				ws.URL+"\"\n    allow:\n      groups: [staff]\n")
			alice := e.session("alice", alicePass)
			url := strings.Replace(e.gw.URL, "http://", "ws://", 1) + "/ws/chat"
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{
				HTTPHeader: http.Header{"Cookie": {"gateway_session=" + alice}}})
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			defer conn.CloseNow()
			echo := func() error {
				if err := conn.Write(ctx, websocket.MessageText, []byte("ping")); err != nil {
					return err
				}
				rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
				defer rcancel()
				_, _, err := conn.Read(rctx)
				return err
			}
			if err := echo(); err != nil {
				t.Fatalf("first message: %v", err)
			}
			c.end(e)
			time.Sleep(500 * time.Millisecond) // ten checks
			err = echo()
			if c.closed && err == nil {
				t.Error("the websocket is still open")
			}
			if !c.closed && err != nil {
				t.Errorf("the websocket was closed: %v", err)
			}
		})
	}
}

// TestRequestCutWhenSignInEnds: a signed-in user's request that lasts (an upload, an
// answer the app holds back, a stream the app keeps quiet) is cut once the sign-in behind
// it ends, whether anything moves on it or not: the app's side of it ends, and a request
// not yet answered is answered as one without a sign-in. One whose sign-in goes on is
// left alone.
func TestRequestCutWhenSignInEnds(t *testing.T) {
	defer proxy.SetTunnelCheck(50 * time.Millisecond)()
	type seen struct {
		chunks int  // chunks of the upload the app read
		whole  bool // the app read the whole upload
	}
	started, ended := make(chan struct{}, 1), make(chan seen, 1)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		var s seen
		defer func() { ended <- s }()
		switch r.URL.Path {
		case "/slow/upload":
			br := bufio.NewReader(r.Body)
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					s.whole = line == "" && err.Error() == "EOF"
					return
				}
				s.chunks++
			}
		case "/slow/quiet":
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
		}
		select { // hold the answer back until the request is cut, or 30 s
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	}))
	t.Cleanup(app.Close)
	for _, tt := range []struct {
		name, path string
		basic      bool
		end        bool
		want       int  // status of a request not answered before the cut
		handshake  bool // the request is a websocket handshake
	}{
		{"upload, signed out", "/slow/upload", false, true, http.StatusUnauthorized, false},
		{"upload, Basic user's password changed", "/slow/upload", true, true,
			http.StatusUnauthorized, false},
		{"upload, still signed in", "/slow/upload", false, false, http.StatusOK, false},
		{"answer held back, signed out", "/slow/held", false, true,
			http.StatusUnauthorized, false},
		{"handshake answered as a long poll, signed out", "/slow/held", false, true,
			http.StatusUnauthorized, true},
		{"quiet stream, signed out", "/slow/quiet", false, true, http.StatusOK, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnvWithUpstream(t, newEcho(t), "  - path: /slow/\n    upstream: \""+
				app.URL+"\"\n    basic_auth: true\n")
			body, send := io.Pipe()
			method := http.MethodGet
			var reqBody io.Reader
			if tt.path == "/slow/upload" {
				method, reqBody = http.MethodPost, body
			}
			req, _ := http.NewRequest(method, e.gw.URL+tt.path, reqBody)
			if tt.handshake {
				req.Header.Set("Connection", "Upgrade")
				req.Header.Set("Upgrade", "websocket")
				req.Header.Set("Sec-WebSocket-Version", "13")
				req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
			}
			if tt.basic {
				req.SetBasicAuth("alice", alicePass)
			} else {
				req.Header.Set("Cookie", "gateway_session="+e.session("alice", alicePass))
			}
			answered := make(chan *http.Response, 1)
			go func() {
				res, err := http.DefaultTransport.RoundTrip(req)
				if err != nil {
					t.Errorf("request: %v", err)
					close(answered)
					return
				}
				answered <- res
			}()
			if reqBody != nil {
				fmt.Fprintln(send, "first")
			}
			select {
			case <-started:
			case <-time.After(10 * time.Second):
				t.Fatal("the request did not reach the app")
			}
			if tt.end {
				if tt.basic {
					writeUsers(t, e.usersFile, map[string]string{"alice": "alice-new-pass",
						"bob": bobPass}, "")
					if err := e.h.ReloadUsers(); err != nil {
						t.Fatal(err)
					}
				} else if _, err := e.h.Sessions().Revoke(context.Background(),
					"alice"); err != nil {
					t.Fatal(err)
				}
			}
			// the upload goes on for two seconds, forty checks, then ends
			if reqBody != nil {
				for range 100 {
					if _, err := fmt.Fprintln(send, "more"); err != nil {
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
				send.Close()
			}
			var s seen
			select {
			case s = <-ended:
			case <-time.After(20 * time.Second):
				t.Fatal("the app's side of the request still open after 20 s")
			}
			if tt.path == "/slow/upload" && s.whole == tt.end {
				t.Errorf("the app read the whole upload: %v (%d chunks); want %v",
					s.whole, s.chunks, !tt.end)
			}
			res, ok := <-answered
			if !ok {
				return
			}
			defer res.Body.Close()
			_, err := io.Copy(io.Discard, res.Body)
			switch {
			case res.StatusCode != tt.want:
				t.Errorf("status %d, want %d", res.StatusCode, tt.want)
			case tt.path == "/slow/quiet" && err == nil:
				t.Error("the quiet stream ended as if the app had finished it")
			}
			if tt.want == http.StatusUnauthorized && tt.basic &&
				res.Header.Get("WWW-Authenticate") == "" {
				t.Error("the answer to a Basic user asks for no credentials")
			}
		})
	}
}

// TestTunnelsJudgedAgainAfterReload: a websocket or stream opened without a sign-in on a
// public path, or with Basic credentials on a basic_auth route, is closed once a reload
// makes the path need a sign-in, or the route take no Basic credentials; one the reload
// leaves as it was stays open.
func TestTunnelsJudgedAgainAfterReload(t *testing.T) {
	defer proxy.SetTunnelCheck(50 * time.Millisecond)()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "" {
			w.Header().Set("Content-Type", "text/event-stream")
			for i := 0; r.Context().Err() == nil && i < 3000; i++ { // 30 s at most
				fmt.Fprintf(w, "data: %d\n\n", i)
				w.(http.Flusher).Flush()
				time.Sleep(10 * time.Millisecond)
			}
			return
		}
		echoWebsocket(w, r)
	}))
	t.Cleanup(app.Close)
	route := func(extra string) string {
		return "  - path: /live/\n    upstream: \"" + app.URL + "\"\n" + extra
	}
	const public, basic = "    public: [/live/open/]\n", "    basic_auth: true\n"
	for _, c := range []struct {
		name, before, after string
		basic, stream       bool
		closed              bool
	}{
		{"public path made private", public, "", false, false, true},
		{"public path left public", public, public, false, false, false},
		{"public stream made private", public, "", false, true, true},
		{"public stream left public", public, public + basic, false, true, false},
		{"Basic route made one of sessions", basic, "", true, false, true},
		{"Basic route left so", basic, basic, true, false, false},
		{"Basic stream on a route made one of sessions", basic, "", true, true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnvWithUpstream(t, newEcho(t), route(c.before))
			hdr := http.Header{}
			if c.basic {
				hdr.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString(
					[]byte("alice:"+alicePass)))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			// alive reports whether the websocket or stream still carries messages
			var alive func() bool
			if c.stream {
				req, _ := http.NewRequestWithContext(ctx, "GET", e.gw.URL+"/live/open/feed",
					nil)
				req.Header = hdr
				res, err := http.DefaultTransport.RoundTrip(req)
				if err != nil || res.StatusCode != http.StatusOK {
					t.Fatalf("stream: %v %v", res, err)
				}
				defer res.Body.Close()
				br := bufio.NewReader(res.Body)
				alive = func() bool {
					_, err := br.ReadString('\n')
					return err == nil
				}
			} else {
				url := strings.Replace(e.gw.URL, "http://", "ws://", 1) + "/live/open/chat"
				conn, _, err := websocket.Dial(ctx, url,
					&websocket.DialOptions{HTTPHeader: hdr})
				if err != nil {
					t.Fatalf("handshake: %v", err)
				}
				defer conn.CloseNow()
				alive = func() bool {
					if conn.Write(ctx, websocket.MessageText, []byte("ping")) != nil {
						return false
					}
					rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
					defer rcancel()
					_, _, err := conn.Read(rctx)
					return err == nil
				}
			}
			if !alive() {
				t.Fatal("no first message")
			}
			supersede(t, e, route(c.after))
			// ten checks; a stream still open may have that long of events to read
			time.Sleep(500 * time.Millisecond)
			open := true
			for deadline := time.Now().Add(time.Second); open &&
				time.Now().Before(deadline); {
				open = alive()
			}
			if c.closed && open {
				t.Error("still open after the reload")
			}
			if !c.closed && !open {
				t.Error("closed, though the reload changed nothing for it")
			}
		})
	}
}

// echoWebsocket accepts a websocket and sends back every message it receives.
func echoWebsocket(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	defer c.CloseNow()
	for {
		typ, msg, err := c.Read(r.Context())
		if err != nil || c.Write(r.Context(), typ, msg) != nil {
			return
		}
	}
}

// supersede replaces e's handler, as a config reload does, by one with the routes given,
// on the same users file and sessions.
func supersede(t *testing.T, e *env, routes string) {
	t.Helper()
	supersedeWith(t, e, routes, e.h.Sessions())
}

// supersedeWith is supersede with the sessions of mgr, and returns the new handler.
func supersedeWith(t *testing.T, e *env, routes string, mgr *session.Manager) *proxy.Handler {
	t.Helper()
	cfg, err := config.Parse([]byte("users:\n  file: users.yaml\nroutes:\n"+routes),
		filepath.Join(filepath.Dir(e.usersFile), "gateway.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	users, err := authn.OpenFileStore(e.usersFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	next, err := proxy.New(proxy.Options{Config: cfg,
		Auth: authn.NewAuthenticator(users, 1), Sessions: mgr})
	if err != nil {
		t.Fatal(err)
	}
	e.h.Supersede(next)
	return next
}

// TestWebsocketOutlivesSecretRotation: a websocket lasts through a rotation of the
// session secrets, the new one put first and then the old one removed, as its session
// does: when the browser used the session in between, which moves it onto the new
// secret. One whose browser did not is closed with its session when the old secret goes.
func TestWebsocketOutlivesSecretRotation(t *testing.T) {
	defer proxy.SetTunnelCheck(50 * time.Millisecond)()
	ws := httptest.NewServer(http.HandlerFunc(echoWebsocket))
	t.Cleanup(ws.Close)
	const newer = "fedcba9876543210fedcba9876543210-newer-secret"
	for _, used := range []bool{true, false} {
		t.Run(fmt.Sprintf("used %v", used), func(t *testing.T) {
			store := session.NewMemory()
			routes := "  - path: /ws/\n    upstream: \"" + ws.URL + "\"\n"
			e := newEnvByHand(t, newEcho(t), "routes:\n"+routes, handParts{store: store})
			alice := e.session("alice", alicePass)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			url := strings.Replace(e.gw.URL, "http://", "ws://", 1) + "/ws/chat"
			conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{
				HTTPHeader: http.Header{"Cookie": {"gateway_session=" + alice}}})
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			defer conn.CloseNow()
			for _, secrets := range [][]string{{newer, secret}, {newer}} {
				keys := make([][]byte, len(secrets))
				for i, s := range secrets {
					keys[i] = []byte(s)
				}
				k, err := session.DeriveKeys(keys)
				if err != nil {
					t.Fatal(err)
				}
				mgr, err := session.NewManager(session.Options{Store: store, Keys: k,
					IdleTimeout: time.Hour, Lifetime: time.Hour})
				if err != nil {
					t.Fatal(err)
				}
				next := supersedeWith(t, e, routes, mgr)
				if used && len(secrets) == 2 {
					// a request of the browser's, served by the reloaded gateway
					req := httptest.NewRequest("GET", "http://gw.example.test/ws/x", nil)
					req.Header.Set("Cookie", "gateway_session="+alice)
					next.ServeHTTP(httptest.NewRecorder(), req)
				}
				time.Sleep(500 * time.Millisecond) // ten checks
				open := conn.Write(ctx, websocket.MessageText, []byte("ping")) == nil
				if open {
					rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
					_, _, err = conn.Read(rctx)
					rcancel()
					open = err == nil
				}
				if want := used || len(secrets) == 2; open != want {
					t.Fatalf("with %d secrets: open %v, want %v", len(secrets), open, want)
				}
			}
		})
	}
}
