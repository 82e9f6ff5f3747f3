package proxy_test

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/frontgate/gateway/authn/session"
	"github.com/frontgate/gateway/proxy"
)

// TestAuditNamesOnlyUsers fails sign-ins with a name no user has, as when a password is
// typed into the username field, and with a user's name: the log shows the user's name,
// and for the other only a digest that is the same each time.
func TestAuditNamesOnlyUsers(t *testing.T) {
	e := newSecEnv(t, secOptions{})
	const typo = "Correct-Horse-Battery-9"
	for _, c := range []struct{ user, pass string }{
		{typo, "x"}, {typo, "y"}, {"alice", "wrong"},
	} {
		if r := e.client().login(t, c.user, c.pass, ""); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("sign-in as %s: status %d, want 401", c.user, r.StatusCode)
		}
	}
	var names []string
	for _, rec := range e.logs.records() {
		if rec["msg"] == "sign-in failed" {
			names = append(names, rec["user"].(string))
		}
	}
	if len(names) != 3 {
		t.Fatalf("%d failed sign-ins logged, want 3", len(names))
	}
	if !strings.HasPrefix(names[0], "unknown-") || names[0] != names[1] ||
		names[2] != "alice" {
		t.Errorf("logged users %q; want the same unknown-digest twice, then alice", names)
	}
	e.logs.mu.Lock()
	all := e.logs.b.String()
	e.logs.mu.Unlock()
	if strings.Contains(all, typo) {
		t.Error("the log holds the name no user has")
	}
}

// TestAuditRecordsAndNoSecretsInLogs goes through sign-in, a page with a signed
// assertion, Basic credentials, failed and throttled sign-ins and sign-out. Each audit
// record is in the log by the time its answer arrives, and no password, hash, cookie,
// token or assertion is anywhere in the log.
func TestAuditRecordsAndNoSecretsInLogs(t *testing.T) {
	api := newEcho(t)
	e := newSecEnv(t, secOptions{config: "  - path: /api/\n    upstream: \"" + api.URL +
		"\"\n    basic_auth: true\n  - path: /signed/\n    upstream: \"" + api.URL +
		"\"\n    assertion: true\n"})
	var secrets []string // everything that must never be logged
	logged := func(t *testing.T, msg, user, reason string) {
		t.Helper()
		for _, rec := range e.logs.records() {
			if rec["msg"] == msg && rec["log"] == "audit" && rec["user"] == user &&
				rec["reason"] == reason && rec["level"] == "INFO+2" {
				return
			}
		}
		t.Errorf("no audit record %q for %q (%s) when the answer came", msg, user, reason)
	}

	alice := e.client()
	alice.login(t, "alice", alicePass, "")
	logged(t, "sign-in", "alice", "password")
	secrets = append(secrets, alicePass, alice.session(), alice.cookies["gateway_device"])

	if r := alice.get(t, "/signed/x"); r.StatusCode != http.StatusOK {
		t.Fatalf("assertion route: status %d", r.StatusCode)
	}
	jwt := api.last(t).Header.Get("X-Gateway-Assertion")
	if jwt == "" {
		t.Fatal("no assertion reached the app")
	}
	secrets = append(secrets, jwt)

	basic := base64.StdEncoding.EncodeToString([]byte("bob:" + bobPass))
	if r := e.client().get(t, "/api/x", "Authorization", "Basic "+basic); r.StatusCode != 200 {
		t.Fatalf("Basic credentials: status %d", r.StatusCode)
	}
	logged(t, "sign-in", "bob", "basic")
	secrets = append(secrets, basic, bobPass)

	const wrong = "Wrong-Horse-Battery-Staple-7"
	secrets = append(secrets, wrong)
	c := e.client()
	for i := 0; ; i++ {
		tok := c.form(t)
		secrets = append(secrets, tok, c.cookies["gateway_login"])
		r := c.post(t, proxy.LoginPath, loginBody("alice", wrong, tok, ""))
		if r.StatusCode == http.StatusTooManyRequests {
			logged(t, "sign-in throttled", "alice", "user and address")
			break
		}
		logged(t, "sign-in failed", "alice", "wrong password")
		if i > 50 {
			t.Fatal("never throttled")
		}
	}

	tok := field(t, csrfRe, alice.get(t, "/.gateway/logout").body)
	secrets = append(secrets, tok)
	if r := alice.post(t, "/.gateway/logout", "csrf_token="+url.QueryEscape(tok)); r.StatusCode !=
		http.StatusSeeOther {
		t.Fatalf("sign-out: status %d", r.StatusCode)
	}
	logged(t, "sign-out", "alice", "user")

	// signing out on every device says how many sessions that ended
	bob1, bob2 := e.client(), e.client()
	bob1.login(t, "bob", bobPass, "")
	bob2.login(t, "bob", bobPass, "")
	tok = field(t, csrfRe, bob1.get(t, "/.gateway/logout").body)
	if r := bob1.post(t, "/.gateway/logout", "everywhere=1&csrf_token="+
		url.QueryEscape(tok)); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out everywhere: status %d", r.StatusCode)
	}
	found := false
	for _, rec := range e.logs.records() {
		if rec["msg"] == "sign-out" && rec["user"] == "bob" && rec["everywhere"] == true &&
			rec["count"] == float64(2) {
			found = true
		}
	}
	if !found {
		t.Error("no sign-out record of bob with everywhere=true and count=2")
	}

	users, err := os.ReadFile(e.usersFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`password: "([^"]+)"`).FindAllSubmatch(users, -1) {
		secrets = append(secrets, string(m[1]))
	}
	e.logs.mu.Lock()
	all := e.logs.b.String()
	e.logs.mu.Unlock()
	for _, s := range secrets {
		if s == "" {
			t.Fatal("a secret to look for is empty")
		}
		for _, form := range []string{s, url.QueryEscape(s)} {
			if strings.Contains(all, form) {
				t.Errorf("the log holds %q", form)
			}
		}
	}
}

// TestAuditNamesSessions: the records of a sign-in, its sign-out and a session ended
// by a password change name the session by the id that `gateway sessions list` shows.
func TestAuditNamesSessions(t *testing.T) {
	e := newSecEnv(t, secOptions{})
	ctx := t.Context()
	listed := func() string {
		t.Helper()
		list, err := e.h.Sessions().List(ctx, "alice")
		if err != nil || len(list) != 1 {
			t.Fatalf("sessions of alice: %v, %v; want one", list, err)
		}
		return list[0].Key[:session.ListedIDLength]
	}
	last := func(msg string) any {
		t.Helper()
		recs := e.logs.records()
		for i := len(recs) - 1; i >= 0; i-- {
			if recs[i]["msg"] == msg && recs[i]["log"] == "audit" {
				return recs[i]["session"]
			}
		}
		t.Fatalf("no %q record", msg)
		return nil
	}

	alice := e.client()
	if r := alice.login(t, "alice", alicePass, ""); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: status %d", r.StatusCode)
	}
	first := listed()
	if got := last("sign-in"); got != first {
		t.Errorf("sign-in record names session %v, want %s", got, first)
	}
	tok := field(t, csrfRe, alice.get(t, "/.gateway/logout").body)
	alice.post(t, "/.gateway/logout", "csrf_token="+url.QueryEscape(tok))
	if got := last("sign-out"); got != first {
		t.Errorf("sign-out record names session %v, want %s", got, first)
	}

	if r := alice.login(t, "alice", alicePass, ""); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("second sign-in: status %d", r.StatusCode)
	}
	second := listed()
	if second == first {
		t.Fatal("two sign-ins listed under one id")
	}
	secWriteUsers(t, e.usersFile, []secUser{{name: "alice", pass: "a-new-password-1"}})
	if err := e.h.ReloadUsers(); err != nil {
		t.Fatal(err)
	}
	alice.get(t, "/app/")
	if got := last("session ended"); got != second {
		t.Errorf("session ended record names session %v, want %s", got, second)
	}
}

// TestThrottledRecordsThinned: a client that keeps trying while throttled, as fast as
// it likes, gets one record of it every 10 s, and the next tells how many were held
// back; so does a username spaced out for everyone, tried from everywhere. Every
// throttled attempt is still counted, and every failed one, each the cost of a password
// check, still recorded.
func TestThrottledRecordsThinned(t *testing.T) {
	const tries = 40
	for _, tt := range []struct {
		name   string
		from   func(i int) string // the client address of attempt i
		basic  bool
		reason string // of the throttled records
	}{
		{"one address", func(int) string { return "192.0.2.1" }, false, "user and address"},
		{"one IPv6 /64", func(i int) string { return fmt.Sprintf("2001:db8::%x", i+1) },
			false, "user and address"},
		{"Basic credentials", func(int) string { return "192.0.2.1" }, true,
			"user and address, basic"},
		{"a username from everywhere", func(i int) string {
			return fmt.Sprintf("198.51.%d.1", i)
		}, false, "user"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			up := newEcho(t)
			reg := prometheus.NewRegistry()
			logs := &secLog{}
			e := newEnvByHand(t, up, fmt.Sprintf("trusted_proxies: [\"127.0.0.1/32\"]\n"+
				"routes:\n  - upstream: %q\n  - path: /api/\n    upstream: %[1]q\n"+
				"    basic_auth: true\n", up.URL), handParts{store: session.NewMemory(),
				metrics: proxy.NewMetrics(reg), log: slog.New(slog.NewJSONHandler(logs, nil))})
			e.h.FreezeThrottle(time.Now())
			var mu sync.Mutex
			now := time.Now()
			e.h.ThinAuditAt(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
			b := e.browser()
			attempt := func(i int) int {
				t.Helper()
				if tt.basic {
					req, _ := http.NewRequest("GET", e.gw.URL+"/api/x", nil)
					req.SetBasicAuth("alice", "wrong")
					req.Header.Set("X-Forwarded-For", tt.from(i))
					return b.do(req).StatusCode
				}
				form := b.get(proxy.LoginPath)
				return b.post(proxy.LoginPath, url.Values{"username": {"alice"},
					"password": {"wrong"}, "csrf_token": {field(t, csrfRe, form.body)}},
					"X-Forwarded-For", tt.from(i)).StatusCode
			}
			records := func(msg string) []map[string]any {
				var out []map[string]any
				for _, rec := range logs.records() {
					if rec["msg"] == msg && rec["log"] == "audit" {
						out = append(out, rec)
					}
				}
				return out
			}

			failed, throttled := 0, 0
			for i := range tries {
				switch s := attempt(i); s {
				case http.StatusUnauthorized:
					failed++
				case http.StatusTooManyRequests:
					throttled++
				default:
					t.Fatalf("attempt %d: status %d, want 401 or 429", i, s)
				}
			}
			if throttled < tries/2 {
				t.Fatalf("%d of %d attempts throttled, want most", throttled, tries)
			}
			if n := len(records("sign-in failed")); n != failed {
				t.Errorf("%d failed attempts recorded, want each of %d", n, failed)
			}
			recs := records("sign-in throttled")
			if len(recs) != 1 || recs[0]["reason"] != tt.reason ||
				recs[0]["suppressed"] != 0.0 {
				t.Fatalf("records of %d throttled attempts: %v; want one, for %q, with "+
					"suppressed=0", throttled, recs, tt.reason)
			}
			want := fmt.Sprintf("gateway_sign_ins_total{result=\"throttled\"} %d", throttled)
			if got := scrapeLines(t, reg, "gateway_sign_ins_total"); !strings.Contains(got,
				want) {
				t.Errorf("gateway_sign_ins_total: got\n%s\nwant every attempt, %s", got, want)
			}

			// 10 s on, the next throttled attempt is recorded, and tells of the rest
			mu.Lock()
			now = now.Add(10 * time.Second)
			mu.Unlock()
			if s := attempt(tries); s != http.StatusTooManyRequests {
				t.Fatalf("attempt 10 s on: status %d, want 429", s)
			}
			recs = records("sign-in throttled")
			if len(recs) != 2 || recs[1]["suppressed"] != float64(throttled-1) {
				t.Errorf("records 10 s on: %v; want a second one with suppressed=%d", recs,
					throttled-1)
			}
		})
	}
}

// TestRepeatableRefusalsThinned: a form posted without its token, from another site, or a
// code with no sign-in waiting, costs a client nothing to repeat; each address's records
// of each kind are thinned to one every 10 s, telling how many were held back.
func TestRepeatableRefusalsThinned(t *testing.T) {
	const tries = 20
	for _, tt := range []struct {
		name, path  string
		form        url.Values
		origin      string
		msg, reason string
		status      int
	}{
		{"sign-in without a token", proxy.LoginPath, url.Values{"username": {"alice"},
			"password": {"pw"}}, "", "sign-in refused", "csrf", http.StatusForbidden},
		{"sign-out from another site", proxy.LogoutPath, url.Values{},
			"https://evil.example", "sign-out refused", "cross-origin", http.StatusForbidden},
	} {
		t.Run(tt.name, func(t *testing.T) {
			up := newEcho(t)
			logs := &secLog{}
			e := newEnvByHand(t, up, fmt.Sprintf("trusted_proxies: [\"127.0.0.1/32\"]\n"+
				"routes:\n  - upstream: %q\n", up.URL), handParts{store: session.NewMemory(),
				log: slog.New(slog.NewJSONHandler(logs, nil))})
			var mu sync.Mutex
			now := time.Now()
			e.h.ThinAuditAt(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
			b := e.browser()
			attempt := func(from string) {
				t.Helper()
				hdr := []string{"X-Forwarded-For", from}
				if tt.origin != "" {
					hdr = append(hdr, "Origin", tt.origin)
				}
				if s := b.post(tt.path, tt.form, hdr...).StatusCode; s != tt.status {
					t.Fatalf("status %d, want %d", s, tt.status)
				}
			}
			records := func() []map[string]any {
				var out []map[string]any
				for _, rec := range logs.records() {
					if rec["msg"] == tt.msg && rec["log"] == "audit" {
						out = append(out, rec)
					}
				}
				return out
			}
			for range tries {
				attempt("192.0.2.1")
			}
			recs := records()
			if len(recs) != 1 || recs[0]["reason"] != tt.reason ||
				recs[0]["suppressed"] != 0.0 {
				t.Fatalf("records of %d refusals: %v; want one, for %q, suppressed=0", tries,
					recs, tt.reason)
			}
			// another address has a record of its own at once
			attempt("198.51.100.7")
			if recs = records(); len(recs) != 2 || recs[1]["client_ip"] != "198.51.100.7" {
				t.Fatalf("records after one from another address: %v; want a second, its", recs)
			}
			mu.Lock()
			now = now.Add(10 * time.Second)
			mu.Unlock()
			attempt("192.0.2.1")
			if recs = records(); len(recs) != 3 || recs[2]["suppressed"] != float64(tries-1) {
				t.Errorf("records 10 s on: %v; want a third with suppressed=%d", recs, tries-1)
			}
		})
	}
}
