package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestListenFlag runs the quickstart with -listen while the config's own listen
// address is taken: the gateway serves its sign-in page on the flag's address.
func TestListenFlag(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	users, err := filepath.Abs("../users.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "gateway.yaml")
	os.WriteFile(path, []byte(fmt.Sprintf("listen: %q\nstate_dir: state\nusers:\n  file: %q\n"+
		"session:\n  store: memory\nroutes:\n  - upstream: \"http://%s\"\n",
		taken.Addr().String(), users, freeAddr(t))), 0o600)

	listen := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, path, listen) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()

	var res *http.Response
	for deadline := time.Now().Add(10 * time.Second); ; {
		if res, err = http.Get("http://" + listen + "/.gateway/login"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing served on %s: %v", listen, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `name="password"`) {
		t.Fatalf("sign-in page on %s: status %d\n%s", listen, res.StatusCode, body)
	}
}
