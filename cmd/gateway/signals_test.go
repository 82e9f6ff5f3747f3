package main

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSignalsWhileDraining runs the gateway binary with a request in flight that will
// not end, and stops it: a SIGHUP while it drains does not end the process, as a SIGHUP
// no one asked for would, and a second SIGTERM ends it at once rather than at the
// drain's deadline, saying so.
func TestSignalsWhileDraining(t *testing.T) {
	dir := t.TempDir()
	bin := buildGateway(t, dir)
	held, arrived := make(chan struct{}), make(chan struct{}, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-held:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(held); up.Close() })
	path := writeUnitConfig(t, dir)
	text, _ := os.ReadFile(path)
	text = []byte(strings.Replace(string(text), `"http://127.0.0.1:9001"`,
		`"`+up.URL+`"`+"\n    public: [/]\ntimeouts:\n  shutdown: 5m", 1))
	if err := os.WriteFile(path, text, 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin, "run", "-config", path)
	cmd.Env = append(os.Environ(), "GATEWAY_SECRET=e4a1f09c3b7d2865e4a1f09c3b7d2865")
	p := startProcess(t, cmd)
	addr := p.listening()
	go func() {
		if res, err := http.Get("http://" + addr + "/held"); err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
	}()
	select {
	case <-arrived:
	case <-time.After(15 * time.Second):
		t.Fatal("the request never reached the upstream")
	}

	signal := func(s syscall.Signal) {
		t.Helper()
		if err := cmd.Process.Signal(s); err != nil {
			t.Fatal(err)
		}
	}
	signal(syscall.SIGTERM)
	p.await(`msg="gateway stopping"`)
	signal(syscall.SIGHUP)
	// the drain goes on, the request still held: the SIGHUP must not have ended it
	select {
	case err := <-p.done:
		t.Fatalf("a SIGHUP while draining ended the gateway: %v\n%s", err,
			strings.Join(p.log, "\n"))
	case <-time.After(500 * time.Millisecond):
	}
	signal(syscall.SIGTERM)
	p.await("gateway: terminated again, while draining: exiting at once")
	// within 15 s, where the drain would last 5 minutes
	var exit *exec.ExitError
	if err := p.exit(); !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("after a second SIGTERM: %v, want exit status 1", err)
	}
}
