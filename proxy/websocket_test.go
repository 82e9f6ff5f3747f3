package proxy_test

import (
	"bufio"
	"io"
	"net/http"
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
