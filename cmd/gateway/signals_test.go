package main

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
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
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() }) // by PID; nothing once it has exited
	lines := make(chan string, 100)
	done := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		done <- cmd.Wait()
	}()
	var log []string
	await := func(what string) string {
		t.Helper()
		timeout := time.After(15 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("gateway exited before %q:\n%s", what, strings.Join(log, "\n"))
				}
				log = append(log, l)
				if strings.Contains(l, what) {
					return l
				}
			case <-timeout:
				t.Fatalf("no %q within 15s:\n%s", what, strings.Join(log, "\n"))
			}
		}
	}
	m := regexp.MustCompile(`listen=(\S+)`).FindStringSubmatch(await(`msg="gateway started"`))
	if m == nil {
		t.Fatal("no address in the start record")
	}
	go func() {
		if res, err := http.Get("http://" + m[1] + "/held"); err == nil {
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
	await(`msg="gateway stopping"`)
	signal(syscall.SIGHUP)
	// the drain goes on, the request still held: the SIGHUP must not have ended it
	select {
	case err := <-done:
		t.Fatalf("a SIGHUP while draining ended the gateway: %v\n%s", err,
			strings.Join(log, "\n"))
	case <-time.After(500 * time.Millisecond):
	}
	signal(syscall.SIGTERM)
	await("gateway: terminated again, while draining: exiting at once")
	select {
	case err := <-done:
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Errorf("after a second SIGTERM: %v, want exit status 1", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("a second SIGTERM did not end the gateway within 15s; its drain lasts 5m")
	}
}
