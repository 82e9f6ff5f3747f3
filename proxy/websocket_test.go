package proxy_test

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// sampleKey is the handshake key of RFC 6455's example (1.3).
const sampleKey = "dGhlIHNhbXBsZSBub25jZQ=="

// rawResponse writes request lines to the gateway exactly as given and returns its
// answer, whose body is read and closed.
func (e *env) rawResponse(t testing.TB, lines ...string) *http.Response {
	t.Helper()
	c := e.dial(t, 10*time.Second)
	defer c.Close()
	for _, l := range lines {
		io.WriteString(c, l+"\r\n")
	}
	io.WriteString(c, "\r\n")
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading response: %v", err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

// TestWebsocketHandshakeChecked: a websocket handshake reaches the app only when it is
// RFC 6455's, with one version, 13, and one key, the base64 of 16 bytes. The key is
// what the app's 101 must answer, so that the gateway can tell the app took the request
// for a websocket handshake; without it, no tunnel may open.
func TestWebsocketHandshakeChecked(t *testing.T) {
	e := newEnv(t, "")
	upgrade := []string{"Connection: Upgrade", "Upgrade: websocket"}
	version := "Sec-WebSocket-Version: 13"
	for _, tt := range []struct {
		name   string
		lines  []string // header lines besides Host
		status int
	}{
		{"well formed", append(upgrade, version, "Sec-WebSocket-Key: "+sampleKey), 200},
		{"names spelt in lower case", append(upgrade, "sec-websocket-version: 13",
			"sec-websocket-key: "+sampleKey), 200},
		// no "upgrade" in Connection: a plain request, passed on without its Upgrade
		{"Upgrade alone is no handshake", []string{"Upgrade: websocket"}, 200},

		{"no key", append(upgrade, version), 400},
		{"an empty key", append(upgrade, version, "Sec-WebSocket-Key:"), 400},
		{"a key of 15 bytes", append(upgrade, version,
			"Sec-WebSocket-Key: AAECAwQFBgcICQoLDA0O"), 400},
		{"a key of 17 bytes", append(upgrade, version,
			"Sec-WebSocket-Key: AAECAwQFBgcICQoLDA0ODxA="), 400},
		{"a key with bits set past its 16 bytes", append(upgrade, version,
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZR=="), 400},
		{"a key without padding", append(upgrade, version,
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ"), 400},
		{"a key in base64url", append(upgrade, version,
			"Sec-WebSocket-Key: dGhl-HNhbXBsZSBub25jZQ=="), 400},
		{"two keys", append(upgrade, version, "Sec-WebSocket-Key: "+sampleKey,
			"Sec-WebSocket-Key: AAECAwQFBgcICQoLDA0ODw=="), 400},
		{"the same key twice", append(upgrade, version, "Sec-WebSocket-Key: "+sampleKey,
			"Sec-WebSocket-Key: "+sampleKey), 400},
		{"two keys in one line", append(upgrade, version,
			"Sec-WebSocket-Key: "+sampleKey+", "+sampleKey), 400},

		{"no version", append(upgrade, "Sec-WebSocket-Key: "+sampleKey), 400},
		{"two versions", append(upgrade, version, version,
			"Sec-WebSocket-Key: "+sampleKey), 400},
		{"two versions in one line", append(upgrade, "Sec-WebSocket-Version: 13, 8",
			"Sec-WebSocket-Key: "+sampleKey), 400},
		{"a version with a leading zero", append(upgrade, "Sec-WebSocket-Version: 013",
			"Sec-WebSocket-Key: "+sampleKey), 400},
		{"a version past 255", append(upgrade, "Sec-WebSocket-Version: 256",
			"Sec-WebSocket-Key: "+sampleKey), 400},
		{"a version in words", append(upgrade, "Sec-WebSocket-Version: thirteen",
			"Sec-WebSocket-Key: "+sampleKey), 400},
		// a version the gateway does not speak: 426, naming the one it does
		{"version 8", append(upgrade, "Sec-WebSocket-Version: 8",
			"Sec-WebSocket-Key: "+sampleKey), 426},
		{"version 25", append(upgrade, "Sec-WebSocket-Version: 25",
			"Sec-WebSocket-Key: "+sampleKey), 426},
		{"version 8, no key", append(upgrade, "Sec-WebSocket-Version: 8"), 426},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := e.up.count()
			res := e.rawResponse(t, append([]string{"GET /public/ws HTTP/1.1",
				"Host: gw.example.test"}, tt.lines...)...)
			reached := 0
			if tt.status == http.StatusOK {
				reached = 1
			}
			if res.StatusCode != tt.status || e.up.count()-before != reached {
				t.Fatalf("status %d, upstream asked %d times; want %d, %d times",
					res.StatusCode, e.up.count()-before, tt.status, reached)
			}
			switch tt.status {
			case http.StatusUpgradeRequired:
				if v := res.Header.Values("Sec-WebSocket-Version"); len(v) != 1 ||
					v[0] != "13" {
					t.Errorf("Sec-WebSocket-Version: got %q, want [13]", v)
				}
				if v := res.Header.Get("Upgrade"); v != "websocket" {
					t.Errorf("Upgrade: got %q, want websocket", v)
				}
			case http.StatusOK:
			default:
				if v := res.Header.Get("Sec-WebSocket-Version"); v != "" {
					t.Errorf("Sec-WebSocket-Version %q on a %d", v, res.StatusCode)
				}
			}
		})
	}
}

// acceptOf is the Sec-WebSocket-Accept a websocket server answers key with.
func acceptOf(key string) string {
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// switchingApp is an upstream that answers each request with a 101 of the test's making,
// then keeps what arrives on the connection after it, and sends it back.
type switchingApp struct {
	*httptest.Server
	answer func(path, key string) string // the 101's header lines, each ending in CRLF
	mu     sync.Mutex
	asked  map[string]int           // requests, by path
	after  map[string][]byte        // what came after the 101, by path
	closed map[string]chan struct{} // closed once the connection of path's request ends
}

func newSwitchingApp(t testing.TB, answer func(path, key string) string) *switchingApp {
	t.Helper()
	a := &switchingApp{answer: answer, asked: map[string]int{}, after: map[string][]byte{},
		closed: map[string]chan struct{}{}}
	a.Server = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.Close)
	return a
}

func (a *switchingApp) serve(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	a.mu.Lock()
	a.asked[path]++
	closed := a.ended(path)
	a.mu.Unlock()
	c, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer func() {
		c.Close()
		a.mu.Lock()
		defer a.mu.Unlock()
		select {
		case <-closed:
		default:
			close(closed)
		}
	}()
	rw.WriteString("HTTP/1.1 101 Switching Protocols\r\n" +
		a.answer(path, r.Header.Get("Sec-WebSocket-Key")) + "\r\n")
	rw.Flush()
	buf := make([]byte, 4<<10)
	for {
		n, err := rw.Read(buf)
		if n > 0 {
			a.mu.Lock()
			a.after[path] = append(a.after[path], buf[:n]...)
			a.mu.Unlock()
			c.Write(buf[:n])
		}
		if err != nil {
			return
		}
	}
}

// ended returns the channel closed once the connection of path's request ends. The
// caller holds a.mu.
func (a *switchingApp) ended(path string) chan struct{} {
	if a.closed[path] == nil {
		a.closed[path] = make(chan struct{})
	}
	return a.closed[path]
}

// TestUpstreamSwitchChecked: the app's 101 opens a tunnel only when it completes the
// client's websocket handshake (Upgrade: websocket, Connection: upgrade, and the
// Sec-WebSocket-Accept of the client's key). Any other 101 comes from a server that may
// not speak websocket, and may go on reading HTTP from the tunnel: the client gets 502,
// the app's connection is closed, and nothing the client writes after reaches it.
func TestUpstreamSwitchChecked(t *testing.T) {
	if got, want := acceptOf(sampleKey), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="; got != want {
		t.Fatalf("the test's accept of RFC 6455's example: got %s, want %s", got, want)
	}
	const (
		badAccept  = "101 without the Sec-WebSocket-Accept of the handshake's key"
		badUpgrade = "101 without Upgrade: websocket"
	)
	cases := []struct {
		name   string
		answer func(key string) string
		plain  bool   // the client sends a plain GET, no handshake
		why    string // the reason logged; none: the tunnel opens
	}{
		{"a websocket server", func(k string) string {
			return "Upgrade: websocket\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Accept: " + acceptOf(k) + "\r\n"
		}, false, ""},
		{"names and tokens in other cases", func(k string) string {
			return "upgrade: WebSocket\r\nconnection: keep-alive, UPGRADE\r\n" +
				"sec-websocket-accept: " + acceptOf(k) + "\r\n"
		}, false, ""},
		{"the accept of another key", func(string) string {
			return "Upgrade: websocket\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Accept: " + acceptOf(sampleKey) + "\r\n"
		}, false, badAccept},
		{"no accept", func(string) string {
			return "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		}, false, badAccept},
		{"the key sent back", func(k string) string {
			return "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
				k + "\r\n"
		}, false, badAccept},
		{"the accept twice", func(k string) string {
			return "Upgrade: websocket\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Accept: " + acceptOf(k) + "\r\n" +
				"Sec-WebSocket-Accept: " + acceptOf(k) + "\r\n"
		}, false, badAccept},
		{"no Upgrade", func(k string) string {
			return "Connection: Upgrade\r\nSec-WebSocket-Accept: " + acceptOf(k) + "\r\n"
		}, false, badUpgrade},
		{"Upgrade: h2c", func(k string) string {
			return "Upgrade: h2c\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Accept: " + acceptOf(k) + "\r\n"
		}, false, badUpgrade},
		{"a bare 101", func(string) string { return "" }, false, badUpgrade},
		{"no Connection: upgrade", func(k string) string {
			return "Upgrade: websocket\r\nSec-WebSocket-Accept: " + acceptOf(k) + "\r\n"
		}, false, "101 without Connection: upgrade"},
		{"to a plain request", func(string) string {
			return "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		}, true, "101 to a request that asked for no websocket"},
	}
	byPath := map[string]func(string) string{}
	for i, tt := range cases {
		byPath["/ws/"+strconv.Itoa(i)] = tt.answer
	}
	app := newSwitchingApp(t, func(path, key string) string { return byPath[path](key) })
	e := newSecEnv(t, secOptions{config: "  - path: /ws/\n    upstream: \"" + app.URL +
		"\"\n    public: [/ws/]\n"})

	for i, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			path := "/ws/" + strconv.Itoa(i)
			refused := len(switchRefusals(e.logs))
			c, err := net.Dial("tcp", e.gw.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			var raw [16]byte
			rand.Read(raw[:])
			key := base64.StdEncoding.EncodeToString(raw[:])
			req := "GET " + path + " HTTP/1.1\r\nHost: " + secHost + "\r\n"
			if !tt.plain {
				req += "Connection: Upgrade\r\nUpgrade: websocket\r\n" +
					"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key + "\r\n"
			}
			io.WriteString(c, req+"\r\n")
			br := bufio.NewReader(c)
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("reading the answer to the handshake: %v", err)
			}

			if tt.why == "" {
				if res.StatusCode != http.StatusSwitchingProtocols {
					t.Fatalf("status %d, want 101", res.StatusCode)
				}
				if got := res.Header.Get("Sec-WebSocket-Accept"); got != acceptOf(key) {
					t.Errorf("Sec-WebSocket-Accept: got %q, want %q", got, acceptOf(key))
				}
				// both ways: the app sends back what it reads
				io.WriteString(c, "ping")
				got := make([]byte, 4)
				if _, err := io.ReadFull(br, got); err != nil || string(got) != "ping" {
					t.Errorf("through the tunnel: got %q, %v; want \"ping\"", got, err)
				}
				c.Close()
				if !app.closedWithin(path, 10*time.Second) {
					t.Fatalf("the app's connection still open 10 s after the client's closed")
				}
				if got := app.received(path); got != "ping" {
					t.Errorf("the app read %q after its 101, want \"ping\"", got)
				}
				return
			}

			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != http.StatusBadGateway {
				t.Errorf("status %d, want 502; body %q", res.StatusCode, body)
			}
			if v := res.Header.Get("Upgrade"); v != "" {
				t.Errorf("the 502 carries Upgrade: %q", v)
			}
			// what a client would push down the tunnel, had it opened; the gateway reads
			// it as a request of the client's own, and judges it: anonymous, refused
			io.WriteString(c, "GET /admin/x HTTP/1.1\r\nHost: "+secHost+
				"\r\nX-Forwarded-User: alice\r\n\r\n")
			if next, err := http.ReadResponse(br, nil); err == nil &&
				next.StatusCode != http.StatusUnauthorized {
				t.Errorf("the request after the 502: status %d, want 401", next.StatusCode)
			}
			closed := app.closedWithin(path, 10*time.Second)
			if got := app.received(path); got != "" {
				t.Errorf("the app read %q after its 101, want nothing", got)
			}
			if !closed {
				t.Errorf("the app's connection still open 10 s after the 502")
			}
			if n := app.requests(path); n != 1 {
				t.Errorf("the app was asked %d times, want once", n)
			}
			if got := switchRefusals(e.logs); len(got) != refused+1 {
				t.Errorf("%d records of the refusal, want 1", len(got)-refused)
			} else if rec := got[refused]; rec["level"] != "WARN" || rec["route"] != "/ws/" ||
				rec["reason"] != tt.why || rec["client_ip"] != "127.0.0.1" {
				t.Errorf("log record %v, want WARN, route /ws/, reason %q, "+
					"client_ip 127.0.0.1", rec, tt.why)
			}
			var acc map[string]any
			if !waitFor(10*time.Second, func() bool {
				acc = e.logs.lastRequest(path)
				return acc != nil
			}) || acc["status"] != float64(http.StatusBadGateway) {
				t.Errorf("access record %v, want status 502", acc)
			}
		})
	}
}

// switchRefusals returns the log records of 101s the gateway refused, oldest first.
func switchRefusals(l *secLog) []map[string]any {
	var out []map[string]any
	for _, rec := range l.records() {
		if rec["msg"] == "upstream switch refused" {
			out = append(out, rec)
		}
	}
	return out
}

// closedWithin reports whether the connection of path's request to a ends within d.
func (a *switchingApp) closedWithin(path string, d time.Duration) bool {
	a.mu.Lock()
	closed := a.ended(path)
	a.mu.Unlock()
	select {
	case <-closed:
		return true
	case <-time.After(d):
		return false
	}
}

// received returns what a read after its 101 to path's request.
func (a *switchingApp) received(path string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return string(a.after[path])
}

// requests returns how many requests for path a was asked.
func (a *switchingApp) requests(path string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.asked[path]
}

// TestCrossOriginHandshakeLogged: a handshake refused for its Origin is logged with the
// Origin, since behind a proxy the gateway does not trust every handshake's scheme looks
// foreign, and the log is where an operator finds out why; at most once every 10 s for
// each address, and an Origin cut short, since a client can send any on every request.
func TestCrossOriginHandshakeLogged(t *testing.T) {
	app := newSwitchingApp(t, func(_, key string) string {
		return "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
			acceptOf(key) + "\r\n"
	})
	e := newSecEnv(t, secOptions{config: "  - path: /ws/\n    upstream: \"" + app.URL +
		"\"\n    public: [/ws/]\ntrusted_proxies: [\"127.0.0.1/32\"]\n"})
	refuse := func(origin, from string) {
		t.Helper()
		req, _ := http.NewRequest("GET", e.gw.URL+"/ws/x", nil)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Sec-WebSocket-Key", sampleKey)
		req.Header.Set("Origin", origin)
		req.Header.Set("X-Forwarded-For", from)
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("Origin %.40s: status %d, want 403", origin, res.StatusCode)
		}
	}
	records := func() []map[string]any {
		var out []map[string]any
		for _, rec := range e.logs.records() {
			if rec["msg"] == "request refused" &&
				rec["reason"] == "websocket handshake from another origin" {
				out = append(out, rec)
			}
		}
		return out
	}
	origins := []string{"https://evil.example", "null",
		strings.Replace(e.gw.URL, "http://", "https://", 1)}
	for i, origin := range origins {
		from := fmt.Sprintf("192.0.2.%d", i+1)
		refuse(origin, from)
		if recs := records(); len(recs) != i+1 || recs[i]["origin"] != origin ||
			recs[i]["client_ip"] != from {
			t.Errorf("Origin %s from %s: records %v; want one more, naming both", origin,
				from, recs)
		}
	}
	// the same address again within 10 s: held back, as a long Origin would fill the log
	long := "https://" + strings.Repeat("a", 60000)
	refuse(long, "192.0.2.1")
	if n := len(records()); n != len(origins) {
		t.Errorf("a second refusal from one address: %d records, want %d", n, len(origins))
	}
	refuse(long, "198.51.100.9")
	recs := records()
	if got, _ := recs[len(recs)-1]["origin"].(string); len(recs) != len(origins)+1 ||
		got != long[:256]+"…(60008 bytes)" {
		t.Errorf("a long Origin: records %d, the last quoting %.300q; want it cut at 256 "+
			"bytes", len(recs), got)
	}
}
