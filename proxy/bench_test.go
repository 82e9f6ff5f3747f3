package proxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/frontgate/gateway/authn"
	"github.com/frontgate/gateway/authn/password"
	"github.com/frontgate/gateway/authn/session"
	"github.com/frontgate/gateway/config"
)

// The per-request hot path of a signed-in GET, measured together and apart. Run with
//
//	go test -run '^$' -bench . -benchmem ./proxy
//
// BenchmarkHotPath puts the gateway beside a bare httputil.ReverseProxy over the same
// in-memory upstream, so that allocs/op and ns/op compare directly; the others time
// the parts: cookie decode, session lookup, rule match and header rewrite.

// benchBody is what the in-memory upstream answers.
var benchBody = bytes.Repeat([]byte("0123456789"), 10)

// memUpstream answers every request at once with benchBody, without a network, so that
// a benchmark measures the proxy and not the loopback.
type memUpstream struct{}

func (memUpstream) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		r.Body.Close()
	}
	return &http.Response{
		StatusCode:    http.StatusOK,
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"text/plain"}},
		Body:          io.NopCloser(bytes.NewReader(benchBody)),
		ContentLength: int64(len(benchBody)),
		Request:       r,
	}, nil
}

// benchEnv is a gateway with a memory store and one signed-in session.
type benchEnv struct {
	h      *Handler
	cookie string // the session cookie's value
	user   *authn.User
}

func newBenchEnv(b testing.TB) *benchEnv {
	b.Helper()
	dir := b.TempDir()
	hash, err := password.Generate("bench-password", password.Argon2Params{Memory: 64,
		Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	if err != nil {
		b.Fatal(err)
	}
	users := fmt.Sprintf("users:\n  alice:\n    password: %q\n    email: alice@example.test\n"+
		"    groups: [staff, admins]\n", hash)
	if err := os.WriteFile(filepath.Join(dir, "users.yaml"), []byte(users), 0o600); err != nil {
		b.Fatal(err)
	}
	yaml := `listen: "127.0.0.1:0"
users:
  file: users.yaml
session:
  secrets: ["0123456789abcdef0123456789abcdef"]
  store: memory
routes:
  - path: /
    upstream: "http://127.0.0.1:9"
    public: ["/public/"]
  - path: /admin/
    upstream: "http://127.0.0.1:9"
    allow:
      groups: [admins]
`
	cfg, err := config.Parse([]byte(yaml), filepath.Join(dir, "gateway.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	store, err := authn.OpenFileStore(cfg.Users.File, nil)
	if err != nil {
		b.Fatal(err)
	}
	keys, err := session.DeriveKeys([][]byte{[]byte(cfg.Session.Secrets[0])})
	if err != nil {
		b.Fatal(err)
	}
	mgr, err := session.NewManager(session.Options{Store: session.NewMemory(), Keys: keys,
		IdleTimeout: cfg.Session.IdleTimeout, Lifetime: cfg.Session.Lifetime})
	if err != nil {
		b.Fatal(err)
	}
	h, err := New(Options{Config: cfg, Auth: authn.NewAuthenticator(store, 0),
		Sessions: mgr, Transport: memUpstream{}})
	if err != nil {
		b.Fatal(err)
	}
	u := store.Lookup("alice")
	_, v, err := mgr.Create(context.Background(), session.Login{User: "alice",
		Backend: authn.Backend, PasswordHash: u.Binding()})
	if err != nil {
		b.Fatal(err)
	}
	return &benchEnv{h: h, cookie: v, user: u}
}

// benchRequest is a browser's signed-in GET, with the headers a browser sends.
func benchRequest(tb testing.TB, cookie string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://app.example.test/admin/report?id=7", nil)
	r.RemoteAddr = "192.0.2.10:51234"
	r.Header.Set("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")
	r.Header.Set("Accept-Encoding", "gzip, deflate, br")
	r.Header.Set("Accept-Language", "en-GB,en;q=0.9")
	r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0")
	r.Header.Set("Cookie", "theme=dark; "+session.CookieName+"="+cookie+"; lang=en")
	// the server's requests carry a context that ends when the client goes away
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	return r.WithContext(ctx)
}

// discardWriter is a ResponseWriter that keeps nothing but its headers, reused across
// iterations.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

// SetReadDeadline and SetWriteDeadline stand in for a connection's, which the handler
// pushes forward as a body moves.
func (w *discardWriter) SetReadDeadline(time.Time) error  { return nil }
func (w *discardWriter) SetWriteDeadline(time.Time) error { return nil }

func (w *discardWriter) reset() {
	clear(w.h)
	w.code = 0
}

// maxExtraAllocs is how many allocations a signed-in GET may make beyond what a bare
// httputil.ReverseProxy makes for the same request.
const maxExtraAllocs = 40

// TestHotPathAllocates counts the allocations of a signed-in GET through the gateway and
// through a bare proxy. The race detector's pools drop items, so it runs without it;
// CI runs the allocation tests again without -race.
func TestHotPathAllocates(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts mean nothing under the race detector")
	}
	e := newBenchEnv(t)
	count := func(h http.Handler) float64 {
		w := &discardWriter{h: http.Header{}}
		r := benchRequest(t, e.cookie)
		hdr := r.Header.Clone()
		serve := func() {
			w.reset()
			r.Header = hdr.Clone()
			h.ServeHTTP(w, r)
		}
		serve()
		if w.code != http.StatusOK {
			t.Fatalf("status %d, want 200", w.code)
		}
		return testing.AllocsPerRun(200, serve)
	}
	bare, gw := count(newBare()), count(e.h)
	t.Logf("allocations per request: bare proxy %.0f, gateway %.0f", bare, gw)
	if gw-bare > maxExtraAllocs {
		t.Errorf("the gateway allocates %.0f times per request, %.0f more than a bare "+
			"proxy; want at most %d more", gw, gw-bare, maxExtraAllocs)
	}
}

// newBare returns a bare httputil.ReverseProxy over memUpstream.
func newBare() *httputil.ReverseProxy {
	target, _ := url.Parse("http://127.0.0.1:9")
	return &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
		Transport: memUpstream{},
	}
}

// BenchmarkHotPath serves a signed-in GET through the gateway and the same GET through a
// bare httputil.ReverseProxy, both over memUpstream.
func BenchmarkHotPath(b *testing.B) {
	e := newBenchEnv(b)
	bare := newBare()
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"bare", bare}, {"gateway", e.h}} {
		b.Run(c.name, func(b *testing.B) {
			w := &discardWriter{h: http.Header{}}
			r := benchRequest(b, e.cookie)
			hdr := r.Header.Clone()
			for b.Loop() {
				w.reset()
				r.Header = hdr.Clone()
				c.h.ServeHTTP(w, r)
				if w.code != http.StatusOK {
					b.Fatalf("status %d, want 200", w.code)
				}
			}
		})
	}
}

// BenchmarkCookieDecode opens the session cookie's value.
func BenchmarkCookieDecode(b *testing.B) {
	e := newBenchEnv(b)
	codec := e.h.sessions.Keys().Codec(session.CookieName, 0)
	for b.Loop() {
		if _, _, err := codec.Decode(e.cookie); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSessionLookup finds the session from the request, as identify does: the
// cookie read from the header, decoded, looked up, checked against the user, renewed.
func BenchmarkSessionLookup(b *testing.B) {
	e := newBenchEnv(b)
	r := benchRequest(b, e.cookie)
	w := &discardWriter{h: http.Header{}}
	for b.Loop() {
		if _, u, err := e.h.identify(w, r); err != nil || u == nil {
			b.Fatalf("identify: user %v, error %v", u, err)
		}
	}
}

// BenchmarkRuleMatch normalises the path, picks the route and applies its rule.
func BenchmarkRuleMatch(b *testing.B) {
	e := newBenchEnv(b)
	for b.Loop() {
		_, decoded, err := normalizePath("/admin/report")
		if err != nil {
			b.Fatal(err)
		}
		gw, rt, public, ok := e.h.decide("app.example.test", decoded)
		if gw || rt == nil || public || !ok || !rt.allows(e.user, http.MethodGet, "") {
			b.Fatal("the admin route does not let alice pass")
		}
	}
}

// BenchmarkHeaderRewrite builds the upstream request's headers: client identity claims
// stripped, the gateway's cookie cut out, forwarding headers and identity set.
func BenchmarkHeaderRewrite(b *testing.B) {
	e := newBenchEnv(b)
	rt := e.h.routes[0]
	in := benchRequest(b, e.cookie)
	st := &state{route: rt, user: e.user, path: "/admin/report", dpath: "/admin/report"}
	in = in.WithContext(context.WithValue(in.Context(), stateKey{}, st))
	hdr := in.Header
	for b.Loop() {
		out := in.Clone(in.Context())
		out.Header = hdr.Clone()
		e.h.rewrite(rt, &httputil.ProxyRequest{In: in, Out: out})
		if out.Header.Get("X-Forwarded-User") != "alice" {
			b.Fatal("no identity on the upstream request")
		}
	}
}
