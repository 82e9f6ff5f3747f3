package server

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The Caddy example (examples/caddy) run for real: a Caddy built by .ci/caddy.sh, started
// by the test on a free loopback port with the example's Caddyfile, in front of the
// gateway, run from the example's gateway.yaml, and an app.

const (
	caddyExample = "../../examples/caddy/Caddyfile"
	caddyGateway = "../../examples/caddy/gateway.yaml"

	// caddyMinMinor is the oldest Caddy 2 release the example works with: before 2.10,
	// copy_headers set a literal placeholder when the gateway's answer lacked a header.
	caddyMinMinor = 10
)

// caddyBuild is a Caddy to run, and the release it reports.
type caddyBuild struct {
	bin, version string
}

// caddyBinaries returns the Caddys to run: each release of 2.10 or later found in PATH or
// where .ci/caddy.sh builds them, once. Without one the test is skipped, except in CI,
// where .ci/caddy.sh builds them and a missing one is a failure.
func caddyBinaries(t testing.TB) []caddyBuild {
	t.Helper()
	places := []string{"caddy"}
	if cache, err := os.UserCacheDir(); err == nil {
		built, _ := filepath.Glob(filepath.Join(cache, "frontgate-gateway", "caddy", "*",
			"caddy"))
		places = append(places, built...)
	}
	var found []caddyBuild
	var old []string
	for _, p := range places {
		bin, err := exec.LookPath(p)
		if err != nil {
			continue
		}
		version, minor := caddyVersion(bin)
		same := func(c caddyBuild) bool { return c.version == version }
		switch {
		case minor < caddyMinMinor:
			old = append(old, bin+" is "+version)
		case !slices.ContainsFunc(found, same):
			found = append(found, caddyBuild{bin, version})
		}
	}
	if len(found) > 0 {
		return found
	}
	why := "caddy not found"
	if len(old) > 0 {
		why = "caddy 2." + strconv.Itoa(caddyMinMinor) + " or later not found (" +
			strings.Join(old, ", ") + ")"
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(why + "; .ci/caddy.sh builds it")
	}
	t.Skip(why + "; bash .ci/caddy.sh builds it")
	return nil
}

// caddyRelease matches a Caddy 2 version as `caddy version` prints it, or as
// `caddy build-info` names the caddy module.
var caddyRelease = regexp.MustCompile(
	`(?m)(?:^|github\.com/caddyserver/caddy/v2\s+)(v?2\.(\d+)\.\S*)`)

// caddyVersion returns the version bin reports and its minor number, -1 when it reports
// none: a build without ldflags, as the main module, says "unknown" to `caddy version`
// but names its module version in `caddy build-info`.
func caddyVersion(bin string) (string, int) {
	for _, arg := range []string{"version", "build-info"} {
		out, err := exec.Command(bin, arg).Output()
		if err != nil {
			continue
		}
		if m := caddyRelease.FindSubmatch(out); m != nil {
			minor, _ := strconv.Atoi(string(m[2]))
			return string(m[1]), minor
		}
	}
	return "of unknown version", -1
}

// caddyConfig is the example's Caddyfile with its site served over plain HTTP at listen,
// and its gateway and app addresses replaced by gateway and app (host:port each). Global
// options in front turn the admin endpoint off and bind the site to loopback only.
func caddyConfig(t testing.TB, listen, gateway, app string) string {
	t.Helper()
	return "{\n\tadmin off\n\tdefault_bind 127.0.0.1\n}\n\n" +
		exampleConfig(t, caddyExample, [][2]string{
			{"\napp.example.com {\n", "\nhttp://" + listen + " {\n"},
			{"reverse_proxy 127.0.0.1:8080 {", "reverse_proxy " + gateway + " {"},
			{"forward_auth 127.0.0.1:8080 {", "forward_auth " + gateway + " {"},
			{"reverse_proxy 127.0.0.1:9001\n", "reverse_proxy " + app + "\n"},
		})
}

// startCaddy runs bin with the example's Caddyfile in front of gateway and app (host:port
// each) until the test ends, and returns its base URL. It listens on a free loopback
// port, keeps its data and config in a temporary folder, which it takes for its home,
// and is stopped by its PID.
func startCaddy(t *testing.T, bin, gateway, app string) string {
	t.Helper()
	dir := t.TempDir()
	listen := freeAddr(t)
	conf := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(conf, []byte(caddyConfig(t, listen, gateway, app)),
		0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--adapter", "caddyfile", "--config", conf)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+filepath.Join(dir, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(dir, "config"),
		"XDG_CACHE_HOME="+filepath.Join(dir, "cache"))
	runServer(t, "caddy", listen, cmd)
	return "http://" + listen
}

// caddyExampleGateway writes the example's gateway.yaml into a folder of its own,
// listening on a free port, with a users file of cheap hashes beside it: alice, with an
// email and two groups, and bob, an admin. The routes' upstream stays as it is: the
// gateway never dials it, since Caddy reaches the app itself.
func caddyExampleGateway(t *testing.T) string {
	t.Helper()
	conf := exampleConfig(t, caddyGateway, [][2]string{
		{`listen: "127.0.0.1:8080"`, `listen: "127.0.0.1:0"`},
		{`file: "../users.yaml"`, `file: "users.yaml"`},
	})
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	writeUsersFile(t, path, map[string]string{}, map[string]string{
		"alice": "    email: alice@example.com\n    groups: [staff, ops]\n" +
			"    displayname: Alice Ærø\n",
		"bob": "    groups: [admins]\n",
	})
	return path
}

// caddySpoofs are the identity headers a client makes up, with more spellings in "_"
// (which Caddy 2.10 passes on) and Remote-User, which the example also removes.
var caddySpoofs = slices.Concat(spoofs, []string{"x_forwarded_user", "trudy",
	"X_Forwarded_Email", "mallory@evil.test", "X_Forwarded_Groups", "admins",
	"X_Forwarded_Name", "Mallory",
	"Remote-User", "mallory", "remote_user", "eve"})

// caddyIdentities are the identity headers the app must receive from the gateway alone.
var caddyIdentities = []string{"X-Forwarded-User", "X-Forwarded-Email",
	"X-Forwarded-Groups", "X-Forwarded-Name", "Remote-User"}

// checkIdentity reports, as what, every identity header the app received (seen) that is
// not the one copy the gateway sent in want; a name missing from want must be absent.
func checkIdentity(t *testing.T, what string, seen http.Header, want map[string]string) {
	t.Helper()
	for _, name := range caddyIdentities {
		got := identityCopies(seen, name)
		if w, ok := want[name]; ok && (len(got) != 1 || got[0] != w) {
			t.Errorf("%s: app received %s %q, want only %q", what, name, got, w)
		} else if !ok && len(got) != 0 {
			t.Errorf("%s: app received %s %q, want none", what, name, got)
		}
	}
}

// TestCaddyForwardAuth runs the example with each Caddy there is: in the oldest release
// it supports, its own request_header lines are all that keep a client's identity
// headers from the app.
func TestCaddyForwardAuth(t *testing.T) {
	for _, c := range caddyBinaries(t) {
		t.Run(c.version, func(t *testing.T) { testCaddyForwardAuth(t, c.bin) })
	}
}

// testCaddyForwardAuth checks, through the Caddy bin, what a browser and a script see and
// what the app receives.
func testCaddyForwardAuth(t *testing.T, bin string) {
	app := newEchoApp(t)
	gw := startGateway(t, caddyExampleGateway(t))
	base := startCaddy(t, bin, strings.TrimPrefix(gw, "http://"),
		strings.TrimPrefix(app.url, "http://"))
	noFollow := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	anon := &http.Client{CheckRedirect: noFollow}
	browser := []string{"Accept", "text/html,application/xhtml+xml,*/*;q=0.8"}

	// an anonymous browser is sent to sign in, with the path and query it asked for; a
	// script, or a browser's form post, gets the gateway's 401
	login := base + "/.gateway/login?next=%2Fapp%2Fx%3Fa%3D1%26b%3D2"
	for _, tc := range []struct {
		name, method, accept, body string
		status                     int
		location                   string
	}{
		{"browser", "GET", browser[1], "", http.StatusFound, login},
		{"browser's HEAD", "HEAD", browser[1], "", http.StatusFound, login},
		{"script", "GET", "application/json", "", http.StatusUnauthorized, ""},
		{"form post", "POST", browser[1], "a=1", http.StatusUnauthorized, ""},
	} {
		t.Run("anonymous "+tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, base+"/app/x?a=1&b=2",
				strings.NewReader(tc.body))
			req.Header.Set("Accept", tc.accept)
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			res, err := anon.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tc.status || res.Header.Get("Location") != tc.location {
				t.Errorf("status %d, Location %q; want %d, %q", res.StatusCode,
					res.Header.Get("Location"), tc.status, tc.location)
			}
		})
	}

	// the auth endpoint is Caddy's alone
	res, _ := proxyGet(t, anon, base+"/.gateway/auth", "X-Forwarded-Uri", "/public/")
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("/.gateway/auth through caddy: status %d, want 404", res.StatusCode)
	}

	// a public path passes anonymously, and none of the client's identity with it: no
	// literal placeholder either, as Caddy before 2.10 would have set
	res, seen := proxyGet(t, anon, base+"/public/x", caddySpoofs...)
	if res.StatusCode != http.StatusOK || seen == nil {
		t.Fatalf("public path: status %d, want 200 from the app", res.StatusCode)
	}
	checkIdentity(t, "public path", seen, nil)

	// signed in through Caddy, the app gets the gateway's identity and nothing else
	alice := signIn(t, base, "alice", "pw")
	res, seen = proxyGet(t, alice, base+"/app/whoami",
		slices.Concat(browser, caddySpoofs, []string{"Proxy", "http://127.0.0.1:9/"})...)
	if res.StatusCode != http.StatusOK || seen == nil {
		t.Fatalf("signed in: status %d, want 200 from the app", res.StatusCode)
	}
	checkIdentity(t, "signed in", seen, map[string]string{"X-Forwarded-User": "alice",
		"X-Forwarded-Email": "alice@example.com", "X-Forwarded-Groups": "staff,ops",
		"X-Forwarded-Name": "Alice Ærø"})
	// which a CGI app would take for the proxy of its own outgoing requests
	if got := identityCopies(seen, "Proxy"); len(got) != 0 {
		t.Errorf("signed in: app received Proxy %q, want none", got)
	}
	claims := checkClaimsStopped(t, alice, base)

	// a route whose allow rule leaves alice out, and lets bob in
	res, _ = proxyGet(t, alice, base+"/admin/", browser...)
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("admin route for alice: status %d, want 403", res.StatusCode)
	}
	// Caddy passes the path on as the client wrote it, and many an app reads
	// "//public/admin/" as the host "public" and the path /admin/: refused
	res, seen = proxyGet(t, alice, base+"//public/admin/", browser...)
	if res.StatusCode != http.StatusForbidden || seen != nil {
		t.Errorf("alice, //public/admin/: status %d (app reached: %v), want 403",
			res.StatusCode, seen != nil)
	}
	bob := signIn(t, base, "bob", "pw")
	res, seen = proxyGet(t, bob, base+"/admin/", append(browser, caddySpoofs...)...)
	if res.StatusCode != http.StatusOK || seen == nil {
		t.Fatalf("admin route for bob: status %d, want 200 from the app", res.StatusCode)
	}
	checkIdentity(t, "admin route for bob", seen, map[string]string{
		"X-Forwarded-User": "bob", "X-Forwarded-Groups": "admins"})

	// after sign-out through Caddy, the old cookie is sent to sign in again
	old := sessionCookie(t, alice, base)
	logoutAt(t, alice, base)
	res, _ = proxyGet(t, anon, base+"/app/", append(browser, "Cookie",
		"gateway_session="+old)...)
	want := base + "/.gateway/login?next=%2Fapp%2F"
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != want {
		t.Errorf("old cookie after sign-out: status %d, Location %q; want 302 to %q",
			res.StatusCode, res.Header.Get("Location"), want)
	}

	// only the public page, alice's page, bob's and those of the claims reached the app
	if n, want := app.hits.Load(), 3+claims; n != want {
		t.Errorf("app received %d requests, want %d", n, want)
	}
}
