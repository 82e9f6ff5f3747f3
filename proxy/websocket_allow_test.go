package proxy_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestWebsocketRefusedByAllowRule checks that a route's allow rule judges a websocket
// handshake as it judges any request: a signed-in user it refuses gets 403, and the
// handshake never reaches the upstream.
func TestWebsocketRefusedByAllowRule(t *testing.T) {
	var handshakes atomic.Int64
	ws := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handshakes.Add(1)
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
		if err != nil {
			return
		}
		defer c.CloseNow()
		typ, msg, err := c.Read(r.Context())
		if err != nil {
			return
		}
		c.Write(r.Context(), typ, []byte(r.Header.Get("X-Forwarded-User")+": "+string(msg)))
	}))
	t.Cleanup(ws.Close)
	e := newEnvWithUpstream(t, newEcho(t), `  - path: /ws/
    upstream: "`+ws.URL+`"
    allow:
      groups: [admins]
  - path: /feed/
    upstream: "`+ws.URL+`"
    allow:
      users: [alice]
      methods: [POST]
`)
	alice := e.session("alice", alicePass)
	bob := e.session("bob", bobPass)
	base := strings.Replace(e.gw.URL, "http://", "ws://", 1)

	for _, tt := range []struct {
		who, cookie, path string
		allowed           bool
		why               string // the 403 page's reason
	}{
		{"alice", alice, "/ws/chat", false, "open this page"}, // not in admins
		{"bob", bob, "/ws/chat", true, ""},
		// another reading of the path leads under /ws/ and its rule
		{"alice", alice, "/WS/chat", false, "open this page"},
		{"alice", alice, "/index.php/ws/chat", false, "open this page"},
		// a handshake is a GET, not a POST
		{"alice", alice, "/feed/live", false, "send a GET request to this page"},
		{"bob", bob, "/feed/live", false, "open this page"},
	} {
		t.Run(tt.who+" "+tt.path, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			before := handshakes.Load()
			c, res, err := websocket.Dial(ctx, base+tt.path, &websocket.DialOptions{
				HTTPHeader: http.Header{"Cookie": {"gateway_session=" + tt.cookie}}})
			reached := int64(0)
			if tt.allowed {
				reached = 1
			}
			if n := handshakes.Load() - before; n != reached {
				t.Errorf("handshakes that reached the upstream: %d, want %d", n, reached)
			}
			if tt.allowed {
				if err != nil {
					t.Fatalf("handshake: %v", err)
				}
				defer c.CloseNow()
				if err := c.Write(ctx, websocket.MessageText, []byte("hello")); err != nil {
					t.Fatal(err)
				}
				if _, msg, err := c.Read(ctx); err != nil || string(msg) != tt.who+": hello" {
					t.Errorf("echo: got %q, %v; want %q", msg, err, tt.who+": hello")
				}
				return
			}
			if err == nil {
				c.CloseNow()
				t.Fatal("handshake succeeded; want 403")
			}
			if res == nil || res.StatusCode != http.StatusForbidden {
				t.Fatalf("handshake: %v, response %v; want 403", err, res)
			}
			body, _ := io.ReadAll(res.Body)
			want := "Forbidden: You are signed in as " + tt.who +
				", who may not " + tt.why + ".\n"
			if string(body) != want {
				t.Errorf("body: got %q, want %q", body, want)
			}
			if got := res.Header.Get("Upgrade"); got != "" {
				t.Errorf("refusal carries Upgrade: %q", got)
			}
		})
	}
}
