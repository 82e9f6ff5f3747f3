package proxy_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/frontgate/gateway/authn/session"
	"github.com/frontgate/gateway/proxy"
)

func sessionCookie(r resp) string {
	for _, c := range r.Header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "gateway_session=") {
			return c
		}
	}
	return ""
}

func TestRememberMe(t *testing.T) {
	e := newEnv(t, "")
	b := e.browser()
	form := b.get("/.gateway/login")
	if !strings.Contains(form.body, `name="remember"`) {
		t.Fatal("no Remember me box on the sign-in form")
	}
	r := b.post("/.gateway/login", url.Values{"username": {"alice"}, "password": {alicePass},
		"remember": {"1"}, "csrf_token": {field(t, csrfRe, form.body)}})
	if c := sessionCookie(r); !strings.Contains(c, "Max-Age=2592000") {
		t.Errorf("remembered session cookie %q, want Max-Age=2592000 (30 days)", c)
	}

	// What a box without a value sends, and the usual ways of saying yes, are a yes;
	// a script's way of saying no, or anything else, a no: the shorter session.
	for v, want := range map[string]bool{"on": true, "ON": true, "true": true, "yes": true,
		"0": false, "false": false, "off": false, "no": false, "": false, "x": false} {
		b := e.browser()
		form := b.get("/.gateway/login")
		r := b.post("/.gateway/login", url.Values{"username": {"alice"},
			"password": {alicePass}, "remember": {v},
			"csrf_token": {field(t, csrfRe, form.body)}})
		c := sessionCookie(r)
		if got := strings.Contains(c, "Max-Age=2592000"); c == "" || got != want {
			t.Errorf("remember=%q: session cookie %q, want remembered %v", v, c, want)
		}
	}

	// Without the box ticked, a browser-session cookie.
	b2 := e.browser()
	if c := sessionCookie(b2.login("alice", alicePass, "/")); c == "" ||
		strings.Contains(c, "Max-Age") {
		t.Errorf("plain session cookie %q, want one without Max-Age", c)
	}
}

func TestRememberMeOff(t *testing.T) {
	dir := t.TempDir()
	up := newEcho(t)
	e := newEnvFromYAML(t, up, dir, "session:\n  secrets: [\""+secret+"\"]\n"+
		"  remember_me: false\n  cookie_domain: example.test\n")
	b := e.browser()
	form := b.get("/.gateway/login")
	if strings.Contains(form.body, `name="remember"`) {
		t.Error("Remember me box shown with remember_me: false")
	}
	r := b.post("/.gateway/login", url.Values{"username": {"alice"}, "password": {alicePass},
		"remember": {"1"}, "csrf_token": {field(t, csrfRe, form.body)}})
	c := sessionCookie(r)
	if strings.Contains(c, "Max-Age") {
		t.Errorf("session cookie %q has a Max-Age with remember_me off", c)
	}
	// 127.0.0.1 is outside the cookie domain: a host-only cookie, or the browser would
	// drop it and never stay signed in.
	if strings.Contains(c, "Domain=") {
		t.Errorf("session cookie %q for 127.0.0.1 has a Domain", c)
	}
	// A host inside the domain gets exactly the configured Domain, when set and cleared.
	d := e.from(t, "192.0.2.1")
	res := d.login("alice", alicePass)
	if got := res.Header.Get("Set-Cookie"); !strings.Contains(got, "Domain=example.test;") {
		t.Errorf("session cookie for gw.example.test: %q, want Domain=example.test", got)
	}
	token := field(t, csrfRe, readAll(d.do("GET", "/.gateway/logout", nil)))
	out := d.do("POST", "/.gateway/logout", url.Values{"csrf_token": {token}})
	cleared := ""
	for _, sc := range out.Header.Values("Set-Cookie") {
		if strings.HasPrefix(sc, "gateway_session=;") {
			cleared = sc
		}
	}
	if !strings.Contains(cleared, "Domain=example.test;") {
		t.Errorf("sign-out cleared the cookie with %q, want the same Domain", cleared)
	}
}

// flaky is a session store that can be made to fail, as an unreachable one does, or to
// fail its writes only, as one on a full disk does.
type flaky struct {
	session.Store
	down, full atomic.Bool
}

// writeFails reports whether a write is to fail now.
func (f *flaky) writeFails() bool { return f.down.Load() || f.full.Load() }

func (f *flaky) Touch(ctx context.Context, k string, seen time.Time, d time.Duration) error {
	if f.writeFails() {
		return errDown
	}
	return f.Store.Touch(ctx, k, seen, d)
}

func (f *flaky) Replace(ctx context.Context, k string, s *session.Session,
	d time.Duration) error {
	if f.writeFails() {
		return errDown
	}
	return f.Store.Replace(ctx, k, s, d)
}

var errDown = errors.New("store unreachable")

func (f *flaky) Get(ctx context.Context, k string) (*session.Session, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.Store.Get(ctx, k)
}

func (f *flaky) Put(ctx context.Context, k string, s *session.Session, d time.Duration) error {
	if f.writeFails() {
		return errDown
	}
	return f.Store.Put(ctx, k, s, d)
}

func (f *flaky) Delete(ctx context.Context, k string) error {
	if f.writeFails() {
		return errDown
	}
	return f.Store.Delete(ctx, k)
}

// newFlakyEnv is a gateway in front of an echo upstream whose session store can be
// made to fail, and the gateway's log.
func newFlakyEnv(t *testing.T) (e *env, store *flaky, logs *secLog) {
	t.Helper()
	up := newEcho(t)
	store, logs = &flaky{Store: session.NewMemory()}, &secLog{}
	e = newEnvByHand(t, up, "  idle_timeout: 1h\n  lifetime: 2h\nroutes:\n"+
		"  - upstream: \""+up.URL+"\"\n    public: [/public/]\n",
		handParts{store: store, log: slog.New(slog.NewJSONHandler(logs, nil))})
	return e, store, logs
}

func TestStoreDownFailsClosed(t *testing.T) {
	e, store, logs := newFlakyEnv(t)
	up := e.up
	alice := e.session("alice", alicePass)

	store.down.Store(true)
	before := up.count()
	r := e.raw("GET", "/app/", alice, http.Header{"Accept": {"text/html"}})
	if r.StatusCode != http.StatusServiceUnavailable || up.count() != before {
		t.Errorf("protected path, store down: status %d; want 503 and not forwarded",
			r.StatusCode)
	}
	r = e.raw("GET", "/public/x", alice, nil)
	if r.StatusCode != 200 || up.last(t).Header.Get("X-Forwarded-User") != "" {
		t.Errorf("public path, store down: status %d user %q; want 200, anonymous",
			r.StatusCode, up.last(t).Header.Get("X-Forwarded-User"))
	}
	if r := e.browser().login("alice", alicePass, "/"); r.StatusCode !=
		http.StatusServiceUnavailable {
		t.Errorf("sign-in, store down: status %d, want 503", r.StatusCode)
	}

	for range 20 {
		e.raw("GET", "/app/", alice, nil)
	}

	// The log says what failed, once for all the requests that found it so within
	// 10 s, and nothing about a recovery yet.
	down, back := storeRecords(logs.records())
	if len(down) != 1 {
		t.Fatalf("store down: %d %q records, want 1; log:\n%s", len(down), msgStoreDown,
			logs.b.String())
	}
	for _, rec := range down {
		if rec["level"] != "ERROR" ||
			!strings.Contains(fmt.Sprint(rec["error"]), errDown.Error()) {
			t.Errorf("store down: record %v, want level ERROR and error %q", rec, errDown)
		}
	}
	if len(back) != 0 {
		t.Errorf("store still down: got %v, want no %q record", back, msgStoreBack)
	}

	store.down.Store(false)
	for range 2 {
		if r := e.raw("GET", "/app/", alice, nil); r.StatusCode != 200 {
			t.Errorf("store back: status %d, want 200 with the same session", r.StatusCode)
		}
	}
	// The recovery is logged once, however many requests find the store working, with
	// the failures held back since the one record of them: the 21 reads of alice's
	// session that came after it, protected and public.
	downAfter, back := storeRecords(logs.records())
	if len(back) == 1 && back[0]["suppressed"] != 21.0 {
		t.Errorf("store back: suppressed %v, want 21", back[0]["suppressed"])
	}
	if len(back) != 1 || back[0]["level"] != "INFO" || len(downAfter) != len(down) {
		t.Errorf("store back: got %d %q records (%v) and %d new failures; want one, at "+
			"INFO, and none", len(back), msgStoreBack, back, len(downAfter)-len(down))
	}
}

// TestStoreOutageSeenAtSignIn fails the store only while someone signs in: the failure
// is logged, and so, once, is the store's recovery, which the next sign-in finds.
func TestStoreOutageSeenAtSignIn(t *testing.T) {
	e, store, logs := newFlakyEnv(t)
	store.down.Store(true)
	if r := e.browser().login("alice", alicePass, "/"); r.StatusCode !=
		http.StatusServiceUnavailable {
		t.Fatalf("sign-in, store down: status %d, want 503", r.StatusCode)
	}
	store.down.Store(false)
	for range 2 {
		if r := e.browser().login("alice", alicePass, "/"); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in, store back: status %d, want 303", r.StatusCode)
		}
	}
	failed := 0
	for _, rec := range logs.records() {
		if rec["msg"] == "creating session failed" && rec["level"] == "ERROR" {
			failed++
		}
	}
	if _, back := storeRecords(logs.records()); failed != 1 || len(back) != 1 {
		t.Errorf("got %d failures and %d recoveries logged, want 1 and 1; log:\n%s", failed,
			len(back), logs.b.String())
	}
}

// TestStoreFullIsNotReady: a store that reads but cannot write, as on a full disk, signs
// nobody in; such sign-ins are counted as unavailable, the gateway is not ready, and the
// store is not said to be back until a write works, whatever reads do meanwhile.
func TestStoreFullIsNotReady(t *testing.T) {
	up := newEcho(t)
	store, logs := &flaky{Store: session.NewMemory()}, &secLog{}
	reg := prometheus.NewRegistry()
	e := newEnvByHand(t, up, "  idle_timeout: 1h\n  lifetime: 2h\nroutes:\n"+
		"  - upstream: \""+up.URL+"\"\n    public: [/public/]\n",
		handParts{store: store, log: slog.New(slog.NewJSONHandler(logs, nil)),
			metrics: proxy.NewMetrics(reg)})
	alice := e.session("alice", alicePass)
	ctx := context.Background()

	store.full.Store(true)
	if r := e.browser().login("bob", bobPass, "/"); r.StatusCode !=
		http.StatusServiceUnavailable || r.Header.Get("Retry-After") != "5" {
		t.Errorf("sign-in, store full: status %d, Retry-After %q; want 503, 5", r.StatusCode,
			r.Header.Get("Retry-After"))
	}
	if got := scrapeLines(t, reg, "gateway_sign_ins_total"); !strings.Contains(got,
		`gateway_sign_ins_total{result="unavailable"} 1`) {
		t.Errorf("sign-ins:\n%s\nwant one unavailable", got)
	}
	// alice's session can still be read: she is served, and the store is not back
	for range 2 {
		if r := e.raw("GET", "/app/", alice, nil); r.StatusCode != 200 {
			t.Errorf("signed in, store full: status %d, want 200", r.StatusCode)
		}
	}
	if _, back := storeRecords(logs.records()); len(back) != 0 {
		t.Errorf("store full: %d %q records after reads, want none", len(back), msgStoreBack)
	}
	if err := e.h.Ready(ctx); err == nil {
		t.Error("Ready with the store full: nil, want an error")
	}

	store.full.Store(false)
	if err := e.h.Ready(ctx); err != nil {
		t.Errorf("Ready with the store writable again: %v", err)
	}
	if _, back := storeRecords(logs.records()); len(back) != 1 {
		t.Errorf("store writable again: %d %q records, want 1", len(back), msgStoreBack)
	}
	if r := e.browser().login("bob", bobPass, "/"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("sign-in, store writable again: status %d, want 303", r.StatusCode)
	}
}

const (
	msgStoreDown = "session store unavailable"
	msgStoreBack = "session store available again"
)

// storeRecords returns the log records of the session store failing and coming back.
func storeRecords(recs []map[string]any) (down, back []map[string]any) {
	for _, rec := range recs {
		switch rec["msg"] {
		case msgStoreDown:
			down = append(down, rec)
		case msgStoreBack:
			back = append(back, rec)
		}
	}
	return down, back
}

// TestForgedRecordLogged: a record in the store that no secret sealed, under the key of
// an authentic cookie, is no session, goes from the store, and is told of in the log:
// whoever wrote it can write the session store.
func TestForgedRecordLogged(t *testing.T) {
	e, store, logs := newFlakyEnv(t)
	alice := e.session("alice", alicePass)
	list, err := store.List(context.Background(), "alice")
	if err != nil || len(list) != 1 {
		t.Fatalf("alice's sessions: %v, %v", list, err)
	}
	forged := list[0].Session
	forged.User = "bob"
	store.Put(context.Background(), list[0].Key, &forged, time.Hour)

	if r := e.raw("GET", "/app/", alice, nil); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("with the forged record: status %d, want 401", r.StatusCode)
	}
	if _, err := store.Get(context.Background(), list[0].Key); !errors.Is(err,
		session.ErrNotFound) {
		t.Errorf("the forged record: %v, want it deleted", err)
	}
	var warned int
	for _, rec := range logs.records() {
		if strings.HasPrefix(fmt.Sprint(rec["msg"]), "session record forged") &&
			rec["level"] == "WARN" && rec["client_ip"] == "127.0.0.1" {
			warned++
		}
	}
	if warned != 1 {
		t.Errorf("%d warnings of the forged record, want 1; log:\n%s", warned, logs.b.String())
	}
}
