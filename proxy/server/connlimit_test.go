package server

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestClientConnectionsLimited opens connections to a running gateway from one address
// up to limits.client_connections: the next is closed unanswered, and logged. A closed
// one makes room again; a reload that raises the limit, or trusts the address as a
// proxy, lets more in.
func TestClientConnectionsLimited(t *testing.T) {
	configPollInterval = 20 * time.Millisecond
	defer func() { configPollInterval = 2 * time.Second }()
	path := writeConfig(t, newUpstream(t), "limits:\n  client_connections: 16\n")
	base, logs := runLogged(t, path)
	addr := strings.TrimPrefix(base, "http://")

	var open []net.Conn
	t.Cleanup(func() {
		for _, c := range open {
			c.Close()
		}
	})
	// dial opens a connection and reports whether the gateway serves a request on it
	dial := func() bool {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, c)
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "GET /public/x HTTP/1.1\r\nHost: gw\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("connection %d: no answer and not closed", len(open))
			}
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	}
	for i := range 16 {
		if !dial() {
			t.Fatalf("connection %d of 16 was not served", i+1)
		}
	}
	if dial() {
		t.Fatal("a 17th connection from one address was served")
	}
	if !strings.Contains(logs.String(), `msg="connection refused: its client holds the `+
		`most connections it may" client_ip=127.0.0.1 open=16 limit=16`) {
		t.Errorf("log lacks the refusal:\n%s", logs.String())
	}
	open[0].Close()
	open = open[1:]
	served := false
	for deadline := time.Now().Add(5 * time.Second); !served && time.Now().Before(deadline); {
		// the gateway learns of the close when it next reads the connection
		open[len(open)-1].Close()
		open = open[:len(open)-1]
		served = dial()
	}
	if !served {
		t.Fatal("no connection was served after one was closed")
	}

	orig, _ := os.ReadFile(path)
	reload := func(extra string) {
		t.Helper()
		before := strings.Count(logs.String(), `msg="config reloaded"`)
		os.WriteFile(path, []byte(strings.Replace(string(orig),
			"limits:\n  client_connections: 16\n", extra, 1)), 0o600)
		for deadline := time.Now().Add(5 * time.Second); strings.Count(logs.String(),
			`msg="config reloaded"`) == before; {
			if time.Now().After(deadline) {
				t.Fatalf("the config was not reloaded; log:\n%s", logs.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	reload("limits:\n  client_connections: 18\n")
	if !dial() || !dial() {
		t.Fatal("with the limit raised to 18, connections 17 and 18 were not served")
	}
	if dial() {
		t.Fatal("with the limit raised to 18, a 19th was served")
	}
	reload("limits:\n  client_connections: 18\ntrusted_proxies: [127.0.0.1/32]\n")
	for i := range 4 {
		if !dial() {
			t.Fatalf("from a trusted proxy, connection %d past the limit was not served", i+1)
		}
	}
}
