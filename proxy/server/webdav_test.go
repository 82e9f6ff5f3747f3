package server

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWebDAVDestination puts the gateway in front of a real WebDAV server, nginx's dav
// module, on its own and behind nginx's auth_request (examples/nginx), and moves files
// with COPY and MOVE: a Destination in a protected place is
// judged as a request there would be, so a file written where anyone may write cannot
// be moved over a page only some may change; one the rules allow is rewritten to what
// the server knows as its own, and the move happens.
func TestWebDAVDestination(t *testing.T) {
	bin := nginxBinary(t)
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	for _, d := range []string{"public", "admin", "app"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	const page = "<h1>the admins' page</h1>"
	os.WriteFile(filepath.Join(root, "admin", "index.html"), []byte(page), 0o600)
	dav := freeAddr(t)
	// nginx's workers write the files; run as root, they would become nobody, who may
	// not write in the test's folders
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;\n"
	}
	runNginx(t, bin, dir, user+"events {}\nhttp {"+nginxLocalFiles(bin, dir)+
		"  server {\n    listen "+dav+";\n    root "+root+";\n"+
		"    dav_methods PUT DELETE MKCOL COPY MOVE;\n  }\n}\n", dav)
	path := writeConfig(t, "http://"+dav,
		"  - path: /admin/\n    upstream: \"http://"+dav+"\"\n    allow:\n      users: [bob]\n",
		"  - path: /files/\n    upstream: \"http://"+dav+"/app\"\n    strip_prefix: true\n",
		"session:\n  store: memory\ntrusted_proxies: [\"127.0.0.1/32\"]\n")
	gw := startGateway(t, path)
	// the same gateway, asked by nginx's auth_request in front of the same server
	front := startNginx(t, bin, strings.TrimPrefix(gw, "http://"), dav)
	base := gw
	alice := signIn(t, base, "alice", "pw")
	anon := &http.Client{}

	do := func(c *http.Client, method, target, dest, body string) int {
		t.Helper()
		req, _ := http.NewRequest(method, base+target, strings.NewReader(body))
		if dest != "" {
			req.Header.Set("Destination", dest)
			req.Header.Set("Overwrite", "T")
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	if got := do(anon, "PUT", "/public/evil.html", "", "defaced"); got != http.StatusCreated {
		t.Fatalf("anonymous PUT under /public/: %d, want 201", got)
	}
	for _, tt := range []struct {
		name   string
		c      *http.Client
		method string
		dest   string
		want   int
	}{
		{"anonymous MOVE over the admins' page", anon, "MOVE", base + "/admin/index.html",
			http.StatusUnauthorized},
		{"anonymous COPY there, as a path", anon, "COPY", "/admin/index.html",
			http.StatusUnauthorized},
		{"a user the rule refuses", alice, "COPY", base + "/admin/index.html",
			http.StatusForbidden},
		{"the same, in another case", alice, "MOVE", base + "/ADMIN/index.html",
			http.StatusForbidden},
	} {
		if got := do(tt.c, tt.method, "/public/evil.html", tt.dest, ""); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(root, "admin", "index.html")); string(got) != page {
		t.Fatalf("the admins' page now reads %q", got)
	}

	// Moves the rules allow reach the server as its own paths, which it accepts.
	if got := do(alice, "MOVE", "/public/evil.html", base+"/public/moved.html", ""); got !=
		http.StatusCreated && got != http.StatusNoContent {
		t.Errorf("MOVE within /public/: %d, want 201 or 204", got)
	}
	if _, err := os.Stat(filepath.Join(root, "public", "moved.html")); err != nil {
		t.Errorf("the allowed move did not happen: %v", err)
	}
	if got := do(alice, "PUT", "/files/a.txt", "", "a"); got != http.StatusCreated {
		t.Fatalf("PUT under /files/: %d, want 201", got)
	}
	if got := do(alice, "COPY", "/files/a.txt", base+"/files/b.txt", ""); got !=
		http.StatusCreated && got != http.StatusNoContent {
		t.Errorf("COPY under a strip_prefix route: %d, want 201 or 204", got)
	}
	if got, err := os.ReadFile(filepath.Join(root, "app", "b.txt")); string(got) != "a" {
		t.Errorf("the copy under the route's upstream path: %q, %v; want \"a\"", got, err)
	}

	// Behind nginx the server gets the Destination as the client wrote it: one whose
	// path nginx's dav module would find in the query is refused, and an allowed one
	// works.
	base = front
	alice = signIn(t, base, "alice", "pw")
	if got := do(anon, "PUT", "/public/fa.html", "", "defaced"); got != http.StatusCreated {
		t.Fatalf("anonymous PUT through nginx: %d, want 201", got)
	}
	for _, tt := range []struct {
		name string
		c    *http.Client
		dest string
		want int
	}{
		{"anonymous, into /admin/", anon, base + "/admin/index.html",
			http.StatusUnauthorized},
		{"a user the rule refuses", alice, base + "/admin/index.html", http.StatusForbidden},
		{"the path in the query", alice, base + "?/admin/index.html", http.StatusForbidden},
		{"anonymous, the path in the query", anon, base + "?/admin/index.html",
			http.StatusForbidden},
	} {
		if got := do(tt.c, "MOVE", "/public/fa.html", tt.dest, ""); got != tt.want {
			t.Errorf("through nginx, %s: %d, want %d", tt.name, got, tt.want)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(root, "admin", "index.html")); string(got) != page {
		t.Fatalf("through nginx, the admins' page now reads %q", got)
	}
	if got := do(alice, "MOVE", "/public/fa.html", base+"/public/fa2.html", ""); got !=
		http.StatusCreated && got != http.StatusNoContent {
		t.Errorf("MOVE within /public/ through nginx: %d, want 201 or 204", got)
	}
	if _, err := os.Stat(filepath.Join(root, "public", "fa2.html")); err != nil {
		t.Errorf("the allowed move through nginx did not happen: %v", err)
	}
}
