package proxy

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/frontgate/gateway/authn"
	"github.com/frontgate/gateway/authn/password"
	"github.com/frontgate/gateway/authn/session"
	"github.com/frontgate/gateway/config"
)

func TestNormalizePath(t *testing.T) {
	tests := []struct {
		in, clean, decoded string
		bad                bool
	}{
		{in: "/", clean: "/", decoded: "/"},
		{in: "/a/b", clean: "/a/b", decoded: "/a/b"},
		{in: "/a//b///c", clean: "/a/b/c", decoded: "/a/b/c"},
		{in: "/caf%C3%A9", clean: "/caf%C3%A9", decoded: "/caf\u00e9"},
		{in: "/a%20b", clean: "/a%20b", decoded: "/a b"},
		// escaped unreserved characters go upstream plain: the path the rules judged
		{in: "/%70ublic/x", clean: "/public/x", decoded: "/public/x"},
		{in: "/%41dmin/%7Ex%2D%5f%30", clean: "/Admin/~x-_0", decoded: "/Admin/~x-_0"},
		{in: "/%70%20q", clean: "/p%20q", decoded: "/p q"},
		{in: "/a%2541", bad: true},
		{in: "/%2561dmin/", bad: true},
		{in: "/admin./", bad: true},
		{in: "/admin%20/", bad: true},
		{in: "/admin%c0%af", bad: true},
		// characters an app may read as dots or slashes after NFKC or best-fit mapping
		{in: "/public/%EF%BC%8E%EF%BC%8E%EF%BC%8Fadmin/", bad: true}, // fullwidth ．．／
		{in: "/public/\uff0e\uff0e\uff0fadmin/", bad: true},
		{in: "/public/%E2%80%A5/admin", bad: true},           // two dot leader
		{in: "/public/%EF%B9%92%EF%B9%92/admin", bad: true},  // small full stop
		{in: "/public/x%EF%BC%BCadmin", bad: true},           // fullwidth reverse solidus
		{in: "/public/x%E2%88%95admin", bad: true},           // division slash
		{in: "/public/%E3%80%82%E3%80%82/admin/", bad: true}, // ideographic full stops
		{in: "/admin%E3%80%82/x", bad: true},
		{in: "/public/x%E2%81%84admin", bad: true}, // fraction slash
		{in: "/public/%E2%84%80", bad: true},       // account of: "a/c"
		{in: "/caf%C3%A9/%E6%97%A5%E6%9C%AC", clean: "/caf%C3%A9/%E6%97%A5%E6%9C%AC",
			decoded: "/caf\u00e9/\u65e5\u672c"},
		{in: "/%EF%BD%81dmin/", bad: true}, // fullwidth a: "/admin/" after NFKC
		{in: "/e%CC%81", bad: true},        // decomposed é
		{in: "/%EF%AC%81le", bad: true},    // the ligature fi
		{in: "/a/b.", bad: true},
		{in: "/a%25", clean: "/a%25", decoded: "/a%"},
		{in: "/a%25zz", clean: "/a%25zz", decoded: "/a%zz"},
		{in: "/a%252e%252e", bad: true},
		{in: "/a%252F", bad: true},
		{in: "/public/%25u002e%25u002e/admin/", bad: true}, // IIS's %u, escaped once more
		{in: "/a%25U002F", bad: true},
		{in: "/a%25u00", clean: "/a%25u00", decoded: "/a%u00"},
		{in: "/public/..+/admin/", bad: true},
		{in: "/public/..+.+/admin/", bad: true},
		{in: "/public/.+.+/admin/", bad: true},
		{in: "/public/.%20.+/admin/", bad: true},
		{in: "/public/+.+/admin/", bad: true},
		{in: "/public/%D9%AA2e%D9%AA2e/admin/", bad: true}, // Arabic percent signs
		{in: "/public/.+/admin/", bad: true},
		{in: "/c++/x", clean: "/c++/x", decoded: "/c++/x"},
		{in: "/public/..::$DATA/admin/x", bad: true},
		{in: "/public/..::$INDEX_ALLOCATION/admin/", bad: true},
		{in: "/public/.%20+/admin/", bad: true},
		{in: "/a::$DATA/b", clean: "/a::$DATA/b", decoded: "/a::$DATA/b"},
		{in: "/public/..:$I30:$INDEX_ALLOCATION/secret", bad: true},
		{in: "/public/..+::$DATA/secret", bad: true},
		{in: "/public/..++::$DATA/secret", bad: true},
		{in: "/a%E2%88%B6%E2%88%B6$DATA/b", bad: true},
		{in: "/admin%D6%89x/secret", bad: true}, // Armenian full stop: a colon by best fit
		{in: "/wiki/Talk:Main", clean: "/wiki/Talk:Main", decoded: "/wiki/Talk:Main"},
		{in: "/admin%C2%A5/", bad: true}, // yen: a backslash in Japanese code pages
		{in: "/admin%E2%82%A9/", bad: true},
		{in: "/a%25%32%46", bad: true},
		{in: "/a%25%32%65%25%32%65/b", bad: true},
		{in: "/a%252%65", bad: true},
		{in: "/100%25", clean: "/100%25", decoded: "/100%"},
		{in: "/100%25zz", clean: "/100%25zz", decoded: "/100%zz"},
		{in: "/a%255c", bad: true},
		{in: "/a%2500", bad: true},
		{in: "/a;jsessionid=1", clean: "/a;jsessionid=1", decoded: "/a;jsessionid=1"},
		{in: "/a.b/.c/..d", clean: "/a.b/.c/..d", decoded: "/a.b/.c/..d"},
		{in: "", bad: true},
		{in: "*", bad: true},
		{in: "a/b", bad: true},
		{in: "/a/../b", bad: true},
		{in: "/a/./b", bad: true},
		{in: "/a/..", bad: true},
		{in: "/a/%2e%2e/b", bad: true},
		{in: "/a/%2E./b", bad: true},
		{in: "/a/.%2e", bad: true},
		{in: "/a/%2e", bad: true},
		{in: "/a/..;x/b", bad: true},
		{in: "/a/.;x/b", bad: true},
		{in: "/a%2fb", bad: true},
		{in: "/a%2Fb", bad: true},
		{in: "/a%5cb", bad: true},
		{in: "/a\\b", bad: true},
		{in: "/a%00b", bad: true},
		{in: "/a%0ab", bad: true},
		{in: "/a%7fb", bad: true},
		{in: "/a%23b", bad: true},
		{in: "/a%3fb", bad: true},
		{in: "/a%3Bb", bad: true},
		{in: "/a%zz", bad: true},
		{in: "/a%2", bad: true},
		{in: "/public/..%252Fadmin/", bad: true},
		{in: "/a/x%2ey", bad: true},
		{in: "/a/..%41", bad: true},
		{in: "/a/..;", bad: true},
		{in: "/files/report..pdf", clean: "/files/report..pdf", decoded: "/files/report..pdf"},
	}
	for _, tt := range tests {
		clean, dec, err := normalizePath(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("normalizePath(%q): got %q, want an error", tt.in, clean)
			}
			continue
		}
		if err != nil || clean != tt.clean || dec != tt.decoded {
			t.Errorf("normalizePath(%q): got %q, %q, %v; want %q, %q", tt.in, clean, dec, err,
				tt.clean, tt.decoded)
		}
	}
}

func TestUnderPrefix(t *testing.T) {
	tests := []struct {
		path, prefix string
		want, fold   bool // underPrefix, underPrefixFold
	}{
		{"/admin", "/admin/", true, true},
		{"/admin/", "/admin/", true, true},
		{"/admin/x", "/admin/", true, true},
		{"/administrator", "/admin/", false, false},
		{"/administrator", "/admin", false, false},
		{"/admin/x", "/admin", true, true},
		{"/x", "/", true, true},
		{"/", "/", true, true},
		{"/adm", "/admin", false, false},
		{"/ADMIN/x", "/admin/", false, true},
		{"/Admin", "/admin/", false, true},
		{"/ADMINISTRATOR", "/admin/", false, false},
		{"/admın/", "/admin/", false, true},  // dotless i reads I in upper case
		{"/\u212aey/", "/key/", false, true}, // the kelvin sign folds to k
		{"/ſtatic/", "/static/", false, true},
		{"/straße/", "/STRASSE/", false, false}, // no one-letter fold
		{"/x\xffy/", "/x\xfdy/", false, false},
		{"/Ä/", "/ä/", false, true},
		{"/", "/a/", false, false},
	}
	for _, tt := range tests {
		if got := underPrefix(tt.path, tt.prefix); got != tt.want {
			t.Errorf("underPrefix(%q, %q): got %v, want %v", tt.path, tt.prefix, got, tt.want)
		}
		if got := underPrefixFold(tt.path, tt.prefix); got != tt.fold {
			t.Errorf("underPrefixFold(%q, %q): got %v, want %v", tt.path, tt.prefix, got,
				tt.fold)
		}
	}
}

// pathEnv is a handler for the path fuzz target: route / with public /public/, route
// /admin/ for admins with public /admin/assets/, and route /app/ with its prefix
// stripped and public /app/static/, each to its own upstream host. Its transport
// answers in memory and writes down what each upstream was sent.
type pathEnv struct {
	h   *Handler
	bob string // session cookie value of bob, an admin
}

// Upstream hosts of pathEnv's routes.
const (
	rootUpstream  = "root.test"
	adminUpstream = "admin.test"
	appUpstream   = "app.test"
)

func newPathEnv(t testing.TB) *pathEnv {
	t.Helper()
	dir := t.TempDir()
	hash, err := password.Generate("bob-password", password.Argon2Params{Memory: 64,
		Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	if err != nil {
		t.Fatal(err)
	}
	users := fmt.Sprintf("users:\n  bob:\n    password: %q\n    groups: [admins]\n", hash)
	if err := os.WriteFile(filepath.Join(dir, "users.yaml"), []byte(users), 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := `users:
  file: users.yaml
session:
  secrets: ["0123456789abcdef0123456789abcdef"]
routes:
  - path: /
    upstream: "http://` + rootUpstream + `"
    public: ["/public/"]
  - path: /admin/
    upstream: "http://` + adminUpstream + `"
    public: ["/admin/assets/"]
    allow:
      groups: [admins]
  - path: /app/
    upstream: "http://` + appUpstream + `"
    strip_prefix: true
    public: ["/app/static/"]
`
	cfg, err := config.Parse([]byte(yaml), filepath.Join(dir, "gateway.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	store, err := authn.OpenFileStore(cfg.Users.File, nil)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := session.DeriveKeys([][]byte{[]byte(cfg.Session.Secrets[0])})
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := session.NewManager(session.Options{Store: session.NewMemory(), Keys: keys,
		IdleTimeout: cfg.Session.IdleTimeout, Lifetime: cfg.Session.Lifetime})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Options{Config: cfg, Auth: authn.NewAuthenticator(store, 0),
		Sessions: mgr, Transport: sentTransport{}})
	if err != nil {
		t.Fatal(err)
	}
	_, bob, err := mgr.Create(context.Background(), session.Login{User: "bob",
		Backend: authn.Backend, PasswordHash: store.Lookup("bob").Binding()})
	if err != nil {
		t.Fatal(err)
	}
	return &pathEnv{h: h, bob: bob}
}

// sent is what an upstream was sent: its host, and the path as it went on the wire.
type sent struct{ host, path string }

type sentKey struct{}

// sentTransport answers every request in memory, noting it in the *sent that the
// request's context carries.
type sentTransport struct{}

func (sentTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if s, ok := r.Context().Value(sentKey{}).(*sent); ok {
		s.host, s.path = r.URL.Host, r.URL.EscapedPath()
	}
	return &http.Response{StatusCode: http.StatusOK, ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: http.NoBody, Request: r}, nil
}

// send serves a GET for the request target as a server would hand it to the handler,
// with the session cookie value if any, and returns what the upstream was sent, or nil.
func (e *pathEnv) send(target, cookie string) *sent {
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil // the server answers 400 itself
	}
	s := &sent{}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.URL, r.RequestURI, r.Host = u, target, "gw.example.test"
	r.Header.Set("Accept", "text/html")
	if cookie != "" {
		r.Header.Set("Cookie", session.CookieName+"="+cookie)
	}
	e.h.ServeHTTP(httptest.NewRecorder(), r.WithContext(
		context.WithValue(r.Context(), sentKey{}, s)))
	if s.host == "" {
		return nil
	}
	return s
}

// upstreamReadings are the paths that servers make of an escaped path: as servers that
// match before decoding read it, with only unreserved characters decoded (RFC 3986
// makes "%70" and "p" the same); decoded once; with dot segments resolved and
// slashes merged; without ";parameters" (Tomcat, Jetty); with backslashes as slashes
// (IIS); compatibility-normalized (NFKC); and decoded twice.
func upstreamReadings(escaped string) ([]string, error) {
	dec, err := url.PathUnescape(escaped)
	if err != nil {
		return nil, err
	}
	var params []string
	for _, seg := range strings.Split(dec, "/") {
		name, _, _ := strings.Cut(seg, ";")
		params = append(params, name)
	}
	out := []string{plainUnreserved(escaped), dec, resolve(dec), resolve(strings.Join(params, "/")),
		resolve(strings.ReplaceAll(dec, "\\", "/")), resolve(norm.NFKC.String(dec))}
	if twice, err := url.PathUnescape(dec); err == nil {
		out = append(out, resolve(twice))
	}
	return out, nil
}

// frontControllerReadings returns what a PHP front controller reads a decoded path as:
// the path after its script, from the app's root and from the script's folder. Such a
// path is served by the route it names, judged by the rules of these readings' routes
// too, so a user those rules let in may have it forwarded to another route's upstream.
func frontControllerReadings(dec string) []string {
	segs := strings.Split(dec, "/")
	for i := 1; i < len(segs)-1; i++ {
		if phpScript.MatchString(segs[i]) {
			info := "/" + strings.Join(segs[i+1:], "/")
			return []string{resolve(info), resolve(strings.Join(segs[:i], "/") + info)}
		}
	}
	return nil
}

// phpScript matches a path segment that PHP setups run as a script.
var phpScript = regexp.MustCompile(`(?i)^.+?\.(php[3-8]?|phtml|phar|pht)(\..*)?$`)

// plainUnreserved decodes the percent-encoded letters, digits, "-", ".", "_" and "~" of an
// escaped path, and leaves every other escape as it is.
func plainUnreserved(escaped string) string {
	var b strings.Builder
	for i := 0; i < len(escaped); i++ {
		if escaped[i] == '%' && i+2 < len(escaped) {
			if c, err := strconv.ParseUint(escaped[i+1:i+3], 16, 8); err == nil &&
				(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
					strings.IndexByte("-._~", byte(c)) >= 0) {
				b.WriteByte(byte(c))
				i += 2
				continue
			}
		}
		b.WriteByte(escaped[i])
	}
	return b.String()
}

// resolve resolves dot segments and merges slashes, as path.Clean does, keeping a
// trailing slash.
func resolve(p string) string {
	c := path.Clean("/" + p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

// within reports whether p is prefix or below it, by whole segments.
func within(p, prefix string) bool {
	prefix = strings.TrimSuffix(prefix, "/")
	return p == prefix || strings.HasPrefix(p, prefix+"/")
}

// TestPathEnvForwards checks that the fuzz target's handler forwards what it should, so
// that the fuzz target's checks are not vacuously met by a handler that forwards nothing.
func TestPathEnvForwards(t *testing.T) {
	e := newPathEnv(t)
	for _, tt := range []struct {
		target   string
		signedIn bool
		want     *sent // nil: nothing forwarded
	}{
		{"/public/x", false, &sent{rootUpstream, "/public/x"}},
		{"/public//a;b", false, &sent{rootUpstream, "/public/a;b"}},
		{"/private", false, nil},
		{"/private", true, &sent{rootUpstream, "/private"}},
		{"/admin/assets/a.css", false, &sent{adminUpstream, "/admin/assets/a.css"}},
		{"/admin/x", false, nil},
		{"/admin/x", true, &sent{adminUpstream, "/admin/x"}},
		{"/app/static/a", false, &sent{appUpstream, "/static/a"}},
		{"/app/x", true, &sent{appUpstream, "/x"}},
		{"/public/../admin/", true, nil},
	} {
		cookie := ""
		if tt.signedIn {
			cookie = e.bob
		}
		got := e.send(tt.target, cookie)
		if (got == nil) != (tt.want == nil) || got != nil && *got != *tt.want {
			t.Errorf("%q signed in %v: got %+v, want %+v", tt.target, tt.signedIn, got,
				tt.want)
		}
	}
}

// FuzzNormalizePath checks that, for any request target, the rules and the upstream
// agree on the path. A request the handler forwards without a session was judged
// public, so every server's reading of the path the upstream was sent must lie under
// that route's public prefix; a request bob, an admin, sends must reach the route of
// every reading. An accepted path's upstream form decodes to the form the rules judge.
func FuzzNormalizePath(f *testing.F) {
	for _, s := range []string{
		"/", "/public/../admin/", "/public/%2e%2e/admin", "/a//b", "/a;b/c", "/a%2fb",
		"/public/..;/admin/", "/%252e", "/a/b/", "/public;x/../admin", "/public/x",
		"/public//../admin/", "/public/%252e%252e/admin/", "/public/..%2fadmin",
		"/public/%c0%ae%c0%ae/admin", "/public/\uff0e\uff0e/admin", "/public/x%5c..%5cadmin",
		"/admin/assets/a", "/admin/assets/../x", "/admin/assets;/../x", "/;x/admin/",
		"/app/static/a", "/app/static/../secret", "/app/static%2f..%2fsecret", "/app/x",
		"//public/../admin", "/public/;/../admin", "/public", "/publicx", "/.gateway/login",
		"/public/%25", "/public/%2541dmin", "http://gw.example.test/public/../admin",
		"/public/\u2215..\u2215admin", "/public/..\\admin", "/admin./", "/app",
		"/public/x\\..\\admin", "//admin/x", "/public/.", "/public/admin./",
		"/admin%2fx", "/public%2fx", "/public%5cx", "/%70ublic/x", "/%61dmin/x",
		"/app/.gateway/x", "/public/%25%32%65%25%32%65/admin/", "/public/%252%65",
		"/app/static/index.php/secret", "/app/static/index.php/public/x",
		"/public/x.phtml/admin/", "/public/a.php.txt/x",
	} {
		f.Add(s)
	}
	e := newPathEnv(f)
	f.Fuzz(func(t *testing.T, target string) {
		if clean, dec, err := normalizePath(target); err == nil {
			got, err := url.PathUnescape(clean)
			if err != nil || got != dec {
				t.Fatalf("%q: upstream form %q decodes to %q (%v), rules judged %q",
					target, clean, got, err, dec)
			}
			// an app that decodes twice reads no other path than the rules judged
			if twice, err := url.PathUnescape(dec); err == nil && twice != dec {
				t.Fatalf("%q: judged as %q, which decodes again to %q", target, dec, twice)
			}
		}
		for _, who := range []struct{ name, cookie string }{{"anonymous", ""},
			{"bob", e.bob}} {
			s := e.send(target, who.cookie)
			if s == nil {
				continue
			}
			readings, err := upstreamReadings(s.path)
			if err != nil {
				t.Fatalf("%s %q: %s was sent %q, which does not decode: %v",
					who.name, target, s.host, s.path, err)
			}
			if who.cookie == "" {
				for _, p := range readings {
					readings = append(readings, frontControllerReadings(p)...)
				}
			}
			for _, p := range readings {
				if msg := pathDisagrees(s.host, p, who.cookie != ""); msg != "" {
					t.Fatalf("%s %q: %s was sent %q, read as %q: %s",
						who.name, target, s.host, s.path, p, msg)
				}
			}
		}
	})
}

// pathDisagrees says how a reading p of the path sent to upstream host contradicts the
// rules that let it through, or returns "". signedIn tells whether the request came
// with bob's session; without one, only public paths are forwarded.
func pathDisagrees(host, p string, signedIn bool) string {
	switch {
	case host != appUpstream && within(p, Prefix): // /app/ strips its own prefix
		return "the gateway's own pages are never forwarded"
	case host == rootUpstream && within(p, "/admin/"):
		return "route / forwarded a path of route /admin/"
	case host == rootUpstream && within(p, "/app/"):
		return "route / forwarded a path of route /app/"
	case host == rootUpstream && !signedIn && !within(p, "/public/"):
		return "forwarded without a session outside /public/"
	case host == adminUpstream && !within(p, "/admin/"):
		return "route /admin/ forwarded a path outside it"
	case host == adminUpstream && !signedIn && !within(p, "/admin/assets/"):
		return "forwarded without a session outside /admin/assets/"
	case host == appUpstream && !signedIn && !within(p, "/static/"):
		return "route /app/ forwarded without a session outside /app/static/"
	}
	return ""
}

// TestFrameworkReadings: the paths Rails, Spring and PHP front controllers serve a
// request's path as.
func TestFrameworkReadings(t *testing.T) {
	for _, tt := range []struct{ path, format, root, folder string }{
		{"/admin.json", "/admin", "/admin.json", "/admin.json"},
		{"/admin/users.tar.gz", "/admin/users", "/admin/users.tar.gz", "/admin/users.tar.gz"},
		{"/admin/", "/admin/", "/admin/", "/admin/"},
		{"/admin.json/", "/admin", "/admin.json/", "/admin.json/"},
		{"/a/users.json//", "/a/users", "/a/users.json//", "/a/users.json//"},
		{"/a.b/c", "/a.b/c", "/a.b/c", "/a.b/c"},
		{"/.well-known", "/.well-known", "/.well-known", "/.well-known"},
		{"/", "/", "/", "/"},
		{"/index.php/admin/", "/index.php/admin/", "/admin/", "/admin/"},
		{"/blog/Index.PHP/admin.json", "/blog/Index.PHP/admin", "/admin.json",
			"/blog/admin.json"},
		{"/app2/index.php/secret/x", "/app2/index.php/secret/x", "/secret/x",
			"/app2/secret/x"},
		{"/a/b/c.php/", "/a/b/c", "/", "/a/b/"},
		{"/index.php", "/index", "/index.php", "/index.php"},
		{"/.php/admin/", "/.php/admin/", "/.php/admin/", "/.php/admin/"},
		{"/a.php5/admin/", "/a.php5/admin/", "/admin/", "/admin/"},
		{"/p/x.phtml/admin", "/p/x.phtml/admin", "/admin", "/p/admin"},
		{"/p/x.PHAR/admin", "/p/x.PHAR/admin", "/admin", "/p/admin"},
		{"/p/x.Pht/admin", "/p/x.Pht/admin", "/admin", "/p/admin"},
		{"/p/x.php.txt/admin", "/p/x.php.txt/admin", "/admin", "/p/admin"}, // AddHandler
		{"/p/x.tar.php8/a", "/p/x.tar.php8/a", "/a", "/p/a"},
		{"/p/x.PHP6/a", "/p/x.PHP6/a", "/a", "/p/a"},
		{"/p/x.phpx/admin", "/p/x.phpx/admin", "/p/x.phpx/admin", "/p/x.phpx/admin"},
		{"/p/x.php9/admin", "/p/x.php9/admin", "/p/x.php9/admin", "/p/x.php9/admin"},
		{"/p/x.ph/admin", "/p/x.ph/admin", "/p/x.ph/admin", "/p/x.ph/admin"},
		{"/p/php.x/admin", "/p/php.x/admin", "/p/php.x/admin", "/p/php.x/admin"},
		{"/x.php/y.php/z", "/x.php/y.php/z", "/y.php/z", "/y.php/z"},
		{"/d/x.php/y.php/z", "/d/x.php/y.php/z", "/y.php/z", "/d/y.php/z"},
	} {
		if got := formatReading(tt.path); got != tt.format {
			t.Errorf("formatReading(%q) = %q, want %q", tt.path, got, tt.format)
		}
		root, folder := pathInfoReadings(tt.path)
		if root != tt.root || folder != tt.folder {
			t.Errorf("pathInfoReadings(%q) = %q, %q, want %q, %q", tt.path, root, folder,
				tt.root, tt.folder)
		}
	}
}
