package proxy_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/frontgate/gateway/proxy"
)

// The tests named TestSnn, in the files security_*_test.go, are the gateway's security
// cases S01 to S22, one test per case and named after it. Each case is a kind of attack;
// a test's rows are the inputs the case lists plus close relatives of them (other
// spellings, encodings and separators), and each row asserts what the case calls
// correct. This file holds the identity-header and forwarded-header cases, S01 to S05.

// spellings returns a header name as clients may spell it so that application stacks
// which fold "_" and "." into "-" and ignore case read it as name.
func spellings(name string) []string {
	under := strings.ReplaceAll(name, "-", "_")
	dots := strings.ReplaceAll(name, "-", ".")
	alt := []byte(strings.ToLower(name))
	for i := range alt {
		if i%2 == 1 && 'a' <= alt[i] && alt[i] <= 'z' {
			alt[i] -= 'a' - 'A'
		}
	}
	first := strings.Replace(name, "-", "_", 1)
	lastDot := name
	if i := strings.LastIndex(name, "-"); i >= 0 {
		lastDot = name[:i] + "." + name[i+1:]
	}
	all := []string{
		name, strings.ToLower(name), strings.ToUpper(name), under, dots,
		strings.ToLower(under), strings.ToUpper(dots), first, lastDot, string(alt),
	}
	seen := map[string]bool{}
	var out []string
	for _, s := range all {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func TestS01IdentityHeaderSpellings(t *testing.T) {
	renamed := "identity_headers:\n  user: Remote-User\n  email: Remote-Email\n" +
		"  groups: Remote-Groups\n"
	for _, cfg := range []struct {
		name   string
		config string
		names  [3]string
	}{
		{"default names", "", defaultIdentity},
		{"renamed to Remote-*", renamed, [3]string{"Remote-User", "Remote-Email", "Remote-Groups"}},
	} {
		t.Run(cfg.name, func(t *testing.T) {
			e := newSecEnv(t, secOptions{config: cfg.config})
			alice := e.session(t, "alice", alicePass)
			spoof := []string{"bob", "bob@example.test", "admins"}

			// one row per spelling of each identity header, and the case's whole block
			type row struct {
				name  string
				lines []string
			}
			var rows []row
			if cfg.config == "" {
				rows = append(rows, row{"case block", []string{
					"X_Forwarded_User: bob", "X_Forwarded_Email: bob@example.test",
					"X_Forwarded_Groups: admins", "x-forwarded-groups: admins",
					"X-FORWARDED-USER: bob", "X.Forwarded.User: bob",
					"X-Forwarded_Email: bob@example.test",
				}})
			} else {
				rows = append(rows, row{"default names in the renamed config", []string{
					"X-Forwarded-User: bob", "X_Forwarded_Groups: admins",
					"x.forwarded.email: bob@example.test",
				}})
			}
			var block []string
			for i, n := range cfg.names {
				for _, s := range spellings(n) {
					rows = append(rows, row{s, []string{s + ": " + spoof[i]}})
					block = append(block, s+": "+spoof[i])
				}
				rows = append(rows, row{n + " without a space", []string{n + ":" + spoof[i]}},
					row{n + " with a tab", []string{n + ":\t" + spoof[i]}})
			}
			rows = append(rows, row{"every spelling at once", block})

			statuses := map[int][]string{}
			for _, r := range rows {
				t.Run(r.name, func(t *testing.T) {
					for _, req := range []struct {
						name, path, cookie string
						want               []string
					}{
						{"signed in", "/app/whoami", alice, aliceIdentity},
						{"public anonymous", "/public/echo", "", nil},
						{"public signed in", "/public/echo", alice, aliceIdentity},
					} {
						lines := append([]string{"GET " + req.path + " HTTP/1.1",
							"Host: " + secHost}, r.lines...)
						if req.cookie != "" {
							lines = append(lines, "Cookie: gateway_session="+req.cookie)
						}
						before := e.up.count()
						got := e.send(t, rawLines(lines...))
						statuses[got.StatusCode] = append(statuses[got.StatusCode], r.name)
						switch got.StatusCode {
						case http.StatusOK:
							wantIdentity(t, e.up.last(t), cfg.names, req.want)
						case http.StatusBadRequest:
							wantUntouched(t, e.up, before)
						default:
							t.Errorf("%s: status: got %d, want 200 (or 400 for every variant)",
								req.name, got.StatusCode)
						}
					}
				})
			}
			if len(statuses) > 1 {
				t.Errorf("variants answered differently: %v", statusSummary(statuses))
			}
		})
	}
}

func statusSummary(m map[int][]string) string {
	var codes []int
	for c := range m {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var b strings.Builder
	for _, c := range codes {
		fmt.Fprintf(&b, "%d: %d requests (e.g. %q); ", c, len(m[c]), m[c][0])
	}
	return b.String()
}

func TestS02RepeatedIdentityHeaders(t *testing.T) {
	e := newSecEnv(t, secOptions{})
	alice := e.session(t, "alice", alicePass)
	for _, tt := range []struct {
		name  string
		lines []string
	}{
		{"case block", []string{"X-Forwarded-User: bob", "X-Forwarded-User: admin",
			"X-Forwarded-Groups: admins", "X-Forwarded-Email: bob@example.test, alice@example.test"}},
		{"user repeated in other cases", []string{"x-forwarded-user: bob",
			"X-FORWARDED-USER: admin", "X-Forwarded-User: root"}},
		{"user equal to the gateway's then another", []string{"X-Forwarded-User: alice",
			"X-Forwarded-User: bob"}},
		{"comma-joined user", []string{"X-Forwarded-User: bob, alice"}},
		{"groups repeated", []string{"X-Forwarded-Groups: admins",
			"X-Forwarded-Groups: staff,admins", "x-forwarded-groups: admins"}},
		{"email repeated", []string{"X-Forwarded-Email: bob@example.test",
			"X-Forwarded-Email: alice@example.test"}},
		{"empty values", []string{"X-Forwarded-User:", "X-Forwarded-Groups:",
			"X-Forwarded-Email:"}},
		{"repeats in mixed spellings", []string{"X-Forwarded-User: bob",
			"X_Forwarded_User: bob", "x.forwarded.user: bob", "X~Forwarded~User: bob",
			"X|Forwarded|Groups: admins", "X-Forwarded-Groups: admins",
			"X_FORWARDED_GROUPS: admins", "X.Forwarded.Email: bob@example.test"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, req := range []struct {
				name, path, cookie string
				want               []string
			}{
				{"signed in", "/app/whoami", alice, aliceIdentity},
				{"public anonymous", "/public/echo", "", nil},
			} {
				lines := append([]string{"GET " + req.path + " HTTP/1.1", "Host: " + secHost},
					tt.lines...)
				if req.cookie != "" {
					lines = append(lines, "Cookie: gateway_session="+req.cookie)
				}
				got := e.send(t, rawLines(lines...))
				if got.StatusCode != http.StatusOK {
					t.Errorf("%s: status: got %d, want 200", req.name, got.StatusCode)
					continue
				}
				wantIdentity(t, e.up.last(t), defaultIdentity, req.want)
			}
		})
	}
}

func TestS03InternalAndAliasHeaders(t *testing.T) {
	e := newSecEnv(t, secOptions{})
	alice := e.session(t, "alice", alicePass)
	bob := e.session(t, "bob", bobPass)
	bobLogin, bobDevice := func() (string, string) {
		c := e.client()
		c.form(t)
		login := c.cookies["gateway_login"]
		c.login(t, "bob", bobPass, "")
		return login, c.cookies["gateway_device"]
	}()

	// The gateway's internal names: every header under X-Gateway-, and its cookies
	// gateway_session, gateway_login and gateway_device, here sent as headers.
	internal := []string{
		"X-Gateway-User: bob", "X-Gateway-Email: bob@example.test",
		"X-Gateway-Groups: admins", "X-Gateway-Session: " + bob,
		"X-Gateway-Login: " + bobLogin, "X-Gateway-Authenticated: true",
		"X-Gateway-Assertion: bob", "X-Gateway-Route: /admin/",
		"Gateway-Session: " + bob, "Gateway-Login: " + bobLogin,
		"gateway_session: " + bob, "gateway_login: " + bobLogin,
		"Gateway-Device: " + bobDevice, "X-Gateway-Device: " + bobDevice,
		"gateway.device: " + bobDevice,
		"X_Gateway_User: bob", "x.gateway.session: " + bob, "GATEWAY.SESSION: " + bob,
	}
	caseLines := []string{
		"Session: user=bob; groups=admins", "Gateway-Session: " + bob, "Remote-User: bob",
		"Remote-Groups: admins", "X-Remote-User: bob", "X-Webauth-User: bob",
		"X-Auth-Request-User: bob", "X-Auth-Request-Groups: admins",
		"X-Forwarded-Preferred-Username: bob",
	}
	own := []string{
		"remote_user: bob", "REMOTE.GROUPS: admins", "x_remote_user: bob",
		"X.Webauth.User: bob", "x_auth_request_email: bob@example.test",
		"X-Auth-Request-Email: bob@example.test", "X-Auth-Request-Preferred-Username: bob",
		"X-Remote-Groups: admins", "Remote-Email: bob@example.test", "Remote-Name: bob",
		"X-Webauth-Groups: admins", "X-Authenticated-User: bob", "X-Auth-User: bob",
		"X-Forwarded-Access-Token: token-of-bob", "X-User: bob", "X-Email: bob@example.test",
		"session: user=bob", "X_Session: user=bob",
	}
	type row struct {
		name  string
		lines []string
	}
	rows := []row{{"case block", caseLines}, {"every internal name", internal}}
	for _, l := range append(append(append([]string(nil), caseLines...), internal...), own...) {
		name, _, _ := strings.Cut(l, ":")
		rows = append(rows, row{name, []string{l}})
	}

	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			names := make([]string, len(r.lines))
			for i, l := range r.lines {
				names[i], _, _ = strings.Cut(l, ":")
			}
			send := func(path, cookie string, extra ...string) (sresp, int) {
				lines := append([]string{"GET " + path + " HTTP/1.1", "Host: " + secHost},
					extra...)
				lines = append(lines, r.lines...)
				if cookie != "" {
					lines = append(lines, "Cookie: gateway_session="+cookie)
				}
				before := e.up.count()
				return e.send(t, rawLines(lines...)), before
			}

			// signed in: alice's identity only, upstream and in the log
			got, before := send("/app/echo", alice)
			switch got.StatusCode {
			case http.StatusOK:
				s := e.up.last(t)
				if leaked := s.like(names...); len(leaked) != 0 {
					t.Errorf("signed in: upstream got %v, want none of them", leaked)
				}
				wantIdentity(t, s, defaultIdentity, aliceIdentity)
				if rec := e.logs.lastRequest("/app/echo"); rec == nil || rec["user"] != "alice" {
					t.Errorf("access log user: got %v, want alice", rec["user"])
				}
			case http.StatusBadRequest:
				wantUntouched(t, e.up, before)
			default:
				t.Errorf("signed in: status: got %d, want 200 or 400", got.StatusCode)
			}

			// anonymous on a public path: none of them, and nobody signed in
			got, before = send("/public/echo", "")
			switch got.StatusCode {
			case http.StatusOK:
				s := e.up.last(t)
				if leaked := s.like(names...); len(leaked) != 0 {
					t.Errorf("public: upstream got %v, want none of them", leaked)
				}
				wantIdentity(t, s, defaultIdentity, nil)
			case http.StatusBadRequest:
				wantUntouched(t, e.up, before)
			default:
				t.Errorf("public: status: got %d, want 200 or 400", got.StatusCode)
			}

			// the sign-in page shows the form: no header signs anyone in
			got, before = send(proxy.LoginPath, "")
			if got.StatusCode != http.StatusOK || !csrfRe.MatchString(got.body) {
				t.Errorf("sign-in page: status %d, want 200 with the form", got.StatusCode)
			}
			wantUntouched(t, e.up, before)

			// a protected path: still login-required
			got, before = send("/app/echo", "", "Accept: text/html")
			wantLoginRequired(t, got, "/app/echo")
			wantUntouched(t, e.up, before)
		})
	}
}

func TestS04OriginalURLHeaders(t *testing.T) {
	e := newSecEnv(t, secOptions{})
	alice := e.session(t, "alice", alicePass)
	claims := []struct {
		name  string
		lines []string
	}{
		{"case block", []string{"X-Forwarded-Uri: /public/", "X-Original-URL: /public/",
			"X-Original-URI: /public/", "X-Rewrite-URL: /public/", "X-Forwarded-Prefix: /public"}},
		{"X-Forwarded-Uri", []string{"X-Forwarded-Uri: /public/"}},
		{"X-Original-URL", []string{"X-Original-URL: /public/"}},
		{"X-Original-URI", []string{"X-Original-URI: /public/"}},
		{"X-Rewrite-URL", []string{"X-Rewrite-URL: /public/"}},
		{"X-Forwarded-Prefix", []string{"X-Forwarded-Prefix: /public"}},
		{"lower case", []string{"x-original-url: /public/", "x-forwarded-uri: /public/"}},
		{"underscores", []string{"X_Original_URL: /public/", "X_Forwarded_Uri: /public/"}},
		{"absolute URL", []string{"X-Original-URL: https://gw.example.test/public/"}},
		{"X-Forwarded-Path", []string{"X-Forwarded-Path: /public/"}},
		{"X-Envoy-Original-Path", []string{"X-Envoy-Original-Path: /public/"}},
	}
	for _, c := range claims {
		t.Run("admin claiming public/"+c.name, func(t *testing.T) {
			head := []string{"GET /admin/ HTTP/1.1", "Host: " + secHost, "Accept: text/html"}
			before := e.up.count()
			got := e.send(t, rawLines(append(head, c.lines...)...))
			wantLoginRequired(t, got, "/admin/")
			wantUntouched(t, e.up, before)

			before = e.up.count()
			got = e.send(t, rawLines(append(append(head, c.lines...),
				"Cookie: gateway_session="+alice)...))
			wantForbidden(t, got, e.up, before)
		})
	}

	for _, c := range []struct {
		name  string
		lines []string
	}{
		{"case block", []string{"X-Forwarded-Uri: /admin/", "X-Original-URL: /admin/",
			"X-Rewrite-URL: /admin/"}},
		{"X-Original-URI", []string{"X-Original-URI: /admin/"}},
		{"spellings", []string{"x_original_url: /admin/", "X.Rewrite.URL: /admin/",
			"x-forwarded-uri: /admin/"}},
		{"prefix and path", []string{"X-Forwarded-Prefix: /admin", "X-Forwarded-Path: /admin/"}},
		{"X-Envoy-Original-Path", []string{"X-Envoy-Original-Path: /admin/"}},
		{"forwarded claims", []string{"X-Forwarded-Host: evil.example",
			"X-Forwarded-Proto: https", "X-Forwarded-For: 10.0.0.2", "X-Forwarded-Method: DELETE",
			"X-Forwarded-Port: 8443", "X-Forwarded-Server: evil.example"}},
	} {
		t.Run("public claiming admin/"+c.name, func(t *testing.T) {
			lines := append([]string{"GET /public/echo HTTP/1.1", "Host: " + secHost},
				c.lines...)
			got := e.send(t, rawLines(lines...))
			if got.StatusCode != http.StatusOK {
				t.Fatalf("status: got %d, want 200", got.StatusCode)
			}
			s := e.up.last(t)
			own := map[string]string{"x-forwarded-for": "127.0.0.1",
				"x-forwarded-host": secHost, "x-forwarded-proto": "http"}
			counts := map[string]int{}
			for _, f := range s.Header {
				n := foldHeader(f.Name)
				if want, ok := own[n]; ok {
					counts[n]++
					if f.Value != want {
						t.Errorf("%s: got %q, want %q", f.Name, f.Value, want)
					}
					continue
				}
				if strings.HasPrefix(n, "x-forwarded-") {
					t.Errorf("upstream got %s: %s, want only the gateway's X-Forwarded-*",
						f.Name, f.Value)
				}
				for _, l := range c.lines {
					if sent, _, _ := strings.Cut(l, ":"); foldHeader(sent) == n {
						t.Errorf("upstream got the client's %s: %s", f.Name, f.Value)
					}
				}
			}
			for n := range own {
				if counts[n] != 1 {
					t.Errorf("%s lines upstream: got %d, want 1", n, counts[n])
				}
			}
		})
	}

	for _, trust := range []struct{ name, config string }{
		{"trusted_proxies empty", ""},
		{"peer outside trusted_proxies", "trusted_proxies: [\"10.0.0.2/32\"]\n"},
	} {
		t.Run("forward-auth/"+trust.name, func(t *testing.T) {
			fe := newSecEnv(t, secOptions{config: trust.config})
			for _, claim := range [][]string{
				{"X-Forwarded-Uri", "/public/"},
				{"X-Forwarded-Uri", "/public/x"},
				{"X-Original-URL", "/public/"},
				{"X-Forwarded-Uri", "/admin/"},
			} {
				got := fe.forwardAuth(t, "", claim...)
				if got.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s: %s: status: got %d, want 401", claim[0], claim[1],
						got.StatusCode)
				}
			}
		})
	}
}

func TestS05ConnectionHeaderHopByHop(t *testing.T) {
	e := newSecEnv(t, secOptions{})
	alice := e.session(t, "alice", alicePass)
	hop := []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization",
		"TE", "Trailer"}
	for _, tt := range []struct {
		name   string
		signed bool
		lines  []string
	}{
		{"case", true, []string{"Connection: keep-alive, X-Forwarded-User, X-Forwarded-Groups, " +
			"X-Forwarded-Email, X-Forwarded-For, X-Forwarded-Host, X-Forwarded-Proto"}},
		{"lower case over two lines", true, []string{
			"Connection: keep-alive, x-forwarded-user, x-forwarded-groups, x-forwarded-email",
			"connection: x-forwarded-for, x-forwarded-host, x-forwarded-proto"}},
		{"one name per line", true, []string{"Connection: X-Forwarded-User",
			"Connection: X-Forwarded-Email", "Connection: X-Forwarded-Groups",
			"Connection: X-Forwarded-For", "Connection: X-Forwarded-Host",
			"Connection: X-Forwarded-Proto"}},
		{"no spaces", true, []string{
			"Connection: X-Forwarded-User,X-Forwarded-For,X-Forwarded-Host,X-Forwarded-Proto"}},
		{"odd spacing and case", true, []string{
			"CONNECTION:  ,X-FORWARDED-USER ,\tx-Forwarded-For,, X-Forwarded-Groups"}},
		{"underscore spellings", true, []string{"Connection: X_Forwarded_User, x_forwarded_for"}},
		{"close", true, []string{"Connection: close, X-Forwarded-User, X-Forwarded-For"}},
		{"hop-by-hop headers sent", true, []string{"Connection: keep-alive",
			"Keep-Alive: timeout=5", "Proxy-Connection: keep-alive",
			"Proxy-Authorization: Basic dXNlcjpwYXNz", "TE: trailers, deflate",
			"Trailer: X-Checksum"}},
		{"TE trailers", true, []string{"TE: trailers"}},
		{"public case", false, []string{"Connection: close, X-Forwarded-For, X-Real-IP"}},
		{"public lower case", false, []string{"connection: x-forwarded-for",
			"CONNECTION: X-Forwarded-Host, X-Forwarded-Proto"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := "/public/echo"
			lines := []string{"", "Host: " + secHost}
			if tt.signed {
				path = "/app/echo"
				lines = append(lines, "Cookie: gateway_session="+alice)
			}
			lines[0] = "GET " + path + " HTTP/1.1"
			got := e.send(t, rawLines(append(lines, tt.lines...)...))
			if got.StatusCode != http.StatusOK {
				t.Fatalf("status: got %d, want 200", got.StatusCode)
			}
			s := e.up.last(t)
			if tt.signed {
				wantIdentity(t, s, defaultIdentity, aliceIdentity)
			} else {
				wantIdentity(t, s, defaultIdentity, nil)
			}
			for name, want := range map[string]string{"X-Forwarded-For": "127.0.0.1",
				"X-Forwarded-Host": secHost, "X-Forwarded-Proto": "http"} {
				if got := s.like(name); len(got) != 1 || got[0].Value != want {
					t.Errorf("%s upstream: got %v, want exactly one %q", name, got, want)
				}
			}
			if got := s.like(hop...); len(got) != 0 {
				t.Errorf("hop-by-hop headers forwarded: %v", got)
			}
		})
	}
}

// TestAccessRecordOfGatewayPages: the access record of a gateway page names the user
// signed in, the one who just signed in included, and an answer to HEAD counts no bytes.
func TestAccessRecordOfGatewayPages(t *testing.T) {
	e := newSecEnv(t, secOptions{})
	alice := e.session(t, "alice", alicePass)
	if rec := e.logs.lastRequest(proxy.LoginPath); rec == nil || rec["user"] != "alice" ||
		rec["status"] != float64(http.StatusSeeOther) {
		t.Errorf("sign-in record: %v, want user alice and status 303", rec)
	}
	for _, tt := range []struct {
		method, cookie, user string
		body                 bool
	}{
		{"GET", alice, "alice", true},
		{"HEAD", alice, "alice", false},
		{"GET", "", "", true},
		{"HEAD", "", "", false},
	} {
		r := e.with(t, tt.method, proxy.LogoutPath, tt.cookie)
		if r.StatusCode != http.StatusOK {
			t.Errorf("%s sign-out page: status %d, want 200", tt.method, r.StatusCode)
		}
		rec := e.logs.lastRequest(proxy.LogoutPath)
		if rec == nil || rec["user"] != tt.user || rec["method"] != tt.method ||
			(rec["bytes"] != float64(0)) == !tt.body {
			t.Errorf("%s sign-out page, signed in %t: record %v, want user %q and bytes "+
				"only with a body", tt.method, tt.cookie != "", rec, tt.user)
		}
	}
}

// TestAnswerCutShortIsRecorded: a client that goes away in the middle of an answer still
// gets its access record, which says the client went away.
func TestAnswerCutShortIsRecorded(t *testing.T) {
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 64<<10)
		for range 1024 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	t.Cleanup(big.Close)
	e := newSecEnv(t, secOptions{config: "  - path: /big/\n    upstream: \"" + big.URL +
		"\"\n    public: [/big/]\n"})
	c, err := net.Dial("tcp", e.gw.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET /big/x HTTP/1.1\r\nHost: "+secHost+"\r\n\r\n")
	io.ReadFull(c, make([]byte, 1<<20))
	c.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if rec := e.logs.lastRequest("/big/x"); rec != nil {
			if rec["status"] != float64(http.StatusOK) || rec["bytes"].(float64) < 1<<20 {
				t.Errorf("record %v, want status 200 and at least the bytes read", rec)
			}
			// the client's doing, not the app's
			if rec["reason"] != "client went away" {
				t.Errorf("record %v, want the client gone as the reason", rec)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no access record of the answer cut short")
		}
	}
}

// TestSwitchRecordedAs101: a websocket the app accepts is recorded with the 101 the app
// answered, which the gateway writes on the hijacked connection, not through its writer.
func TestSwitchRecordedAs101(t *testing.T) {
	ws := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		c.Close(websocket.StatusNormalClosure, "")
	}))
	t.Cleanup(ws.Close)
	e := newSecEnv(t, secOptions{config: "  - path: /ws/\n    upstream: \"" + ws.URL +
		"\"\n    public: [/ws/]\n"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+e.gw.Listener.Addr().String()+"/ws/x",
		&websocket.DialOptions{Host: secHost})
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	c.Read(ctx) // until the app closes it
	c.CloseNow()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if rec := e.logs.lastRequest("/ws/x"); rec != nil {
			if rec["status"] != float64(http.StatusSwitchingProtocols) {
				t.Errorf("record %v, want status 101", rec)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no access record of the websocket")
		}
	}
}

// TestForwardAuthRecorded: the access record of a forward-auth decision names the
// request it describes, the route and user that decided it, and why it was refused, as
// the auth request's own path is the same for every decision.
func TestForwardAuthRecorded(t *testing.T) {
	e := newSecEnv(t, secOptions{config: "trusted_proxies: [\"127.0.0.1/32\"]\n"})
	alice := e.session(t, "alice", alicePass)
	for _, tt := range []struct {
		sess, uri                   string
		status                      int
		user, route, target, reason string
	}{
		{alice, "/admin/x", 403, "alice", "/admin/", "/admin/x", "the route's allow rule"},
		{alice, "/app/y", 200, "alice", "/", "/app/y", ""},
		{"", "/app/y", 401, "", "/", "/app/y", "no session"},
		{"", "/public/z", 200, "", "/", "/public/z", ""},
		{alice, "/admin%2fx", 403, "", "", "/admin%2fx", "the path could be read two ways"},
		{alice, "/admin.json", 403, "alice", "/", "/admin.json", "the allow rule of route " +
			"/admin/, which another reading of the path falls under"},
	} {
		r := e.forwardAuth(t, tt.sess, "X-Forwarded-Uri", tt.uri)
		if r.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d", tt.uri, r.StatusCode, tt.status)
		}
		rec := e.logs.lastRequest(proxy.AuthPath)
		want := map[string]any{"user": tt.user, "route": tt.route, "target": tt.target,
			"reason": tt.reason, "status": float64(tt.status)}
		for k, v := range want {
			got, ok := rec[k]
			if v == "" && !ok {
				continue // left out when empty
			}
			if got != v {
				t.Errorf("%s: record's %s is %v, want %v (%v)", tt.uri, k, got, v, rec)
			}
		}
	}
}

// TestClientAddressFromForwardedFor: behind a trusted proxy, the client's address is the
// right-most one in X-Forwarded-For that is no trusted proxy's, written with or without
// the port some proxies add; a malformed hop trusts nothing left of it.
func TestClientAddressFromForwardedFor(t *testing.T) {
	e := newSecEnv(t, secOptions{config: "trusted_proxies: [\"127.0.0.1/32\", " +
		"\"10.0.0.0/8\"]\n"})
	for i, tt := range []struct{ xff, want string }{
		{"203.0.113.5", "203.0.113.5"},
		{"203.0.113.5:1234", "203.0.113.5"},
		{"[2001:db8::1]:443", "2001:db8::1"},
		{"[2001:db8::1]", "2001:db8::1"},
		{"2001:db8::1", "2001:db8::1"},
		{"::ffff:203.0.113.5", "203.0.113.5"},
		{"198.51.100.1, 203.0.113.5:80, 10.0.0.9:8080", "203.0.113.5"},
		{"198.51.100.1, 10.0.0.9", "198.51.100.1"},
		{"198.51.100.1, bogus, 10.0.0.9", "10.0.0.9"},
		{"[203.0.113.5]", "127.0.0.1"},
		{"203.0.113.5:99999", "127.0.0.1"},
	} {
		path := fmt.Sprintf("/public/hop-%d", i)
		e.with(t, "GET", path, "", "X-Forwarded-For", tt.xff)
		rec := e.logs.lastRequest(path)
		if rec == nil || rec["client_ip"] != tt.want {
			t.Errorf("X-Forwarded-For %q: client_ip %v, want %s", tt.xff, rec["client_ip"],
				tt.want)
		}
	}
}
