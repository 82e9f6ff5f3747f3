package server

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestClientConnectionsLimited opens connections to a running gateway from one address
// up to limits.client_connections: the next is closed unanswered, and logged. A closed
// one makes room again; a reload that raises the limit, or trusts the address as a
// proxy, lets more in.
func TestClientConnectionsLimited(t *testing.T) {
	pollConfigFast(t)
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

// TestHTTP2RequestsLimited: HTTP/2 carries many requests on one connection, each of
// which holds a connection to the app while it is served. A client gets as many of them
// in flight as limits.client_connections allows; the rest are answered 429 at once, and
// never reach the app. Finished requests make room again.
func TestHTTP2RequestsLimited(t *testing.T) {
	release := make(chan struct{})
	var inApp, most atomic.Int64
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inApp.Add(1)
		defer inApp.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		if r.URL.Path == "/public/hold" {
			<-release
		}
		io.WriteString(w, "app")
	}))
	t.Cleanup(app.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})

	path := writeConfig(t, app.URL, "limits:\n  client_connections: 16\n")
	dir := filepath.Dir(path)
	cert := writeCert(t, dir, 1)
	text, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(text), `listen: "127.0.0.1:0"`,
		"listen: \"127.0.0.1:0\"\ntls:\n  mode: files\n  cert_file: cert.pem\n"+
			"  key_file: key.pem\n", 1)), 0o600)
	base, logs := runLogged(t, path)
	base = strings.Replace(base, "http://", "https://", 1)

	pool := x509.NewCertPool()
	pool.AddCert(cert)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool,
		ServerName: "localhost"}, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	// one connection first, which the requests below share
	res, err := client.Get(base + "/public/x")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.ProtoMajor != 2 {
		t.Fatalf("answered over HTTP/%d, want HTTP/2", res.ProtoMajor)
	}

	const sent = 24
	codes := make(chan int, sent)
	var wg sync.WaitGroup
	for range sent {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := client.Get(base + "/public/hold")
			if err != nil {
				t.Error(err)
				codes <- 0
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			codes <- res.StatusCode
		}()
	}
	// the refused are answered while the others are held
	refused := 0
	for refused < sent-16 {
		select {
		case code := <-codes:
			if code != http.StatusTooManyRequests {
				t.Fatalf("a request was answered %d while 16 were held; want 429", code)
			}
			refused++
		case <-time.After(10 * time.Second):
			t.Fatalf("%d requests refused within 10s, want %d", refused, sent-16)
		}
	}
	// the others reach the app, and are held there
	for deadline := time.Now().Add(10 * time.Second); inApp.Load() < 16; {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests reached the app within 10s, want 16", inApp.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != http.StatusOK {
			t.Errorf("a held request was answered %d, want 200", code)
		}
	}
	if m := most.Load(); m != 16 {
		t.Errorf("the app held %d requests at once, want 16", m)
	}
	if !strings.Contains(logs.String(), `msg="HTTP/2 request refused: its client has the `+
		`most requests in flight it may" client_ip=127.0.0.1 open=16 limit=16`) {
		t.Errorf("log lacks the refusal:\n%s", logs.String())
	}

	// finished requests are counted no more
	for i := range 32 {
		res, err := client.Get(base + "/public/x")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("request %d after the others finished: %d, want 200", i, res.StatusCode)
		}
	}
}
