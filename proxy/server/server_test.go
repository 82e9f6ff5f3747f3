package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/frontgate/gateway/authn/password"
)

func writeConfig(t *testing.T, upstream string, extra ...string) string {
	t.Helper()
	dir := t.TempDir()
	h, _ := password.Generate("pw", password.Argon2Params{Memory: 64, Time: 1, Threads: 1,
		SaltLen: 16, KeyLen: 32})
	os.WriteFile(filepath.Join(dir, "users.yaml"),
		[]byte("users:\n  alice:\n    password: \""+h+"\"\n"), 0o600)
	path := filepath.Join(dir, "gateway.yaml")
	os.WriteFile(path, []byte(fmt.Sprintf("listen: \"127.0.0.1:0\"\nusers:\n  file: users.yaml\n"+
		"routes:\n  - upstream: %q\n    public: [/public/]\n%s", upstream,
		strings.Join(extra, ""))), 0o600)
	return path
}

func TestRunServesAndStops(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello from upstream")
	}))
	defer up.Close()
	path := writeConfig(t, up.URL)

	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{ConfigPath: path, Stderr: io.Discard,
			Ready: func(a net.Addr) { ready <- a }})
	}()
	var addr net.Addr
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("gateway did not start")
	}
	res, err := http.Get("http://" + addr.String() + "/public/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "hello from upstream" {
		t.Errorf("public page: got %q", body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("gateway did not stop")
	}

	// The generated secret is private and reused on the next start.
	secret := filepath.Join(filepath.Dir(path), "data", secretFile)
	fi, err := os.Stat(secret)
	if err != nil {
		t.Fatalf("generated secret: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode %v, want 0600", fi.Mode().Perm())
	}
	first, _ := os.ReadFile(secret)
	again, created, err := readOrCreateSecret(secret, slog.New(slog.DiscardHandler))
	if err != nil || created || string(again)+"\n" != string(first) {
		t.Errorf("second start: created=%v err=%v; want the same secret", created, err)
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	path := writeConfig(t, "ftp://nowhere")
	err := Run(context.Background(), Options{ConfigPath: path, Stderr: io.Discard})
	if err == nil {
		t.Fatal("Run accepted a bad config")
	}
}

func TestStateDirWritableByOthersRefused(t *testing.T) {
	path := writeConfig(t, "http://127.0.0.1:1")
	dir := filepath.Join(filepath.Dir(path), "data")
	os.Mkdir(dir, 0o700)
	os.Chmod(dir, 0o777)
	err := Run(context.Background(), Options{ConfigPath: path, Stderr: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "writable by group or others") {
		t.Errorf("state_dir mode 0777: got %v, want a refusal", err)
	}
}
