package verifyassertion_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/frontgate/gateway/authn/password"
	"github.com/frontgate/gateway/config"
	"github.com/frontgate/gateway/examples/verifyassertion"
	"github.com/frontgate/gateway/proxy/server"
)

// TestAppVerifiesAssertions runs an app that trusts identity only through a verified
// assertion, behind a real gateway.
func TestAppVerifiesAssertions(t *testing.T) {
	var verifier atomic.Pointer[verifyassertion.Verifier]
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := verifier.Load().Verify(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "verified %s in %v", id.User, id.Groups)
	}))
	defer app.Close()

	dir := t.TempDir()
	h, _ := password.Generate("pw", password.Argon2Params{Memory: 64, Time: 1, Threads: 1,
		SaltLen: 16, KeyLen: 32})
	os.WriteFile(filepath.Join(dir, "users.yaml"), []byte("users:\n  alice:\n"+
		"    password: \""+h+"\"\n    groups: [staff]\n"), 0o600)
	cfg, err := config.Parse([]byte("users:\n  file: users.yaml\nsession:\n  store: memory\n"+
		"routes:\n  - upstream: \""+app.URL+"\"\n    assertion: true\n"),
		filepath.Join(dir, "gateway.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gw, err := server.Build(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(gw)
	defer front.Close()

	v, err := verifyassertion.NewVerifier(http.DefaultClient, front.URL+"/.gateway/jwks.json",
		app.URL)
	if err != nil {
		t.Fatal(err)
	}
	verifier.Store(v)

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	res, err := c.Get(front.URL + "/.gateway/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	token := regexp.MustCompile(`name="csrf_token" value="([^"]*)"`).FindSubmatch(body)
	res, err = c.PostForm(front.URL+"/.gateway/login", url.Values{"username": {"alice"},
		"password": {"pw"}, "csrf_token": {string(token[1])}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if got := string(body); got != "verified alice in [staff]" {
		t.Errorf("through the gateway: got %q", got)
	}

	// Straight to the app, identity headers are worth nothing without an assertion.
	req, _ := http.NewRequest("GET", app.URL, nil)
	req.Header.Set("X-Forwarded-User", "alice")
	req.Header.Set("X-Gateway-Assertion", "eyJhbGciOiJub25lIn0.e30.")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized || strings.Contains(string(body), "verified") {
		t.Errorf("forged request straight to the app: %d %q", res.StatusCode, body)
	}
}
