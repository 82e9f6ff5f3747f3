package proxy_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/frontgate/gateway/proxy"
)

// The gateway's cookies: never sent upstream, and set with a safe scope. S18 and S19.

func TestS18GatewayCookieNotForwarded(t *testing.T) {
	e := newSecEnv(t, secOptions{})
	s := e.session(t, "alice", alicePass)
	pre := func() string {
		c := e.client()
		c.form(t)
		return c.cookies["gateway_login"]
	}()
	device := func() string {
		c := e.client()
		c.login(t, "bob", bobPass, "")
		return c.cookies["gateway_device"]
	}()
	both := "theme=dark; lang=en"
	for _, tt := range []struct {
		name    string
		cookies []string
		want    []string // the Cookie lines the upstream must see; nil for none
	}{
		{"case", []string{"Cookie: theme=dark; gateway_session=" + s + "; lang=en"},
			[]string{both}},
		{"pre-login cookie in the middle", []string{"Cookie: theme=dark; gateway_login=" +
			pre + "; gateway_session=" + s + "; lang=en"}, []string{both}},
		{"split over lines", []string{"Cookie: theme=dark", "Cookie: gateway_session=" + s,
			"Cookie: lang=en"}, []string{both}},
		{"split with the pre-login cookie", []string{"Cookie: theme=dark",
			"Cookie: gateway_login=" + pre + "; gateway_session=" + s, "Cookie: lang=en"},
			[]string{both}},
		{"device cookie in the middle", []string{"Cookie: theme=dark; gateway_device=" +
			device + "; gateway_session=" + s + "; lang=en"}, []string{both}},
		{"every gateway cookie, split", []string{"Cookie: gateway_device=" + device,
			"Cookie: theme=dark; gateway_login=" + pre, "Cookie: gateway_session=" + s +
				"; lang=en"}, []string{both}},
		{"alone", []string{"Cookie: gateway_session=" + s}, nil},
		{"gateway cookies alone", []string{"Cookie: gateway_session=" + s +
			"; gateway_login=" + pre + "; gateway_device=" + device}, nil},
		{"both gateway cookies on two lines", []string{"Cookie: gateway_session=" + s,
			"Cookie: gateway_login=" + pre}, nil},
		{"no spaces", []string{"Cookie: theme=dark;gateway_session=" + s + ";lang=en"},
			[]string{both}},
		{"extra spaces", []string{"Cookie: theme=dark;   gateway_session=" + s +
			"  ;  lang=en"}, []string{both}},
		{"quoted value", []string{`Cookie: theme=dark; gateway_session="` + s +
			`"; lang=en`}, []string{both}},
		{"sent twice", []string{"Cookie: theme=dark; gateway_session=" + s +
			"; gateway_session=garbage; lang=en"}, []string{both}},
		{"lower-case header name", []string{"cookie: theme=dark; gateway_session=" + s +
			"; lang=en"}, []string{both}},
		{"the names used over HTTPS", []string{"Cookie: theme=dark; " +
			"__Host-gateway_session=a; __Secure-gateway_session=b; __Host-gateway_login=c; " +
			"__Host-gateway_device=d; lang=en", "Cookie: gateway_session=" + s},
			[]string{both}},
		{"look-alike names kept", []string{
			"Cookie: theme=dark; gateway_sessionx=1; xgateway_session=2; lang=en",
			"Cookie: gateway_session=" + s},
			[]string{"theme=dark; gateway_sessionx=1; xgateway_session=2; lang=en"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lines := append([]string{"GET /app/echo HTTP/1.1", "Host: " + secHost,
				"Proxy-Authorization: Basic dXNlcjpwYXNz",
				"proxy_authorization: Basic dXNlcjpwYXNz"}, tt.cookies...)
			r := e.send(t, rawLines(lines...))
			if r.StatusCode != http.StatusOK {
				t.Fatalf("status: got %d, want 200", r.StatusCode)
			}
			seen := e.up.last(t)
			var got []string
			for _, f := range seen.like("Cookie") {
				got = append(got, f.Value)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("Cookie upstream: got %q, want %q", got, tt.want)
			}
			for _, f := range seen.Header {
				for _, v := range []string{s, pre, device} {
					if v != "" && strings.Contains(f.Value, v) {
						t.Errorf("upstream got a gateway cookie value in %s", f.Name)
					}
				}
			}
			if got := seen.like("Proxy-Authorization", "Authorization"); len(got) != 0 {
				t.Errorf("upstream got credentials: %v", got)
			}
			wantIdentity(t, seen, defaultIdentity, aliceIdentity)
		})
	}

	t.Run("sign-in never forwarded", func(t *testing.T) {
		before := e.up.count()
		e.client().login(t, "alice", alicePass, "")
		e.client().login(t, "alice", "wrong", "")
		c := e.client()
		tok := c.form(t)
		for _, path := range []string{
			proxy.LoginPath, "/%2Egateway/login", "/%2egateway/login", "//.gateway/login",
			"/.gateway//login", "/.gateway/login/", "/.gateway/login?next=/app/",
			"/.gateway/login;x", "/.gateway/%6cogin", "/.gateway/logout",
		} {
			body := loginBody("alice", alicePass, tok, "")
			e.send(t, rawLines("POST "+path+" HTTP/1.1", "Host: "+secHost,
				"Content-Type: application/x-www-form-urlencoded",
				"Cookie: gateway_login="+c.cookies["gateway_login"],
				fmt.Sprintf("Content-Length: %d", len(body)))+body)
		}
		wantUntouched(t, e.up, before)
	})
}

func TestS19CookieAttributes(t *testing.T) {
	for _, tt := range []struct {
		name  string
		o     secOptions
		extra []string
	}{
		{"Secure forced over plain HTTP", secOptions{session: "  secure: \"true\"\n"}, nil},
		{"over TLS", secOptions{tls: true}, nil},
		{"trusted proxy says https", secOptions{config: "trusted_proxies: [\"127.0.0.1/32\"]\n"},
			[]string{"X-Forwarded-Proto", "https"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newSecEnv(t, tt.o)
			var clients []*secClient
			client := func() *secClient {
				c := e.client()
				c.extra = tt.extra
				clients = append(clients, c)
				return c
			}

			// sign-in form, success, signed-in shortcut, sign-out form and sign-out,
			// a cross-site sign-out (403), and the page after it
			a := client()
			a.login(t, "alice", alicePass, "")
			a.get(t, proxy.LoginPath)
			tok := field(t, csrfRe, a.get(t, "/.gateway/logout").body)
			a.post(t, "/.gateway/logout", "csrf_token="+tok, "Origin", "https://evil.example",
				"Sec-Fetch-Site", "cross-site")
			a.post(t, "/.gateway/logout", "csrf_token="+tok)
			a.get(t, proxy.LoginPath)

			// wrong password, missing and bad csrf_token
			client().login(t, "alice", "wrong", "")
			c := client()
			c.form(t)
			c.post(t, proxy.LoginPath, "username=alice&password="+alicePass)
			c.post(t, proxy.LoginPath, "username=alice&password="+alicePass+"&csrf_token=x")

			// 400, 401, 404, 405, a bad session cookie, forward-auth denials
			d := client()
			d.get(t, "/public/%2e%2e/admin/")
			d.get(t, "/app/api", "Accept", "application/json")
			d.get(t, "/.gateway/nothing")
			d.do(t, http.MethodPut, proxy.LoginPath, nil)
			d.set("__Host-gateway_session", "garbage")
			d.get(t, "/app/")
			d.get(t, "/.gateway/auth", "X-Forwarded-Uri", "/app/")

			// throttled sign-ins
			for range 25 {
				client().login(t, "alice", "wrong", "")
			}

			seen := map[string]bool{}
			names := map[string]bool{}
			for _, c := range clients {
				for _, l := range c.seen {
					seen[l] = true
				}
			}
			for l := range seen {
				ck, err := http.ParseSetCookie(l)
				if err != nil {
					t.Errorf("Set-Cookie %q: %v", l, err)
					continue
				}
				names[ck.Name] = true
				checkCookie(t, ck, l)
			}
			// over HTTPS, under names no other site can plant a cookie for
			for _, n := range []string{"__Host-gateway_session", "__Host-gateway_login"} {
				if !names[n] {
					t.Errorf("no Set-Cookie for %s among %d answers' cookies", n, len(seen))
				}
			}
		})
	}
}

// checkCookie checks one Set-Cookie against S19: Secure, HttpOnly, SameSite Lax or
// Strict, Path=/, no Domain, and a session cookie that outlives no session.
func checkCookie(t testing.TB, ck *http.Cookie, line string) {
	t.Helper()
	const lifetime = 12 * time.Hour
	if !ck.Secure {
		t.Errorf("%q: no Secure", line)
	}
	if !ck.HttpOnly {
		t.Errorf("%q: no HttpOnly", line)
	}
	if ck.SameSite != http.SameSiteLaxMode && ck.SameSite != http.SameSiteStrictMode {
		t.Errorf("%q: SameSite is not Lax or Strict", line)
	}
	if ck.Path != "/" {
		t.Errorf("%q: Path %q, want /", line, ck.Path)
	}
	if ck.Domain != "" {
		t.Errorf("%q: Domain %q, want none", line, ck.Domain)
	}
	if strings.TrimPrefix(ck.Name, "__Host-") == "gateway_session" &&
		(ck.MaxAge > int(lifetime/time.Second) || (!ck.Expires.IsZero() &&
			ck.Expires.After(time.Now().Add(lifetime+time.Minute)))) {
		t.Errorf("%q: lives longer than the session (%s)", line, lifetime)
	}
	if strings.HasPrefix(ck.Name, "__Host-") && (ck.Domain != "" || ck.Path != "/" ||
		!ck.Secure) {
		t.Errorf("%q: a __Host- cookie needs Secure, Path=/ and no Domain", line)
	}
}

// TestPlantedCookieNotReadOverHTTPS: over HTTPS the gateway reads its cookies under the
// __Host- prefix only, which a browser lets no page but the gateway's own host set; a
// cookie a sibling subdomain planted for the parent domain under the plain name (here,
// a live session of bob's) is neither read nor able to cancel the user's own out.
func TestPlantedCookieNotReadOverHTTPS(t *testing.T) {
	e := newSecEnv(t, secOptions{config: "trusted_proxies: [\"127.0.0.1/32\"]\n"})
	https := []string{"X-Forwarded-Proto", "https"}
	signIn := func(user, pass string) string {
		c := e.client()
		c.extra = https
		if r := c.login(t, user, pass, ""); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in as %s: status %d", user, r.StatusCode)
		}
		v := c.cookies["__Host-gateway_session"]
		if v == "" || c.cookies["gateway_session"] != "" {
			t.Fatalf("sign-in over HTTPS set cookies %v, want __Host-gateway_session only",
				c.names)
		}
		return v
	}
	alice, bob := signIn("alice", alicePass), signIn("bob", bobPass)
	for _, tt := range []struct {
		name, cookie string
		want         []string // identity the upstream gets; nil: not signed in
	}{
		{"own cookie", "__Host-gateway_session=" + alice, aliceIdentity},
		{"planted cookie alone", "gateway_session=" + bob, nil},
		{"own and planted", "__Host-gateway_session=" + alice + "; gateway_session=" + bob,
			aliceIdentity},
		{"planted first", "gateway_session=" + bob + "; __Host-gateway_session=" + alice,
			aliceIdentity},
		{"planted under another prefix", "__Secure-gateway_session=" + bob, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := e.up.count()
			r := e.send(t, rawLines("GET /app/whoami HTTP/1.1", "Host: "+secHost,
				"X-Forwarded-Proto: https", "Cookie: "+tt.cookie))
			if tt.want == nil {
				if r.StatusCode != http.StatusUnauthorized {
					t.Errorf("status %d, want 401", r.StatusCode)
				}
				wantUntouched(t, e.up, before)
				return
			}
			if r.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", r.StatusCode)
			}
			wantIdentity(t, e.up.last(t), defaultIdentity, tt.want)
		})
	}
}
